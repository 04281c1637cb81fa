//! The type-erased task cell: one heap allocation holding a task's future, and later its output
//! in the same space.
//!
//! Invariants: a cell is `Running` until its future returns `Ready` or is dropped by
//! [`RawTask::drop_future`]; after that it is `Done` and never polled again. The loop always
//! holds the cell's owner ([`CellBox`]) outside any `RefCell` borrow while it polls the future
//! or drops anything in it, because both run user code; meanwhile the slot holds the
//! [`vacant_cell`] stand-in, which costs no allocation. A loop's cells live in its pool's arena
//! (cell_pool.rs); one built on another thread is a `Box` ([`remote_cell`]).

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::cell_box::CellBox;
use super::TaskError;

pin_project! {
    /// A task's future, then its outcome: the two share one allocation.
    #[project = StageProj]
    pub(crate) enum Stage<F: Future> {
        /// The future has not finished yet.
        Running { #[pin] future: F },
        /// The outcome, until the [`Task`](crate::Task) handle takes it.
        Done { output: Option<Result<F::Output, TaskError>> },
    }
}

/// The operations the loop needs on a task without knowing its types.
pub(crate) trait RawTask {
    /// Polls the future once. On `Ready` the output is stored and the cell is `Done`.
    /// Calling it on a `Done` cell returns `Ready` and changes nothing.
    fn poll_task(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;

    /// Drops the future (or a stored output) in place, leaving the cell `Done` with no outcome.
    /// The drop runs user code and may panic; the caller catches that, and the cell is `Done`
    /// either way (assignment writes the new value even when dropping the old one unwinds).
    fn drop_future(self: Pin<&mut Self>);

    /// Stores `error` as the outcome of a `Done` cell.
    fn set_error(self: Pin<&mut Self>, error: TaskError);

    /// The outcome slot, as `&mut Option<Result<T, TaskError>>` behind `dyn Any`, so the typed
    /// [`Task`](crate::Task) handle can take it with a checked downcast. `None` while running.
    fn output_slot(self: Pin<&mut Self>) -> Option<&mut dyn Any>;

    /// Takes the outcome, keeping only its error: for detached tasks, whose output nobody
    /// wants but whose panic must still be reported. Dropping the output runs user code.
    fn take_error(self: Pin<&mut Self>) -> Option<TaskError>;

    /// True if the outcome is a panic not taken yet (for `wait(.., FirstException)`).
    fn is_panic(&self) -> bool;

    /// True if dropping the task's output runs code (its type has drop glue), so that
    /// [`RawTask::take_error`] may panic; false lets a caller skip catching it.
    fn output_drops(&self) -> bool;
}

impl<F> RawTask for Stage<F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn poll_task(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let output = match self.as_mut().project() {
            StageProj::Running { future } => match future.poll(cx) {
                Poll::Ready(output) => output,
                Poll::Pending => return Poll::Pending,
            },
            StageProj::Done { .. } => return Poll::Ready(()),
        };
        self.set(Stage::Done {
            output: Some(Ok(output)),
        });
        Poll::Ready(())
    }

    fn drop_future(mut self: Pin<&mut Self>) {
        self.set(Stage::Done { output: None });
    }

    fn set_error(self: Pin<&mut Self>, error: TaskError) {
        if let StageProj::Done { output } = self.project() {
            *output = Some(Err(error));
        }
    }

    fn output_slot(self: Pin<&mut Self>) -> Option<&mut dyn Any> {
        match self.project() {
            StageProj::Done { output } => Some(output as &mut dyn Any),
            StageProj::Running { .. } => None,
        }
    }

    fn take_error(self: Pin<&mut Self>) -> Option<TaskError> {
        match self.project() {
            StageProj::Done { output } => output.take()?.err(),
            StageProj::Running { .. } => None,
        }
    }

    fn output_drops(&self) -> bool {
        std::mem::needs_drop::<F::Output>()
    }

    fn is_panic(&self) -> bool {
        matches!(
            self,
            Stage::Done {
                output: Some(Err(TaskError::Panicked(_)))
            }
        )
    }
}

/// Makes the cell for `future` in a pool of the test thread (tests; the loop's spawns go
/// through their loop's [`CellPool`](super::cell_pool::CellPool)).
#[cfg(test)]
pub(crate) fn new_cell<F>(future: F) -> CellBox
where
    F: Future + 'static,
    F::Output: 'static,
{
    thread_local! {
        static POOL: super::cell_pool::CellPool = super::cell_pool::CellPool::default();
    }
    POOL.with(|pool| pool.new_cell(future))
}

pin_project! {
    /// A future whose cell is never of a pooled layout (alignment 16): cells built on another
    /// thread are `Box`es, which B1 (cell_box.rs) allows only for layouts the pool does not take.
    #[repr(align(16))]
    pub(crate) struct Unpooled<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Unpooled<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().future.poll(cx)
    }
}

