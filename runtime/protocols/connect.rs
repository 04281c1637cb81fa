//! [`create_connection`] and [`create_unix_connection`]: asyncio's `loop.create_connection`
//! and `loop.create_unix_connection`.

use std::cell::RefCell;
use std::io;
use std::path::Path;
use std::rc::Rc;

use super::driver::start_client;
use super::{AnyProtocol, StreamSocket, Transport};
use crate::net::{ConnectOptions, TcpStream, ToSocketAddrs, UnixStream};

/// Connects to `addr` and runs the protocol `protocol_factory()` makes on the connection:
/// asyncio's `loop.create_connection(protocol_factory, host, port)`. Returns once the
/// protocol's [`connection_made`](super::Protocol::connection_made) ran, with the transport and the
/// protocol (shared with the connection's task: do not hold a borrow of it across an
/// `await`, the task would find it borrowed). `TCP_NODELAY` is set, as asyncio does.
///
/// # Errors
/// The connect's error (the protocol is not made then).
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use aioloop::protocols::{create_connection, Protocol, Transport};
///
/// struct Hello;
/// impl Protocol for Hello {
///     fn connection_made(&mut self, transport: Transport) {
///         transport.write(b"hello").unwrap();
///         transport.close();
///     }
/// }
///
/// aioloop::run(async {
///     let listener = aioloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let (transport, _hello) = create_connection(|| Hello, addr).await.unwrap();
///     assert!(transport.is_closing());
///     let (peer, _) = listener.accept().await.unwrap();
///     let mut got = [0; 5];
///     peer.read_exact(&mut got).await.unwrap();
///     assert_eq!(&got, b"hello");
/// });
/// ```
pub async fn create_connection<K, P, F>(
    protocol_factory: F,
    addr: impl ToSocketAddrs,
) -> io::Result<(Transport, Rc<RefCell<P>>)>
where
    P: AnyProtocol<K>,
    F: FnOnce() -> P,
{
    let stream = TcpStream::connect(addr).await?;
    let _ = stream.set_nodelay(true);
    Ok(start_client(StreamSocket::Tcp(stream), protocol_factory))
}

/// [`create_connection`] trying the addresses `addr` resolves to as `options` say (Happy
/// Eyeballs, interleaving, a local address to bind): asyncio's
/// `loop.create_connection(protocol_factory, host, port, happy_eyeballs_delay=...,
/// interleave=..., local_addr=...)`, through [`TcpStream::connect_with`] (whose errors it
/// returns). The protocol is made once a connection won.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use aioloop::net::ConnectOptions;
/// use aioloop::protocols::{create_connection_with, Protocol, SocketAddress, Transport};
///
/// struct Quiet;
/// impl Protocol for Quiet {
///     fn connection_made(&mut self, _transport: Transport) {}
/// }
///
/// aioloop::run(async {
///     let listener = aioloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let options = ConnectOptions::new().local_addr("127.0.0.1:0".parse().unwrap());
///     let (transport, _) =
///         create_connection_with(|| Quiet, listener.local_addr().unwrap(), options)
///             .await
///             .unwrap();
///     let (_, peer) = listener.accept().await.unwrap();
///     let sockname = transport.get_extra_info("sockname");
///     assert!(matches!(sockname, Some(SocketAddress::Inet(addr)) if addr == peer));
///     transport.close();
/// });
/// ```
pub async fn create_connection_with<K, P, F>(
    protocol_factory: F,
    addr: impl ToSocketAddrs,
    options: ConnectOptions,
) -> io::Result<(Transport, Rc<RefCell<P>>)>
where
    P: AnyProtocol<K>,
    F: FnOnce() -> P,
{
    let stream = TcpStream::connect_with(addr, options).await?;
    let _ = stream.set_nodelay(true);
    Ok(start_client(StreamSocket::Tcp(stream), protocol_factory))
}

/// [`create_connection`] over the Unix-domain socket at `path`: asyncio's
/// `loop.create_unix_connection(protocol_factory, path)`.
///
/// # Errors
/// The connect's error.
///
/// # Panics
/// If no loop is running on this thread.
pub async fn create_unix_connection<K, P, F>(
    protocol_factory: F,
    path: impl AsRef<Path>,
) -> io::Result<(Transport, Rc<RefCell<P>>)>
where
    P: AnyProtocol<K>,
    F: FnOnce() -> P,
{
    let stream = UnixStream::connect(path).await?;
    Ok(start_client(StreamSocket::Unix(stream), protocol_factory))
}

/// Runs the protocol `protocol_factory()` makes on a stream already connected: asyncio's
/// `loop.connect_accepted_socket(protocol_factory, sock)` (and `create_connection(sock=...)`).
/// Takes a [`TcpStream`] or a [`UnixStream`].
///
/// # Panics
/// If no loop is running on this thread.
pub fn connect_accepted_socket<K, P, F>(
    protocol_factory: F,
    stream: impl Into<StreamSocket>,
) -> (Transport, Rc<RefCell<P>>)
where
    P: AnyProtocol<K>,
    F: FnOnce() -> P,
{
    let sock: StreamSocket = stream.into();
    start_client(sock, protocol_factory)
}
