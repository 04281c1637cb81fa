//! [`StreamWriter`]: asyncio's writer, with a write buffer, back-pressure and a background
//! flush.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::unix::net::SocketAddr as UnixSocketAddr;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{ready, Context, Poll, Waker};

use super::Socket;
use crate::net::sendfile::{self, FallbackReader, NativeSendfile};
use crate::task::waiters::{notify_all, WaitList, Waiter};
use crate::waker_slot::WakerSlot;

/// asyncio's default high-water mark of a transport's write buffer.
const DEFAULT_HIGH: usize = 64 * 1024;

pub(super) type Sink = Pin<Box<dyn futures_io::AsyncWrite>>;

/// A writer over a byte stream: asyncio's `StreamWriter`, as returned by
/// [`open_connection`](super::open_connection) and handed to a
/// [`start_server`](super::start_server) handler.
///
/// [`write`](StreamWriter::write) never waits: it sends what the socket takes at once and
/// buffers the rest, which a background task flushes as the socket drains.
/// [`drain`](StreamWriter::drain) is the back-pressure point: it waits while the buffer is above
/// its high-water mark (64 KiB by default) until it falls to the low-water mark (a quarter of
/// it). Call `write` then `drain` in a loop, as in asyncio. The stream's own send buffer counts
/// too (the io_uring driver's completion form keeps up to 256 KiB per stream in user space
/// until the kernel takes it): once more than the high-water mark went to the stream since it
/// last flushed, `drain` also waits for the stream's flush, so a `write`/`drain` loop holds at
/// most about twice the high-water mark, whatever the driver.
///
/// Dropping the writer closes it as [`close`](StreamWriter::close) does: buffered data is
/// still sent, then the write side is shut down.
pub struct StreamWriter {
    inner: Rc<Inner>,
}

struct Inner {
    sink: RefCell<Option<Sink>>,
    state: RefCell<State>,
    /// `drain` calls waiting for the buffer to fall to the low-water mark (or a failure).
    drain_waiters: RefCell<WaitList>,
    /// `wait_closed` calls waiting for the close to finish.
    close_waiters: RefCell<WaitList>,
    addrs: Addrs,
    /// The waker of the background task (flush or close) while it waits, woken by an abort.
    task_waker: RefCell<WakerSlot>,
    /// Told once when the writer is done with its connection (closed, failed or dropped): a
    /// server's count of its clients (asyncio's `Server._detach`).
    on_done: Cell<Option<Box<dyn FnOnce()>>>,
    /// What the TLS handshake settled, on a TLS connection.
    #[cfg(feature = "tls")]
    tls: std::cell::OnceCell<crate::tls::TlsInfo>,
    /// The connection's socket, for [`StreamWriter::abort`]; unset on a writer over another
    /// sink ([`StreamWriter::new`]).
    socket: std::cell::OnceCell<Weak<dyn Socket>>,
    /// The socket under a plain TCP or Unix writer, for [`StreamWriter::sendfile`]'s native
    /// path (the sink is type-erased); none over TLS, and none once a TLS upgrade took the sink.
    native: RefCell<Option<Weak<dyn NativeSendfile>>>,
}

/// The addresses a writer reports, taken when the connection was made (as asyncio's
/// transport takes `peername` and `sockname`).
enum Addrs {
    /// TCP, or a writer from [`StreamWriter::new`] (`local` is then `None`).
    Inet {
        peer: Option<SocketAddr>,
        local: Option<SocketAddr>,
    },
    Unix {
        peer: Option<UnixSocketAddr>,
        local: Option<UnixSocketAddr>,
    },
}

#[derive(Default)]
struct State {
    buf: Vec<u8>,
    start: usize,
    high: usize,
    low: usize,
    /// Set when the buffer grew past `high`, cleared when it fell to `low`.
    paused: bool,
    /// A [`StreamWriter::sendfile`] is running: writes are buffered (`flushing` is set, so no
    /// flush task starts and a close waits) until it ends.
    sendfile: bool,
    /// Bytes the sink took since its last completed flush: at most this many wait in the
    /// sink's own buffer (the io_uring completion form's send buffer), which `drain` flushes
    /// once it passes `high`.
    unflushed: usize,
    flushing: bool,
    closing: bool,
    closed: bool,
    error: Option<(io::ErrorKind, String)>,
    /// The error the paired reader met (asyncio's `reader.exception()`), which `drain` raises
    /// first.
    reader_error: Option<(io::ErrorKind, String)>,
}

impl State {
    fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    fn error(&self) -> Option<io::Error> {
        self.error.as_ref().map(to_error)
    }
}

fn to_error((kind, message): &(io::ErrorKind, String)) -> io::Error {
    io::Error::new(*kind, message.clone())
}

/// The writer of a pair, as its reader sees it (asyncio's protocol, which hands the reader's
/// `connection_lost(exc)` to both): it does not keep the writer alive.
pub(super) struct WriterLink(Weak<Inner>);

