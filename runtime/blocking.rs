//! The loop's bounded pool of threads for blocking calls (`to_thread` / `run_in_executor`, in
//! threadsafe/to_thread.rs, run closures on it). The loop owns its pool.
//!
//! The pool is our own, small one over std (a mutex-protected queue and a condvar), one per
//! loop, started on first use: at most `max_threads` threads (default `min(32, cores + 4)`, as
//! asyncio's default executor; `Builder::blocking_threads`), each exiting after `keep_alive`
//! idle (default 10 s; `Builder::blocking_keep_alive`). Closing the loop shuts its pool down:
//! idle threads exit, running ones finish their closure, and a queued closure is dropped
//! unrun unless it was submitted with [`OnClose::Finish`] (a file's write behind: tokio's
//! "mandatory" blocking tasks): those still run, and the close waits until every one of them
//! has finished, so no written byte is lost when a program ends right after its loop.
//!
//! Accounting (all under the mutex): `threads` counts live workers, `idle` those waiting for
//! work and not yet claimed. A submitter that finds an idle worker claims it (`idle -= 1`,
//! `notified += 1`) and signals the condvar; a worker woken with `notified > 0` takes the
//! token and goes to the queue, one woken without a token (spurious, or on its timeout) goes
//! back to waiting or exits. So each job either wakes exactly one idle worker, or starts a new
//! one, or (with `max_threads` busy) waits for the next worker to finish its job.
//!
//! Virtual time: a paused clock does not jump while blocking work runs (tokio's
//! `spawn_blocking` inhibits auto-advance the same way), since that work runs on the system
//! clock. Each `to_thread` job holds an [`InFlight`] guard, dropped after it sends its
//! outcome (so a loop that reads the count at zero has the outcome's wake pending already).
//! A paused, idle loop calls [`Pool::holds_virtual_time`], which raises `awaited` and then
//! reads `in_flight`; a guard decrements `in_flight` and then reads `awaited`. Both `SeqCst`,
//! so either the loop sees the count at zero and jumps, or the last guard sees `awaited` and
//! pushes a no-op message to the loop's remote queue, which wakes its blocking poll (or keeps
//! it from blocking: the park protocol, R3).

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::remote::{Remote, RemoteMsg};

/// A closure for the pool.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// What closing the loop does with a job that has not finished yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnClose {
    /// Dropped unrun if still queued (its awaiter is gone with the loop).
    Drop,
    /// Run even if still queued, and the close waits for it: work whose effect must not be
    /// lost (a file's write behind).
    Finish,
}

/// A queued job and what closing the loop does with it.
struct Queued {
    job: Job,
    on_close: OnClose,
}

/// How long an idle blocking thread waits for work before it exits, by default.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The default bound on a loop's blocking threads: asyncio's default executor size,
/// `min(32, cores + 4)`.
pub(crate) fn default_max_threads() -> usize {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    (cores + 4).min(32)
}

/// A loop's pool of threads for blocking calls.
pub(crate) struct Pool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    state: Mutex<PoolState>,
    /// Wakes idle workers (a job for them, or the shutdown).
    cond: Condvar,
    /// Wakes a shutdown waiting for the [`OnClose::Finish`] jobs, and a
    /// [`Pool::idle_waiter`] waiting for the pool to run dry.
    finished: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    /// `to_thread` jobs submitted and not finished (their [`InFlight`] guards alive).
    in_flight: AtomicUsize,
    /// Raised by a paused, idle loop waiting for `in_flight` to reach zero (see the module doc).
    awaited: AtomicBool,
}

#[derive(Default)]
struct PoolState {
    queue: VecDeque<Queued>,
    /// [`OnClose::Finish`] jobs submitted and not yet finished (queued or running).
    unfinished: usize,
    /// Jobs a worker is running now.
    busy: usize,
    /// Threads in [`PoolInner::wait_dry`]: a worker that leaves the pool dry wakes them.
    dry_waiters: usize,
    threads: usize,
    idle: usize,
    notified: usize,
    shutdown: bool,
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new(default_max_threads(), DEFAULT_KEEP_ALIVE)
    }
}

impl Pool {
    /// A pool of at most `max_threads` threads (at least one), idle ones exiting after `keep_alive`.
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> Self {
        Pool {
            inner: Arc::new(PoolInner {
                state: Mutex::new(PoolState::default()),
                cond: Condvar::new(),
                finished: Condvar::new(),
                max_threads: max_threads.max(1),
                keep_alive,
                in_flight: AtomicUsize::new(0),
                awaited: AtomicBool::new(false),
            }),
        }
    }

