//! [`TcpListener`]: accepts TCP connections.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{ready, Context, Poll};

use super::addr::first_ok;
use super::{Incoming, TcpStream, ToSocketAddrs};
use crate::io::{Direction, PollEvented};

/// A TCP socket listening for connections, registered with the running loop: asyncio's
/// `loop.create_server` at the socket level (see [`crate::streams::start_server`] for the
/// high-level API).
///
/// Several tasks may wait in [`accept`](TcpListener::accept) on one listener shared through an
/// `Rc`: a new connection wakes them all, one takes it and the others wait again.
///
/// ```
/// use aioloop::net::{TcpListener, TcpStream};
///
/// aioloop::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = aioloop::spawn(async move {
///         let stream = TcpStream::connect(addr).await.unwrap();
///         stream.write_all(b"ping").await.unwrap();
///         let mut buf = [0; 4];
///         stream.read_exact(&mut buf).await.unwrap();
///         buf
///     });
///     let (stream, _peer) = listener.accept().await.unwrap();
///     let mut buf = [0; 4];
///     stream.read_exact(&mut buf).await.unwrap();
///     stream.write_all(b"pong").await.unwrap();
///     assert_eq!(&buf, b"ping");
///     assert_eq!(&client.await.unwrap(), b"pong");
/// });
/// ```
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds a listener to `addr` (`SO_REUSEADDR` set, backlog 1024); port 0 picks a free
    /// port. With several resolved addresses, the first that binds wins. A host name is looked
    /// up on the loop's blocking pool, not on the loop (see [`ToSocketAddrs`]).
    ///
    /// # Panics
    /// If no loop is running on this thread.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        first_ok(addr, "TcpListener::bind", async |addr| {
            Self::from_mio(listen(addr, false)?)
        })
        .await
    }

    /// Binds a listener with `SO_REUSEPORT` (and `SO_REUSEADDR`) set, so that several
    /// listeners (one per loop, one loop per core) can bind the same address and the kernel
    /// spreads incoming connections across them. See [`crate::net::run_per_core`].
    ///
    /// # Panics
    /// If no loop is running on this thread.
    pub async fn bind_reuseport(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        first_ok(addr, "TcpListener::bind_reuseport", async |addr| {
            Self::from_mio(listen(addr, true)?)
        })
        .await
    }

    /// Wraps a standard listener (switched to non-blocking mode) and registers it with the
    /// running loop.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Self::from_mio(mio::net::TcpListener::from_std(listener))
    }

    #[track_caller]
    fn from_mio(listener: mio::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: PollEvented::new(listener, "TcpListener::bind")?,
        })
    }

    /// Deregisters the listener and returns it as a standard listener (still non-blocking).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(self.io.into_inner().into())
    }

    /// Waits for a connection; returns the connected stream and the peer's address.
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped before it completes, no connection was taken; one
    /// that arrives meanwhile waits in the listen backlog for the next call.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection (the building block of [`TcpListener::accept`]).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, addr) = ready!(self.io.poll_io(cx, Direction::Read, |listener| listener.accept()))?;
        Poll::Ready(TcpStream::from_mio(stream).map(|stream| (stream, addr)))
    }

    /// The connections as a [`Stream`](futures_core::Stream) of `io::Result<TcpStream>` that
    /// never ends (see [`Incoming`]): `while let Some(stream) = incoming.next().await`.
    pub fn incoming(&self) -> Incoming<'_, TcpListener> {
        Incoming::new(self)
    }

    /// The address the listener is bound to (with the port the OS picked for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets the IP time-to-live of accepted sockets.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

impl_as_fd!(TcpListener);

/// The accept queue's length (and [`ServerOptions`](super::ServerOptions)'s default backlog).
/// mio's (and std's) `bind` use 128, which a burst of a few hundred simultaneous connects
/// overflows on loopback: the kernel drops the SYNs and the clients retry after a second. The
/// kernel caps it at `net.core.somaxconn`.
pub(super) const DEFAULT_BACKLOG: u32 = 1024;

/// A non-blocking listening socket on `addr` with `SO_REUSEADDR` (and `SO_REUSEPORT` if asked).
fn listen(addr: SocketAddr, reuse_port: bool) -> io::Result<mio::net::TcpListener> {
    let socket = bind_socket(addr, true, reuse_port)?;
    socket.listen(DEFAULT_BACKLOG as i32)?;
    Ok(mio::net::TcpListener::from_std(socket.into()))
}

/// A non-blocking, close-on-exec TCP socket bound to `addr`, not listening yet, with
/// `SO_REUSEADDR` and `SO_REUSEPORT` as asked.
pub(super) fn bind_socket(
    addr: SocketAddr,
    reuse_address: bool,
    reuse_port: bool,
) -> io::Result<socket2::Socket> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    if reuse_address {
        socket.set_reuse_address(true)?;
    }
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.set_cloexec(true)?;
    socket.bind(&addr.into())?;
    Ok(socket)
}