impl WriterLink {
    /// The paired reader met `err`: the connection is lost (asyncio's transport calls
    /// `_fatal_error`, then `connection_lost(exc)`), so the writer fails with it and `drain`
    /// raises it.
    pub(super) fn reader_failed(&self, err: &io::Error) {
        let Some(inner) = self.0.upgrade() else {
            return;
        };
        let error = (err.kind(), err.to_string());
        let mut state = inner.state.borrow_mut();
        state.reader_error.get_or_insert(error.clone());
        let failed = state.error.is_some();
        drop(state);
        if !failed {
            inner.fail(to_error(&error));
        }
    }
}

impl StreamWriter {
    /// A writer over any `futures_io::AsyncWrite`; `peer` is what
    /// [`peer_addr`](StreamWriter::peer_addr) reports. Its `poll_close` must end the stream
    /// (for aioloop's write halves it shuts the write side down).
    pub fn new(sink: impl futures_io::AsyncWrite + 'static, peer: Option<SocketAddr>) -> Self {
        StreamWriter::with_addrs(sink, peer, None)
    }

    /// A TCP writer: `peer` and `local` are what [`peer_addr`](StreamWriter::peer_addr) and
    /// [`local_addr`](StreamWriter::local_addr) report.
    pub(crate) fn with_addrs(
        sink: impl futures_io::AsyncWrite + 'static,
        peer: Option<SocketAddr>,
        local: Option<SocketAddr>,
    ) -> Self {
        StreamWriter::with(sink, Addrs::Inet { peer, local })
    }

    /// A Unix-domain writer: `peer` and `local` are what
    /// [`peer_unix_addr`](StreamWriter::peer_unix_addr) and
    /// [`local_unix_addr`](StreamWriter::local_unix_addr) report.
    pub(crate) fn with_unix_addrs(
        sink: impl futures_io::AsyncWrite + 'static,
        peer: Option<UnixSocketAddr>,
        local: Option<UnixSocketAddr>,
    ) -> Self {
        StreamWriter::with(sink, Addrs::Unix { peer, local })
    }

    fn with(sink: impl futures_io::AsyncWrite + 'static, addrs: Addrs) -> Self {
        StreamWriter {
            inner: Rc::new(Inner {
                sink: RefCell::new(Some(Box::pin(sink))),
                state: RefCell::new(State {
                    high: DEFAULT_HIGH,
                    low: DEFAULT_HIGH / 4,
                    ..State::default()
                }),
                drain_waiters: RefCell::default(),
                close_waiters: RefCell::default(),
                addrs,
                task_waker: RefCell::default(),
                on_done: Cell::default(),
                #[cfg(feature = "tls")]
                tls: std::cell::OnceCell::new(),
                socket: std::cell::OnceCell::new(),
                native: RefCell::new(None),
            }),
        }
    }

    /// Records the connection's socket, for [`abort`](StreamWriter::abort) (once, when the
    /// writer is made).
    pub(super) fn set_socket(&self, socket: &Weak<dyn Socket>) {
        let _ = self.inner.socket.set(socket.clone());
    }

    /// What the TLS handshake of the connection settled (version, cipher suite, ALPN, the
    /// peer's certificates): asyncio's `get_extra_info('ssl_object')`, `('peercert')`,
    /// `('cipher')`. `None` on a connection without TLS.
    #[cfg(feature = "tls")]
    pub fn tls_info(&self) -> Option<&crate::tls::TlsInfo> {
        self.inner.tls.get()
    }

    /// Records what the TLS handshake settled (once, when the writer is made).
    #[cfg(feature = "tls")]
    pub(super) fn set_tls_info(&self, info: crate::tls::TlsInfo) {
        let _ = self.inner.tls.set(info);
    }

