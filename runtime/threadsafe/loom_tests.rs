//! loom models of the door between threads and a loop: the remote queue's park/notify protocol,
//! remote wakes, submission racing the close, and the one-shot cell behind `ConcurrentFuture`.
//!
//! They run the crate's own code (`Remote` and the loop's `RemoteDriver`, `LoopHandle`,
//! `ConcurrentFuture`, the task body `RemoteTask`) with loom's atomics, mutexes and condvars
//! (see `runtime/sync_shim.rs`). The loop's side is the `RemoteDriver` the real loop uses
//! (`take`, then `poll_parked` around its poll); only the poll itself is a model: the eventfd
//! is `ModelEventfd`, where a write makes the next poll return and a poll that may block waits
//! for one. A lost wakeup shows up as loom reporting a deadlock (the loop blocked in poll
//! forever).
//!
//! Run with `.ci/loom` (`RUSTFLAGS="--cfg aioloop_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release
//! --lib threadsafe::loom_tests`).

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc as LoomArc;
use loom::thread;

use super::outcome::{self, Sender};
use super::{ConcurrentError, ConcurrentFuture, LoopHandle, RemoteTask};
use crate::remote::{Remote, RemoteDriver, RemoteMsg};
use crate::sync_shim::ModelEventfd;

fn new_remote() -> Arc<Remote> {
    Arc::new(Remote::new(ModelEventfd::new()))
}

/// A `ConcurrentFuture` over a fresh cell, with its sender.
fn pair<T>(remote: Arc<Remote>) -> (Sender<T>, ConcurrentFuture<T>) {
    let (sender, receiver) = outcome::channel();
    (sender, ConcurrentFuture::new(receiver, &remote))
}

/// The loop's side, as `run_once` does it with the loop's own `RemoteDriver`: take the queue,
/// handle it, and poll (parked, if the driver lets it block) when nothing is left, until
/// `handle` says it is done. Returns the number of blocking polls (parks).
fn run_loop(remote: &Arc<Remote>, mut handle: impl FnMut(Vec<RemoteMsg>) -> bool) -> usize {
    let driver = RemoteDriver::new(remote.clone());
    let mut parks = 0;
    loop {
        let mut msgs = Vec::new();
        driver.take(|msg| msgs.push(msg));
        if handle(msgs) {
            return parks;
        }
        // Nothing is ready on the modelled loop, so its poll may block.
        driver.poll_parked(true, |may_block| {
            if may_block {
                parks += 1;
                remote.notifier().poll_blocking();
            } else {
                remote.notifier().poll_now();
            }
        });
    }
}

/// Runs every `Call` and counts the `Wake`s of one batch.
fn run_calls(msgs: Vec<RemoteMsg>) -> usize {
    let mut wakes = 0;
    for msg in msgs {
        match msg {
            RemoteMsg::Call(call) => call(),
            RemoteMsg::Wake { .. } => wakes += 1,
            RemoteMsg::Spawn(_) => unreachable!("the models send no tasks"),
        }
    }
    wakes
}