/// The cell for `future`, built off the loop's thread (`run_future_threadsafe`): a `Box`, of a
/// layout the loop's pool does not take; the loop owns it through [`CellBox::from_box`].
pub(crate) fn remote_cell<F>(future: F) -> Pin<Box<dyn RawTask + Send>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Box::pin(Stage::Running {
        future: Unpooled { future },
    })
}

/// What a task slot holds while the loop has the real cell out (T5, in table.rs). It is
/// zero-sized, so its `Box` allocates nothing, and it lets the slot store the cell without an
/// `Option`, whose absent niche makes room for the slab's entry tag.
struct Vacant;

impl RawTask for Vacant {
    /// The loop never steps a task whose cell is out (steps do not nest); if it did, the step
    /// would do nothing, like a spurious wake.
    fn poll_task(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }

    fn drop_future(self: Pin<&mut Self>) {}

    fn set_error(self: Pin<&mut Self>, _: TaskError) {}

    fn output_slot(self: Pin<&mut Self>) -> Option<&mut dyn Any> {
        None
    }

    fn take_error(self: Pin<&mut Self>) -> Option<TaskError> {
        None
    }

    fn is_panic(&self) -> bool {
        false
    }

    fn output_drops(&self) -> bool {
        false
    }
}

/// The stand-in a slot holds while its real cell is out. Allocates nothing.
#[inline]
pub(crate) fn vacant_cell() -> CellBox {
    CellBox::from_box(Box::pin(Vacant))
}

/// Takes the typed outcome out of a finished cell.
///
/// # Panics
/// If the cell holds another output type (a bug in the loop, never user input) or no outcome.
pub(crate) fn take_output<T: 'static>(cell: Pin<&mut dyn RawTask>) -> Result<T, TaskError> {
    cell.output_slot()
        .and_then(|slot| slot.downcast_mut::<Option<Result<T, TaskError>>>())
        .and_then(Option::take)
        .expect("aioloop: task outcome missing or of the wrong type (loop bug)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn future_and_output_share_the_cell() {
        let mut cell = new_cell(async { 7u32 });
        let mut cx = Context::from_waker(Waker::noop());
        assert!(cell.as_mut().output_slot().is_none());
        assert_eq!(cell.as_mut().poll_task(&mut cx), Poll::Ready(()));
        assert_eq!(take_output::<u32>(cell.as_mut()).unwrap(), 7);
    }

    #[test]
    fn drop_future_drops_in_place() {
        struct Guard(std::rc::Rc<std::cell::Cell<bool>>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let dropped = std::rc::Rc::new(std::cell::Cell::new(false));
        let guard = Guard(dropped.clone());
        let mut cell = new_cell(async move {
            std::future::pending::<()>().await;
            drop(guard);
        });
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(cell.as_mut().poll_task(&mut cx), Poll::Pending);
        cell.as_mut().drop_future();
        assert!(dropped.get());
        cell.as_mut().set_error(TaskError::Cancelled);
        assert!(take_output::<()>(cell.as_mut()).unwrap_err().is_cancelled());
    }

    #[test]
    fn the_vacant_stand_in_is_zero_sized_and_inert() {
        assert_eq!(std::mem::size_of::<Vacant>(), 0, "boxing it must not allocate");
        let mut cell = vacant_cell();
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(cell.as_mut().poll_task(&mut cx), Poll::Pending);
        cell.as_mut().drop_future();
        cell.as_mut().set_error(TaskError::Cancelled);
        assert!(cell.as_mut().output_slot().is_none());
        assert!(cell.as_mut().take_error().is_none());
        assert!(!cell.is_panic());
    }

    #[test]
    fn take_error_keeps_only_errors() {
        let mut cell = new_cell(async { 1u8 });
        let mut cx = Context::from_waker(Waker::noop());
        let _ = cell.as_mut().poll_task(&mut cx);
        assert!(cell.as_mut().take_error().is_none());
        cell.as_mut().drop_future();
        cell.as_mut().set_error(TaskError::Panicked(Box::new("x")));
        assert!(cell.as_mut().take_error().unwrap().is_panic());
    }
}