    /// The peer's address, for TCP (asyncio's `get_extra_info('peername')`); `None` for a
    /// Unix stream (see [`peer_unix_addr`](StreamWriter::peer_unix_addr)).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match self.inner.addrs {
            Addrs::Inet { peer, .. } => peer,
            Addrs::Unix { .. } => None,
        }
    }

    /// The local address of the connection, for TCP (asyncio's
    /// `get_extra_info('sockname')`); `None` for a Unix stream (see
    /// [`local_unix_addr`](StreamWriter::local_unix_addr)) and for [`StreamWriter::new`].
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self.inner.addrs {
            Addrs::Inet { local, .. } => local,
            Addrs::Unix { .. } => None,
        }
    }

    /// The peer's address, for a Unix stream (from
    /// [`open_unix_connection`](super::open_unix_connection) or a
    /// [`start_unix_server`](super::start_unix_server) handler): asyncio's
    /// `get_extra_info('peername')`. Its [`as_pathname`](UnixSocketAddr::as_pathname) is the
    /// socket file's path; an unnamed socket (a client's, seen by the server: asyncio's `''`)
    /// [`is_unnamed`](UnixSocketAddr::is_unnamed); on Linux a socket in the abstract namespace
    /// has an `as_abstract_name` (`std::os::linux::net::SocketAddrExt`). `None` for TCP.
    ///
    /// ```
    /// use aioloop::streams::{open_unix_connection, start_unix_server};
    ///
    /// aioloop::run(async {
    ///     let path = std::env::temp_dir().join(format!("aioloop-doc-{}.sock", std::process::id()));
    ///     let server = start_unix_server(
    ///         |_reader, writer| async move {
    ///             // The handler's side: bound to the server's path, the client unnamed.
    ///             assert!(writer.peer_unix_addr().unwrap().is_unnamed());
    ///             assert!(writer.local_unix_addr().unwrap().as_pathname().is_some());
    ///         },
    ///         &path,
    ///     )
    ///     .await
    ///     .unwrap();
    ///     let (_reader, writer) = open_unix_connection(&path).await.unwrap();
    ///     assert_eq!(writer.peer_unix_addr().unwrap().as_pathname(), Some(path.as_path()));
    ///     assert!(writer.local_unix_addr().unwrap().is_unnamed());
    ///     assert_eq!(writer.peer_addr(), None); // TCP only
    ///     server.close();
    ///     server.wait_closed().await;
    /// });
    /// ```
    pub fn peer_unix_addr(&self) -> Option<UnixSocketAddr> {
        match &self.inner.addrs {
            Addrs::Unix { peer, .. } => peer.clone(),
            Addrs::Inet { .. } => None,
        }
    }

    /// The local address of a Unix stream: asyncio's `get_extra_info('sockname')`; unnamed
    /// (asyncio's `''`) for a client's socket, the server's path on a
    /// [`start_unix_server`](super::start_unix_server) handler's side (see
    /// [`peer_unix_addr`](StreamWriter::peer_unix_addr)). `None` for TCP.
    pub fn local_unix_addr(&self) -> Option<UnixSocketAddr> {
        match &self.inner.addrs {
            Addrs::Unix { local, .. } => local.clone(),
            Addrs::Inet { .. } => None,
        }
    }

    /// Sets the high- and low-water marks of the write buffer (asyncio's
    /// `transport.set_write_buffer_limits`); `low` is capped at `high`.
    pub fn set_write_buffer_limits(&self, high: usize, low: usize) {
        let mut state = self.inner.state.borrow_mut();
        state.high = high;
        state.low = low.min(high);
    }

    /// How many bytes wait in the write buffer (asyncio's `transport.get_write_buffer_size()`).
    pub fn buffered(&self) -> usize {
        self.inner.state.borrow().buffered()
    }

    /// True once [`close`](StreamWriter::close) was called or the stream failed.
    pub fn is_closing(&self) -> bool {
        let state = self.inner.state.borrow();
        state.closing || state.error.is_some()
    }

    /// Sends `data`, or buffers what the socket does not take at once. Never waits. A write
    /// after `close`, or after the stream failed, is dropped (the next
    /// [`drain`](StreamWriter::drain) reports the failure).
    ///
    /// # Panics
    /// If data must be buffered and no loop is running on this thread.
    pub fn write(&self, data: &[u8]) {
        let mut state = self.inner.state.borrow_mut();
        if state.closing || state.error.is_some() || data.is_empty() {
            return;
        }
        let mut data = data;
        if state.buffered() == 0 && !state.flushing {
            // The write runs the sink's code: no borrow is held across it.
            drop(state);
            let written = self.inner.write_now(data);
            state = self.inner.state.borrow_mut();
            match written {
                Ok(n) => {
                    state.unflushed += n;
                    data = &data[n..];
                }
                Err(err) => {
                    drop(state);
                    return self.inner.fail(err);
                }
            }
            if data.is_empty() {
                return;
            }
        }
        if state.start > 0 && state.start >= state.buffered() {
            let start = state.start;
            state.buf.drain(..start);
            state.start = 0;
        }
        state.buf.extend_from_slice(data);
        if state.buffered() > state.high {
            state.paused = true;
        }
        let spawn = !state.flushing;
        state.flushing = true;
        drop(state);
        if spawn {
            drop(crate::spawn(flush(self.inner.clone()))); // detached: it ends with the flush
        }
    }

    /// Sends all of `data` (a convenience over [`write`](StreamWriter::write) for several
    /// buffers, as asyncio's `writelines`).
    pub fn writelines<'a>(&self, data: impl IntoIterator<Item = &'a [u8]>) {
        for chunk in data {
            self.write(chunk);
        }
    }

    /// Waits until the write buffer is below its high-water mark: asyncio's `drain()`. Returns
    /// at once if it is. The stream's own send buffer counts: once more than the high-water
    /// mark went to the stream since its last flush, this also waits until the stream flushed
    /// it (on epoll at once; on the io_uring driver's completion form, until the kernel took
    /// the bytes).
    ///
    /// Fails as asyncio's does once the connection is lost:
    /// - with the error the paired reader met (asyncio's `reader.exception()`), at once: a
    ///   `ConnectionReset` read by the [`StreamReader`](super::StreamReader) of the same
    ///   [`open_connection`](super::open_connection), [`open_unix_connection`](super::open_unix_connection)
    ///   or server handler pair fails the writer too (writes are dropped from then on);
    /// - on a writer that is closing (after [`close`](StreamWriter::close), or once the stream
    ///   failed), after yielding to the loop once (asyncio's `await sleep(0)`, so that a
    ///   `write`/`drain` loop gives up the loop), once the connection is gone: with the
    ///   stream's failure (for example `ConnectionReset` or `BrokenPipe`) or, once the close
    ///   finished, `ConnectionReset` ("Connection lost"): a `write`/`drain` loop stops there,
    ///   its writes being dropped. While a closed writer still flushes what it buffered,
    ///   `drain` waits (or returns) as on an open one, as asyncio's does until its
    ///   `connection_lost`.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use aioloop::streams::{open_connection, start_server};
    ///
    /// aioloop::run(async {
    ///     let server = start_server(|_reader, writer| async move { writer.close() }, "127.0.0.1:0")
    ///         .await
    ///         .unwrap();
    ///     let (_reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    ///     writer.write(b"hello");
    ///     writer.drain().await.unwrap();
    ///     writer.close();
    ///     writer.write(b"dropped");
    ///     let err = writer.drain().await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    ///     server.close();
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped before it completes, nothing is lost: the buffered
    /// data is still sent, in order, by the writer's background flush; only the wait ends.
    pub async fn drain(&self) -> io::Result<()> {
        if let Some(err) = self.inner.state.borrow().reader_error.as_ref() {
            return Err(to_error(err));
        }
        if self.is_closing() {
            crate::yield_now().await;
            if self.inner.connection_lost() {
                return Err(self.inner.lost());
            }
        }
        let mut waiter = Waiter::new(&self.inner.drain_waiters);
        poll_fn(|cx| {
            self.inner.flush_sink_if_due();
            waiter.poll_until(cx, || {
                let state = self.inner.state.borrow();
                state.error.is_some() || (!state.paused && state.unflushed <= state.high)
            })
        })
        .await;
        if self.inner.failed() {
            return Err(self.inner.lost());
        }
        Ok(())
    }

    /// Closes the writer: buffered data is still sent, then the write side is shut down (the
    /// peer reads EOF). Never waits; see [`wait_closed`](StreamWriter::wait_closed). Over TLS
    /// it is asyncio's SSL shutdown: `close_notify` is sent, then the close waits for the
    /// peer's, within the shutdown timeout (see `aioloop::tls`, feature `tls`).
    pub fn close(&self) {
        self.inner.close();
    }

    /// Closes the connection at once: asyncio's `writer.transport.abort()`. What is buffered
    /// is dropped and the socket shut down both ways (no TLS `close_notify`): a close waiting
    /// for the peer's `close_notify` ends, [`wait_closed`](StreamWriter::wait_closed) returns,
    /// [`drain`](StreamWriter::drain) fails with `ConnectionReset`, later writes are dropped,
    /// and the paired reader reads what had arrived, then the end. A writer over another sink
    /// ([`StreamWriter::new`]) drops its buffer and leaves the sink as it is.
    ///
    /// ```
    /// use aioloop::streams::{open_connection, start_server};
    ///
    /// aioloop::run(async {
    ///     // A peer that never reads.
    ///     let server = start_server(|_reader, _writer| std::future::pending::<()>(), "127.0.0.1:0")
    ///         .await
    ///         .unwrap();
    ///     let (_reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    ///     writer.write(&vec![0; 64 << 20]); // far more than the socket takes
    ///     writer.close(); // would wait for the peer to read it all
    ///     writer.abort(); // does not
    ///     writer.wait_closed().await.unwrap();
    ///     assert_eq!(writer.buffered(), 0);
    ///     server.close();
    /// });
    /// ```
    pub fn abort(&self) {
        if let Some(socket) = self.inner.socket.get().and_then(Weak::upgrade) {
            socket.abort();
        }
        self.inner.abort();
    }

    /// Waits until everything written reached the sink and the sink is flushed (asyncio's
    /// `start_tls` waits for the write buffer to be empty): nothing buffered, no flush task
    /// running (it wakes the `drain` waiters when it ends), nothing unflushed in the sink (this
    /// wait flushes it once everything reached it). Leaves the water marks and `drain`'s pause
    /// alone, so a cancelled `start_tls` changes nothing.
    ///
    /// # Errors
    /// The writer's failure, as [`drain`](Self::drain) reports it.
    pub(super) async fn flush_all(&self) -> io::Result<()> {
        let inner = &self.inner;
        let mut waiter = Waiter::new(&inner.drain_waiters);
        poll_fn(|cx| {
            let flush_sink = {
                let state = inner.state.borrow();
                state.error.is_none() && state.buffered() == 0 && !state.flushing && state.unflushed > 0
            };
            if flush_sink {
                // Done: `unflushed` is 0 and the waiters are woken; else the sink wakes us.
                let _ = inner.poll_flush_sink(cx);
            }
            waiter.poll_until(cx, || {
                let state = inner.state.borrow();
                state.error.is_some() || (state.buffered() == 0 && !state.flushing && state.unflushed == 0)
            })
        })
        .await;
        if inner.failed() {
            return Err(inner.lost());
        }
        Ok(())
    }

    /// Takes the sink out for a TLS upgrade, once [`flush_all`](Self::flush_all) returned;
    /// writes meanwhile (other tasks run during the handshake) are buffered, and the flush
    /// task waits for [`set_sink`](Self::set_sink) to send them through TLS.
    ///
    /// # Errors
    /// `InvalidInput` if the writer is closing or failed, or wrote since the flush.
    #[cfg(feature = "tls")]
    pub(super) fn take_sink(&self) -> io::Result<Sink> {
        let state = self.inner.state.borrow();
        if state.closing || state.error.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "start_tls: the writer is closing",
            ));
        }
        if state.buffered() > 0 || state.flushing {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "start_tls: the writer was written to during the upgrade",
            ));
        }
        drop(state);
        // The socket is TLS's from now on: sendfile takes the fallback through the new sink.
        self.inner.native.borrow_mut().take();
        self.inner
            .sink
            .borrow_mut()
            .take()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "start_tls: the writer is closed"))
    }

    /// Writes go to `sink` from now on (after a TLS upgrade), or, given the handshake's
    /// error, the writer fails with it.
    #[cfg(feature = "tls")]
    pub(super) fn set_sink(&self, sink: io::Result<Sink>) {
        match sink {
            Ok(sink) => *self.inner.sink.borrow_mut() = Some(sink),
            Err(err) => self.inner.fail(err),
        }
        // A flush task started by a write during the upgrade waits for the sink (or ends on
        // the failure).
        let waker = self.inner.task_waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// True if `link` leads to this writer.
    #[cfg(feature = "tls")]
    pub(super) fn is(&self, link: &WriterLink) -> bool {
        link.0.as_ptr() == Rc::as_ptr(&self.inner)
    }

    /// The link the paired reader reports its failure through.
    pub(super) fn link(&self) -> WriterLink {
        WriterLink(Rc::downgrade(&self.inner))
    }

    /// A handle on this writer that does not keep it alive, for a server's
    /// [`close_clients`](super::Server::close_clients) and
    /// [`abort_clients`](super::Server::abort_clients); `on_done` is called once, when the
    /// writer is done with its connection: its close finished, it failed, or it was dropped
    /// (asyncio's `Server._detach`).
    pub(super) fn attach(&self, on_done: Box<dyn FnOnce()>) -> WriterRef {
        self.inner.on_done.set(Some(on_done));
        WriterRef(Rc::downgrade(&self.inner))
    }

    /// The socket a plain writer writes to, for [`sendfile`](Self::sendfile)'s native path.
    pub(super) fn set_native_sendfile(&self, socket: Weak<dyn NativeSendfile>) {
        *self.inner.native.borrow_mut() = Some(socket);
    }

    /// Sends `count` bytes of `file` from `offset` (to its end if `None`) after everything
    /// written before: asyncio's `loop.sendfile(writer.transport, file, offset, count)`.
    /// Returns how many bytes were sent, and leaves the file's position right after them.
    ///
    /// The writer's buffer is sent first (as asyncio waits for the transport's buffer to empty),
    /// then the file: on a plain TCP or Unix connection through `sendfile(2)` where the socket
    /// level can ([`TcpStream::sendfile`](crate::net::TcpStream::sendfile)); over TLS, or for a
    /// file `sendfile(2)` cannot send (a pipe), in chunks read on the loop's blocking pool and
    /// written through the writer's sink (the TLS session encrypts them: asyncio's SSL
    /// transports support only this fallback), each after a [`drain`](Self::drain). During a
    /// native send, writes made meanwhile (by other tasks) are buffered and go after the file;
    /// during the fallback they go between chunks, as asyncio's.
    ///
    /// ```
    /// use std::io::{Seek, Write};
    /// use aioloop::streams::{open_connection, start_server};
    ///
    /// aioloop::run(async {
    ///     let server = start_server(
    ///         |mut reader, writer| async move {
    ///             let all = reader.read_to_eof().await.unwrap();
    ///             writer.write(&all);
    ///             writer.close();
    ///         },
    ///         "127.0.0.1:0",
    ///     )
    ///     .await
    ///     .unwrap();
    ///     let path = std::env::temp_dir().join(format!("aioloop-doc-writer-sendfile-{}", std::process::id()));
    ///     let mut file = std::fs::File::options().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
    ///     std::fs::remove_file(&path).unwrap();
    ///     file.write_all(b"0123456789").unwrap();
    ///
    ///     let (mut reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    ///     writer.write(b"head:");
    ///     assert_eq!(writer.sendfile(&file, 2, Some(5)).await.unwrap(), 5);
    ///     assert_eq!(file.stream_position().unwrap(), 7);
    ///     writer.write(b":tail");
    ///     writer.close();
    ///     assert_eq!(reader.read_to_eof().await.unwrap(), b"head:23456:tail");
    ///     server.close();
    /// });
    /// ```
    ///
    /// # Errors
    /// `BrokenPipe` ("Transport is closing") on a writer that is closing or failed, and the
    /// paired reader's error as [`drain`](Self::drain) reports it; `ResourceBusy` while another
    /// `sendfile` of this writer runs; `InvalidInput` for a `count` of `Some(0)`; a read's or
    /// a send's error.
    ///
    /// # Cancel safety
    /// As [`TcpStream::sendfile`](crate::net::TcpStream::sendfile)'s: the file's position is
    /// set as the bytes go out (over TLS: as the session takes them), so a new call from the
    /// position goes on where a dropped one stopped. Writes buffered meanwhile are sent.
    pub async fn sendfile(&self, file: &std::fs::File, offset: u64, count: Option<u64>) -> io::Result<u64> {
        self.sendfile_with(file, offset, count, true).await
    }

    /// [`sendfile`](Self::sendfile) with asyncio's `fallback=` argument: with `false`, a file
    /// the native path cannot send, or any file over TLS, is an error of kind `Unsupported`
    /// (asyncio's `SendfileNotAvailableError`) and nothing of it is sent.
    ///
    /// # Errors
    /// As [`sendfile`](Self::sendfile)'s, and `Unsupported`.
    pub async fn sendfile_with(
        &self,
        file: &std::fs::File,
        offset: u64,
        count: Option<u64>,
        fallback: bool,
    ) -> io::Result<u64> {
        sendfile::check_count(count)?;
        let inner = &self.inner;
        if let Some(err) = inner.state.borrow().reader_error.as_ref() {
            return Err(to_error(err));
        }
        if self.is_closing() {
            return Err(closing());
        }
        if inner.state.borrow().sendfile {
            return Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                "sendfile: another sendfile of this writer is in progress",
            ));
        }
        self.flush_all().await?;
        let native = inner.native.borrow().as_ref().and_then(Weak::upgrade);
        if let Some(socket) = native {
            let _sending = SendfileGuard::begin(inner)?;
            match socket.sendfile_native(file, offset, count).await {
                Err(err) if fallback && sendfile::is_not_available(&err) => {}
                done => return done,
            }
        } else if !fallback {
            return Err(sendfile::not_available(
                "the writer's transport has no socket of its own (TLS)",
            ));
        }
        // asyncio's `_sendfile_fallback`: the chunks go through the writer's own `write`, each
        // after a `drain` (the buffer's back-pressure), counted as the writer takes them.
        let mut reader = FallbackReader::new(file, offset, count)?;
        loop {
            self.drain().await?;
            if self.is_closing() {
                return Err(closing());
            }
            let chunk = reader.chunk().await?;
            if chunk.is_empty() {
                return Ok(reader.sent());
            }
            let n = chunk.len();
            self.write(chunk);
            reader.consume(n)?;
        }
    }

    /// Waits until [`close`](StreamWriter::close) has finished: the buffer was flushed (or the
    /// stream failed) and the write side shut down; over TLS, also until the peer's
    /// `close_notify` came (or the peer went away, or a server's
    /// [`abort_clients`](super::Server::abort_clients) ended the wait). Past the TLS shutdown
    /// timeout it fails with `TimedOut`, as asyncio's raises `TimeoutError`.
    pub async fn wait_closed(&self) -> io::Result<()> {
        let mut waiter = Waiter::new(&self.inner.close_waiters);
        poll_fn(|cx| waiter.poll_until(cx, || self.inner.state.borrow().closed)).await;
        match self.inner.state.borrow().error() {
            Some(err) if err.kind() != io::ErrorKind::BrokenPipe => Err(err),
            _ => Ok(()),
        }
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        let needs_task = {
            let state = self.inner.state.borrow();
            !state.closing && state.buffered() > 0 && !state.flushing
        };
        if needs_task && crate::try_get_running_loop().is_none() {
            return self.inner.finish_close();
        }
        self.close();
    }
}