    /// Queues `job` for a pool thread, starting one if none is idle and the bound allows.
    /// Fails (dropping `job`) if the pool is shut down, or if no thread is running and the OS
    /// refuses to start one.
    pub(crate) fn submit(&self, job: Job, on_close: OnClose) -> io::Result<()> {
        let mut state = self.inner.lock();
        if state.shutdown {
            drop(state);
            drop(job);
            return Err(io::Error::other("the event loop is closed"));
        }
        if on_close == OnClose::Finish {
            state.unfinished += 1;
        }
        state.queue.push_back(Queued { job, on_close });
        if state.idle > 0 {
            state.idle -= 1;
            state.notified += 1;
            self.inner.cond.notify_one();
            return Ok(());
        }
        if state.threads >= self.inner.max_threads {
            return Ok(()); // the next worker to finish its job takes this one
        }
        state.threads += 1;
        drop(state);
        let inner = self.inner.clone();
        let spawned = thread::Builder::new()
            .name("aioloop-blocking".into())
            .spawn(move || inner.work());
        if let Err(err) = spawned {
            let mut state = self.inner.lock();
            state.threads -= 1;
            if state.threads == 0 {
                // Nobody will ever run what is queued: fail it all (the senders resolve).
                let stranded = std::mem::take(&mut state.queue);
                let finishing = stranded.iter().filter(|q| q.on_close == OnClose::Finish).count();
                state.unfinished -= finishing;
                self.inner.finished.notify_all();
                drop(state);
                drop(stranded);
                return Err(err);
            }
        }
        Ok(())
    }