/// Remote submissions racing the loop as it parks: none is lost (the loop would block in poll
/// forever), and the eventfd is written at most once per park, not once per submission.
#[test]
fn submit_vs_park_no_lost_wakeup() {
    loom::model(|| {
        let remote = new_remote();
        let ran = LoomArc::new(AtomicUsize::new(0));
        let senders: Vec<_> = [1, 2]
            .into_iter()
            .map(|calls| {
                let handle = LoopHandle::from_remote(remote.clone());
                let ran = ran.clone();
                thread::spawn(move || {
                    for _ in 0..calls {
                        let ran = ran.clone();
                        handle
                            .call_soon_threadsafe(move || {
                                ran.fetch_add(1, SeqCst);
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        let parks = run_loop(&remote, |msgs| {
            run_calls(msgs);
            ran.load(SeqCst) == 3
        });
        for sender in senders {
            sender.join().unwrap();
        }
        let writes = remote.notifier().writes();
        assert!(writes <= parks, "{writes} eventfd writes for {parks} parks");
        remote.close();
    });
}

/// Two threads wake one task at once (as a waker woken off the loop does: bump the task's
/// state, then push a `Wake`). The task is polled again after both, and never more than once
/// per batch of wakes (the slot's `scheduled` flag deduplicates within an iteration).
#[test]
fn two_concurrent_remote_wakes_of_one_task() {
    loom::model(|| {
        let remote = new_remote();
        let events = LoomArc::new(AtomicUsize::new(0));
        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let remote = remote.clone();
                let events = events.clone();
                thread::spawn(move || {
                    events.fetch_add(1, SeqCst);
                    remote.push(RemoteMsg::Wake { key: 0, gen: 1 }).ok().unwrap();
                })
            })
            .collect();
        let mut polls = 0;
        run_loop(&remote, |msgs| {
            if run_calls(msgs) == 0 {
                return false;
            }
            polls += 1; // scheduled once however many wakes the batch held
            events.load(SeqCst) == 2
        });
        assert!(polls <= 2, "{polls} polls for two wakes");
        for waker in wakers {
            waker.join().unwrap();
        }
        remote.close();
    });
}

/// Submissions racing the loop's close: each job either runs (and its `ConcurrentFuture` has
/// the output) or is refused or dropped by the close (and it resolves to `LoopClosed`); the
/// submitter blocked in `result()` always returns; a callback either runs or is refused.
#[test]
fn submit_vs_close_every_job_runs_or_resolves_loop_closed() {
    loom::model(|| {
        let remote = new_remote();
        let ran = LoomArc::new(AtomicUsize::new(0));
        let called = LoomArc::new(AtomicUsize::new(0));
        let submitter = {
            let handle = LoopHandle::from_remote(remote.clone());
            let (ran, called) = (ran.clone(), called.clone());
            thread::spawn(move || {
                let fut = handle.submit(move |sender| {
                    ran.fetch_add(1, SeqCst);
                    let _ = sender.send(Ok(42));
                });
                let accepted = handle
                    .call_soon_threadsafe(move || {
                        called.fetch_add(1, SeqCst);
                    })
                    .is_ok();
                (fut.result(), accepted)
            })
        };
        // The loop runs one iteration's worth of remote work, then closes.
        let driver = RemoteDriver::new(remote.clone());
        let mut msgs = Vec::new();
        driver.take(|msg| msgs.push(msg));
        run_calls(msgs);
        let refused = driver.close();
        drop(refused); // on the loop's thread, as `Core::close` does
        let (result, accepted) = submitter.join().unwrap();
        match result {
            Ok(v) => {
                assert_eq!(v, 42);
                assert_eq!(ran.load(SeqCst), 1);
            }
            Err(err) => {
                assert!(err.is_loop_closed(), "{err:?}");
                assert_eq!(ran.load(SeqCst), 0);
            }
        }
        assert!(called.load(SeqCst) <= usize::from(accepted));
        assert!(remote.is_closed());
    });
}

/// Counts drops of the output.
struct Output(LoomArc<AtomicUsize>);

impl Drop for Output {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A waker over a loom `Arc` (so loom checks that it is neither leaked nor freed twice) that
/// counts its wakes.
struct WakeCount(AtomicUsize);

fn counting_waker(count: LoomArc<WakeCount>) -> Waker {
    const VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);
    unsafe fn clone(data: *const ()) -> RawWaker {
        // SAFETY: `data` came from `LoomArc::into_raw` and the waker holds one count.
        unsafe { LoomArc::increment_strong_count(data as *const WakeCount) };
        RawWaker::new(data, &VTABLE)
    }
    unsafe fn wake(data: *const ()) {
        // SAFETY: as `clone`; this consumes the waker's count.
        let arc = unsafe { LoomArc::from_raw(data as *const WakeCount) };
        arc.0.fetch_add(1, SeqCst);
    }
    unsafe fn wake_by_ref(data: *const ()) {
        // SAFETY: as `clone`; the count stays with the waker.
        unsafe { &*(data as *const WakeCount) }.0.fetch_add(1, SeqCst);
    }
    unsafe fn drop_waker(data: *const ()) {
        // SAFETY: as `clone`; this releases the waker's count.
        drop(unsafe { LoomArc::from_raw(data as *const WakeCount) });
    }
    let raw = RawWaker::new(LoomArc::into_raw(count) as *const (), &VTABLE);
    // SAFETY: the vtable functions keep the loom Arc's count balanced, as checked above.
    unsafe { Waker::from_raw(raw) }
}

/// The loop completes the task (the real `RemoteTask` sends the output) while another thread
/// polls the `ConcurrentFuture` (storing its waker) and drops it. The output is dropped exactly
/// once, the waker is woken at most once and never leaked (loom checks its `Arc`).
#[test]
fn concurrent_future_dropped_on_a_foreign_thread_while_the_task_completes() {
    loom::model(|| {
        let remote = new_remote();
        let drops = LoomArc::new(AtomicUsize::new(0));
        let wakes = LoomArc::new(WakeCount(AtomicUsize::new(0)));
        let (sender, fut) = pair(remote.clone());
        let awaiter = {
            let wakes = wakes.clone();
            let drops = drops.clone();
            thread::spawn(move || {
                let waker = counting_waker(wakes);
                let mut fut = fut;
                match Pin::new(&mut fut).poll(&mut Context::from_waker(&waker)) {
                    Poll::Ready(out) => drop(out.ok().unwrap()),
                    Poll::Pending => assert_eq!(drops.load(SeqCst), 0),
                }
                drop(fut);
            })
        };
        let mut task = pin!(RemoteTask::new(std::future::ready(Output(drops.clone())), sender));
        assert!(task
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_ready());
        awaiter.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1, "the output is dropped exactly once");
        assert!(wakes.0.load(SeqCst) <= 1);
    });
}

/// A future that is pending once, then ready with an `Output`.
struct PendingOnce(Option<LoomArc<AtomicUsize>>, bool);

impl Future for PendingOnce {
    type Output = Output;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Output> {
        if !self.1 {
            self.1 = true;
            return Poll::Pending;
        }
        Poll::Ready(Output(self.0.take().unwrap()))
    }
}

/// `cancel()` from another thread racing the task's completion on the loop: the outcome is the
/// output exactly when cancel lost; the task's waker (registered for cancellation) is woken at
/// most once and never leaked; an output made is dropped exactly once.
#[test]
fn cancel_vs_completion() {
    loom::model(|| {
        let remote = new_remote();
        let drops = LoomArc::new(AtomicUsize::new(0));
        let task_wakes = LoomArc::new(WakeCount(AtomicUsize::new(0)));
        let (sender, fut) = pair(remote.clone());
        let fut = Arc::new(fut);
        let canceller = {
            let fut = fut.clone();
            thread::spawn(move || fut.cancel())
        };
        let made = LoomArc::new(AtomicUsize::new(0));
        {
            let waker = counting_waker(task_wakes.clone());
            let mut task = pin!(RemoteTask::new(PendingOnce(Some(drops.clone()), false), sender));
            let mut cx = Context::from_waker(&waker);
            if task.as_mut().poll(&mut cx).is_pending() {
                // Woken (by the cancel, or by whatever it waits for): the second poll.
                if task.as_mut().poll(&mut cx).is_ready() && drops.load(SeqCst) == 0 {
                    made.fetch_add(1, SeqCst);
                }
            }
        }
        let cancelled = canceller.join().unwrap();
        let fut = Arc::try_unwrap(fut).unwrap();
        match fut.result() {
            Ok(output) => {
                assert!(!cancelled);
                drop(output);
                assert_eq!(drops.load(SeqCst), 1);
            }
            Err(ConcurrentError::Cancelled) => assert!(cancelled),
            Err(other) => panic!("unexpected {other:?}"),
        }
        assert!(drops.load(SeqCst) <= 1, "an output is dropped at most once");
        assert!(task_wakes.0.load(SeqCst) <= 1);
        let _ = made;
    });
}
