//! [`Transport`]: the handle on a connection a [`Protocol`](super::Protocol) writes and controls it through
//! (asyncio's `_SelectorSocketTransport`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::any::WeakShared;
use super::closing::Closing;
use super::flow::{deliver_flow, FlowControl};
use super::lost_writes::LostWrites;
use super::sock::{Io, IoKind};
use super::task::wake;
use super::write_state::WriteState;
use super::SocketAddress;
use crate::waker_slot::WakerSlot;

/// asyncio's default high-water mark of a transport's write buffer (64 KiB); the low-water
/// mark defaults to a quarter of the high one.
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;

/// The handle on a stream connection: asyncio's `Transport` (`_SelectorSocketTransport`); and
/// on a pipe ([`connect_read_pipe`](super::connect_read_pipe),
/// [`connect_write_pipe`](super::connect_write_pipe): asyncio's `_UnixReadPipeTransport` and
/// `_UnixWritePipeTransport`, with the differences those functions list).
///
/// A cheap clone (an `Rc`) that the protocol keeps from
/// [`connection_made`](super::Protocol::connection_made) and any task of the loop may use. Its methods
/// never wait and never call the protocol re-entrantly: [`write`](Transport::write) sends at
/// once what the socket takes and buffers the rest, which the connection's task sends as the
/// socket drains; [`close`](Transport::close) sends what is buffered first, then closes;
/// [`abort`](Transport::abort) closes at once.
///
/// ```
/// use aioloop::protocols::{create_connection, create_server, Protocol, Transport};
///
/// struct Greeter;
/// impl Protocol for Greeter {
///     fn connection_made(&mut self, transport: Transport) {
///         transport.write(b"hello\n").unwrap();
///         transport.close(); // sends the line first
///     }
/// }
///
/// #[derive(Default)]
/// struct Collect {
///     data: Vec<u8>,
///     lost: bool,
/// }
/// impl Protocol for Collect {
///     fn data_received(&mut self, data: &[u8]) {
///         self.data.extend_from_slice(data);
///     }
///     fn connection_lost(&mut self, _exc: Option<std::io::Error>) {
///         self.lost = true;
///     }
/// }
///
/// aioloop::run(async {
///     let server = create_server(|| Greeter, "127.0.0.1:0").await.unwrap();
///     let (_transport, client) =
///         create_connection(Collect::default, server.local_addr().unwrap()).await.unwrap();
///     while !client.borrow().lost {
///         aioloop::sleep(std::time::Duration::from_millis(1)).await;
///     }
///     assert_eq!(client.borrow().data, b"hello\n");
///     server.close();
///     server.wait_closed().await;
/// });
/// ```
#[derive(Clone)]
pub struct Transport {
    pub(super) inner: Rc<Inner>,
}

/// What a transport and its connection's task share. Its fields are this file's, but for the
/// connection task's own slots (`driver`, its waker, and `panic`), which driver.rs keeps: the
/// task and `start_tls` (upgrade.rs) act on the socket and the state through its methods.
pub(super) struct Inner {
    /// The socket (or pipe); taken (and closed) once `connection_lost` was called, or handed
    /// over to `start_tls`.
    sock: RefCell<Option<Io>>,
    /// What `sock` is: the pipes' semantics differ in places.
    kind: IoKind,
    state: RefCell<State>,
    protocol: WeakShared,
    peer: Option<SocketAddress>,
    local: Option<SocketAddress>,
    /// What the TLS handshake settled, on a TLS connection.
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsInfo>,
    /// The connection task's waker while it waits.
    pub(super) driver: RefCell<WakerSlot>,
    /// The waker of a [`sendfile`](super::sendfile()) waiting for the write buffer (to empty, or
    /// to fall below the low-water mark) or for the connection's end: woken as the connection's
    /// task sends from the buffer and when it ends.
    sendfile_waiter: RefCell<WakerSlot>,
    /// Run once the connection is lost (a server forgets the connection).
    on_lost: RefCell<Option<Box<dyn FnOnce()>>>,
    /// Writes ignored since the connection was lost (asyncio's `_conn_lost` count).
    lost_writes: LostWrites,
    /// A protocol method's panic, resumed once `connection_lost` ran.
    pub(super) panic: RefCell<Option<Box<dyn std::any::Any + Send>>>,
    /// `start_tls` began on this transport (feature `tls`).
    #[cfg(feature = "tls")]
    upgrade: RefCell<Option<super::upgrade::Upgrade>>,
}

