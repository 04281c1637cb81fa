//! Workload pieces that several benches share (included with `#[path]`), so the summary table
//! and the criterion benches measure the same code.

#![allow(dead_code)] // each bench uses some of these

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

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
