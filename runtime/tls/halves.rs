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

use std::cell::{Cell, RefCell};
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::TlsStream;

use super::TlsInfo;
use crate::streams::Socket;

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
}

/// The read half of a TLS connection: a stream's [`StreamReader`](crate::streams::StreamReader) reads through it.
pub(crate) struct TlsRead<IO> {
    shared: Rc<Shared<IO>>,
}

/// The write half of a TLS connection: a stream's
/// [`StreamWriter`](crate::streams::StreamWriter) writes through it; its close sends
/// `close_notify`, then shuts the socket's write side down.
///
/// A write the session takes is as good as sent, as on a plain socket whose kernel took the
/// bytes: the session encrypts what it takes, and the records a full socket could not take
/// are sent by a sender task as the socket drains (one at a time, ending once the session has
/// nothing left to send or nobody holds the connection), so that no `flush` is needed for
/// them to leave — the writer flushes only past its high-water mark, relying on that.
pub(crate) struct TlsWrite<IO> {
    shared: Rc<Shared<IO>>,
}

/// Splits an established connection into its halves, with what the handshake settled.
pub(crate) fn split<IO>(stream: TlsStream<IO>) -> (TlsRead<IO>, TlsWrite<IO>, TlsInfo) {
    let info = TlsInfo::of(&stream);
    let wakers = Arc::new(BothWakers::default());
    let shared = Rc::new(Shared {
        stream: RefCell::new(stream),
        waker: Waker::from(wakers.clone()),
        wakers,
        read_shut: Cell::new(false),
        sending: Cell::new(false),
    });
    (
        TlsRead {
            shared: shared.clone(),
        },
        TlsWrite { shared },
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
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let shared = &*self.shared;
        match shared.poll(cx, &shared.wakers.read, |s, cx| s.poll_read(cx, buf)) {
            Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::UnexpectedEof && shared.read_shut.get() => {
                Poll::Ready(Ok(0))
            }
            other => other,
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin + 'static> AsyncWrite for TlsWrite<IO> {
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

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shared = &*self.shared;
        shared.poll(cx, &shared.wakers.write, |s, cx| s.poll_close(cx))
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
