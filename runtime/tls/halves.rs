//! A TLS connection shared by the reader and the writer of one stream: two halves over one
//! rustls session, and the waker both halves poll it with.
//!
//! One rustls session serves both directions, and either direction may need the other's
//! readiness: a read can have to send (an alert, a handshake message), a write never reads,
//! but a read half and a write half each leave their own waker. So the session is always
//! polled with one waker, [`BothWakers`], that wakes whichever halves wait: a half woken for
//! the other's readiness polls again and finds nothing to do, never a half left waiting. The
//! halves never hold the session's borrow across a poll (the loop is single-threaded, and a
//! poll of one half never polls the other).
//!
//! The write half's close (asyncio's SSL shutdown, [`super::shutdown`]) reads the session too,
//! while it waits for the peer's `close_notify`: what it reads is [`Held`] for the read half,
//! which gives it out before anything the session still holds, so that the reader of a
//! closing connection loses nothing (the writer's close is a half-close, as on a plain
//! connection). The close holds [`HELD_MAX`] at most: past it, it waits for the reader to take
//! some (or to be dropped), within its timeout. Once the read half is dropped (or a protocols
//! transport closes), the close drops what it reads, as asyncio's shutdown does.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::TlsStream;

use super::shutdown::Closing;
use super::TlsInfo;
use crate::streams::Socket;

/// What the close holds at most for a reader that is still there: twice the streams' default
/// limit, where asyncio's reader pauses its transport.
const HELD_MAX: usize = 2 * crate::streams::DEFAULT_LIMIT;

/// Records read at most in one poll of the close's wait for the peer's `close_notify` (a
/// peer that sends without end does not hold the loop up; the timeout ends it).
const CLOSE_READS: usize = 64;

/// The wakers of the two halves and of the sender; waking it wakes all (see the module doc).
#[derive(Default)]
struct BothWakers {
    read: Mutex<Option<Waker>>,
    write: Mutex<Option<Waker>>,
    send: Mutex<Option<Waker>>,
}

impl BothWakers {
    fn set(slot: &Mutex<Option<Waker>>, waker: &Waker) {
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some(old) if old.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }
}

impl Wake for BothWakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_all();
    }
}

/// What the write half's close read for the read half (see the module doc), and how the
/// session's read side ended under it.
#[derive(Default)]
struct Held {
    data: VecDeque<u8>,
    /// The close drops what it reads: the read half is gone (or reads no more).
    dropping: bool,
    /// How the session's read side ended while the close read it: EOF (`Ok`), or its error,
    /// which the read half gives once `data` is out.
    end: Option<Result<(), (io::ErrorKind, String)>>,
}

impl Held {
    /// Keeps `data` for the reader, or drops it (see [`Held::dropping`]).
    fn keep(&mut self, data: &[u8]) {
        if !self.dropping {
            self.data.extend(data);
        }
    }

    /// The close waits for the reader before it reads more.
    fn full(&self) -> bool {
        self.data.len() >= HELD_MAX
    }

    /// What a read gets from here: held data, else the end, else `None` (the session's turn).
    fn give(&mut self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        if !self.data.is_empty() {
            let (front, _) = self.data.as_slices();
            let n = front.len().min(buf.len());
            buf[..n].copy_from_slice(&front[..n]);
            self.data.drain(..n);
            return Some(Ok(n));
        }
        match self.end.as_ref()? {
            Ok(()) => Some(Ok(0)),
            Err((kind, message)) => Some(Err(io::Error::new(*kind, message.clone()))),
        }
    }
}

/// What the two halves share.
pub(crate) struct Shared<IO> {
    stream: RefCell<TlsStream<IO>>,
    wakers: Arc<BothWakers>,
    /// The [`BothWakers`] as a `Waker`, made once.
    waker: Waker,
    /// The read side was shut down here ([`Socket::shutdown`]): the EOF that follows is ours,
    /// not a peer that went away without `close_notify`.
    read_shut: Cell<bool>,
    /// A sender task runs (see [`TlsWrite`]).
    sending: Cell<bool>,
    /// What the close read for the read half.
    held: RefCell<Held>,
}

