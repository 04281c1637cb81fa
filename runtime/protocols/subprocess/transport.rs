//! [`SubprocessTransport`]: the handle on a child process and its pipes (asyncio's
//! `BaseSubprocessTransport`), and the state it shares with its task: the protocol calls due,
//! in order (asyncio's `_call` / `_pending_calls`), and when `connection_lost` is
//! (`_try_finish`).

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use super::SubprocessProtocol;
use crate::process::Child;
use crate::protocols::callback::Panicked;
use crate::protocols::flow::FlowTarget;
use crate::protocols::task::wake;
use crate::protocols::Transport;
use crate::signal::SignalKind;
use crate::waker_slot::WakerSlot;

/// The handle on a child process run by [`subprocess_exec`](super::subprocess_exec) or
/// [`subprocess_shell`](super::subprocess_shell): asyncio's `SubprocessTransport`
/// (`BaseSubprocessTransport`). A cheap clone (an `Rc`) that the protocol gets in
/// [`connection_made`](SubprocessProtocol::connection_made).
///
/// Its piped streams are pipe transports ([`get_pipe_transport`](SubprocessTransport::get_pipe_transport)):
/// the stdin one is [`connect_write_pipe`](crate::protocols::connect_write_pipe)'s (write to
/// the child, `close` for its EOF), stdout's and stderr's are
/// [`connect_read_pipe`](crate::protocols::connect_read_pipe)'s (`pause_reading`...).
///
/// ```
/// use aioloop::process::Command;
/// use aioloop::protocols::{subprocess_exec, SubprocessProtocol};
///
/// #[derive(Default)]
/// struct Echo {
///     out: Vec<u8>,
///     done: bool,
/// }
/// impl SubprocessProtocol for Echo {
///     fn pipe_data_received(&mut self, _fd: i32, data: &[u8]) {
///         self.out.extend_from_slice(data);
///     }
///     fn connection_lost(&mut self, _exc: Option<std::io::Error>) {
///         self.done = true;
///     }
/// }
///
/// aioloop::run(async {
///     let (transport, echo) = subprocess_exec(Echo::default, Command::new("cat")).await.unwrap();
///     let stdin = transport.get_pipe_transport(0).unwrap();
///     stdin.write(b"ping").unwrap();
///     stdin.close(); // cat reads EOF, echoes, and exits
///     while !echo.borrow().done {
///         aioloop::sleep(std::time::Duration::from_millis(1)).await;
///     }
///     assert_eq!(echo.borrow().out, b"ping");
///     assert_eq!(transport.get_returncode(), Some(0));
/// });
/// ```
#[derive(Clone)]
pub struct SubprocessTransport {
    pub(super) inner: Rc<Inner>,
}

/// A protocol call due (asyncio's `_call(cb, *data)`).
pub(super) enum Call {
    Made,
    Data(i32, Vec<u8>),
    PipeLost(i32, Option<io::Error>),
    Exited,
    Flow { pause: bool },
    Lost,
}

impl Call {
    /// The protocol method, for a panic's message.
    pub(super) fn method(&self) -> &'static str {
        match self {
            Call::Made => "connection_made",
            Call::Data(..) => "pipe_data_received",
            Call::PipeLost(..) => "pipe_connection_lost",
            Call::Exited => "process_exited",
            Call::Flow { pause: true } => "pause_writing",
            Call::Flow { pause: false } => "resume_writing",
            Call::Lost => "connection_lost",
        }
    }
}

/// What a transport, its task and its pipes' adapter protocols share.
pub(super) struct Inner {
    pid: u32,
    /// The child, until `connection_lost` (asyncio's `_proc`, then `None`).
    pub(super) child: RefCell<Option<Child>>,
    /// The pipe transports of fds 0, 1, 2 (asyncio's `_pipes`), those piped.
    pub(super) pipes: RefCell<[Option<Transport>; 3]>,
    pub(super) state: RefCell<State>,
    /// For the stdin pipe's flow calls, made at once when the protocol is free.
    pub(super) protocol: Weak<RefCell<dyn SubprocessProtocol>>,
    /// The task's waker while it waits.
    pub(super) driver: RefCell<WakerSlot>,
    /// The entry point's waker while it waits for `connection_made`.
    made_waiter: RefCell<WakerSlot>,
    /// A protocol method's panic, resumed once `connection_lost` ran.
    pub(super) panic: RefCell<Option<Box<dyn Any + Send>>>,
}

