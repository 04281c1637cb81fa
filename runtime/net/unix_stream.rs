//! [`UnixStream`]: a Unix-domain stream connection.

use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use super::stream_impl::impl_stream_io;
use crate::io::{Direction, PollEvented};

/// A Unix-domain stream connection registered with the running loop. It has the same I/O
/// methods and traits as [`TcpStream`](super::TcpStream): inherent `async` reads and writes on
/// `&self`, `futures_io::{AsyncRead, AsyncWrite}` (and tokio's with the `tokio-io` feature),
/// [`into_split`](UnixStream::into_split).
pub struct UnixStream {
    pub(crate) io: PollEvented<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket file `path` (non-blocking connect, then `SO_ERROR`); on Linux
    /// and Android a path beginning with a NUL byte names a socket in the abstract namespace
    /// (see [`UnixListener::bind`](super::UnixListener::bind)).
    ///
    /// # Panics
    /// If no loop is running on this thread.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let stream = Self::from_mio(mio::net::UnixStream::connect_addr(&super::unix_addr::unix_addr(
            path.as_ref(),
        )?)?)?;
        stream.io.ready(Direction::Write).await;
        if let Some(err) = stream.io.get_ref().take_error()? {
            return Err(err);
        }
        Ok(stream)
    }

    /// A connected pair of anonymous streams (`socketpair(2)`).
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((Self::from_mio(a)?, Self::from_mio(b)?))
    }

    /// Wraps a connected standard stream (switched to non-blocking mode) and registers it
    /// with the running loop.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Self::from_mio(mio::net::UnixStream::from_std(stream))
    }

    #[track_caller]
    pub(crate) fn from_mio(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollEvented::new_stream(stream, "UnixStream::connect")?,
        })
    }

    /// Deregisters the stream and returns it as a standard stream (still non-blocking).
    ///
    /// On the io_uring driver a stream whose reads took the completion form stops its receive
    /// first; bytes it received ahead and were not read make this an `InvalidData` error
    /// (they are dropped with the stream): read them first. Bytes written and not yet sent
    /// are sent first (five seconds at most: `TimedOut` if the peer does not take them).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        {
            self.io.stop_send()?;
            self.io.stop_recv()?;
        }
        Ok(self.io.into_inner().into())
    }
}

impl_stream_io!(UnixStream, SocketAddr);

impl_as_fd!(UnixStream);
