//! Calling a protocol's methods, for the stream connections and the datagram endpoints alike:
//! a panic caught as the transport's fatal error ([`catch`]), or reported while the transport
//! goes on ([`catch_failed`], for `pause_writing` and `resume_writing`).

use std::any::Any;
use std::io;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

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

/// A protocol method's panic that does not end the transport, to [`report`](Failed::report)
/// once the protocol's borrow ended (the exception handler may look at the protocol).
pub(super) struct Failed {
    what: &'static str,
    payload: Box<dyn Any + Send>,
}

/// Runs the protocol method `what` (`f`) whose panic does not end the transport: asyncio's
/// `_maybe_pause_protocol` and `_maybe_resume_protocol` hand an exception in `pause_writing`
/// or `resume_writing` to the loop's exception handler and go on.
pub(super) fn catch_failed(what: &'static str, f: impl FnOnce()) -> Option<Failed> {
    catch_unwind(AssertUnwindSafe(f))
        .err()
        .map(|payload| Failed { what, payload })
}

impl Failed {
    /// Hands the panic to the running loop's exception handler as "protocol.{what}() failed"
    /// (asyncio's message), with its payload (the context has no transport or protocol); with
    /// no loop running on this thread it goes on unwinding.
    pub(super) fn report(self) {
        match crate::context::current() {
            Some(core) => core.report(
                &format!("protocol.{}() failed", self.what),
                None,
                Some(self.payload),
            ),
            None => resume_unwind(self.payload),
        }
    }
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
