//! The subprocess transport's task: watches the child's exit (the process module's pidfd or
//! `SIGCHLD` watch, through [`Child::poll_wait`](crate::process::Child::poll_wait)) and makes
//! the protocol calls due, in order, one at a time (asyncio's `call_soon`s of
//! `BaseSubprocessTransport`), until `connection_lost` (`_call_connection_lost`).

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::transport::{Call, Inner};
use super::{SubprocessProtocol, SubprocessTransport};
use crate::protocols::callback::catch;
use crate::protocols::task::call_connection_lost;

/// Spawns the task of `transport`, which calls `protocol`.
pub(super) fn start(transport: SubprocessTransport, protocol: Rc<RefCell<dyn SubprocessProtocol>>) {
    drop(crate::spawn(drive(transport, protocol)));
}

/// Ends the transport when its task ends: after `connection_lost`, or dropped or unwinding
/// before it (the loop closing with the transport open: the child is then killed, as
/// asyncio's transport `__del__` closes it).
struct Finish<'a>(&'a Inner);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.kill_if_running();
        if let Ok(mut state) = self.0.state.try_borrow_mut() {
            state.lost = true;
            state.calls.clear();
        }
        // Reaped already, unless the task ended early: then the process module's reaper
        // takes it.
        if let Ok(mut child) = self.0.child.try_borrow_mut() {
            drop(child.take());
        }
        let waker = self.0.driver.borrow_mut().take();
        drop(waker);
    }
}

/// The transport's task, until `connection_lost` was called.
async fn drive(transport: SubprocessTransport, protocol: Rc<RefCell<dyn SubprocessProtocol>>) {
    let inner = &*transport.inner;
    let finish = Finish(inner);
    poll_fn(|cx| poll_drive(&transport, &protocol, cx)).await;
    let exc = inner.state.borrow_mut().failed.take();
    call_connection_lost(
        || protocol.borrow_mut().connection_lost(exc),
        || drop(finish),
        &inner.panic,
    );
}

/// Ready once `connection_lost` is due.
fn poll_drive(
    transport: &SubprocessTransport,
    protocol: &RefCell<dyn SubprocessProtocol>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    let inner = &*transport.inner;
    let replaced = inner.driver.borrow_mut().register(cx.waker());
    drop(replaced);
    loop {
        let fail_now = std::mem::take(&mut inner.state.borrow_mut().fail_pending);
        if fail_now {
            for pipe in inner.pipe_transports() {
                pipe.abort();
            }
            inner.kill_if_running();
        }
        poll_exit(inner, cx);
        let call = inner.state.borrow_mut().calls.pop_front();
        match call {
            None => return Poll::Pending,
            Some(Call::Lost) => return Poll::Ready(()),
            Some(call) => deliver(transport, protocol, call),
        }
    }
}

/// Notes the child's exit once it happened (`_process_exited`).
fn poll_exit(inner: &Inner, cx: &mut Context<'_>) {
    if inner.state.borrow().returncode.is_some() {
        return;
    }
    let status = match inner.child.borrow_mut().as_mut() {
        Some(child) => child.poll_wait(cx),
        None => return,
    };
    if let Poll::Ready(status) = status {
        inner.exited(returncode(status));
    }
}

/// asyncio's `returncode`: the exit code, or minus the signal that ended the child; 255 for a
/// status that could not be read (asyncio's child watchers' "unknown child" code).
fn returncode(status: io::Result<ExitStatus>) -> i32 {
    match status {
        Ok(status) => status
            .code()
            .or_else(|| status.signal().map(|signal| -signal))
            .unwrap_or(255),
        Err(_) => 255,
    }
}

/// Makes one protocol call; a panic is the transport's fatal error, except in the flow calls
/// (reported, see [`Inner::call_flow`]).
fn deliver(transport: &SubprocessTransport, protocol: &RefCell<dyn SubprocessProtocol>, call: Call) {
    let inner = &*transport.inner;
    if let Call::Flow { pause } = call {
        let called = inner.call_flow(pause);
        debug_assert!(
            called,
            "the task calls the protocol only while none of its methods runs"
        );
        return;
    }
    let made = matches!(call, Call::Made);
    let result = catch(call.method(), || {
        let mut protocol = protocol.borrow_mut();
        match call {
            Call::Made => protocol.connection_made(transport.clone()),
            Call::Data(fd, data) => protocol.pipe_data_received(fd, &data),
            Call::PipeLost(fd, exc) => protocol.pipe_connection_lost(fd, exc),
            Call::Exited => protocol.process_exited(),
            Call::Flow { .. } => unreachable!("the flow calls are made above"),
            Call::Lost => unreachable!("connection_lost is the task's last call"),
        }
    });
    if made {
        inner.made();
    }
    if let Err(panicked) = result {
        inner.fail(panicked);
    }
}
