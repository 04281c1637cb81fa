//! Ctrl-C during [`run`](crate::run), as `asyncio.run` handles it (its `Runner._on_sigint`):
//! the first `SIGINT` cancels the main task, whose cleanup runs (a task awaiting
//! [`until_cancelled`](crate::until_cancelled) gets the request), then the leftover tasks are
//! cancelled and finish as at any end of `run`, and the loop closes; then the process ends as
//! Ctrl-C would have ended it, killed by `SIGINT` (asyncio raises `KeyboardInterrupt`, which
//! ends the interpreter the same way). A second `SIGINT` before the main task has finished
//! ends the process at once, also when the loop is stuck in blocking code. A main task that
//! observes the cancellation and returns a value makes `run` return it, as asyncio's.
//!
//! As in asyncio, only a `run` on the process's main thread does this, and only while
//! `SIGINT` would otherwise take its default action: not when it is ignored or handled by
//! other code, and not while any loop of the process listens for it itself
//! ([`signal::ctrl_c`](crate::signal::ctrl_c), [`signal::signal`](crate::signal::signal),
//! [`Loop::add_signal_handler`](crate::Loop::add_signal_handler)), as a handler the program
//! installs replaces asyncio's. The handling ends when the main task has finished, before the
//! cleanup of the leftover tasks (asyncio restores the default handler there too): a Ctrl-C
//! during that cleanup ends the process at once.
//!
//! How: a watcher thread, started by the first armed `run` of the process and then kept, reads
//! a self-pipe that a signal-hook action writes on each `SIGINT` that arrives while a `run` is
//! armed and nobody else listens (decided in the signal handler, from atomics). While a `run`
//! is armed it holds an interest in the signal (interest.rs), so the signal does not take its
//! default action. The watcher counts the deliveries, sends the first to the loop as a
//! callback (through the loop's remote queue, which wakes a parked loop), and on the second
//! ends the process itself (signal-hook's default-action emulation), without the loop.
//!
//! Invariant: the armed state, its delivery count and [`RUN_ARMED`] change only under
//! [`ARMED`]'s lock, which is taken before the signal module's interest lock whenever both are
//! held.

use std::io::{self, Read, Write};
use std::os::fd::IntoRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use crate::remote::{Remote, RemoteMsg};
use crate::signal::interest::{self, Interest};

/// The armed `run`, if any (at most one: only the main thread arms).
static ARMED: Mutex<Option<Armed>> = Mutex::new(None);

/// Whether a `run` is armed, for the signal action (which cannot lock [`ARMED`]).
static RUN_ARMED: AtomicBool = AtomicBool::new(false);

/// Whether the watcher thread is running (`Err`: it could not start, and `run` goes without).
static WATCHER: OnceLock<Result<(), String>> = OnceLock::new();

/// What the loop's callback found when it handled the first interrupt.
const NOT_HANDLED: u8 = 0;
/// It cancelled the main task, which no one else had asked to cancel.
const CANCELLED_MAIN: u8 = 1;
/// It cancelled the main task, which something else had asked to cancel already: if the task
/// ends cancelled, that is an ordinary cancellation (asyncio: `uncancel()` is not 0, so
/// `CancelledError`, not `KeyboardInterrupt`).
const CANCELLED_SHARED: u8 = 2;

/// The armed run's state, under [`ARMED`]'s lock.
struct Armed {
    remote: Arc<Remote>,
    deliveries: usize,
    handled: Arc<AtomicU8>,
}

fn armed() -> MutexGuard<'static, Option<Armed>> {
    // Every update is a single assignment: a poisoned lock still holds a valid state.
    ARMED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `run`'s Ctrl-C handling while it is armed; [`RunInterrupt::disarm`] ends it.
pub(crate) struct RunInterrupt {
    _interest: Interest,
    handled: Arc<AtomicU8>,
}

impl RunInterrupt {
    /// Arms the handling for a `run` of the loop behind `remote`, if this is the main thread
    /// and `SIGINT` would take its default action now (see the module docs); `None` otherwise,
    /// or if the watcher cannot be started.
    pub(crate) fn arm(remote: &Arc<Remote>) -> Option<RunInterrupt> {
        if !is_main_thread() || !interest::takes_default_action(libc::SIGINT).unwrap_or(false) {
            return None;
        }
        if WATCHER.get_or_init(start_watcher).is_err() {
            return None;
        }
        let handled = Arc::new(AtomicU8::new(NOT_HANDLED));
        let mut armed = armed();
        *armed = Some(Armed {
            remote: remote.clone(),
            deliveries: 0,
            handled: handled.clone(),
        });
        // The watcher's pipe is registered for SIGINT for good (`start_watcher`): the
        // interest's precondition.
        let interest = Interest::new(libc::SIGINT);
        RUN_ARMED.store(true, Ordering::SeqCst);
        drop(armed);
        Some(RunInterrupt {
            _interest: interest,
            handled,
        })
    }

