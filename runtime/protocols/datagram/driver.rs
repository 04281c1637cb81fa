//! The endpoint's task: receives and calls the protocol, sends what the transport queued, and
//! ends the endpoint (asyncio's `_read_ready`, `_sendto_ready`, `_call_connection_lost` of
//! `_SelectorDatagramTransport`). Built as the stream connection's task is
//! (`protocols/driver.rs`), on the same [`catch`] and flow delivery.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::transport::{Inner, HEADER_SIZE};
use super::{DatagramProtocol, DatagramSocket, DatagramTransport};
use crate::protocols::callback::catch;
use crate::protocols::task::{call_connection_lost, poll_turns};
use crate::protocols::write_state::WriteState;
use crate::protocols::SocketAddress;

/// The largest datagram received whole (asyncio's `max_size`, 256 KiB); a longer one is
/// truncated.
const MAX_SIZE: usize = 256 * 1024;

/// Makes the transport of `sock` for `protocol` (`address`: the remote address it was made
/// with), calls its `connection_made`, and spawns the task that drives the endpoint.
pub(super) fn start<P: DatagramProtocol + 'static>(
    sock: DatagramSocket,
    protocol: &Rc<RefCell<P>>,
    address: Option<SocketAddress>,
) -> DatagramTransport {
    let dyn_protocol: Rc<RefCell<dyn DatagramProtocol>> = protocol.clone();
    let transport = DatagramTransport {
        inner: Rc::new(Inner::new(sock, Rc::downgrade(&dyn_protocol), address)),
    };
    dyn_protocol.borrow_mut().connection_made(transport.clone());
    transport.inner.deliver_flow();
    drop(crate::spawn(drive(transport.clone(), dyn_protocol)));
    transport
}

/// Ends the endpoint if the task is dropped or unwinds before `connection_lost` (the loop
/// closing with the endpoint open): the socket is closed; `connection_lost` is not called.
struct Finish<'a>(&'a Inner);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.state.borrow_mut().force_close(None);
        drop(self.0.sock.borrow_mut().take());
        let waker = self.0.driver.borrow_mut().take();
        drop(waker);
    }
}

/// Runs a protocol method; a panic becomes the endpoint's fatal error: it closes,
/// `connection_lost` gets the error, and the panic goes on once that ran.
fn call(inner: &Inner, what: &str, f: impl FnOnce()) {
    if let Err(panicked) = catch(what, f) {
        inner.state.borrow_mut().force_close(Some(panicked.error));
        inner.panic.borrow_mut().get_or_insert(panicked.payload);
    }
}

/// The endpoint's task, until `connection_lost` was called.
async fn drive(transport: DatagramTransport, protocol: Rc<RefCell<dyn DatagramProtocol>>) {
    let inner = &*transport.inner;
    let finish = Finish(inner);
    let mut buf = vec![0; MAX_SIZE];
    poll_fn(|cx| poll_drive(inner, &protocol, cx, &mut buf)).await;
    let exc = {
        let mut state = inner.state.borrow_mut();
        state.flow.clear();
        state.errors.clear();
        state.end.lost_exc.take()
    };
    call_connection_lost(
        || protocol.borrow_mut().connection_lost(exc),
        || drop(finish), // closes the socket
        &inner.panic,
    );
}

/// Ready once `connection_lost` is due.
fn poll_drive(
    inner: &Inner,
    protocol: &RefCell<dyn DatagramProtocol>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<()> {
    poll_turns(
        cx,
        &inner.driver,
        || {
            deliver(inner, protocol);
            inner.state.borrow().end.conn_lost
        },
        |cx| poll_send(inner, cx),
        |cx| poll_recv(inner, protocol, cx, buf),
    )
}

/// The calls due: flow control, and `error_received` for the send errors met.
fn deliver(inner: &Inner, protocol: &RefCell<dyn DatagramProtocol>) {
    inner.deliver_flow();
    loop {
        let Some(err) = inner.state.borrow_mut().errors.pop_front() else {
            return;
        };
        call(inner, "error_received", || {
            protocol.borrow_mut().error_received(err)
        });
    }
}

/// asyncio's `_sendto_ready`: sends the queue in order while the socket takes it; a send
/// error drops that datagram and is due to `error_received`; once the queue is empty, ends a
/// closing endpoint. True if it made progress.
fn poll_send(inner: &Inner, cx: &mut Context<'_>) -> bool {
    let mut state = inner.state.borrow_mut();
    let sock = inner.sock.borrow();
    let Some(sock) = sock.as_ref() else {
        return false;
    };
    let mut progress = false;
    while let Some((data, to)) = state.buffer.front() {
        let sent = match sock.poll_send(cx, data, to.as_ref()) {
            Poll::Pending => break,
            Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => continue,
            Poll::Ready(sent) => sent,
        };
        progress = true;
        let len = data.len();
        state.buffer.pop_front();
        state.buffer_size -= len + HEADER_SIZE;
        if let Err(err) = sent {
            state.errors.push_back(err);
            break;
        }
    }
    let size = state.buffer_size;
    state.flow.maybe_resume(size);
    if state.buffer.is_empty() {
        state.end.sent_all();
    }
    progress
}

/// asyncio's `_read_ready`: one datagram, handed to `datagram_received`; an error goes to
/// `error_received` and the endpoint stays open. True if it made progress.
fn poll_recv(
    inner: &Inner,
    protocol: &RefCell<dyn DatagramProtocol>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> bool {
    if inner.state.borrow().end.closing {
        return false;
    }
    let received = match inner.sock.borrow().as_ref() {
        Some(sock) => sock.poll_recv_from(cx, buf),
        None => return false,
    };
    match received {
        Poll::Pending => false,
        Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => true,
        Poll::Ready(Err(err)) => {
            call(inner, "error_received", || {
                protocol.borrow_mut().error_received(err)
            });
            true
        }
        Poll::Ready(Ok((n, addr))) => {
            call(inner, "datagram_received", || {
                protocol.borrow_mut().datagram_received(&buf[..n], &addr)
            });
            true
        }
    }
}
