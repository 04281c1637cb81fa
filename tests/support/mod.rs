//! Helpers shared by the integration tests: drop guards, poll counters, a thread-woken flag
//! (the combinator tests), the exception handler's reports of a run, the outcome of a
//! coroutine submitted from a thread, a bounded wait for a server's close; `interval`, tokio's interval checks on the paused
//! clock; `net`, asyncio's test servers in threads; `sockets`, socket pairs and polls for
//! the tokio network audits; `process`, children for the subprocess tests; `signal`, the lock,
//! delivery and deadline of the signal tests; `protocols`, the lock, wait and descriptor count
//! of the transports and protocols tests; `streams`, an echoing handler of the streams tests;
//! `tls`, test certificates and TLS servers.

#![allow(dead_code)] // each test file uses some of these

pub mod interval;
pub mod net;
pub mod process;
pub mod protocols;
pub mod signal;
pub mod sockets;
pub mod streams;
#[cfg(feature = "tls")]
pub mod tls;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use aioloop::{ConcurrentError, ConcurrentFuture, LoopHandle};

/// Counts how many guards of one family were dropped.
#[derive(Clone, Default)]
pub struct Drops(Rc<Cell<usize>>);

impl Drops {
    pub fn new() -> Self {
        Drops::default()
    }

    /// A guard that bumps the count when dropped.
    pub fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }

    pub fn count(&self) -> usize {
        self.0.get()
    }
}

pub struct DropGuard(Rc<Cell<usize>>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Adds `n` to the counter when dropped: asyncio's `except CancelledError: NUM += n; raise`
/// (or a `finally:`) in a coroutine that is dropped as a cancellation.
pub struct AddOnDrop(pub Rc<Cell<u32>>, pub u32);

impl Drop for AddOnDrop {
    fn drop(&mut self) {
        self.0.set(self.0.get() + self.1);
    }
}

/// Wraps a future and counts its polls.
pub struct Counted<F> {
    pub polls: Rc<Cell<usize>>,
    future: Pin<Box<F>>,
}

pub fn counted<F: Future>(future: F) -> (Rc<Cell<usize>>, Counted<F>) {
    let polls = Rc::new(Cell::new(0));
    (
        polls.clone(),
        Counted {
            polls,
            future: Box::pin(future),
        },
    )
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.future.as_mut().poll(cx)
    }
}

/// A flag set from another thread, which wakes whoever waits on it there.
#[derive(Clone, Default)]
pub struct ThreadFlag(Arc<Mutex<(bool, Option<Waker>)>>);

impl ThreadFlag {
    pub fn new() -> Self {
        ThreadFlag::default()
    }

    /// Sets the flag after `delay`, from a new thread, and wakes the waiter there.
    pub fn set_later(&self, delay: std::time::Duration) -> std::thread::JoinHandle<()> {
        let flag = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let waker = {
                let mut state = flag.0.lock().unwrap();
                state.0 = true;
                state.1.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        })
    }

    /// Waits until the flag is set.
    pub fn wait(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            let mut state = self.0.lock().unwrap();
            if state.0 {
                Poll::Ready(())
            } else {
                state.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

/// Runs `body` on a paused loop whose exception handler records the reports, and returns them.
pub fn reports_of(body: impl Future<Output = ()>) -> Vec<String> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = seen.clone();
    aioloop::EventLoop::builder()
        .start_paused(true)
        .exception_handler(move |ctx| sink.borrow_mut().push(ctx.to_string()))
        .run(body);
    let seen = seen.borrow().clone();
    seen
}

/// What a thread waiting on a [`ConcurrentFuture`] gets.
pub type Outcome<T> = Result<T, ConcurrentError>;

/// From a worker thread, submits `make` to `event_loop` with `run_coroutine_threadsafe`,
/// waits for the outcome with `wait` (`result` or `result_timeout`), then has the loop stop
/// with `stop`; runs the loop until then and answers the outcome the thread got.
pub fn outcome_from_a_thread<M, F>(
    event_loop: &aioloop::EventLoop,
    make: M,
    wait: fn(ConcurrentFuture<F::Output>) -> Outcome<F::Output>,
    stop: fn(&LoopHandle),
) -> Outcome<F::Output>
where
    M: FnOnce() -> F + Send + 'static,
    F: Future + 'static,
    F::Output: Send + 'static,
{
    let handle = event_loop.handle();
    let worker = std::thread::spawn(move || {
        let out = wait(handle.run_coroutine_threadsafe(make));
        stop(&handle);
        out
    });
    event_loop.run_forever();
    worker.join().unwrap()
}

/// [`outcome_from_a_thread`]'s `stop` that stops the loop at once.
pub fn stop_now(handle: &LoopHandle) {
    handle.stop().unwrap();
}

/// Yields `n` times.
pub async fn yields(n: usize) {
    for _ in 0..n {
        aioloop::yield_now().await;
    }
}

/// Waits (10 s at most) for `wait_closed`, a server's `wait_closed()`.
pub async fn closed_in_10s(wait_closed: impl Future<Output = ()>) {
    aioloop::wait_for(wait_closed, std::time::Duration::from_secs(10))
        .await
        .expect("the server closed in 10 s");
}
