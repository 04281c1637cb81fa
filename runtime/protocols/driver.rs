//! The connection's task: reads and calls the protocol, sends what the transport buffered,
//! and ends the connection (asyncio's `_read_ready`, `_write_ready`, `_call_connection_lost`).

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::any::Shared;
use super::callback::{catch, Panicked};
use super::sock::{Io, IoKind};
use super::task::{call_connection_lost, poll_turns, wake};
use super::transport::Inner;
use super::write_state::WriteState;
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

/// Ends the connection if the task is dropped or unwinds before `connection_lost` (the loop
/// closing with the connection open): the socket is closed and a server forgets the
/// connection; `connection_lost` is not called.
struct Finish<'a>(&'a Inner);

impl Finish<'_> {
    fn run(&self) {
        self.0.state.borrow_mut().force_close(None);
        drop(self.0.sock.borrow_mut().take());
        let waker = self.0.driver.borrow_mut().take();
        drop(waker);
        let on_lost = self.0.on_lost.borrow_mut().take();
        if let Some(on_lost) = on_lost {
            on_lost();
        }
    }
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.run();
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
    inner.state.borrow_mut().force_close(Some(panicked.error));
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
    wake(&inner.sendfile_waiter);
    #[cfg(feature = "tls")]
    if super::upgrade::began(inner) {
        // The upgrade has the socket, or its failure closes it (with `finish`).
        super::upgrade::wake(inner);
        return;
    }
    let (mut exc, abort) = {
        let mut state = inner.state.borrow_mut();
        state.flow.clear();
        (state.end.lost_exc.take(), state.lost_abort)
    };
    if abort {
        if let Some(sock) = inner.sock.borrow().as_ref() {
            sock.abort();
        }
    } else {
        // What the io_uring completion form's send buffer holds goes out before the close, and
        // a TLS session's records and its close_notify, then the wait for the peer's (which
        // an `abort` ends).
        let finished = poll_fn(|cx| match inner.sock.borrow().as_ref() {
            Some(sock) if inner.state.borrow().lost_abort => {
                sock.abort();
                Poll::Ready(Ok(()))
            }
            Some(sock) => sock.poll_finish(cx),
            None => Poll::Ready(Ok(())),
        })
        .await;
        // asyncio's "SSL shutdown timed out" is the connection's error.
        match finished {
            Err(err) if err.kind() == io::ErrorKind::TimedOut && exc.is_none() => exc = Some(err),
            _ => {}
        }
    }
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
            inner.state.borrow().end.conn_lost
        },
        |cx| poll_write(inner, cx),
        |cx| match inner.kind {
            IoKind::WritePipe => poll_reader_closed(inner, cx),
            IoKind::Stream | IoKind::ReadPipe => poll_read(inner, protocol, cx, buf),
        },
    )
}

/// asyncio's `_write_ready`: sends from the buffer; once it is empty, ends a closing
/// connection or shuts the write side down after `write_eof`. True if it made progress.
fn poll_write(inner: &Inner, cx: &mut Context<'_>) -> bool {
    let mut state = inner.state.borrow_mut();
    if state.buffer.is_empty() {
        return false;
    }
    let sock = inner.sock.borrow();
    let Some(sock) = sock.as_ref() else {
        return false;
    };
    let polled = sock.poll_write(cx, state.buffer.as_slices().0);
    if polled.is_ready() {
        wake(&inner.sendfile_waiter); // the buffer shrank, or the connection failed
    }
    match polled {
        Poll::Pending => false,
        Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => true,
        Poll::Ready(Err(err)) => {
            state.force_close(Some(err));
            true
        }
        Poll::Ready(Ok(n)) => {
            state.buffer.drain(..n);
            state.maybe_resume();
            if state.buffer.is_empty() {
                let lost = state.end.sent_all();
                if !lost && state.eof {
                    let _ = sock.shutdown_write();
                }
                #[cfg(feature = "tls")]
                super::upgrade::wake(inner);
            }
            true
        }
    }
}

/// asyncio's `_read_ready` (`_read_ready__data_received` or `_read_ready__get_buffer`): one
/// read, into `buf` for `data_received` or into the buffer `get_buffer` gave for
/// `buffer_updated`; at EOF `eof_received`, whose answer keeps the connection open or closes
/// it. True if it made progress.
fn poll_read(inner: &Inner, protocol: &Shared, cx: &mut Context<'_>, buf: &mut [u8]) -> bool {
    if !inner.state.borrow().reading() {
        return false;
    }
    let read = {
        let sock = inner.sock.borrow();
        let Some(sock) = sock.as_ref() else {
            return false;
        };
        match protocol {
            Shared::Plain(_) => sock.poll_read(cx, buf),
            Shared::Buffered(p) => {
                // asyncio asks for the buffer once the socket is readable, not on every wake.
                if sock.poll_read_ready(cx).is_pending() {
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
                        inner.state.borrow_mut().force_close(Some(err));
                        return true;
                    }
                    Ok(own) => sock.poll_read(cx, own),
                }
            }
        }
    };
    match read {
        Poll::Pending => false,
        Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => true,
        Poll::Ready(Err(err)) => {
            inner.state.borrow_mut().force_close(Some(err));
            true
        }
        Poll::Ready(Ok(0)) => {
            let keep_open = call(inner, "eof_received", || protocol.eof_received());
            // A read pipe closes at EOF whatever the answer (asyncio's
            // `_UnixReadPipeTransport`), and so does TLS (asyncio's `SSLProtocol`: "returning
            // true from eof_received() has no effect when using ssl"); a panic closed the
            // transport already.
            if keep_open == Some(true) && inner.kind == IoKind::Stream && !inner.is_tls() {
                inner.state.borrow_mut().read_eof = true;
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

/// asyncio's `_UnixWritePipeTransport._read_ready`: the write pipe's reader closed its end, and
/// the transport closes at once, dropping its buffer: `connection_lost` gets `BrokenPipe` if
/// data was still buffered, `None` otherwise. True if it did.
fn poll_reader_closed(inner: &Inner, cx: &mut Context<'_>) -> bool {
    let closed = match inner.sock.borrow().as_ref() {
        Some(sock) => sock.poll_reader_closed(cx).is_ready(),
        None => false,
    };
    if !closed {
        return false;
    }
    let mut state = inner.state.borrow_mut();
    let exc = (!state.buffer.is_empty()).then(|| io::Error::from(io::ErrorKind::BrokenPipe));
    state.force_close(exc);
    true
}
