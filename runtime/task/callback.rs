//! [`CallbackCell`]: a scheduled callback, shared between the ready queue (or a timer) and the
//! handle that can cancel it.

use std::cell::RefCell;
use std::rc::Rc;

/// A scheduled callback, shared between the ready queue and its `Handle`.
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