/// A server's handle on one of its clients' writers (see [`StreamWriter::attach`]).
#[derive(Clone)]
pub(super) struct WriterRef(Weak<Inner>);

impl WriterRef {
    /// No writer (a connection whose writer is not made yet).
    pub(super) fn none() -> Self {
        WriterRef(Weak::new())
    }

    /// [`StreamWriter::close`], if the writer is still there.
    pub(super) fn close(&self) {
        if let Some(inner) = self.0.upgrade() {
            inner.close();
        }
    }

    /// Closes the writer at once, dropping its buffered data (asyncio's `transport.abort()`):
    /// `wait_closed` returns, `drain` raises `ConnectionReset`, writes are dropped. The socket
    /// itself is shut down by the caller.
    pub(super) fn abort(&self) {
        if let Some(inner) = self.0.upgrade() {
            inner.abort();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.done();
    }
}

impl Inner {
    /// Tells the server (if any) that the writer is done with its connection; once.
    fn done(&self) {
        if let Some(on_done) = self.on_done.take() {
            on_done();
        }
    }

    /// [`StreamWriter::close`].
    fn close(self: &Rc<Self>) {
        let mut state = self.state.borrow_mut();
        if state.closing {
            return;
        }
        state.closing = true;
        if state.flushing {
            return; // the flush task closes once the buffer is empty
        }
        if state.buffered() == 0 || state.error.is_some() {
            drop(state);
            return self.finish_close();
        }
        state.flushing = true;
        drop(state);
        drop(crate::spawn(flush(self.clone())));
    }