/// asyncio's `_SelectorSocketTransport` attributes.
struct State {
    buffer: VecDeque<u8>,
    /// `close`, `abort`, the connection lost (`_closing`, `_conn_lost`).
    end: Closing,
    /// `write_eof` was called (`_eof`).
    eof: bool,
    /// `pause_reading` is in effect (`_paused`).
    paused: bool,
    /// EOF was read and the protocol kept the connection open: nothing more is read.
    read_eof: bool,
    /// The write buffer limits and the `pause_writing` / `resume_writing` calls due.
    flow: FlowControl,
    /// `start_tls` took the connection over: nothing more is read or written here.
    upgrading: bool,
    /// A native [`sendfile`](super::sendfile()) owns the socket: writes are refused.
    sendfile: bool,
}

impl State {
    fn new() -> Self {
        State {
            buffer: VecDeque::new(),
            end: Closing::default(),
            eof: false,
            paused: false,
            read_eof: false,
            flow: FlowControl::new(),
            upgrading: false,
            sendfile: false,
        }
    }

    /// asyncio's `_maybe_pause_protocol`.
    fn maybe_pause(&mut self) {
        self.flow.maybe_pause(self.buffer.len());
    }

    /// asyncio's `_maybe_resume_protocol`.
    fn maybe_resume(&mut self) {
        self.flow.maybe_resume(self.buffer.len());
    }

    /// The connection's task reads: not closing, not paused, no EOF read yet, not upgraded.
    fn reading(&self) -> bool {
        !self.end.closing && !self.paused && !self.read_eof && !self.upgrading
    }
}

impl WriteState for State {
    fn buffered(&self) -> usize {
        self.buffer.len()
    }

    fn end(&mut self) -> &mut Closing {
        &mut self.end
    }

    fn flow(&mut self) -> &mut FlowControl {
        &mut self.flow
    }

    /// The buffer is dropped (and so is what the socket still holds: the end is an abort,
    /// [`Closing::aborted`]).
    fn discard(&mut self) {
        self.buffer.clear();
    }
}

impl Inner {
    pub(super) fn new(sock: Io, protocol: WeakShared) -> Self {
        let (peer, local) = sock.extra_info();
        Inner {
            #[cfg(feature = "tls")]
            tls: sock.tls_info(),
            kind: sock.kind(),
            sock: RefCell::new(Some(sock)),
            state: RefCell::new(State::new()),
            protocol,
            peer,
            local,
            driver: RefCell::new(WakerSlot::new()),
            sendfile_waiter: RefCell::new(WakerSlot::new()),
            on_lost: RefCell::new(None),
            lost_writes: LostWrites::default(),
            panic: RefCell::new(None),
            #[cfg(feature = "tls")]
            upgrade: RefCell::new(None),
        }
    }

    /// A TLS connection (asyncio's `SSLProtocol` transport): no half-close, and EOF (the
    /// peer's `close_notify`) closes it whatever `eof_received` answers.
    pub(super) fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// What the socket is (a stream, a read or a write pipe).
    pub(super) fn kind(&self) -> IoKind {
        self.kind
    }

    /// The transport's protocol, unless it was dropped.
    #[cfg(feature = "tls")]
    pub(super) fn protocol(&self) -> Option<super::any::Shared> {
        self.protocol.upgrade()
    }

    pub(super) fn wake_driver(&self) {
        wake(&self.driver);
    }

    /// Calls the pending `pause_writing` / `resume_writing` on the protocol, unless one of its
    /// methods is running (then its connection's task calls them once it returned).
    pub(super) fn deliver_flow(&self) {
        deliver_flow(&self.protocol, &self.state, || self.wake_driver());
    }