pub(super) struct State {
    /// `close` was called, or a panic made the transport fail (`_closed`).
    pub(super) closed: bool,
    /// The child's exit status once the task saw it (`_returncode`).
    pub(super) returncode: Option<i32>,
    /// Pipes whose `pipe_connection_lost` is not due yet.
    pub(super) open_pipes: usize,
    /// The protocol calls due, in order.
    pub(super) calls: VecDeque<Call>,
    /// `connection_made` ran.
    pub(super) made: bool,
    /// `connection_lost` is due or done (`_finished`).
    pub(super) finished: bool,
    /// `connection_lost` ran: signals fail with `ESRCH`.
    pub(super) lost: bool,
    /// A protocol method panicked: `connection_lost` gets this; nothing else is called.
    pub(super) failed: Option<io::Error>,
    /// The pipes are still to be aborted and the child killed after a panic (by the task).
    pub(super) fail_pending: bool,
}

impl Inner {
    pub(super) fn new(pid: u32, child: Child, protocol: Weak<RefCell<dyn SubprocessProtocol>>) -> Self {
        Inner {
            pid,
            child: RefCell::new(Some(child)),
            pipes: RefCell::new([None, None, None]),
            state: RefCell::new(State {
                closed: false,
                returncode: None,
                open_pipes: 0,
                calls: VecDeque::from([Call::Made]),
                made: false,
                finished: false,
                lost: false,
                failed: None,
                fail_pending: false,
            }),
            protocol,
            driver: RefCell::new(WakerSlot::new()),
            made_waiter: RefCell::new(WakerSlot::new()),
            panic: RefCell::new(None),
        }
    }

    /// Queues a protocol call for the task (dropped after a panic: then only
    /// `connection_lost` is called).
    pub(super) fn push(&self, call: Call) {
        {
            let mut state = self.state.borrow_mut();
            if state.failed.is_none() {
                state.calls.push_back(call);
            }
        }
        wake(&self.driver);
    }

    /// A pipe closed (`_pipe_connection_lost`).
    pub(super) fn pipe_lost(&self, fd: i32, exc: Option<io::Error>) {
        self.state.borrow_mut().open_pipes -= 1;
        self.push(Call::PipeLost(fd, exc));
        self.try_finish();
    }

    /// The child exited with `returncode` (`_process_exited`).
    pub(super) fn exited(&self, returncode: i32) {
        self.state.borrow_mut().returncode = Some(returncode);
        self.push(Call::Exited);
        self.try_finish();
    }

    /// asyncio's `_try_finish`: `connection_lost` is due once the child exited and every pipe
    /// is lost; it follows the calls queued before it.
    fn try_finish(&self) {
        let mut state = self.state.borrow_mut();
        if state.finished || state.returncode.is_none() || state.open_pipes > 0 {
            return;
        }
        state.finished = true;
        state.calls.push_back(Call::Lost);
        drop(state);
        wake(&self.driver);
    }

    /// The stdin pipe's `pause_writing` (`pause`) or `resume_writing`: called at once if no
    /// call is queued before it and the protocol is free, queued otherwise.
    pub(super) fn flow(&self, pause: bool) {
        let now = {
            let state = self.state.borrow();
            state.calls.is_empty() && state.failed.is_none() && !state.finished
        };
        if !(now && self.call_flow(pause)) {
            self.push(Call::Flow { pause });
        }
    }

    /// Calls the protocol's `pause_writing` (`pause`) or `resume_writing` now; false if one of
    /// its methods is running (nothing was called). A panic there is no fatal error: it goes
    /// to the loop's exception handler ("protocol.pause_writing() failed") and the transport
    /// goes on, as with the stream transports ([`FlowTarget::try_flow`]): asyncio's pipe
    /// transport makes these calls for the subprocess protocol, through `_FlowControlMixin`.
    pub(super) fn call_flow(&self, pause: bool) -> bool {
        let mut due = Some(pause);
        self.protocol.try_flow(|| due.take())
    }

    /// A protocol method panicked: the transport's fatal error. The task aborts the pipes
    /// and kills the child; `connection_lost` gets the error; the panic goes on after it.
    pub(super) fn fail(&self, panicked: Panicked) {
        {
            let mut state = self.state.borrow_mut();
            if state.failed.is_none() && !state.lost {
                state.failed = Some(panicked.error);
                state.closed = true;
                state.fail_pending = true;
                state.calls.retain(|call| matches!(call, Call::Lost));
            }
        }
        self.panic.borrow_mut().get_or_insert(panicked.payload);
        wake(&self.driver);
    }

    /// Ready once `connection_made` ran (the entry point's wait); keeps `cx`'s waker until
    /// then.
    pub(super) fn poll_made(&self, cx: &Context<'_>) -> Poll<()> {
        if self.state.borrow().made {
            return Poll::Ready(());
        }
        let replaced = self.made_waiter.borrow_mut().register(cx.waker());
        drop(replaced);
        Poll::Pending
    }