    /// See [`WriterRef::abort`]. A background task still running (a flush waiting for the
    /// socket, or a close for the io_uring driver's sends) is woken: it finds nothing left to
    /// do and ends.
    fn abort(&self) {
        {
            let mut state = self.state.borrow_mut();
            if state.closed {
                return;
            }
            state.closing = true;
            state.buf = Vec::new();
            state.start = 0;
            state.paused = false;
            state.unflushed = 0;
        }
        self.closed();
        notify_all(&self.drain_waiters);
        let waker = self.task_waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Keeps the waker of the background task that is about to wait, for [`Inner::abort`].
    fn park(&self, cx: &Context<'_>) {
        let replaced = self.task_waker.borrow_mut().register(cx.waker());
        drop(replaced);
    }

    /// True once the stream failed (a send, or the paired reader).
    fn failed(&self) -> bool {
        let state = self.state.borrow();
        state.error.is_some() || state.reader_error.is_some()
    }

    /// asyncio's `_connection_lost`: the stream failed, or the writer is closing with nothing
    /// left in its buffer (asyncio's transport calls `connection_lost` as soon as its buffer is
    /// empty after `close()`; here the socket's own close may still be finishing), or the close
    /// finished. Until then a closing writer's `drain` waits as an open one's does.
    fn connection_lost(&self) -> bool {
        if self.failed() {
            return true;
        }
        let state = self.state.borrow();
        state.closed || (state.closing && state.buffered() == 0)
    }

    /// What `drain` raises on a closing writer: the stream's failure (the reader's first),
    /// else asyncio's `ConnectionResetError('Connection lost')`.
    fn lost(&self) -> io::Error {
        let state = self.state.borrow();
        match state.reader_error.as_ref().or(state.error.as_ref()) {
            Some(err) => to_error(err),
            None => io::Error::new(io::ErrorKind::ConnectionReset, "Connection lost"),
        }
    }

    /// Writes as much of `data` as the sink takes without waiting: nothing while the sink is
    /// out for a TLS upgrade (the only time an open writer has none; `data` is buffered).
    fn write_now(&self, mut data: &[u8]) -> io::Result<usize> {
        let total = data.len();
        let mut sink = self.sink.borrow_mut();
        let Some(sink) = sink.as_mut() else {
            return Ok(0);
        };
        let mut cx = Context::from_waker(Waker::noop());
        // Not async, so it cannot yield: no budget (task/coop.rs).
        let _unconstrained = crate::task::coop::enter_unconstrained();
        while !data.is_empty() {
            match sink.as_mut().poll_write(&mut cx, data) {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => data = &data[n..],
                Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(err)) => return Err(err),
                Poll::Pending => break,
            }
        }
        Ok(total - data.len())
    }

