//! The connection's task: reads and calls the protocol, sends what the transport buffered,
//! and ends the connection (asyncio's `_read_ready`, `_write_ready`, `_call_connection_lost`).
//! What it does on the transport's socket and state (the sends, the socket's end) are the
//! transport's methods (transport.rs, `Inner`).

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::any::Shared;
use super::callback::{catch, Panicked};
use super::sock::{Io, IoKind};
use super::task::{call_connection_lost, poll_turns};
use super::transport::Inner;
use super::{AnyProtocol, Transport};

/// Bytes read at most per `data_received` (asyncio's `max_size` is 256 KiB).
const READ_SIZE: usize = 64 * 1024;

/// Where the protocol's `connection_made` is called.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum MadeIn {
    /// In `start`, by the caller (`create_connection` returns after it).
    Caller,
    /// First thing in the connection's task (a server's connections: a panic there ends that
    /// connection, not the accept loop).
    Task,
    /// Not at all: `start_tls`'s transport, whose protocol was made on the plain one.
    #[cfg(feature = "tls")]
    Never,
}

/// Makes the transport of `sock` for `protocol`, calls its `connection_made` (see [`MadeIn`]),
/// and spawns the task that drives the connection.
pub(super) fn start<K, P: AnyProtocol<K>>(sock: Io, protocol: &Rc<RefCell<P>>, made_in: MadeIn) -> Transport {
    start_shared(
        sock,
        <P as super::any::sealed::Share<K>>::share(protocol.clone()),
        made_in,
    )
}

/// [`start`] for a protocol shared already.
pub(super) fn start_shared(sock: Io, shared: Shared, made_in: MadeIn) -> Transport {
    let transport = Transport {
        inner: Rc::new(Inner::new(sock, shared.downgrade())),
    };
    if made_in == MadeIn::Caller {
        shared.connection_made(transport.clone());
        transport.inner.deliver_flow();
    }
    drop(crate::spawn(drive(transport.clone(), shared, made_in)));
    transport
}

/// The protocol `protocol_factory()` makes, on a transport over `sock` ([`start`] with
/// `connection_made` called by the caller): what the client-side entry points return.
pub(super) fn start_client<K, P: AnyProtocol<K>>(
    sock: impl Into<Io>,
    protocol_factory: impl FnOnce() -> P,
) -> (Transport, Rc<RefCell<P>>) {
    let protocol = Rc::new(RefCell::new(protocol_factory()));
    let transport = start(sock.into(), &protocol, MadeIn::Caller);
    (transport, protocol)
}

/// Ends the connection ([`Inner::finish`]) once `connection_lost` ran, or if the task is
/// dropped or unwinds before (the loop closing with the connection open): the socket is
/// closed and a server forgets the connection; `connection_lost` is not called then.
struct Finish<'a>(&'a Inner);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// Runs a protocol method; a panic becomes the connection's fatal error (asyncio's
/// `_fatal_error` for an exception in `data_received` or `eof_received`): the connection
/// closes, `connection_lost` gets the error, and the panic goes on once that ran.
fn call<R>(inner: &Inner, what: &str, f: impl FnOnce() -> R) -> Option<R> {
    match catch(what, f) {
        Ok(r) => Some(r),
        Err(panicked) => {
            fatal(inner, panicked);
            None
        }
    }
}

/// [`call`]'s fatal error, for a panic caught elsewhere: the connection closes with the
/// error, and the panic goes on once `connection_lost` ran.
fn fatal(inner: &Inner, panicked: Panicked) {
    inner.force_close(Some(panicked.error));
    inner.panic.borrow_mut().get_or_insert(panicked.payload);
}

