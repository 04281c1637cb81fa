//! [`Incoming`]: a listener's connections as a `Stream`.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::{FusedStream, Stream};

use super::{TcpListener, TcpStream, UnixListener, UnixStream};

/// The connections of a listener as a [`Stream`] of `io::Result<stream>`: made by
/// [`TcpListener::incoming`] (items `io::Result<TcpStream>`) and [`UnixListener::incoming`]
/// (items `io::Result<UnixStream>`).
///
/// The stream never ends: an accept error (say `EMFILE`, too many open files) is yielded as
/// an `Err` item and the next poll accepts again, so a server loop decides itself whether an
/// error is fatal. Read it with [`Incoming::next`] (no extension trait needed) or any `Stream`
/// combinator library. It borrows the listener; the peer's address is the stream's
/// `peer_addr()`, or use `accept` when you want it with each connection.
///
/// ```
/// use aioloop::net::{TcpListener, TcpStream};
///
/// aioloop::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let clients = aioloop::spawn(async move {
///         for _ in 0..3 {
///             TcpStream::connect(addr).await.unwrap().write_all(b"x").await.unwrap();
///         }
///     });
///     let mut incoming = listener.incoming();
///     for _ in 0..3 {
///         let stream = incoming.next().await.unwrap().unwrap();
///         let mut byte = [0; 1];
///         stream.read_exact(&mut byte).await.unwrap();
///         assert_eq!(&byte, b"x");
///     }
///     clients.await.unwrap();
/// });
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Incoming<'a, L> {
    listener: &'a L,
}

impl<'a, L> Incoming<'a, L> {
    pub(super) fn new(listener: &'a L) -> Self {
        Incoming { listener }
    }

    /// The listener the connections come from.
    pub fn listener(&self) -> &'a L {
        self.listener
    }
}

impl<L> Incoming<'_, L>
where
    Self: Stream,
{
    /// The next connection (never `None`: the stream does not end).
    #[allow(clippy::should_implement_trait)] // Stream has no `next`; this saves an extension trait
    pub async fn next(&mut self) -> Option<<Self as Stream>::Item> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl Stream for Incoming<'_, TcpListener> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let accepted = ready!(self.listener.poll_accept(cx));
        Poll::Ready(Some(accepted.map(|(stream, _peer)| stream)))
    }
}

impl Stream for Incoming<'_, UnixListener> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let accepted = ready!(self.listener.poll_accept(cx));
        Poll::Ready(Some(accepted.map(|(stream, _peer)| stream)))
    }
}

impl FusedStream for Incoming<'_, TcpListener> {
    fn is_terminated(&self) -> bool {
        false
    }
}

impl FusedStream for Incoming<'_, UnixListener> {
    fn is_terminated(&self) -> bool {
        false
    }
}

impl<L: fmt::Debug> fmt::Debug for Incoming<'_, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", self.listener)
            .finish()
    }
}
