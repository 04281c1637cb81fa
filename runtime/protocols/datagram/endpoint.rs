//! [`create_datagram_endpoint`], [`create_unix_datagram_endpoint`] and
//! [`datagram_endpoint_from_socket`]: asyncio's `loop.create_datagram_endpoint`.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;

use super::driver::start;
use super::{DatagramOptions, DatagramProtocol, DatagramSocket, DatagramTransport};
use crate::net::serving::remove_stale_socket;
use crate::net::{resolve, UdpSocket, UnixDatagram};
use crate::protocols::SocketAddress;

const WHAT: &str = "protocols::create_datagram_endpoint";

/// Makes a UDP endpoint as `options` say and runs the protocol `protocol_factory()` makes on
/// it: asyncio's `loop.create_datagram_endpoint(protocol_factory, local_addr=...,
/// remote_addr=..., reuse_port=..., allow_broadcast=...)`. Returns once the protocol's
/// [`connection_made`](DatagramProtocol::connection_made) ran, with the transport and the
/// protocol (shared with the endpoint's task: do not hold a borrow of it across an `await`).
///
/// # Errors
/// `InvalidInput` (asyncio's `ValueError`) without any address, or when no local and remote
/// addresses of one family resolve; the resolver's error; the last socket, bind or connect
/// error when every address pair failed. The protocol is not made then.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use aioloop::protocols::{create_datagram_endpoint, DatagramOptions, DatagramProtocol, DatagramTransport, SocketAddress};
///
/// /// Answers each datagram with its length.
/// struct Length(Option<DatagramTransport>);
/// impl DatagramProtocol for Length {
///     fn connection_made(&mut self, transport: DatagramTransport) {
///         self.0 = Some(transport);
///     }
///     fn datagram_received(&mut self, data: &[u8], addr: &SocketAddress) {
///         let reply = data.len().to_string();
///         self.0.as_ref().unwrap().sendto(reply.as_bytes(), Some(addr)).unwrap();
///     }
/// }
///
/// aioloop::run(async {
///     let options = DatagramOptions::new().local_addr("127.0.0.1:0");
///     let (server, _) = create_datagram_endpoint(|| Length(None), options).await.unwrap();
///     let client = aioloop::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     client.send_to(b"hello", server.local_addr().unwrap()).await.unwrap();
///     let mut reply = [0; 8];
///     let n = client.recv(&mut reply).await.unwrap();
///     assert_eq!(&reply[..n], b"5");
///     server.close();
/// });
/// ```
pub async fn create_datagram_endpoint<P, F>(
    protocol_factory: F,
    options: DatagramOptions,
) -> io::Result<(DatagramTransport, Rc<RefCell<P>>)>
where
    P: DatagramProtocol + 'static,
    F: FnOnce() -> P,
{
    let (socket, remote) = open(&options).await?;
    let protocol = Rc::new(RefCell::new(protocol_factory()));
    let transport = start(
        DatagramSocket::Udp(socket),
        &protocol,
        remote.map(SocketAddress::Inet),
    );
    Ok((transport, protocol))
}

/// The socket `options` describe, and its remote address.
async fn open(options: &DatagramOptions) -> io::Result<(UdpSocket, Option<SocketAddr>)> {
    let local = match &options.local_addr {
        Some(addr) => Some(resolve(addr, WHAT).await?),
        None => None,
    };
    let remote = match &options.remote_addr {
        Some(addr) => Some(resolve(addr, WHAT).await?),
        None => None,
    };
    let pairs: Vec<(Option<SocketAddr>, Option<SocketAddr>)> = match (local, remote) {
        (None, None) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "create_datagram_endpoint needs a local_addr or a remote_addr",
            ))
        }
        (Some(local), None) => local.into_iter().map(|l| (Some(l), None)).collect(),
        (None, Some(remote)) => remote.into_iter().map(|r| (None, Some(r))).collect(),
        (Some(local), Some(remote)) => local
            .into_iter()
            .filter_map(|l| {
                let r = remote.iter().find(|r| r.is_ipv6() == l.is_ipv6())?;
                Some((Some(l), Some(*r)))
            })
            .collect(),
    };
    let mut last = io::Error::new(io::ErrorKind::InvalidInput, "can not get address information");
    for (local, remote) in pairs {
        match socket(local, remote, options) {
            Ok(socket) => return Ok((socket, remote)),
            Err(err) => last = err,
        }
    }
    Err(last)
}