/// The connection's task, until `connection_lost` was called.
async fn drive(transport: Transport, protocol: Shared, made_in: MadeIn) {
    let inner = &*transport.inner;
    let finish = Finish(inner);
    if made_in == MadeIn::Task {
        let t = transport.clone();
        call(inner, "connection_made", || protocol.connection_made(t));
    }
    // A `Protocol` is read for into this buffer; a `BufferedProtocol` gives its own.
    let mut buf = match protocol {
        Shared::Plain(_) => vec![0; READ_SIZE],
        Shared::Buffered(_) => Vec::new(),
    };
    poll_fn(|cx| poll_drive(inner, &protocol, cx, &mut buf)).await;
    // A sendfile waiting for the buffer learns that the connection ended.
    inner.wake_sendfile();
    #[cfg(feature = "tls")]
    if super::upgrade::began(inner) {
        // The upgrade has the socket, or its failure closes it (with `finish`).
        super::upgrade::wake(inner);
        return;
    }
    // What the socket holds goes out first (a TLS close waits for the peer's close_notify),
    // unless the end is an abort.
    let exc = inner.close_socket().await;
    call_connection_lost(
        || protocol.connection_lost(exc),
        || drop(finish), // closes the socket, and a server forgets the connection
        &inner.panic,
    );
}

/// Ready once `connection_lost` is due.
fn poll_drive(inner: &Inner, protocol: &Shared, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<()> {
    poll_turns(
        cx,
        &inner.driver,
        || {
            inner.deliver_flow();
            inner.lost_due()
        },
        |cx| inner.poll_send(cx),
        |cx| match inner.kind() {
            IoKind::WritePipe => inner.poll_reader_closed(cx),
            IoKind::Stream | IoKind::ReadPipe => poll_read(inner, protocol, cx, buf),
        },
    )
}

/// asyncio's `_read_ready` (`_read_ready__data_received` or `_read_ready__get_buffer`): one
/// read, into `buf` for `data_received` or into the buffer `get_buffer` gave for
/// `buffer_updated`; at EOF `eof_received`, whose answer keeps the connection open or closes
/// it. True if it made progress.
fn poll_read(inner: &Inner, protocol: &Shared, cx: &mut Context<'_>, buf: &mut [u8]) -> bool {
    if !inner.reading() {
        return false;
    }
    let read = match protocol {
        Shared::Plain(_) => inner.poll_read(cx, buf),
        Shared::Buffered(p) => {
            // asyncio asks for the buffer once the socket is readable, not on every wake.
            if inner.poll_read_ready(cx).is_pending() {
                return false;
            }
            let mut guard = p.borrow_mut();
            let p = &mut *guard;
            // `let p = p` moves the borrow into the closure, so the buffer outlives it.
            match catch("get_buffer", move || {
                let p = p;
                p.get_buffer(None)
            }) {
                Err(panicked) => {
                    drop(guard);
                    fatal(inner, panicked);
                    return true;
                }
                Ok([]) => {
                    let err = io::Error::other("get_buffer() returned an empty buffer");
                    inner.force_close(Some(err));
                    return true;
                }
                Ok(own) => inner.poll_read(cx, own),
            }
        }
    };
    match read {
        Poll::Pending => false,
        Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => true,
        Poll::Ready(Err(err)) => {
            inner.force_close(Some(err));
            true
        }
        Poll::Ready(Ok(0)) => {
            let keep_open = call(inner, "eof_received", || protocol.eof_received());
            // A read pipe closes at EOF whatever the answer (asyncio's
            // `_UnixReadPipeTransport`), and so does TLS (asyncio's `SSLProtocol`: "returning
            // true from eof_received() has no effect when using ssl"); a panic closed the
            // transport already.
            if keep_open == Some(true) && inner.kind() == IoKind::Stream && !inner.is_tls() {
                inner.keep_open_at_eof();
            } else if keep_open.is_some() {
                Transport::close_inner(inner);
            }
            true
        }
        Poll::Ready(Ok(n)) => {
            match protocol {
                Shared::Plain(p) => call(inner, "data_received", || p.borrow_mut().data_received(&buf[..n])),
                Shared::Buffered(p) => call(inner, "buffer_updated", || p.borrow_mut().buffer_updated(n)),
            };
            true
        }
    }
}
