//! Thread-per-core: one loop per core, each with its own listener.
//!
//! A single loop runs on one thread. To use every core, run one loop per core, each accepting
//! on its own `SO_REUSEPORT` listener bound to the same address
//! ([`TcpListener::bind_reuseport`](super::TcpListener::bind_reuseport)): the kernel spreads
//! incoming connections across the listeners, and a connection stays on the loop that
//! accepted it, with no locks or cross-thread wakes on the hot path (nginx's, Seastar's and
//! glommio's design).

use std::future::Future;
use std::num::NonZeroUsize;
use std::thread;

use crate::Builder;

/// The number of loops [`run_per_core`] starts for `threads == 0`: the cores this process may
/// use (`std::thread::available_parallelism`), at least 1.
pub fn available_cores() -> usize {
    thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Runs `make(index)` on its own event loop in each of `threads` new threads (`0` means one
/// per core, see [`available_cores`]) and returns the outputs in index order once all have
/// finished.
///
/// `make` is shared by the threads (it must be `Send + Sync`); the future it returns is created
/// on, and stays on, the loop's own thread, so it need not be `Send`. Each loop typically binds
/// its own listener with [`TcpListener::bind_reuseport`](super::TcpListener::bind_reuseport).
///
/// # Panics
/// If a thread cannot be spawned, or re-raises the panic of a loop that panicked (after all
/// loops have finished).
///
/// ```
/// use aioloop::net::{run_per_core, TcpListener};
///
/// let ports = run_per_core(2, |index| async move {
///     let listener = TcpListener::bind_reuseport("127.0.0.1:0").await.unwrap();
///     (index, listener.local_addr().unwrap().port())
/// });
/// assert_eq!(ports.len(), 2);
/// assert_eq!(ports[1].0, 1);
/// ```
pub fn run_per_core<F, Fut>(threads: usize, make: F) -> Vec<Fut::Output>
where
    F: Fn(usize) -> Fut + Send + Sync,
    Fut: Future,
    Fut::Output: Send,
{
    let threads = if threads == 0 { available_cores() } else { threads };
    let make = &make;
    thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|index| {
                thread::Builder::new()
                    .name(format!("aioloop-core-{index}"))
                    .spawn_scoped(scope, move || Builder::new().run(make(index)))
                    .expect("aioloop: failed to spawn a per-core thread")
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|handle| handle.join()).collect();
        results
            .into_iter()
            .map(|result| result.unwrap_or_else(|payload| std::panic::resume_unwind(payload)))
            .collect()
    })
}