    /// With more than `high` bytes in the sink since its last flush and no flush task running:
    /// flushes the sink now if it is done at once (epoll), else starts the flush task, which
    /// polls the sink's flush to its end and wakes `drain` (it alone polls the sink meanwhile,
    /// so the sink keeps one waker).
    fn flush_sink_if_due(self: &Rc<Self>) {
        {
            let state = self.state.borrow();
            if state.flushing || state.error.is_some() || state.unflushed <= state.high {
                return;
            }
        }
        let mut cx = Context::from_waker(Waker::noop());
        if self.poll_flush_sink(&mut cx).is_ready() {
            return;
        }
        self.state.borrow_mut().flushing = true;
        drop(crate::spawn(flush(self.clone()))); // detached: it ends with the flush
    }

    /// Polls the sink's flush: done, `unflushed` is 0 and `drain` is woken; failed, the
    /// writer fails.
    fn poll_flush_sink(&self, cx: &mut Context<'_>) -> Poll<()> {
        let polled = match self.sink.borrow_mut().as_mut() {
            Some(sink) => sink.as_mut().poll_flush(cx),
            None => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
        };
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) => {
                self.state.borrow_mut().unflushed = 0;
                notify_all(&self.drain_waiters);
                Poll::Ready(())
            }
            Poll::Ready(Err(err)) => {
                self.fail(err);
                Poll::Ready(())
            }
        }
    }

    /// Records a failure: the buffer is dropped and every waiter woken.
    fn fail(&self, err: io::Error) {
        let mut state = self.state.borrow_mut();
        state.error = Some((err.kind(), err.to_string()));
        state.buf = Vec::new();
        state.start = 0;
        state.paused = false;
        drop(state);
        notify_all(&self.drain_waiters);
        self.done();
    }

    /// Shuts the sink down (once) and wakes `wait_closed`. A sink whose flush or close does not
    /// finish at once (on io_uring in the completion form: written bytes still to be sent) is
    /// closed by a task, which wakes `wait_closed` once the bytes were sent and the write side
    /// shut down (asyncio's `wait_closed`: everything flushed); without a running loop the sink
    /// is dropped, its stream sending what is left and then shutting down.
    fn finish_close(self: &Rc<Self>) {
        let pending = self
            .poll_close_sink(&mut Context::from_waker(Waker::noop()))
            .is_pending();
        if pending && crate::try_get_running_loop().is_some() {
            drop(crate::spawn(close_sink(self.clone()))); // detached: it ends with the close
            return;
        }
        self.closed();
    }

    /// Polls the sink's flush to its end, then its close (the write side shut down): a
    /// stream's `poll_close` alone does not wait for the io_uring completion form's sends. A
    /// failure fails the writer unless it had failed already.
    fn poll_close_sink(&self, cx: &mut Context<'_>) -> Poll<()> {
        let polled = match self.sink.borrow_mut().as_mut() {
            Some(sink) => match sink.as_mut().poll_flush(cx) {
                Poll::Ready(Ok(())) => sink.as_mut().poll_close(cx),
                flushing => flushing,
            },
            None => Poll::Ready(Ok(())),
        };
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) => Poll::Ready(()),
            Poll::Ready(Err(err)) => {
                if self.state.borrow().error.is_none() {
                    self.fail(err);
                }
                Poll::Ready(())
            }
        }
    }

    /// Drops the sink and wakes `wait_closed`: the close has finished.
    fn closed(&self) {
        let sink = self.sink.borrow_mut().take();
        drop(sink);
        self.state.borrow_mut().closed = true;
        notify_all(&self.close_waiters);
        self.done();
    }

    /// One poll of the flush task: writes the buffer out, flushing the sink whenever more than
    /// `high` bytes went to it since its last flush; ready when the task is done.
    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let mut state = self.state.borrow_mut();
            if state.error.is_none() && state.unflushed > state.high {
                // Flushed at once on epoll (drain's wait stays the buffer's); on io_uring the
                // writes wait for the sends, so the stream's buffer stays bounded too.
                drop(state);
                ready!(self.poll_flush_sink(cx));
                continue;
            }
            if state.error.is_some() || state.buffered() == 0 {
                state.flushing = false;
                drop(state);
                // Wakes what waits for the task's end (`flush_all`).
                notify_all(&self.drain_waiters);
                return Poll::Ready(()); // the task closes the writer if asked to
            }
            let mut sink = self.sink.borrow_mut();
            let Some(sink) = sink.as_mut() else {
                // Out for a TLS upgrade: `set_sink` wakes the task (parked) once it is back.
                return Poll::Pending;
            };
            let start = state.start;
            match sink.as_mut().poll_write(cx, &state.buf[start..]) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(n)) if n > 0 => {
                    state.start += n;
                    state.unflushed += n;
                    if state.buffered() == 0 {
                        state.buf.clear();
                        state.start = 0;
                    }
                    if state.paused && state.buffered() <= state.low {
                        state.paused = false;
                        drop(state);
                        notify_all(&self.drain_waiters);
                    }
                }
                Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(result) => {
                    drop(state);
                    self.fail(result.err().unwrap_or_else(|| io::ErrorKind::WriteZero.into()));
                }
            }
        }
    }
}

