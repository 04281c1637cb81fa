//! [`TcpStream`]: a TCP connection.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use super::addr::first_ok;
use super::connect::{self, ConnectOptions};
use super::stream_impl::impl_stream_io;
use super::ToSocketAddrs;
use crate::io::{Direction, PollEvented};

/// A TCP connection registered with the running loop.
///
/// Reads and writes are inherent `async` methods taking `&self` ([`read`](TcpStream::read),
/// [`write_all`](TcpStream::write_all)...), and the stream implements
/// `futures_io::{AsyncRead, AsyncWrite}` (with the `tokio-io` feature also tokio's), for `TcpStream`
/// and `&TcpStream`. One task may wait to read and one to write at the same time; for
/// separate reader and writer tasks use [`into_split`](TcpStream::into_split).
///
/// Dropping the stream deregisters it from the reactor and closes the socket.
pub struct TcpStream {
    pub(crate) io: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`: a non-blocking `connect`, then a wait for writability, then the
    /// socket's `SO_ERROR` decides (so a closed port gives `ConnectionRefused`). With several
    /// resolved addresses each is tried in turn and the last error is returned. A host name is
    /// looked up on the loop's blocking pool, not on the loop (see [`ToSocketAddrs`]).
    ///
    /// # Panics
    /// If no loop is running on this thread.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        first_ok(addr, "TcpStream::connect", Self::connect_addr).await
    }

    /// Connects to the addresses `addr` resolves to as `options` say: asyncio's
    /// `create_connection(host, port, happy_eyeballs_delay=..., interleave=...)`.
    ///
    /// With the default options the addresses are tried one after another, as
    /// [`connect`](Self::connect) does. With a Happy Eyeballs delay
    /// ([`ConnectOptions::happy_eyeballs_delay`], RFC 8305) the next address is tried as soon as
    /// the previous one failed, or once the delay has passed since it was tried, the attempts
    /// running side by side (on [`staggered_race`](crate::staggered_race)); the first
    /// connection made is returned and the other attempts are dropped, their sockets closed.
    ///
    /// If every address fails, the error is asyncio's: each attempt's error names its address
    /// ("connect to 127.0.0.1:80 failed: ..."), and with several, one error says "Multiple
    /// exceptions: " and lists them (of their kind if they share one; the first error alone if
    /// they all read the same). [`connect`](Self::connect) returns the last error as it is.
    ///
    /// ```
    /// use std::time::Duration;
    /// use aioloop::net::{ConnectOptions, TcpListener, TcpStream};
    ///
    /// aioloop::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let good = listener.local_addr().unwrap();
    ///     // A closed port: refused at once, so the next address is tried at once.
    ///     let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    ///     let options = ConnectOptions::new().happy_eyeballs_delay(Duration::from_millis(250));
    ///     let stream = TcpStream::connect_with(&[closed, good][..], options).await.unwrap();
    ///     assert_eq!(stream.peer_addr().unwrap(), good);
    /// });
    /// ```
    ///
    /// # Panics
    /// If no loop is running on this thread.
    pub async fn connect_with(addr: impl ToSocketAddrs, options: ConnectOptions) -> io::Result<TcpStream> {
        connect::connect_with(addr, options, "TcpStream::connect_with").await
    }

    pub(super) async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        Self::finish_connect(mio::net::TcpStream::connect(addr)?).await
    }

    /// Registers a socket whose non-blocking `connect` was started and waits for its outcome.
    pub(super) async fn finish_connect(socket: mio::net::TcpStream) -> io::Result<TcpStream> {
        let stream = TcpStream {
            io: PollEvented::new_stream(socket, "TcpStream::connect")?,
        };
        stream.io.ready(Direction::Write).await;
        if let Some(err) = stream.io.get_ref().take_error()? {
            return Err(err);
        }
        match stream.io.get_ref().peer_addr() {
            Ok(_) => Ok(stream),
            // Writable without an error but not connected: the connection failed and the
            // error was consumed; a read reports it.
            Err(err) if err.kind() == io::ErrorKind::NotConnected => {
                let mut byte = [0u8];
                match stream.try_read(&mut byte) {
                    Err(err) => Err(err),
                    Ok(_) => Err(io::ErrorKind::NotConnected.into()),
                }
            }
            Err(err) => Err(err),
        }
    }

    /// Wraps a connected standard stream (switched to non-blocking mode) and registers it
    /// with the running loop.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Self::from_mio(mio::net::TcpStream::from_std(stream))
    }

    #[track_caller]
    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new_stream(stream, "TcpStream::from_std")?,
        })
    }

    /// Deregisters the stream and returns it as a standard stream (still non-blocking).
    ///
    /// On the io_uring driver a stream whose reads took the completion form stops its receive
    /// first; bytes it received ahead and were not read make this an `InvalidData` error
    /// (they are dropped with the stream): read them first. Bytes written and not yet sent
    /// are sent first (five seconds at most: `TimedOut` if the peer does not take them).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        {
            self.io.stop_send()?;
            self.io.stop_recv()?;
        }
        Ok(self.io.into_inner().into())
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes closing the socket reset the connection
    /// (the peer gets `ConnectionReset`).
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        socket2::SockRef::from(self.io.get_ref()).set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        socket2::SockRef::from(self.io.get_ref()).linger()
    }

    /// Sets the IP time-to-live.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Reads without consuming: waits until data is available, then copies it into `buf`.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        if self.io.recv_form() {
            return self.io.peek_recv(buf).await;
        }
        self.io.async_io(Direction::Read, |io| io.peek(buf)).await
    }
}

impl_stream_io!(TcpStream, SocketAddr);

impl_as_fd!(TcpStream);
