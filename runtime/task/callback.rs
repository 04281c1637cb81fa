//! [`CallbackCell`]: a scheduled callback, shared between the ready queue (or a timer) and the
//! handle that can cancel it.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// A scheduled callback, shared between the ready queue and its `CallbackHandle`.
pub(crate) struct CallbackCell {
    callback: RefCell<Option<Box<dyn FnOnce()>>>,
}

impl CallbackCell {
    pub(crate) fn new(callback: Box<dyn FnOnce()>) -> Rc<Self> {
        Rc::new(CallbackCell {
            callback: RefCell::new(Some(callback)),
        })
    }

    /// True once the callback ran or was cancelled.
    pub(crate) fn is_empty(&self) -> bool {
        self.callback.borrow().is_none()
    }

    /// Takes the callback out to run it; `None` if it was cancelled.
    pub(crate) fn take(&self) -> Option<Box<dyn FnOnce()>> {
        self.callback.borrow_mut().take()
    }
}

/// A callback scheduled with [`call_soon`](crate::call_soon): asyncio's `Handle` (named for
/// what it handles, beside [`LoopHandle`](crate::LoopHandle) and
/// [`TimerHandle`](crate::TimerHandle)).
///
/// Dropping the handle does not cancel the callback.
#[doc(alias = "Handle")]
pub struct CallbackHandle {
    cell: Rc<CallbackCell>,
}

impl CallbackHandle {
    pub(crate) fn new(cell: Rc<CallbackCell>) -> Self {
        CallbackHandle { cell }
    }

    /// Cancels the callback if it has not run yet; its closure is dropped now.
    /// Cancelling a callback that already ran or was cancelled does nothing.
    pub fn cancel(&self) {
        let callback = self.cell.take();
        drop(callback);
    }

    /// True if the callback can no longer run: it was cancelled, or it already ran.
    pub fn is_cancelled(&self) -> bool {
        self.cell.is_empty()
    }
}

impl fmt::Debug for CallbackHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackHandle")
            .field("pending", &!self.is_cancelled())
            .finish()
    }
}

/// Names a done callback added to a [`Future`](crate::Future) or a [`Task`](crate::Task), for
/// `remove_done_callback` (asyncio removes by function identity, which Rust closures lack).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DoneCallbackId(pub(crate) u64);