    /// asyncio's `_force_close(exc)`: the buffer dropped, nothing more read, and
    /// `connection_lost` due with `exc` (nothing if it was due already).
    pub(super) fn force_close(&self, exc: Option<io::Error>) {
        self.state.borrow_mut().force_close(exc);
    }
}

/// What the connection's task (driver.rs) does on the transport: asyncio's `_read_ready`'s
/// and `_write_ready`'s sides of the transport, and its end.
impl Inner {
    /// `connection_lost` is due: the task ends.
    pub(super) fn lost_due(&self) -> bool {
        self.state.borrow().end.conn_lost
    }

    /// The task reads: not closing, not paused, no EOF read yet, not upgraded.
    pub(super) fn reading(&self) -> bool {
        self.state.borrow().reading()
    }

    /// One read from the socket into `buf`; `Pending` once the socket is gone.
    pub(super) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self.sock.borrow().as_ref() {
            Some(sock) => sock.poll_read(cx, buf),
            None => Poll::Pending,
        }
    }

    /// Ready once the socket is readable; `Pending` once it is gone.
    pub(super) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        match self.sock.borrow().as_ref() {
            Some(sock) => sock.poll_read_ready(cx),
            None => Poll::Pending,
        }
    }

    /// EOF was read and the protocol keeps the connection open (`eof_received` answered
    /// true): nothing more is read.
    pub(super) fn keep_open_at_eof(&self) {
        self.state.borrow_mut().read_eof = true;
    }

    /// asyncio's `_write_ready`: sends from the buffer; once it is empty, ends a closing
    /// connection or shuts the write side down after `write_eof`, and wakes an upgrade
    /// waiting for it. True if it made progress.
    pub(super) fn poll_send(&self, cx: &mut Context<'_>) -> bool {
        let mut state = self.state.borrow_mut();
        if state.buffer.is_empty() {
            return false;
        }
        let sock = self.sock.borrow();
        let Some(sock) = sock.as_ref() else {
            return false;
        };
        let polled = sock.poll_write(cx, state.buffer.as_slices().0);
        if polled.is_ready() {
            wake(&self.sendfile_waiter); // the buffer shrank, or the connection failed
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
                    super::upgrade::wake(self);
                }
                true
            }
        }
    }

    /// Why a [`sendfile`](super::sendfile()) may not start: the transport was upgraded by
    /// `start_tls`, or another sendfile of it runs.
    pub(super) fn sendfile_refused(&self) -> Option<io::Error> {
        let state = self.state.borrow();
        if state.upgrading {
            return Some(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the transport was upgraded by start_tls(): send through the transport it returned",
            ));
        }
        state.sendfile.then(|| {
            io::Error::new(
                io::ErrorKind::ResourceBusy,
                "sendfile: another sendfile of this transport is in progress",
            )
        })
    }

    /// A native sendfile owns the socket (`true`: [`Transport::write`] refuses) or no more.
    pub(super) fn set_sendfile(&self, on: bool) {
        self.state.borrow_mut().sendfile = on;
    }

    /// For a sendfile: ready with `true` once the write buffer is empty (`empty`) or writing
    /// is not paused (not `empty`), with `false` once the connection is lost; else the waker
    /// waits for the connection's task to send or end.
    pub(super) fn poll_for_sendfile(&self, cx: &mut Context<'_>, empty: bool) -> Poll<bool> {
        let state = self.state.borrow();
        if state.end.conn_lost {
            return Poll::Ready(false);
        }
        let ready = match empty {
            true => state.buffer.is_empty(),
            false => !state.flow.is_paused(),
        };
        if ready {
            return Poll::Ready(true);
        }
        drop(state);
        let replaced = self.sendfile_waiter.borrow_mut().register(cx.waker());
        drop(replaced);
        Poll::Pending
    }

    /// Wakes a sendfile waiting in [`Inner::poll_for_sendfile`] (the connection ended).
    pub(super) fn wake_sendfile(&self) {
        wake(&self.sendfile_waiter);
    }

    /// Polls a native send from `file` on the transport's socket; `None` once the socket is
    /// gone.
    pub(super) fn poll_sendfile(
        &self,
        cx: &mut Context<'_>,
        send: &mut crate::net::sendfile::NativeSend,
        file: &std::fs::File,
    ) -> Option<Poll<io::Result<u64>>> {
        self.sock
            .borrow()
            .as_ref()
            .map(|sock| sock.poll_sendfile(cx, send, file))
    }

    /// asyncio's `_UnixWritePipeTransport._read_ready`: the write pipe's reader closed its
    /// end, and the transport closes at once, dropping its buffer: `connection_lost` gets
    /// `BrokenPipe` if data was still buffered, `None` otherwise. True if it did.
    pub(super) fn poll_reader_closed(&self, cx: &mut Context<'_>) -> bool {
        let closed = match self.sock.borrow().as_ref() {
            Some(sock) => sock.poll_reader_closed(cx).is_ready(),
            None => false,
        };
        if !closed {
            return false;
        }
        let mut state = self.state.borrow_mut();
        let exc = (!state.buffer.is_empty()).then(|| io::Error::from(io::ErrorKind::BrokenPipe));
        state.force_close(exc);
        true
    }

    /// The socket's end once `connection_lost` is due, before the protocol's call: the flow
    /// calls due are forgotten; what the socket holds goes out first (the io_uring completion
    /// form's send buffer; a TLS session's records, its `close_notify`, then the wait for the
    /// peer's), unless the end is an abort ([`Closing::aborted`], also when it comes during
    /// that wait): then the socket is aborted at once. Answers what `connection_lost`
    /// reports: the connection's error, or asyncio's "SSL shutdown timed out" (`TimedOut`).
    pub(super) async fn close_socket(&self) -> Option<io::Error> {
        let mut exc = {
            let mut state = self.state.borrow_mut();
            state.flow.clear();
            state.end.lost_exc.take()
        };
        let finished = poll_fn(|cx| match self.sock.borrow().as_ref() {
            Some(sock) if self.state.borrow().end.aborted() => {
                sock.abort();
                Poll::Ready(Ok(()))
            }
            Some(sock) => sock.poll_finish(cx),
            None => Poll::Ready(Ok(())),
        })
        .await;
        match finished {
            Err(err) if err.kind() == io::ErrorKind::TimedOut && exc.is_none() => exc = Some(err),
            _ => {}
        }
        exc
    }

    /// The connection's end for good, after `connection_lost` (or instead of it, the task
    /// dropped or unwinding first): lost if it was not, the socket closed, the task's waker
    /// dropped, and what runs once the connection is lost run (a server forgets it).
    pub(super) fn finish(&self) {
        self.force_close(None);
        drop(self.sock.borrow_mut().take());
        let waker = self.driver.borrow_mut().take();
        drop(waker);
        let on_lost = self.on_lost.borrow_mut().take();
        if let Some(on_lost) = on_lost {
            on_lost();
        }
    }
}

