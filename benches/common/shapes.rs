//! Workload pieces that several benches share (included with `#[path]`), so the summary table
//! and the criterion benches measure the same code.

#![allow(dead_code)] // each bench uses some of these

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

/// Spawns a chain of `n` tasks on tokio, each spawning the next; the last one signals `done`.
pub fn tokio_chain(done: tokio::sync::oneshot::Sender<()>, n: usize) {
    if n == 0 {
        let _ = done.send(());
    } else {
        drop(tokio::spawn(async move { tokio_chain(done, n - 1) }));
    }
}

/// The same chain on aioloop.
pub fn aioloop_chain(done: tokio::sync::oneshot::Sender<()>, n: usize) {
    if n == 0 {
        let _ = done.send(());
    } else {
        drop(aioloop::spawn(async move { aioloop_chain(done, n - 1) }));
    }
}

/// Polls `fut` exactly once and drops it (a timer registered and cancelled).
pub async fn poll_once<F: Future>(fut: F) {
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        let _ = fut.as_mut().poll(cx);
        Poll::Ready(())
    })
    .await;
}

/// CPU time this thread spent in `f` (for rows whose wall time is the timers' own span).
pub fn cpu_timed(f: impl FnOnce()) -> Duration {
    fn now() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
    let start = now();
    f();
    now() - start
}