    /// Ends the handling (the main task has finished): `SIGINT` takes its default action
    /// again, unless someone else listens for it. True if a Ctrl-C cancelled the main task,
    /// which nothing else had asked to cancel: if the task ended cancelled by that request
    /// alone, `run` ends as Ctrl-C does (asyncio's `KeyboardInterrupt`; with another request
    /// as well, asyncio's `uncancel()` is not 0: an ordinary `CancelledError`).
    pub(crate) fn disarm(self) -> bool {
        {
            let mut armed = armed();
            RUN_ARMED.store(false, Ordering::SeqCst);
            *armed = None;
        }
        self.handled.load(Ordering::SeqCst) == CANCELLED_MAIN
        // The interest goes with `self`: the default action is back.
    }
}

/// Ends the process as an unhandled Ctrl-C does, killed by `SIGINT` (what asyncio's
/// `KeyboardInterrupt` leads to): standard output is flushed first.
pub(crate) fn end_process_interrupted() -> ! {
    let _ = io::stdout().flush();
    end_process_now()
}

/// Ends the process killed by `SIGINT` at once: from the watcher thread, which must not wait
/// for standard output's lock (the main thread may hold it, blocked).
fn end_process_now() -> ! {
    let _ = signal_hook::low_level::emulate_default_handler(libc::SIGINT);
    // Not reached: the emulation kills the process by SIGINT, or aborts if it cannot.
    std::process::abort()
}

/// Starts the watcher thread and registers its signal action for `SIGINT` (once per process).
fn start_watcher() -> Result<(), String> {
    let setup = || -> io::Result<UnixStream> {
        let (reader, writer) = UnixStream::pair()?;
        writer.set_nonblocking(true)?;
        interest::prepare(libc::SIGINT)?;
        let interests = interest::counter(libc::SIGINT);
        // Kept open for the rest of the process: the action may run at any time.
        let fd = writer.into_raw_fd();
        let action = move || {
            // Decided when the signal arrives: a listener the program drops right after its
            // own delivery must not make that delivery look like `run`'s.
            if RUN_ARMED.load(Ordering::SeqCst) && interests.load(Ordering::SeqCst) == 1 {
                let byte = 1u8;
                // SAFETY: `fd` is the watcher pipe's write end, never closed; write(2) is
                // async-signal-safe, and a full pipe (EAGAIN) loses nothing the watcher needs
                // (it acts on the first two deliveries).
                unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
            }
        };
        // SAFETY: signal-hook's contract for `register`: the action is async-signal-safe. It
        // only loads two atomics and calls write(2) (signal-hook saves and restores `errno`
        // around it).
        unsafe { signal_hook::low_level::register(libc::SIGINT, action) }?;
        Ok(reader)
    };
    let reader = setup().map_err(|err| err.to_string())?;
    std::thread::Builder::new()
        .name("aioloop-sigint".into())
        .stack_size(64 * 1024)
        .spawn(move || watch(reader))
        .map(drop)
        .map_err(|err| err.to_string())
}

/// The watcher thread: one byte in the pipe per `SIGINT` delivered.
fn watch(mut reader: UnixStream) {
    let mut bytes = [0u8; 16];
    loop {
        let n = match reader.read(&mut bytes) {
            Ok(0) => return,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        for _ in 0..n {
            deliver();
        }
    }
}

/// One `SIGINT`, seen by the watcher.
fn deliver() {
    let mut armed = armed();
    let Some(run) = armed.as_mut() else {
        return; // not armed: the signal went to its default action or to its listeners
    };
    run.deliveries += 1;
    if run.deliveries > 1 {
        // asyncio's second Ctrl-C raises `KeyboardInterrupt` wherever the program is.
        end_process_now();
    }
    let handled = run.handled.clone();
    // A closed loop takes no call: its run is over, nothing to cancel.
    let _ = run
        .remote
        .push(RemoteMsg::Call(Box::new(move || cancel_main(&handled))));
}

/// On the loop: cancels the main task of the armed `run` whose state `handled` is (asyncio's
/// `main_task.cancel()`). A call that comes after that run was disarmed (its main task
/// finished meanwhile) does nothing: the disarm counted the delivery.
fn cancel_main(handled: &Arc<AtomicU8>) {
    let still_armed = armed()
        .as_ref()
        .is_some_and(|run| Arc::ptr_eq(&run.handled, handled));
    if !still_armed {
        return;
    }
    let main = crate::context::with_current(|core| core.sched().main_task_ref()).flatten();
    let Some(main) = main else {
        // Before the main task's first poll (or after its end): nothing ran that needs a
        // cleanup the interrupt could wait for.
        end_process_interrupted();
    };
    if main.is_done() {
        return;
    }
    let first = main.cancelling() == 0;
    main.cancel();
    let outcome = if first { CANCELLED_MAIN } else { CANCELLED_SHARED };
    handled.store(outcome, Ordering::SeqCst);
}

/// Whether the calling thread is the process's main thread (asyncio handles Ctrl-C only
/// there, where Python runs signal handlers): Rust names it `main` (no system call, so Miri
/// runs it too).
fn is_main_thread() -> bool {
    std::thread::current().name() == Some("main")
}