/// What `start_tls` (upgrade.rs) does on the plain transport it takes over.
#[cfg(feature = "tls")]
impl Inner {
    /// Begins the upgrade: nothing more is read or written here, and the upgrade's record is
    /// kept ([`with_upgrade`](Inner::with_upgrade)). Refused, with why, if one began
    /// already, the transport is closing, or `write_eof` was called.
    pub(super) fn begin_upgrade(&self) -> Result<(), &'static str> {
        if self.upgrade.borrow().is_some() {
            return Err("the transport was upgraded already");
        }
        {
            let mut state = self.state.borrow_mut();
            if state.end.closing {
                return Err("the transport is closing");
            }
            if state.eof {
                return Err("write_eof() was called on the transport");
            }
            state.upgrading = true;
        }
        *self.upgrade.borrow_mut() = Some(super::upgrade::Upgrade::default());
        Ok(())
    }

    /// `f` on the record of the upgrade begun on this transport; `None` if none began. No
    /// borrow is held once it returned.
    pub(super) fn with_upgrade<R>(&self, f: impl FnOnce(&mut super::upgrade::Upgrade) -> R) -> Option<R> {
        self.upgrade.borrow_mut().as_mut().map(f)
    }

    /// Ready once what the transport buffered was sent and the socket sent what it took: the
    /// upgrade may take the socket. `Err` if the connection was lost first, with what
    /// `connection_lost` was due to report (`None`: no error), or the socket's error.
    pub(super) fn poll_flushed(&self, cx: &mut Context<'_>) -> Poll<Result<(), Option<io::Error>>> {
        {
            let mut state = self.state.borrow_mut();
            if state.end.conn_lost {
                return Poll::Ready(Err(state.end.lost_exc.take()));
            }
            if !state.buffer.is_empty() {
                return Poll::Pending;
            }
        }
        match self.sock.borrow().as_ref() {
            Some(sock) => sock.poll_finish(cx).map_err(Some),
            None => Poll::Ready(Ok(())),
        }
    }

    /// Hands the socket over to the upgrade: the transport has none from now on. `None` if it
    /// was taken already.
    pub(super) fn take_socket(&self) -> Option<Io> {
        self.sock.borrow_mut().take()
    }

    /// Moves what runs once the connection is lost (a server's count of it) to `to`, the
    /// transport that took the connection over.
    pub(super) fn hand_over_on_lost(&self, to: &Transport) {
        let on_lost = self.on_lost.borrow_mut().take();
        if let Some(on_lost) = on_lost {
            to.on_lost(on_lost);
        }
    }
}