/// asyncio's `RuntimeError("Transport is closing")` from `loop.sendfile`.
fn closing() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "Transport is closing")
}

/// Marks a writer's [`StreamWriter::sendfile`] as running, from after its flush to its end
/// (also when the call is dropped): writes meanwhile are buffered, and at the end a flush task
/// sends them (or finishes a close asked for meanwhile).
struct SendfileGuard<'a>(&'a Rc<Inner>);

impl<'a> SendfileGuard<'a> {
    fn begin(inner: &'a Rc<Inner>) -> io::Result<Self> {
        let mut state = inner.state.borrow_mut();
        if state.closing || state.error.is_some() {
            return Err(closing());
        }
        if state.sendfile || state.flushing {
            return Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                "sendfile: another sendfile of this writer is in progress",
            ));
        }
        state.sendfile = true;
        state.flushing = true;
        Ok(SendfileGuard(inner))
    }
}

impl Drop for SendfileGuard<'_> {
    fn drop(&mut self) {
        let inner = self.0;
        let mut state = inner.state.borrow_mut();
        state.sendfile = false;
        if state.closed || (state.buffered() == 0 && !state.closing) {
            state.flushing = false;
            drop(state);
            notify_all(&inner.drain_waiters);
            return;
        }
        drop(state);
        if crate::try_get_running_loop().is_some() {
            drop(crate::spawn(flush(inner.clone()))); // detached: it ends with the flush
        } else {
            inner.state.borrow_mut().flushing = false;
        }
    }
}

