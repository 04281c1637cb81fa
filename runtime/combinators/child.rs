//! [`MaybeDone`]: one child of a combinator, polled in place until it finishes, then its output.

use std::future::{Future, IntoFuture};
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::ready::ReadyList;
use crate::task::cancel_scope::cancelling;
use crate::task::InPlaceSet;

/// A child future, then its output. Public only for the expansion of
/// [`gather!`](crate::gather!) and [`try_gather!`](crate::try_gather!).
#[doc(hidden)]
#[derive(Debug)]
pub enum MaybeDone<F: Future> {
    /// Not finished; pinned in place.
    Running(F),
    /// Finished; the output waits to be taken.
    Done(F::Output),
    /// The output was taken (or the child was dropped).
    Gone,
}

impl<F: Future> MaybeDone<F> {
    /// Wraps `future`.
    pub fn new<I: IntoFuture<IntoFuture = F>>(future: I) -> Self {
        MaybeDone::Running(future.into_future())
    }

    /// Polls the child with `poll` if it is still running (a gather polls it as a task of its
    /// own, see `InPlaceSet`); true if it finished in this call. A panic of the child
    /// propagates.
    #[inline]
    pub(crate) fn poll_done_with(
        self: Pin<&mut Self>,
        poll: impl FnOnce(Pin<&mut F>) -> Poll<F::Output>,
    ) -> bool {
        // SAFETY: `Running(F)` is structurally pinned: `F` is polled in place and only ever
        // dropped in place (by the assignment below, or when the enum is dropped). The other
        // variants hold nothing pinned, so moving out of them is fine.
        let this = unsafe { self.get_unchecked_mut() };
        let MaybeDone::Running(future) = this else {
            return false;
        };
        // SAFETY: as above.
        match poll(unsafe { Pin::new_unchecked(future) }) {
            Poll::Ready(output) => {
                *this = MaybeDone::Done(output);
                true
            }
            Poll::Pending => false,
        }
    }

    /// The output, if the child finished and the output was not taken yet.
    pub(crate) fn output(&self) -> Option<&F::Output> {
        match self {
            MaybeDone::Done(output) => Some(output),
            _ => None,
        }
    }

    /// Takes the output of a finished child.
    ///
    /// # Panics
    /// If the child has not finished or its output was taken (a combinator bug).
    pub(crate) fn take(self: Pin<&mut Self>) -> F::Output {
        // SAFETY: only a `Done` child is moved out of, and it holds nothing pinned.
        let this = unsafe { self.get_unchecked_mut() };
        assert!(
            matches!(this, MaybeDone::Done(_)),
            "aioloop: a combinator took an output that was not there"
        );
        match std::mem::replace(this, MaybeDone::Gone) {
            MaybeDone::Done(output) => output,
            _ => unreachable!(),
        }
    }

    /// Drops the child (running or done) in place.
    pub(crate) fn clear(self: Pin<&mut Self>) {
        // SAFETY: the assignment drops a running future in place, as the pin contract allows.
        *unsafe { self.get_unchecked_mut() } = MaybeDone::Gone;
    }
}

/// Pins child `index` of a boxed slice of children.
pub(crate) fn pin_child<F: Future>(children: &mut [MaybeDone<F>], index: usize) -> Pin<&mut MaybeDone<F>> {
    // SAFETY: combinators keep their children in a boxed slice that is never moved out of,
    // reallocated or shrunk while a child is running: every child is pinned for its whole life.
    unsafe { Pin::new_unchecked(&mut children[index]) }
}

/// A boxed slice of children of one type with their [`ReadyList`]: the state shared by
/// [`gather`](crate::gather()), [`try_gather`](crate::try_gather()) and
/// [`as_completed`](crate::as_completed).
pub(crate) struct ChildSet<F: Future> {
    children: Box<[MaybeDone<F>]>,
    /// Each child's task identity (asyncio's gather makes each awaitable a task).
    tasks: InPlaceSet,
    ready: ReadyList,
    /// Children still running.
    pub(crate) pending: usize,
    started: bool,
}

impl<F: Future> ChildSet<F> {
    pub(crate) fn new<I>(futures: I) -> Self
    where
        I: IntoIterator,
        I::Item: IntoFuture<IntoFuture = F>,
    {
        let children: Box<[MaybeDone<F>]> = futures.into_iter().map(MaybeDone::new).collect();
        ChildSet {
            tasks: InPlaceSet::default(),
            ready: ReadyList::new(children.len()),
            pending: children.len(),
            children,
            started: false,
        }
    }

    /// Number of children (running or not).
    pub(crate) fn len(&self) -> usize {
        self.children.len()
    }

    /// Polls every child woken since the last call (every child, in order, on the first call),
    /// each with its own waker, and calls `on_done` for each child that finished. `on_done` may
    /// stop the round early; children not polled then stay queued.
    pub(crate) fn poll_woken(
        &mut self,
        cx: &mut Context<'_>,
        mut on_done: impl FnMut(&mut [MaybeDone<F>], usize) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let ChildSet {
            children,
            tasks,
            ready,
            pending,
            started,
        } = self;
        let owner = cx.waker();
        ready.register(owner);
        tasks.bind(children.len(), owner);
        let cancelled = tasks.take_cancelled();
        if !cancelled.is_empty() {
            for index in cancelled {
                cancelling(|| pin_child(children, index).clear());
                tasks.end(index);
            }
            tasks.cancel_owner();
            return ControlFlow::Break(());
        }
        let len = children.len();
        tasks.round(|tasks| {
            // The children share one type: once it was probed, the fast path for the rest.
            let mut uniform = tasks.uniform::<F>();
            ready.poll_round(started, len, |index, cx| {
                let child = pin_child(children, index);
                let polled = match &uniform {
                    Some(uniform) => child.poll_done_with(|future| uniform.poll(index, future, cx)),
                    None => {
                        let polled = child.poll_done_with(|future| tasks.poll(index, future, cx));
                        uniform = tasks.uniform::<F>();
                        polled
                    }
                };
                if polled {
                    *pending -= 1;
                    return on_done(children, index);
                }
                ControlFlow::Continue(())
            })
        })
    }

    /// Takes every output, in argument order, once every child has finished.
    pub(crate) fn take_all(&mut self) -> Vec<F::Output> {
        debug_assert_eq!(self.pending, 0);
        let outputs = (0..self.children.len())
            .map(|index| pin_child(&mut self.children, index).take())
            .collect();
        self.clear();
        outputs
    }

    /// Drops every child in place, in argument order, and forgets the parent's waker.
    pub(crate) fn clear(&mut self) {
        self.ready.clear_parent();
        self.children = Box::new([]);
        self.tasks = InPlaceSet::default();
        self.pending = 0;
    }

    /// Takes the output of child `index`, leaving the child gone.
    pub(crate) fn take_output(children: &mut [MaybeDone<F>], index: usize) -> F::Output {
        pin_child(children, index).take()
    }
}

#[cfg(test)]
#[path = "child_tests.rs"]
mod tests;