    /// `connection_made` ran: wakes the entry point's wait.
    pub(super) fn made(&self) {
        self.state.borrow_mut().made = true;
        let waiter = self.made_waiter.borrow_mut().take();
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }

    /// Kills the child unless it exited (asyncio's `close`: `poll()` first, so a child that
    /// exited but was not seen yet is reaped rather than signalled).
    pub(super) fn kill_if_running(&self) {
        if self.state.borrow().returncode.is_some() {
            return;
        }
        if let Ok(mut child) = self.child.try_borrow_mut() {
            if let Some(child) = child.as_mut() {
                if let Ok(None) = child.try_wait() {
                    let _ = child.start_kill();
                }
            }
        }
    }

    /// The pipe transports, cloned (so none is borrowed while one is closed).
    pub(super) fn pipe_transports(&self) -> Vec<Transport> {
        self.pipes.borrow().iter().flatten().cloned().collect()
    }
}

impl SubprocessTransport {
    /// The child's process id: asyncio's `get_pid()` (kept after it exited).
    pub fn get_pid(&self) -> u32 {
        self.inner.pid
    }

    /// The child's exit status once the transport saw it exit, `None` before: asyncio's
    /// `get_returncode()`. The exit code, or the negative signal number for a child a signal
    /// ended (`-9` after [`kill`](SubprocessTransport::kill)), as asyncio's `returncode`;
    /// `255` if the status could not be read (asyncio's child watchers' convention).
    pub fn get_returncode(&self) -> Option<i32> {
        self.inner.state.borrow().returncode
    }

    /// The transport of the child's pipe `fd`: asyncio's `get_pipe_transport(fd)`. `0` is
    /// stdin (a write pipe), `1` stdout and `2` stderr (read pipes); `None` for a stream that
    /// is not piped, or another `fd`.
    pub fn get_pipe_transport(&self, fd: i32) -> Option<Transport> {
        let index = usize::try_from(fd).ok()?;
        self.inner.pipes.borrow().get(index)?.clone()
    }

    /// Sends `signal` to the child: asyncio's `send_signal(signal)`. A child that exited
    /// already is no error, as in asyncio.
    ///
    /// # Errors
    /// Once [`connection_lost`](SubprocessProtocol::connection_lost) was called, an error of
    /// raw OS code `ESRCH` (asyncio's `ProcessLookupError`); the `kill(2)` error otherwise
    /// (`EINVAL` for an invalid signal).
    pub fn send_signal(&self, signal: impl Into<SignalKind>) -> io::Result<()> {
        let mut child = self.inner.child.borrow_mut();
        let Some(child) = child.as_mut() else {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        };
        match child.send_signal(signal) {
            Err(err) if err.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            other => other,
        }
    }

    /// Sends `SIGTERM`: asyncio's `terminate()`.
    ///
    /// # Errors
    /// As [`send_signal`](SubprocessTransport::send_signal).
    pub fn terminate(&self) -> io::Result<()> {
        self.send_signal(SignalKind::terminate())
    }

    /// Sends `SIGKILL`: asyncio's `kill()`.
    ///
    /// # Errors
    /// As [`send_signal`](SubprocessTransport::send_signal).
    pub fn kill(&self) -> io::Result<()> {
        self.send_signal(SignalKind::from_raw(libc::SIGKILL))
    }

    /// Closes the transport: asyncio's `close()`. Closes every pipe transport (stdin's sends
    /// what it buffered first, then the child reads EOF), and kills the child (`SIGKILL`) if it
    /// still runs. The protocol then gets its `pipe_connection_lost`s, `process_exited` and
    /// `connection_lost(None)` as usual, from the transport's task. Closing again does nothing.
    pub fn close(&self) {
        {
            let mut state = self.inner.state.borrow_mut();
            if state.closed {
                return;
            }
            state.closed = true;
        }
        for pipe in self.inner.pipe_transports() {
            pipe.close();
        }
        self.inner.kill_if_running();
        wake(&self.inner.driver);
    }

    /// True once [`close`](SubprocessTransport::close) was called (or a protocol method
    /// panicked): asyncio's `is_closing()`. Not set by the child exiting.
    pub fn is_closing(&self) -> bool {
        self.inner.state.borrow().closed
    }
}

impl fmt::Debug for SubprocessTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.borrow();
        f.debug_struct("SubprocessTransport")
            .field("pid", &self.inner.pid)
            .field("returncode", &state.returncode)
            .field("closed", &state.closed)
            .finish()
    }
}
