//! `yield_now`: asyncio's `sleep(0)`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Gives the loop exactly one iteration: the calling task is rescheduled behind everything
/// that is ready now, and resumes in the next iteration. asyncio's `await asyncio.sleep(0)`.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let l = log.clone();
/// aioloop::run(async move {
///     let (a, b) = (l.clone(), l.clone());
///     let t1 = aioloop::spawn(async move { for i in 0..2 { a.borrow_mut().push(("a", i)); aioloop::yield_now().await; } });
///     let t2 = aioloop::spawn(async move { for i in 0..2 { b.borrow_mut().push(("b", i)); aioloop::yield_now().await; } });
///     t1.await.unwrap();
///     t2.await.unwrap();
/// });
/// assert_eq!(*log.borrow(), [("a", 0), ("b", 0), ("a", 1), ("b", 1)]);
/// ```
#[doc(alias = "sleep(0)")]
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    // Inlined into the caller's state machine: a yield is one flag test and one wake.
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