impl<IO> Shared<IO> {
    fn poll<R>(
        &self,
        cx: &Context<'_>,
        slot: &Mutex<Option<Waker>>,
        f: impl FnOnce(Pin<&mut TlsStream<IO>>, &mut Context<'_>) -> R,
    ) -> R
    where
        IO: Unpin,
    {
        BothWakers::set(slot, cx.waker());
        let mut both = Context::from_waker(&self.waker);
        let mut stream = self.stream.borrow_mut();
        f(Pin::new(&mut *stream), &mut both)
    }

    /// Reads the session for the half whose waker `slot` keeps: the peer's EOF without
    /// `close_notify` after our own shutdown of the read side is EOF, not rustls's
    /// truncation error.
    fn poll_read_session(
        &self,
        cx: &Context<'_>,
        slot: &Mutex<Option<Waker>>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        match self.poll(cx, slot, |s, cx| s.poll_read(cx, buf)) {
            Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::UnexpectedEof && self.read_shut.get() => {
                Poll::Ready(Ok(0))
            }
            other => other,
        }
    }

    /// Sends `close_notify` (once) and what the session holds, then shuts the socket's write
    /// side down: the first step of the close ([`super::shutdown`]).
    pub(super) fn poll_close_notify(&self, cx: &Context<'_>) -> Poll<io::Result<()>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        self.poll(cx, &self.wakers.write, |s, cx| s.poll_close(cx))
    }

    /// The close's wait for the peer's `close_notify`: reads the session until it (EOF), the
    /// peer's going away without it, or a failure, keeping what it reads for the read half
    /// ([`Held`]; while it holds [`HELD_MAX`], it waits for the read half to take some). Ready
    /// once the read side ended.
    pub(super) fn poll_peer_closed(&self, cx: &Context<'_>) -> Poll<()>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let mut held = self.held.borrow_mut();
        if held.end.is_some() {
            return Poll::Ready(());
        }
        let mut buf = vec![0; 16 * 1024];
        for _ in 0..CLOSE_READS {
            if held.full() {
                // The read half wakes us when it takes some (or is dropped).
                BothWakers::set(&self.wakers.write, cx.waker());
                return Poll::Pending;
            }
            match self.poll_read_session(cx, &self.wakers.write, &mut buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => {
                    held.end = Some(Ok(()));
                    return Poll::Ready(());
                }
                Poll::Ready(Ok(n)) => held.keep(&buf[..n]),
                Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(err)) => {
                    held.end = Some(Err((err.kind(), err.to_string())));
                    return Poll::Ready(());
                }
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// The close gave up (its timeout): the read half gets `err` once the held data is out.
    pub(super) fn end_reads(&self, err: &io::Error) {
        let mut held = self.held.borrow_mut();
        if held.end.is_none() {
            held.end = Some(Err((err.kind(), err.to_string())));
        }
        drop(held);
        self.wakers.wake_all();
    }
}

/// The read half of a TLS connection: a stream's [`StreamReader`](crate::streams::StreamReader) reads through it.
pub(crate) struct TlsRead<IO> {
    shared: Rc<Shared<IO>>,
}

/// The write half of a TLS connection: a stream's
/// [`StreamWriter`](crate::streams::StreamWriter) writes through it; its close is asyncio's
/// SSL shutdown ([`super::shutdown`]): `close_notify`, the socket's write side shut down, then
/// the wait for the peer's `close_notify`, bounded by the shutdown timeout.
///
/// A write the session takes is as good as sent, as on a plain socket whose kernel took the
/// bytes: the session encrypts what it takes, and the records a full socket could not take
/// are sent by a sender task as the socket drains (one at a time, ending once the session has
/// nothing left to send or nobody holds the connection), so that no `flush` is needed for
/// them to leave — the writer flushes only past its high-water mark, relying on that.
pub(crate) struct TlsWrite<IO> {
    shared: Rc<Shared<IO>>,
    closing: Closing,
}

/// Splits an established connection into its halves, with what the handshake settled; the
/// write half's close waits `shutdown_timeout` at most for the peer's `close_notify`.
pub(crate) fn split<IO>(
    stream: TlsStream<IO>,
    shutdown_timeout: Duration,
) -> (TlsRead<IO>, TlsWrite<IO>, TlsInfo) {
    let info = TlsInfo::of(&stream);
    let wakers = Arc::new(BothWakers::default());
    let shared = Rc::new(Shared {
        stream: RefCell::new(stream),
        waker: Waker::from(wakers.clone()),
        wakers,
        read_shut: Cell::new(false),
        sending: Cell::new(false),
        held: RefCell::default(),
    });
    (
        TlsRead {
            shared: shared.clone(),
        },
        TlsWrite {
            shared,
            closing: Closing::new(shutdown_timeout),
        },
        info,
    )
}

impl<IO: Socket + 'static> TlsRead<IO> {
    /// A handle on the connection's socket for a server to shut it down (it does not keep the
    /// connection open).
    pub(crate) fn socket(&self) -> Weak<dyn Socket> {
        let weak: Weak<Shared<IO>> = Rc::downgrade(&self.shared);
        weak
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsRead<IO> {
    /// What the close read for this half first ([`Held`]), then the session.
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let shared = &*self.shared;
        let mut held = shared.held.borrow_mut();
        let full = held.full();
        if let Some(given) = held.give(buf) {
            drop(held);
            if full {
                shared.wakers.wake_all(); // the close waits for room
            }
            return Poll::Ready(given);
        }
        drop(held);
        shared.poll_read_session(cx, &shared.wakers.read, buf)
    }
}

impl<IO> TlsRead<IO> {
    /// This half reads no more (a protocols transport that closes): the close drops what it
    /// reads, as asyncio's shutdown does.
    pub(crate) fn read_no_more(&self) {
        let mut held = self.shared.held.borrow_mut();
        let full = held.full();
        held.dropping = true;
        held.data = VecDeque::new();
        drop(held);
        if full {
            self.shared.wakers.wake_all(); // the close waits for room
        }
    }
}

impl<IO> Drop for TlsRead<IO> {
    /// Nobody reads what the close reads any more: it drops it.
    fn drop(&mut self) {
        self.read_no_more();
    }
}

impl<IO: AsyncRead + AsyncWrite + Socket + Unpin + 'static> AsyncWrite for TlsWrite<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let shared = &*self.shared;
        let written = shared.poll(cx, &shared.wakers.write, |s, cx| s.poll_write(cx, buf));
        if matches!(written, Poll::Ready(Ok(_))) {
            send_rest(&self.shared);
        }
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shared = &*self.shared;
        shared.poll(cx, &shared.wakers.write, |s, cx| s.poll_flush(cx))
    }

    /// asyncio's SSL shutdown ([`super::shutdown`]).
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.closing.poll(cx, &this.shared)
    }
}