/// A UDP socket of the pair's family, with the options, bound to `local` and connected to
/// `remote` (unless broadcasting), as asyncio makes it.
fn socket(
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
    options: &DatagramOptions,
) -> io::Result<UdpSocket> {
    let family = local.or(remote).expect("a pair has an address");
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(family),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    if options.reuse_port {
        socket.set_reuse_port(true)?;
    }
    if options.allow_broadcast {
        socket.set_broadcast(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.set_cloexec(true)?;
    if let Some(local) = local {
        socket.bind(&local.into())?;
    }
    if let Some(remote) = remote {
        if !options.allow_broadcast {
            socket.connect(&remote.into())?;
        }
    }
    UdpSocket::from_std(socket.into())
}

/// [`create_datagram_endpoint`] on a Unix-domain datagram socket: asyncio's
/// `create_datagram_endpoint(protocol_factory, local_addr=path, remote_addr=path,
/// family=AF_UNIX)`. With `local_path`, the socket is bound there (a socket file already
/// there is removed first, as asyncio does; the file stays after the endpoint closed, as in
/// asyncio); with `remote_path`, it is connected there; with neither, it is unbound (it can
/// send, to paths). On Linux a path beginning with a NUL byte names an abstract socket (see
/// [`UnixDatagram::bind`]).
///
/// # Errors
/// The bind's or the connect's error.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use aioloop::protocols::{create_unix_datagram_endpoint, DatagramProtocol};
///
/// struct Quiet;
/// impl DatagramProtocol for Quiet {}
///
/// aioloop::run(async {
///     let dir = std::env::temp_dir().join(format!("aioloop-doc-dgram-{}", std::process::id()));
///     std::fs::create_dir_all(&dir).unwrap();
///     let path = dir.join("server.sock");
///     let (server, _) = create_unix_datagram_endpoint(|| Quiet, Some(&path), None).await.unwrap();
///     let (client, _) = create_unix_datagram_endpoint(|| Quiet, None, Some(&path)).await.unwrap();
///     client.sendto(b"hi", None).unwrap();
///     client.close();
///     server.close();
///     std::fs::remove_dir_all(&dir).unwrap();
/// });
/// ```
pub async fn create_unix_datagram_endpoint<P, F>(
    protocol_factory: F,
    local_path: Option<&Path>,
    remote_path: Option<&Path>,
) -> io::Result<(DatagramTransport, Rc<RefCell<P>>)>
where
    P: DatagramProtocol + 'static,
    F: FnOnce() -> P,
{
    let socket = match local_path {
        Some(path) => {
            remove_stale_socket(path);
            UnixDatagram::bind(path)?
        }
        None => UnixDatagram::unbound()?,
    };
    if let Some(path) = remote_path {
        socket.connect(path)?;
    }
    Ok(datagram_endpoint_from_socket(protocol_factory, socket))
}

/// Runs the protocol `protocol_factory()` makes on a datagram socket already made (bound,
/// connected or neither): asyncio's `create_datagram_endpoint(protocol_factory, sock=sock)`.
/// Takes a [`UdpSocket`] or a [`UnixDatagram`]; a connected socket's peer is the endpoint's
/// remote address.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use aioloop::net::UnixDatagram;
/// use aioloop::protocols::{datagram_endpoint_from_socket, DatagramProtocol, SocketAddress};
///
/// #[derive(Default)]
/// struct Inbox(Vec<Vec<u8>>);
/// impl DatagramProtocol for Inbox {
///     fn datagram_received(&mut self, data: &[u8], _addr: &SocketAddress) {
///         self.0.push(data.to_vec());
///     }
/// }
///
/// aioloop::run(async {
///     let (ours, theirs) = UnixDatagram::pair().unwrap();
///     let (transport, inbox) = datagram_endpoint_from_socket(Inbox::default, ours);
///     theirs.send(b"over the pair").await.unwrap();
///     while inbox.borrow().0.is_empty() {
///         aioloop::sleep(std::time::Duration::from_millis(1)).await;
///     }
///     assert_eq!(inbox.borrow().0, [b"over the pair"]);
///     transport.sendto(b"back", None).unwrap(); // a connected pair: to its peer
///     let mut buf = [0; 8];
///     let n = theirs.recv(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"back");
///     transport.close();
/// });
/// ```
pub fn datagram_endpoint_from_socket<P, F>(
    protocol_factory: F,
    socket: impl Into<DatagramSocket>,
) -> (DatagramTransport, Rc<RefCell<P>>)
where
    P: DatagramProtocol + 'static,
    F: FnOnce() -> P,
{
    let protocol = Rc::new(RefCell::new(protocol_factory()));
    let transport = start(socket.into(), &protocol, None);
    (transport, protocol)
}