    /// Refuses further jobs, drops the queued ones but the [`OnClose::Finish`] ones, lets every
    /// thread exit once idle, and returns once every `Finish` job has run.
    pub(crate) fn shutdown(&self) {
        let mut state = self.inner.lock();
        state.shutdown = true;
        let (kept, dropped): (VecDeque<Queued>, VecDeque<Queued>) = std::mem::take(&mut state.queue)
            .into_iter()
            .partition(|q| q.on_close == OnClose::Finish);
        state.queue = kept;
        self.inner.cond.notify_all();
        drop(state);
        drop(dropped);
        let mut state = self.inner.lock();
        while state.unfinished > 0 {
            if state.threads == 0 {
                // No worker is left to take them (their start failed): run them here.
                while let Some(queued) = state.queue.pop_front() {
                    drop(state);
                    let _ = catch_unwind(AssertUnwindSafe(queued.job));
                    state = self.inner.lock();
                    state.unfinished -= 1;
                }
                break;
            }
            state = self
                .inner
                .finished
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Counts a job in flight until the guard drops (drop it after sending the job's
    /// outcome); the last guard wakes the loop through `remote` if it waits (module doc).
    pub(crate) fn in_flight(&self, remote: Arc<Remote>) -> InFlight {
        self.inner.in_flight.fetch_add(1, SeqCst);
        InFlight {
            inner: self.inner.clone(),
            remote,
        }
    }

    /// For a paused, idle loop: true while blocking work is in flight, in which case the last
    /// job to finish wakes the loop (so it may block until then instead of moving the clock).
    pub(crate) fn holds_virtual_time(&self) -> bool {
        self.inner.awaited.store(true, SeqCst);
        let held = self.inner.in_flight.load(SeqCst) > 0;
        if !held {
            self.inner.awaited.store(false, SeqCst);
        }
        held
    }

    /// True if no job is queued or running.
    pub(crate) fn is_dry(&self) -> bool {
        self.inner.lock().is_dry()
    }

    /// A closure, for another thread, that waits until no job is queued or running (at most
    /// `timeout`; false if it timed out): asyncio.run's `shutdown_default_executor`, which
    /// joins the executor's threads.
    pub(crate) fn idle_waiter(&self, timeout: Duration) -> impl FnOnce() -> bool + Send + 'static {
        let inner = self.inner.clone();
        move || inner.wait_dry(timeout)
    }

    /// (threads alive, threads idle), for tests.
    #[cfg(test)]
    fn counts(&self) -> (usize, usize) {
        let state = self.inner.lock();
        (state.threads, state.idle)
    }
}

impl PoolState {
    /// No job queued and none running.
    fn is_dry(&self) -> bool {
        self.queue.is_empty() && self.busy == 0
    }
}

impl PoolInner {
    /// Waits until no job is queued or running, for at most `timeout`; false if it timed out.
    fn wait_dry(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        state.dry_waiters += 1;
        let dry = loop {
            if state.is_dry() {
                break true;
            }
            if state.threads == 0 {
                break true; // nobody left to run what is queued (their start failed)
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break false;
            }
            state = self
                .finished
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        state.dry_waiters -= 1;
        dry
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // Jobs never run under the lock, so a poisoned lock still holds consistent counts.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A worker: run queued jobs; when there are none, wait up to `keep_alive` to be claimed.
    fn work(&self) {
        let mut state = self.lock();
        'work: loop {
            while let Some(Queued { job, on_close }) = state.queue.pop_front() {
                state.busy += 1;
                drop(state);
                // Jobs catch their closure's panic themselves; this only guards the pool's
                // accounting against a panicking destructor.
                let _ = catch_unwind(AssertUnwindSafe(job));
                state = self.lock();
                state.busy -= 1;
                // Only a waiter for the dry pool costs the wake-up (a system call) per job.
                let mut notify = state.dry_waiters > 0 && state.is_dry();
                if on_close == OnClose::Finish {
                    state.unfinished -= 1;
                    notify |= state.unfinished == 0;
                }
                if notify {
                    self.finished.notify_all();
                }
            }
            if state.shutdown {
                break;
            }
            state.idle += 1;
            let deadline = Instant::now() + self.keep_alive;
            loop {
                let timeout = deadline.saturating_duration_since(Instant::now());
                state = self
                    .cond
                    .wait_timeout(state, timeout)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                if state.notified > 0 {
                    state.notified -= 1; // claimed by a submitter, who took us off `idle`
                    continue 'work;
                }
                if state.shutdown || Instant::now() >= deadline {
                    state.idle -= 1;
                    break 'work;
                }
            }
        }
        state.threads -= 1;
    }
}

/// A `to_thread` job in flight, from [`Pool::in_flight`].
pub(crate) struct InFlight {
    inner: Arc<PoolInner>,
    remote: Arc<Remote>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.inner.in_flight.fetch_sub(1, SeqCst) == 1 && self.inner.awaited.load(SeqCst) {
            // A closed loop waits for nothing.
            let _ = self.remote.push(RemoteMsg::Call(Box::new(|| {})));
        }
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("max_threads", &self.inner.max_threads)
            .field("keep_alive", &self.inner.keep_alive)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    #[test]
    fn bounded_and_idle_threads_exit() {
        let pool = Pool::new(2, Duration::from_millis(50));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = mpsc::channel();
        for _ in 0..6 {
            let (running, peak, done_tx) = (running.clone(), peak.clone(), done_tx.clone());
            pool.submit(
                Box::new(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                    done_tx.send(()).unwrap();
                }),
                OnClose::Drop,
            )
            .unwrap();
        }
        for _ in 0..6 {
            done_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2, "the bound is reached and kept");
        assert_eq!(pool.counts().0, 2);
        let deadline = Instant::now() + Duration::from_secs(10);
        while pool.counts().0 != 0 {
            assert!(Instant::now() < deadline, "idle threads did not exit");
            thread::sleep(Duration::from_millis(10));
        }
        // A new job after the idle exit starts a thread again.
        let (tx, rx) = mpsc::channel();
        pool.submit(Box::new(move || tx.send(7).unwrap()), OnClose::Drop)
            .unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 7);
    }

    #[test]
    fn an_idle_thread_is_reused() {
        let pool = Pool::new(4, Duration::from_secs(10));
        for i in 0..5 {
            let (tx, rx) = mpsc::channel();
            pool.submit(Box::new(move || tx.send(i).unwrap()), OnClose::Drop)
                .unwrap();
            assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), i);
            // Wait for the worker to go idle before the next job.
            let deadline = Instant::now() + Duration::from_secs(10);
            while pool.counts().1 != 1 {
                assert!(Instant::now() < deadline);
                thread::yield_now();
            }
        }
        assert_eq!(pool.counts(), (1, 1), "one thread served all five jobs");
        pool.shutdown();
    }

    #[test]
    fn shutdown_drops_queued_jobs_and_refuses_new_ones() {
        let pool = Pool::new(1, Duration::from_secs(10));
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        pool.submit(
            Box::new(move || {
                let _ = gate_rx.recv();
            }),
            OnClose::Drop,
        )
        .unwrap();
        struct Flag(Arc<AtomicUsize>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicUsize::new(0));
        let flag = Flag(dropped.clone());
        pool.submit(Box::new(move || drop(flag)), OnClose::Drop).unwrap();
        pool.shutdown();
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            1,
            "the queued job was dropped unrun"
        );
        assert!(pool.submit(Box::new(|| {}), OnClose::Drop).is_err());
        let _ = gate_tx.send(()); // (fails if the worker never started the first job)
        let deadline = Instant::now() + Duration::from_secs(10);
        while pool.counts().0 != 0 {
            assert!(
                Instant::now() < deadline,
                "the worker did not exit after shutdown"
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn shutdown_runs_and_waits_for_finish_jobs() {
        let pool = Pool::new(1, Duration::from_secs(10));
        let (started_tx, started_rx) = mpsc::channel::<()>();
        pool.submit(
            Box::new(move || {
                started_tx.send(()).unwrap();
                thread::sleep(Duration::from_millis(50));
            }),
            OnClose::Drop,
        )
        .unwrap();
        started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let (dropped_ran, finish_ran) = (ran.clone(), ran.clone());
        pool.submit(
            Box::new(move || {
                dropped_ran.fetch_add(10, Ordering::SeqCst);
            }),
            OnClose::Drop,
        )
        .unwrap();
        pool.submit(
            Box::new(move || {
                thread::sleep(Duration::from_millis(20));
                finish_ran.fetch_add(1, Ordering::SeqCst);
            }),
            OnClose::Finish,
        )
        .unwrap();
        pool.shutdown();
        assert_eq!(
            ran.load(Ordering::SeqCst),
            1,
            "the queued Finish job ran before shutdown returned, the Drop one never"
        );
    }
}