impl Transport {
    /// Runs `f` once the connection is lost, or its task ended before that (a server forgets
    /// the connection). Replaces an earlier one.
    pub(super) fn on_lost(&self, f: Box<dyn FnOnce()>) {
        *self.inner.on_lost.borrow_mut() = Some(f);
    }

    /// Writes `data`: asyncio's `transport.write(data)`. What the socket takes at once is sent
    /// (when nothing is buffered already), the rest is buffered and sent by the connection's
    /// task as the socket drains; it never waits. A buffer above the high-water mark calls
    /// the protocol's [`pause_writing`](super::Protocol::pause_writing).
    ///
    /// Writes after [`close`](Transport::close) are still sent while the buffer is not empty
    /// (as in asyncio); once the connection is lost they are ignored, and from the fifth on
    /// each is reported to the loop's exception handler, where asyncio logs its warning
    /// ("socket.send() raised exception."). A send error closes the connection with that
    /// error ([`Protocol::connection_lost`](super::Protocol::connection_lost) gets it).
    ///
    /// A write pipe ignores writes once closing (asyncio's `_UnixWritePipeTransport`), and
    /// reports them the same way.
    ///
    /// # Errors
    /// `InvalidInput` after [`write_eof`](Transport::write_eof) (asyncio raises
    /// `RuntimeError`), on a read pipe's transport, and once `start_tls`
    /// took the transport over (feature `tls`); `ResourceBusy` while a
    /// [`sendfile`](super::sendfile()) sends from a file straight into the socket (asyncio's
    /// "unable to write; sendfile is in progress").
    pub fn write(&self, data: &[u8]) -> io::Result<()> {
        let inner = &*self.inner;
        {
            let mut state = inner.state.borrow_mut();
            if state.eof {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "Cannot call write() after write_eof()",
                ));
            }
            if state.upgrading {
                return Err(upgraded());
            }
            if state.sendfile {
                return Err(io::Error::new(
                    io::ErrorKind::ResourceBusy,
                    "unable to write; sendfile is in progress",
                ));
            }
            if inner.kind == IoKind::ReadPipe {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "write() on a read pipe transport",
                ));
            }
            if data.is_empty() {
                return Ok(());
            }
            // A write pipe ignores writes once closing, as asyncio's does (a socket sends
            // them while its buffer drains).
            if state.end.conn_lost || (inner.kind == IoKind::WritePipe && state.end.closing) {
                drop(state);
                inner.lost_writes.ignore(|ignored| {
                    format!("Transport.write() after the connection was lost: {ignored} writes ignored")
                });
                return Ok(());
            }
            let mut rest = data;
            if state.buffer.is_empty() {
                let sent = match inner.sock.borrow().as_ref() {
                    Some(sock) => sock.try_write(data),
                    None => Ok(0),
                };
                match sent {
                    Ok(n) => rest = &data[n..],
                    Err(err)
                        if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                    Err(err) => {
                        state.force_close(Some(err));
                        drop(state);
                        inner.wake_driver();
                        return Ok(());
                    }
                }
                if rest.is_empty() {
                    return Ok(());
                }
            }
            state.buffer.extend(rest);
            state.maybe_pause();
        }
        inner.wake_driver();
        inner.deliver_flow();
        Ok(())
    }

    /// Writes each buffer of `chunks` in order: asyncio's `transport.writelines`.
    ///
    /// # Errors
    /// As [`write`](Transport::write).
    pub fn writelines<I>(&self, chunks: I) -> io::Result<()>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let joined: Vec<u8> = chunks
            .into_iter()
            .flat_map(|chunk| chunk.as_ref().to_vec())
            .collect();
        self.write(&joined)
    }

    /// Closes the write side once the buffer is sent (`shutdown(SHUT_WR)`: the peer reads EOF)
    /// and goes on reading: asyncio's `transport.write_eof()`. Nothing if the transport is
    /// closing or `write_eof` was called already. Later writes are errors.
    ///
    /// A write pipe's `write_eof` is its [`close`](Transport::close), as in asyncio (a pipe has
    /// no half-close); a read pipe's does nothing.
    ///
    /// # Errors
    /// `Unsupported` on a TLS connection (feature `tls`): TLS has no half-close, asyncio's SSL
    /// transport raises `NotImplementedError` (see [`can_write_eof`](Transport::can_write_eof)).
    pub fn write_eof(&self) -> io::Result<()> {
        let inner = &*self.inner;
        if inner.is_tls() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "write_eof(): TLS does not support half-closes",
            ));
        }
        if inner.kind == IoKind::WritePipe {
            self.close();
            return Ok(());
        }
        let mut state = inner.state.borrow_mut();
        if state.upgrading {
            return Err(upgraded());
        }
        if state.end.closing || state.eof {
            return Ok(());
        }
        state.eof = true;
        if state.buffer.is_empty() {
            if let Some(sock) = inner.sock.borrow().as_ref() {
                let _ = sock.shutdown_write();
            }
        }
        Ok(())
    }

    /// Whether [`write_eof`](Transport::write_eof) is supported: always, but for a read pipe
    /// and a TLS connection (asyncio's SSL transport answers `False`).
    pub fn can_write_eof(&self) -> bool {
        self.inner.kind != IoKind::ReadPipe && !self.inner.is_tls()
    }

    /// Closes the connection: asyncio's `transport.close()`. Nothing more is read; what is
    /// buffered is sent first, then the protocol's [`connection_lost`](super::Protocol::connection_lost)
    /// is called with `None` (from the connection's task, never inside this call) and the
    /// socket is closed. Closing again does nothing.
    ///
    /// On a transport `start_tls` took over (feature `tls`), it closes the
    /// new transport, or ends the upgrade under way.
    pub fn close(&self) {
        #[cfg(feature = "tls")]
        if super::upgrade::end_upgraded(&self.inner, Transport::close) {
            return;
        }
        Transport::close_inner(&self.inner);
    }

    pub(super) fn close_inner(inner: &Inner) {
        Closing::close_transport(&inner.state, || inner.wake_driver());
    }

    /// Closes the connection at once, dropping what is buffered: asyncio's
    /// `transport.abort()`. The protocol's [`connection_lost`](super::Protocol::connection_lost) is
    /// called with `None` from the connection's task.
    ///
    /// On a transport `start_tls` took over (feature `tls`), it aborts
    /// the new transport, or ends the upgrade under way.
    pub fn abort(&self) {
        #[cfg(feature = "tls")]
        if super::upgrade::end_upgraded(&self.inner, Transport::abort) {
            return;
        }
        Closing::abort_transport(&self.inner.state, || self.inner.wake_driver());
    }

    /// True once [`close`](Transport::close) or [`abort`](Transport::abort) was called or the
    /// connection was lost: asyncio's `is_closing()`.
    ///
    /// On a transport `start_tls` took over (feature `tls`), the new
    /// transport's once it is made.
    pub fn is_closing(&self) -> bool {
        #[cfg(feature = "tls")]
        if let Some(to) = super::upgrade::upgraded_to(&self.inner) {
            return to.is_closing();
        }
        self.inner.state.borrow().end.closing
    }

    /// Stops reading (no [`data_received`](super::Protocol::data_received) until
    /// [`resume_reading`](Transport::resume_reading)): asyncio's `pause_reading()`. Nothing if
    /// not reading.
    pub fn pause_reading(&self) {
        let mut state = self.inner.state.borrow_mut();
        if state.end.closing || state.paused {
            return;
        }
        state.paused = true;
    }

    /// Reads again after [`pause_reading`](Transport::pause_reading): asyncio's
    /// `resume_reading()`. Nothing if closing or not paused.
    pub fn resume_reading(&self) {
        let mut state = self.inner.state.borrow_mut();
        if state.end.closing || !state.paused {
            return;
        }
        state.paused = false;
        drop(state);
        self.inner.wake_driver();
    }

    /// Not closing and not paused: asyncio's `is_reading()` (false for a write pipe, which
    /// does not read).
    pub fn is_reading(&self) -> bool {
        let state = self.inner.state.borrow();
        !state.end.closing && !state.paused && self.inner.kind != IoKind::WritePipe
    }

    /// How many bytes are buffered, not sent yet: asyncio's `get_write_buffer_size()`.
    pub fn get_write_buffer_size(&self) -> usize {
        self.inner.state.borrow().buffered()
    }

    /// Sets the write buffer's high- and low-water marks: asyncio's
    /// `set_write_buffer_limits(high, low)`. Without `high`, it is 64 KiB, or four times `low`
    /// if given; without `low`, a quarter of `high`. The protocol is paused at once if the
    /// buffer is above the new high mark.
    ///
    /// # Errors
    /// `InvalidInput` unless `high >= low` (asyncio raises `ValueError`).
    pub fn set_write_buffer_limits(&self, high: Option<usize>, low: Option<usize>) -> io::Result<()> {
        FlowControl::set_transport_limits(&self.inner.state, high, low, || self.inner.deliver_flow())
    }

    /// The write buffer's `(low, high)` water marks: asyncio's `get_write_buffer_limits()`.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        self.inner.state.borrow().flow.limits()
    }

    /// asyncio's `get_extra_info(name)` for `"peername"` and `"sockname"` of a socket (read
    /// when the connection was made, so still there after it closed), `"pipe"` of a pipe
    /// transport ([`SocketAddress::Pipe`]); `None` for other names.
    pub fn get_extra_info(&self, name: &str) -> Option<SocketAddress> {
        match (name, self.inner.kind) {
            ("peername", IoKind::Stream) => self.inner.peer.clone(),
            ("sockname", IoKind::Stream) | ("pipe", IoKind::ReadPipe | IoKind::WritePipe) => {
                self.inner.local.clone()
            }
            _ => None,
        }
    }

    /// What the TLS handshake settled, on a TLS connection (feature `tls`, the `_tls` entry
    /// points such as [`create_connection_tls`](super::create_connection_tls)): asyncio's
    /// `get_extra_info('ssl_object')`, `('peercert')`, `('cipher')`. `None` without TLS.
    #[cfg(feature = "tls")]
    pub fn tls_info(&self) -> Option<&crate::tls::TlsInfo> {
        self.inner.tls.as_ref()
    }

    /// The peer's address of a TCP connection (`get_extra_info("peername")`).
    pub fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        match self.inner.peer {
            Some(SocketAddress::Inet(addr)) => Some(addr),
            _ => None,
        }
    }

    /// The local address of a TCP connection (`get_extra_info("sockname")`).
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        match self.inner.local {
            Some(SocketAddress::Inet(addr)) => Some(addr),
            _ => None,
        }
    }
}

/// The error of a write to a transport `start_tls` took over.
fn upgraded() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "the transport was upgraded by start_tls(): write to the transport it returned",
    )
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.borrow();
        f.debug_struct("Transport")
            .field("peername", &self.inner.peer)
            .field("closing", &state.end.closing)
            .field("buffered", &state.buffer.len())
            .finish()
    }
}
