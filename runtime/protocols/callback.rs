//! Calling a protocol's methods, for the stream connections and the datagram endpoints alike:
//! a panic caught as the transport's fatal error ([`catch`]).

use std::any::Any;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};

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