/// The background flush task of a writer with buffered data.
async fn flush(inner: Rc<Inner>) {
    poll_fn(|cx| parked(&inner, cx, Inner::poll_flush)).await;
    let closing = inner.state.borrow().closing;
    if closing {
        close_sink(inner).await;
    } else {
        drop(inner.task_waker.borrow_mut().take());
    }
}

/// Finishes a close: the sink flushed and closed, then `wait_closed` woken. The task of a
/// close the sink could not finish at once (see [`Inner::finish_close`]), and the end of the
/// flush task of a writer closed with data buffered.
async fn close_sink(inner: Rc<Inner>) {
    poll_fn(|cx| parked(&inner, cx, Inner::poll_close_sink)).await;
    drop(inner.task_waker.borrow_mut().take());
    inner.closed();
}

/// Polls a step of a background task, keeping its waker while it waits (for an abort).
fn parked(inner: &Inner, cx: &mut Context<'_>, step: fn(&Inner, &mut Context<'_>) -> Poll<()>) -> Poll<()> {
    let polled = step(inner, cx);
    if polled.is_pending() {
        inner.park(cx);
    }
    polled
}

impl fmt::Debug for Addrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addrs::Inet { peer, .. } => peer.fmt(f),
            Addrs::Unix { peer, .. } => peer.fmt(f),
        }
    }
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.borrow();
        f.debug_struct("StreamWriter")
            .field("peer", &self.inner.addrs)
            .field("buffered", &state.buffered())
            .field("closing", &state.closing)
            .finish()
    }
}
