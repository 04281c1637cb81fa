//! [`Executor`]: hyper's executor, spawning on the running loop.

use std::future::Future;

/// hyper's executor on aioloop: `execute` spawns the future as a task of the loop running on
/// the calling thread. The future need not be `Send`.
///
/// hyper calls `execute` from the connection future it drives (an HTTP/2 server spawns one
/// task per stream, a client its connection), so that future must run on an aioloop loop.
///
/// # Panics
/// `execute` panics if no loop is running on the calling thread.
///
/// ```
/// use hyper::rt::Executor as _;
///
/// aioloop::run(async {
///     let (tx, rx) = aioloop::sync::oneshot::channel();
///     let rc = std::rc::Rc::new("not Send");
///     aioloop::hyper::Executor.execute(async move {
///         let _ = tx.send(*rc);
///     });
///     assert_eq!(rx.await.unwrap(), "not Send");
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Executor;

impl<F> ::hyper::rt::Executor<F> for Executor
where
    F: Future + 'static,
    F::Output: 'static,
{
    #[track_caller]
    fn execute(&self, future: F) {
        drop(crate::spawn(future));
    }
}
