//! Calling a protocol's methods, for the stream connections and the datagram endpoints alike:
//! a panic caught as the transport's fatal error ([`catch`]), and the calls that fall due
//! while the protocol is busy, made once it is free ([`deliver_due`]).

use std::any::Any;
use std::cell::RefCell;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Weak;

/// A protocol method's panic: the error the transport closes with, and the payload to resume
/// once `connection_lost` ran.
pub(super) struct Panicked {
    pub(super) error: io::Error,
    pub(super) payload: Box<dyn Any + Send>,
}

/// Runs the protocol method `what` (`f`); a panic comes back as the transport's fatal error
/// (asyncio's `_fatal_error` for an exception in a protocol callback), naming the method.
pub(super) fn catch<R>(what: &str, f: impl FnOnce() -> R) -> Result<R, Panicked> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| Panicked {
        error: io::Error::other(format!(
            "protocol.{what}() panicked: {}",
            panic_message(&*payload)
        )),
        payload,
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "Box<dyn Any>"
    }
}

/// Makes the protocol calls that are due (`pop` gives them in order, `is_due` says whether
/// one is), unless one of the protocol's methods is running: then `wake` wakes the
/// transport's task, which calls this again once that method returned. Nothing re-enters the
/// protocol.
pub(super) fn deliver_due<P: ?Sized, E>(
    protocol: &Weak<RefCell<P>>,
    is_due: impl Fn() -> bool,
    mut pop: impl FnMut() -> Option<E>,
    wake: impl FnOnce(),
    mut call: impl FnMut(&mut P, E),
) {
    if !is_due() {
        return;
    }
    let Some(protocol) = protocol.upgrade() else {
        return;
    };
    let Ok(mut protocol) = protocol.try_borrow_mut() else {
        wake();
        return;
    };
    while let Some(due) = pop() {
        call(&mut protocol, due);
    }
}
