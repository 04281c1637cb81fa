//! A [`TaskGroup`](crate::TaskGroup) child: the wrapper future that reports its `Err` or panic
//! to the group, the member record that leaves the group when the wrapper is dropped, and the
//! [`GroupTask`] handle given to the caller.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::group_errors::ChildError;
use super::task_group::{report_unretrieved, GroupState, Phase};
use crate::task::{unname_panic, Task, TaskError, TaskRef};

/// A child's place in the group, owned by its wrapper future.
pub(super) struct Member<E> {
    state: Rc<RefCell<GroupState<E>>>,
    slot: usize,
}

impl<E> Member<E> {
    pub(super) fn new(state: Rc<RefCell<GroupState<E>>>, slot: usize) -> Self {
        Member { state, slot }
    }

    /// Records the child's failure; the first one cancels every child (this one included, as
    /// its error went to the group), a later one only this child.
    fn fail(&self, error: ChildError<E>) {
        let (cancel, unretrieved): (Vec<TaskRef>, Option<ChildError<E>>) = {
            let mut state = self.state.borrow_mut();
            let unretrieved = if state.owner_gone {
                Some(error)
            } else {
                state.errors.push(error);
                None
            };
            let cancel = if state.phase == Phase::Open {
                state.phase = Phase::Failing;
                state.members.iter().filter_map(|(_, m)| m.clone()).collect()
            } else {
                state
                    .members
                    .get(self.slot)
                    .cloned()
                    .flatten()
                    .into_iter()
                    .collect()
            };
            (cancel, unretrieved)
        };
        let body = self.state.borrow_mut().body.take();
        if let Some(body) = body {
            body.wake();
        }
        // As asyncio, whose `_on_task_done` callback runs after the step: the children
        // already scheduled in this iteration take their step first (a sibling failing there
        // adds its error, asyncio's ExceptionGroup; one returning keeps its value), then the
        // rest are cancelled. Off the loop (a drop outside it), at once.
        let cancel_all = move || {
            for child in cancel {
                child.cancel();
            }
        };
        match crate::context::current() {
            Some(core) => drop(core.call_soon(Box::new(cancel_all))),
            None => cancel_all(),
        }
        report_unretrieved(unretrieved.into_iter().collect());
    }
}

impl<E> Drop for Member<E> {
    fn drop(&mut self) {
        let (gone, joiner) = {
            let mut state = self.state.borrow_mut();
            state.running -= 1;
            let gone = state.members.try_remove(self.slot);
            let joiner = if state.running == 0 {
                state.joiner.take()
            } else {
                None
            };
            (gone, joiner)
        };
        drop(gone);
        if let Some(joiner) = joiner {
            joiner.wake();
        }
    }
}

pin_project! {
    /// A child's future inside its task: reports `Err` and panics to the group.
    pub(super) struct GroupChild<F, E> {
        #[pin]
        future: F,
        member: Member<E>,
        // The child failed; it waits for its own cancellation.
        halted: bool,
    }
}

impl<F, E> GroupChild<F, E> {
    pub(super) fn new(future: F, member: Member<E>) -> Self {
        GroupChild {
            future,
            member,
            halted: false,
        }
    }
}

impl<F, T, E> Future for GroupChild<F, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut this = self.project();
        if *this.halted {
            return Poll::Pending;
        }
        let error = match catch_unwind(AssertUnwindSafe(|| this.future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Ok(value))) => return Poll::Ready(value),
            Ok(Poll::Ready(Err(error))) => ChildError::Failed(error),
            // The payload as it was raised (a gathered coroutine's panic comes named).
            Err(payload) => ChildError::Panicked(unname_panic(payload).1),
        };
        *this.halted = true;
        this.member.fail(error);
        Poll::Pending
    }
}

/// The handle of a [`TaskGroup`](crate::TaskGroup) child: a [`Task<T>`] (it derefs to one, for
/// `cancel`, `name`, `is_done`...) that can be dropped without a warning, since the group, not
/// the handle, owns the child's lifetime. Await it for the child's value after
/// [`join`](crate::TaskGroup::join): `Ok(value)`, or `Err(TaskError::Cancelled)` if the child
/// was cancelled or failed (its error went to the group).
pub struct GroupTask<T> {
    task: Task<T>,
}

impl<T: 'static> GroupTask<T> {
    pub(super) fn new(task: Task<T>) -> Self {
        GroupTask { task }
    }

    /// The plain task handle.
    pub fn into_task(self) -> Task<T> {
        self.task
    }
}

impl<T> Deref for GroupTask<T> {
    type Target = Task<T>;

    fn deref(&self) -> &Task<T> {
        &self.task
    }
}

impl<T: 'static> Future for GroupTask<T> {
    type Output = Result<T, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx)
    }
}

impl<T> fmt::Debug for GroupTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GroupTask").field(&self.task).finish()
    }
}
