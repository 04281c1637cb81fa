//! [`UnixListener`]: accepts Unix-domain stream connections.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{ready, Context, Poll};

use super::{Incoming, UnixStream};
use crate::io::{Direction, PollEvented};

/// A Unix-domain socket listening for connections, registered with the running loop
/// (asyncio's `loop.create_unix_server` at the socket level).
///
/// Binding creates the socket file; dropping the listener closes the socket but, as with the
/// standard library, leaves the file in place.
///
/// ```
/// use aioloop::net::{UnixListener, UnixStream};
///
/// let dir = std::env::temp_dir().join(format!("aioloop-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("sock");
/// let _ = std::fs::remove_file(&path);
/// aioloop::run(async {
///     let listener = UnixListener::bind(&path).unwrap();
///     let client = UnixStream::connect(&path).await.unwrap();
///     let (server, _) = listener.accept().await.unwrap();
///     client.write_all(b"hi").await.unwrap();
///     let mut buf = [0; 2];
///     server.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"hi");
/// });
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub struct UnixListener {
    io: PollEvented<mio::net::UnixListener>,
}

impl UnixListener {
    /// Binds a listener to the socket file `path` (which must not exist). On Linux and
    /// Android a path beginning with a NUL byte (`"\0name"`) binds `name` in the abstract
    /// namespace instead, where no file is made, as tokio does; [`UnixStream::connect`] takes
    /// such paths too.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let addr = super::unix_addr::unix_addr(path.as_ref())?;
        Self::from_mio(mio::net::UnixListener::bind_addr(&addr)?)
    }

    /// Wraps a standard listener (switched to non-blocking mode) and registers it with the
    /// running loop.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Self::from_mio(mio::net::UnixListener::from_std(listener))
    }

    #[track_caller]
    fn from_mio(listener: mio::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: PollEvented::new(listener, "UnixListener::bind")?,
        })
    }

    /// Deregisters the listener and returns it as a standard listener (still non-blocking).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        Ok(self.io.into_inner().into())
    }

    /// Waits for a connection.
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped before it completes, no connection was taken; one
    /// that arrives meanwhile waits in the listen backlog for the next call.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (stream, addr) = ready!(self.io.poll_io(cx, Direction::Read, |listener| listener.accept()))?;
        Poll::Ready(UnixStream::from_mio(stream).map(|stream| (stream, addr)))
    }

    /// The connections as a [`Stream`](futures_core::Stream) of `io::Result<UnixStream>` that
    /// never ends (see [`Incoming`]).
    ///
    /// ```
    /// use aioloop::net::{UnixListener, UnixStream};
    ///
    /// let path = std::env::temp_dir().join(format!("aioloop-incoming-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// aioloop::run(async {
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     let _client = UnixStream::connect(&path).await.unwrap();
    ///     let server = listener.incoming().next().await.unwrap().unwrap();
    ///     assert!(server.peer_addr().is_ok());
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn incoming(&self) -> Incoming<'_, UnixListener> {
        Incoming::new(self)
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

impl_as_fd!(UnixListener);