/// Starts the sender task if the session holds records the socket did not take (see
/// [`TlsWrite`]).
fn send_rest<IO>(shared: &Rc<Shared<IO>>)
where
    IO: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let wants = shared
        .stream
        .try_borrow()
        .is_ok_and(|stream| stream.get_ref().1.wants_write());
    if !wants || shared.sending.get() || crate::try_get_running_loop().is_none() {
        return;
    }
    shared.sending.set(true);
    let weak = Rc::downgrade(shared);
    drop(crate::spawn(async move {
        // Ends when everything was sent, the socket failed (the writer sees it at its next
        // write), or nobody holds the connection any more.
        std::future::poll_fn(|cx| match weak.upgrade() {
            Some(shared) => shared
                .poll(cx, &shared.wakers.send, |s, cx| s.poll_flush(cx))
                .map(|_| ()),
            None => Poll::Ready(()),
        })
        .await;
        if let Some(shared) = weak.upgrade() {
            shared.sending.set(false);
        }
    }));
}

impl<IO: Socket> Socket for Shared<IO> {
    fn shutdown(&self, how: Shutdown) {
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.read_shut.set(true);
        }
        if let Ok(stream) = self.stream.try_borrow() {
            stream.get_ref().0.shutdown(how);
        }
        self.wakers.wake_all();
    }

    fn abort(&self) {
        self.read_shut.set(true);
        if let Ok(stream) = self.stream.try_borrow() {
            stream.get_ref().0.abort();
        }
        self.wakers.wake_all();
    }
}

impl BothWakers {
    /// Wakes the halves that wait.
    fn wake_all(&self) {
        for slot in [&self.read, &self.write, &self.send] {
            let waker = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}
