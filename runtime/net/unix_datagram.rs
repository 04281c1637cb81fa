//! [`UnixDatagram`]: Unix-domain datagrams.

use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use super::datagram::impl_datagram_io;
use crate::io::{Direction, PollEvented};

/// A Unix-domain datagram socket registered with the running loop.
///
/// ```
/// use aioloop::net::UnixDatagram;
///
/// aioloop::run(async {
///     let (a, b) = UnixDatagram::pair().unwrap();
///     a.send(b"one").await.unwrap();
///     let mut buf = [0; 8];
///     let n = b.recv(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"one");
/// });
/// ```
pub struct UnixDatagram {
    io: PollEvented<mio::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Binds a socket to the file `path` (which must not exist); on Linux and Android a path
    /// beginning with a NUL byte names the socket in the abstract namespace, as with
    /// [`UnixListener::bind`](super::UnixListener::bind).
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let addr = super::unix_addr::unix_addr(path.as_ref())?;
        Self::from_mio(mio::net::UnixDatagram::bind_addr(&addr)?)
    }

    /// A socket bound to no address (it can send, and receive replies once connected).
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn unbound() -> io::Result<UnixDatagram> {
        Self::from_mio(mio::net::UnixDatagram::unbound()?)
    }

    /// A connected pair of anonymous sockets.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((Self::from_mio(a)?, Self::from_mio(b)?))
    }

    /// Wraps a standard socket (switched to non-blocking mode) and registers it with the
    /// running loop.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        Self::from_mio(mio::net::UnixDatagram::from_std(socket))
    }

    #[track_caller]
    fn from_mio(socket: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: PollEvented::new(socket, "UnixDatagram::bind")?,
        })
    }

    /// Deregisters the socket and returns it as a standard socket (still non-blocking).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        Ok(self.io.into_inner().into())
    }

    /// Sets the default peer for [`send`](UnixDatagram::send) and [`recv`](UnixDatagram::recv).
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// Sends one datagram to the socket at `path`.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.io
            .async_io(Direction::Write, |io| io.send_to(buf, path))
            .await
    }

    /// Polls [`send_to`](UnixDatagram::send_to).
    pub fn poll_send_to(
        &self,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
        path: impl AsRef<Path>,
    ) -> std::task::Poll<io::Result<usize>> {
        let path = path.as_ref();
        self.io.poll_io(cx, Direction::Write, |io| io.send_to(buf, path))
    }

    /// Sends one datagram to the socket at `path` without waiting (`WouldBlock` if the socket
    /// buffer is full).
    pub fn try_send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.io.try_io(Direction::Write, |io| io.send_to(buf, path))
    }

    /// Shuts down reading, writing or both.
    pub fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Takes the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl_datagram_io!(UnixDatagram, SocketAddr);
impl_as_fd!(UnixDatagram);
