//! asyncio's SSL shutdown (`SSLProtocol._start_shutdown`, `_do_flush`, `_do_shutdown`,
//! `_on_shutdown_complete`, `_check_shutdown_timeout`) on a session's halves: the close of
//! the write half ([`Closing`]), for a stream's writer and a protocols transport alike.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

use super::halves::Shared;
use crate::streams::Socket;
use crate::time::Sleep;

/// The close of a session: what is buffered and `close_notify` are sent and the socket's
/// write side is shut down; then what the peer sends is read until its `close_notify` (kept
/// for a reader still there, see [`super::halves`]), or until the peer goes away without one,
/// or the read fails; all within the shutdown timeout from the first poll. Past it the socket
/// is aborted, the close fails with `TimedOut` (asyncio's `TimeoutError('SSL shutdown timed
/// out')`), and so does the reader once it read what was kept for it. A failure to send ends
/// the close at once with that error (the peer is gone). The wait also keeps the socket from
/// being closed with the peer's records unread (its `close_notify`, TLS 1.3's session
/// tickets), which would send a reset and make the peer lose the end of our data and our
/// `close_notify`.
pub(super) struct Closing {
    /// asyncio's `ssl_shutdown_timeout`.
    timeout: Duration,
    /// The deadline, from the first poll that has to wait (on a running loop).
    deadline: Option<Pin<Box<Sleep>>>,
    /// Our `close_notify` was sent (and the write side shut down).
    notified: bool,
    /// The close timed out.
    timed_out: bool,
}

impl Closing {
    pub(super) fn new(timeout: Duration) -> Self {
        Closing {
            timeout,
            deadline: None,
            notified: false,
            timed_out: false,
        }
    }

    /// Polls the close of `shared` (see [`Closing`]).
    pub(super) fn poll<IO>(&mut self, cx: &mut Context<'_>, shared: &Shared<IO>) -> Poll<io::Result<()>>
    where
        IO: AsyncRead + AsyncWrite + Socket + Unpin,
    {
        if self.timed_out {
            return Poll::Ready(Err(self.timed_out_error()));
        }
        if !self.notified {
            match shared.poll_close_notify(cx) {
                Poll::Ready(sent) => {
                    self.notified = true;
                    sent?;
                }
                Poll::Pending => return self.poll_deadline(cx, shared),
            }
        }
        match shared.poll_peer_closed(cx) {
            Poll::Ready(()) => Poll::Ready(Ok(())),
            Poll::Pending => self.poll_deadline(cx, shared),
        }
    }

    /// Pending until the timeout passed; then the socket is aborted, and the close and the
    /// reader fail with `TimedOut`. Without a running loop (a writer dropped after its loop
    /// ended) there is no deadline: the caller drops the session.
    fn poll_deadline<IO>(&mut self, cx: &mut Context<'_>, shared: &Shared<IO>) -> Poll<io::Result<()>>
    where
        IO: Socket,
    {
        if self.deadline.is_none() && crate::try_get_running_loop().is_none() {
            return Poll::Pending;
        }
        let timeout = self.timeout;
        let sleep = self
            .deadline
            .get_or_insert_with(|| Box::pin(crate::sleep(timeout)));
        std::task::ready!(sleep.as_mut().poll(cx));
        self.deadline = None;
        self.timed_out = true;
        let err = self.timed_out_error();
        shared.end_reads(&err);
        shared.abort();
        Poll::Ready(Err(err))
    }

    fn timed_out_error(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("TLS shutdown timed out after {:?}", self.timeout),
        )
    }
}
