//! [`ServerOptions`]: where and how a server listens (asyncio's `create_server` /
//! `start_server` arguments `host`/`port`, `path`, `sock`, `family`, `backlog`,
//! `reuse_address`, `reuse_port`, `keep_alive`, `start_serving` and `cleanup_socket`), and the
//! bound sockets they make: one per address, as asyncio binds.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::addr::{resolve, AddressFamily};
use super::serving::{remove_stale_socket, ServerListener, SocketFile};
use super::tcp_listener::DEFAULT_BACKLOG;
use super::{OwnedAddr, TcpListener, ToSocketAddrs, UnixListener};

/// Where and how a server listens: the arguments of asyncio's `loop.create_server`,
/// `loop.create_unix_server`, `start_server` and `start_unix_server` besides the callback, for
/// [`start_server_with`](crate::streams::start_server_with) and
/// [`create_server_with`](crate::protocols::create_server_with) (and their TLS forms).
///
/// Exactly one kind of place to listen is needed: TCP addresses ([`addr`](Self::addr), once
/// or more, asyncio's `host` and `port`, or [`port`](Self::port), every interface, asyncio's
/// `host=None`), a Unix-domain socket file [`path`](Self::path), or a socket bound already
/// ([`sock`](Self::sock)); none, or more than one kind, is `InvalidInput` (asyncio's
/// `ValueError`s). As asyncio's, a TCP server binds one socket on each address its hosts
/// resolve to, and accepts on all of them. The other options are asyncio's, with its defaults
/// except the backlog:
///
/// - [`family`](Self::family): only the addresses of one family (asyncio's `family`);
/// - [`backlog`](Self::backlog): the accept queue's length, 1024 by default (asyncio's is 100,
///   which a burst of a few hundred connects overflows on loopback);
/// - [`reuse_address`](Self::reuse_address): `SO_REUSEADDR`, on by default (as asyncio on
///   POSIX);
/// - [`reuse_port`](Self::reuse_port): `SO_REUSEPORT`, off by default, so that several servers
///   (one per loop, one loop per core) can listen on one port, the kernel spreading the
///   connections across them;
/// - [`keep_alive`](Self::keep_alive): `SO_KEEPALIVE`, off by default (asyncio 3.13);
/// - [`start_serving`](Self::start_serving): on by default; off, the server is made with its
///   socket bound but not listening (a connect is refused), and accepts nothing until its
///   `start_serving()` or `serve_forever()`;
/// - [`cleanup_socket`](Self::cleanup_socket): on by default; off, closing a Unix-domain
///   server leaves its socket file.
///
/// ```
/// use aioloop::net::ServerOptions;
/// use aioloop::streams::{open_connection, start_server_with};
///
/// aioloop::run(async {
///     let options = ServerOptions::new().addr("127.0.0.1:0").backlog(16).start_serving(false);
///     let server = start_server_with(
///         |_reader, writer| async move {
///             writer.write(b"hello\n");
///         },
///         options,
///     )
///     .await
///     .unwrap();
///     let addr = server.local_addr().unwrap(); // bound already
///     assert!(!server.is_serving());
///     assert!(open_connection(addr).await.is_err()); // not listening yet: refused
///     server.start_serving().unwrap();
///     let (mut reader, _writer) = open_connection(addr).await.unwrap();
///     assert_eq!(reader.readline().await.unwrap(), b"hello\n");
///     server.close();
/// });
/// ```
pub struct ServerOptions {
    /// The TCP addresses to listen on, each resolved when the server is made.
    addrs: Vec<OwnedAddr>,
    family: Option<AddressFamily>,
    keep_alive: bool,
    path: Option<PathBuf>,
    sock: Option<OwnedFd>,
    backlog: u32,
    reuse_address: bool,
    reuse_port: bool,
    start_serving: bool,
    cleanup_socket: bool,
}

impl ServerOptions {
    /// No place to listen yet; asyncio's defaults otherwise (a backlog of 1024, see above).
    pub fn new() -> Self {
        ServerOptions {
            addrs: Vec::new(),
            family: None,
            keep_alive: false,
            path: None,
            sock: None,
            backlog: DEFAULT_BACKLOG,
            reuse_address: true,
            reuse_port: false,
            start_serving: true,
            cleanup_socket: true,
        }
    }

    /// Listens on the TCP address `addr` (asyncio's `host` and `port`; port 0 picks a free
    /// port). A host name is looked up on the loop's blocking pool when the server is made (see
    /// [`ToSocketAddrs`]), and, as in asyncio, the server binds one socket on each address it
    /// resolves to (`"localhost"` may give `::1` and `127.0.0.1`): the server accepts on all of
    /// them, [`Server::local_addrs`](crate::streams::Server::local_addrs) lists them.
    ///
    /// Called more than once, the server listens on every address given (asyncio's list of
    /// hosts); an address met twice is bound once. A host `""` (`("", 8080)` or `":8080"`) is
    /// every interface, as [`port`](Self::port). With port 0 each socket gets its own port,
    /// as in asyncio. An IPv6 socket is made `IPV6_V6ONLY`, so that it does not clash with an
    /// IPv4 one on the same port.
    ///
    /// ```
    /// use aioloop::net::ServerOptions;
    /// use aioloop::streams::start_server_with;
    ///
    /// aioloop::run(async {
    ///     let options = ServerOptions::new().addr("127.0.0.1:0").addr("127.0.0.1:0");
    ///     let server = start_server_with(|_reader, _writer| async {}, options).await.unwrap();
    ///     // One address, given twice: one socket.
    ///     assert_eq!(server.local_addrs().len(), 1);
    ///     server.close();
    /// });
    /// ```
    pub fn addr(mut self, addr: impl ToSocketAddrs) -> Self {
        self.addrs.push(addr.to_owned_addr());
        self
    }

    /// Listens on `port` of every interface, IPv4 and IPv6 (asyncio's `host=None` or
    /// `host=''`): one socket on `0.0.0.0` and one on `::` (`IPV6_V6ONLY`), each accepting.
    /// Where the system has no IPv6, only the IPv4 one (asyncio skips a family the system
    /// cannot make a socket of, or bind: `EADDRNOTAVAIL`). With port 0, each socket gets its
    /// own port, as in asyncio; [`family`](Self::family) keeps one of them.
    ///
    /// ```
    /// use aioloop::net::ServerOptions;
    /// use aioloop::streams::{open_connection, start_server_with};
    ///
    /// aioloop::run(async {
    ///     let options = ServerOptions::new().port(0);
    ///     let server = start_server_with(
    ///         |_reader, writer| async move { writer.write(b"hi\n") },
    ///         options,
    ///     )
    ///     .await
    ///     .unwrap();
    ///     for addr in server.local_addrs() {
    ///         assert!(addr.ip().is_unspecified()); // 0.0.0.0, and :: with IPv6
    ///     }
    ///     let port = server.local_addr().unwrap().port(); // the first: 0.0.0.0's
    ///     let (mut reader, _writer) = open_connection(("127.0.0.1", port)).await.unwrap();
    ///     assert_eq!(reader.readline().await.unwrap(), b"hi\n");
    ///     server.close();
    /// });
    /// ```
    pub fn port(self, port: u16) -> Self {
        self.addr(("", port))
    }

    /// Keeps only the addresses of `family` among those [`addr`](Self::addr) and
    /// [`port`](Self::port) resolve to (asyncio's `family=AF_INET` / `AF_INET6`, which the
    /// resolution gets); none left is `InvalidInput` when the server is made.
    ///
    /// ```
    /// use aioloop::net::{AddressFamily, ServerOptions};
    /// use aioloop::streams::start_server_with;
    ///
    /// aioloop::run(async {
    ///     // Every interface, IPv4 only: 0.0.0.0 alone.
    ///     let options = ServerOptions::new().port(0).family(AddressFamily::Ipv4);
    ///     let server = start_server_with(|_reader, _writer| async {}, options).await.unwrap();
    ///     assert_eq!(server.local_addrs().len(), 1);
    ///     assert!(server.local_addr().unwrap().is_ipv4());
    ///     server.close();
    /// });
    /// ```
    pub fn family(mut self, family: AddressFamily) -> Self {
        self.family = Some(family);
        self
    }

    /// Sets `SO_KEEPALIVE` on the TCP sockets the server binds, so that the connections it
    /// accepts have it (they inherit it from the listening socket, on Linux and the BSDs):
    /// asyncio 3.13's `keep_alive`, off by default. Not set on a [`sock`](Self::sock), as in
    /// asyncio.
    ///
    /// ```
    /// use aioloop::net::ServerOptions;
    /// use aioloop::streams::{open_connection, start_server_with};
    ///
    /// aioloop::run(async {
    ///     let options = ServerOptions::new().addr("127.0.0.1:0").keep_alive(true);
    ///     let server = start_server_with(
    ///         |_reader, writer| async move { writer.write(b"hi\n") },
    ///         options,
    ///     )
    ///     .await
    ///     .unwrap();
    ///     // The connection's socket has SO_KEEPALIVE: the kernel probes an idle peer.
    ///     let (mut reader, _writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(reader.readline().await.unwrap(), b"hi\n");
    ///     server.close();
    /// });
    /// ```
    pub fn keep_alive(mut self, on: bool) -> Self {
        self.keep_alive = on;
        self
    }

    /// Listens on the Unix-domain socket file `path` (asyncio's `create_unix_server(path=)`).
    /// A socket file already at `path` is removed first, as asyncio does (any other file there
    /// makes the bind fail with `AddrInUse`), and closing the server removes the socket file
    /// it made, as asyncio 3.13 does (unless another socket was bound at that path since). On
    /// Linux a path beginning with a NUL byte names a socket in the abstract namespace.
    pub fn path(mut self, path: impl AsRef<Path>) -> Self {
        self.path = Some(path.as_ref().to_path_buf());
        self
    }

    /// Serves on a stream socket bound already (asyncio's `sock=`): a TCP or Unix-domain one,
    /// listening or not (a [`std::net::TcpListener`], a [`std::os::unix::net::UnixListener`],
    /// a `socket2::Socket` only bound, a descriptor inherited from a service manager...). It
    /// is set non-blocking and listens (with the [`backlog`](Self::backlog)) when the server
    /// starts serving; [`reuse_address`](Self::reuse_address) and
    /// [`reuse_port`](Self::reuse_port) do not apply to it. Closing the server closes it, and
    /// removes the socket file of a Unix-domain one, as asyncio 3.13's
    /// `create_unix_server(sock=)`. A socket of another type is `InvalidInput` when the server
    /// is made (asyncio's `ValueError`).
    pub fn sock(mut self, sock: impl Into<OwnedFd>) -> Self {
        self.sock = Some(sock.into());
        self
    }

    /// The length of the accept queue, passed to `listen` (asyncio's `backlog`); the kernel caps
    /// it at `net.core.somaxconn`. 1024 by default.
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Sets `SO_REUSEADDR` on a TCP socket, so that it binds a port whose earlier connections
    /// linger in `TIME_WAIT` (asyncio's `reuse_address`, on by default on POSIX).
    pub fn reuse_address(mut self, on: bool) -> Self {
        self.reuse_address = on;
        self
    }

    /// Sets `SO_REUSEPORT` on a TCP socket, so that other sockets with it set may bind the
    /// same address, the kernel spreading the connections across them (asyncio's
    /// `reuse_port`). Not set on a Unix-domain socket, as asyncio since Linux 6.12.9.
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// Whether the server starts accepting at once (asyncio's `start_serving`, true by
    /// default). With false, the socket is bound but does not listen until the server's
    /// `start_serving()` or `serve_forever()`; meanwhile a connect is refused.
    pub fn start_serving(mut self, on: bool) -> Self {
        self.start_serving = on;
        self
    }

    /// Whether closing a Unix-domain server removes its socket file (asyncio 3.13's
    /// `cleanup_socket`, true by default): with false the file stays, for a process that hands
    /// the path over to a successor. Applies to a [`path`](Self::path) and to a Unix-domain
    /// [`sock`](Self::sock); a TCP server has no file.
    pub fn cleanup_socket(mut self, on: bool) -> Self {
        self.cleanup_socket = on;
        self
    }

    /// Makes the sockets: bound, not listening yet. `what` names the call, for errors.
    pub(crate) async fn bind(self, what: &'static str) -> io::Result<BoundSocket> {
        let backlog = i32::try_from(self.backlog).unwrap_or(i32::MAX);
        let has_addr = !self.addrs.is_empty();
        let (sockets, unix, file) = match (has_addr, self.path, self.sock) {
            (true, None, None) => {
                let addrs = resolve_all(&self.addrs, self.family, what).await?;
                let options = TcpOptions {
                    reuse_address: self.reuse_address,
                    reuse_port: self.reuse_port,
                    keep_alive: self.keep_alive,
                };
                (bind_all(&addrs, options)?, false, None)
            }
            (false, Some(path), None) => {
                remove_stale_socket(&path);
                // `Socket::new` sets close-on-exec on every Unix (the type flags are Linux's).
                let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
                socket.set_nonblocking(true)?;
                socket.bind(&SockAddr::unix(&path)?)?;
                (vec![socket], true, SocketFile::of(&path))
            }
            (false, None, Some(sock)) => {
                let socket = Socket::from(sock);
                if socket.r#type()? != Type::STREAM {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{what}: a stream socket was expected"),
                    ));
                }
                let local = socket.local_addr()?;
                let unix = local.is_unix();
                let file = local.as_pathname().and_then(SocketFile::of);
                (vec![socket], unix, file)
            }
            (false, None, None) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{what}: neither an address, a path nor a socket was given"),
                ))
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{what}: only one of an address, a path and a socket can be given"),
                ))
            }
        };
        let file = file.filter(|_| self.cleanup_socket);
        let mut locals = Vec::new();
        if !unix {
            for socket in &sockets {
                locals.extend(socket.local_addr()?.as_socket());
            }
        }
        Ok(BoundSocket {
            sockets,
            unix,
            file,
            locals,
            backlog,
            start_serving: self.start_serving,
        })
    }
}

/// The options set on each TCP socket before its bind.
#[derive(Clone, Copy)]
struct TcpOptions {
    reuse_address: bool,
    reuse_port: bool,
    keep_alive: bool,
}

/// The port of an address that means every interface (asyncio's `host=''`): a host `""`.
fn every_interface(addr: &OwnedAddr) -> Option<u16> {
    match addr {
        OwnedAddr::HostPort(host, port) if host.is_empty() => Some(*port),
        OwnedAddr::HostPortStr(s) => s.strip_prefix(':').and_then(|port| port.parse().ok()),
        _ => None,
    }
}

/// Every address the server binds, in order, each once (asyncio's `set` of the `getaddrinfo`
/// results of its hosts), of `family` only if given: a host `""` is `0.0.0.0` and `::`
/// (`getaddrinfo(None, port, flags=AI_PASSIVE)`), any other resolves as [`ToSocketAddrs`].
async fn resolve_all(
    addrs: &[OwnedAddr],
    family: Option<AddressFamily>,
    what: &'static str,
) -> io::Result<Vec<SocketAddr>> {
    let mut all: Vec<SocketAddr> = Vec::new();
    for addr in addrs {
        let resolved = match every_interface(addr) {
            Some(port) => vec![
                SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port),
                SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port),
            ],
            None => resolve(addr, what).await?,
        };
        for addr in resolved {
            if !all.contains(&addr) {
                all.push(addr);
            }
        }
    }
    AddressFamily::filter(all, family)
}

/// A socket bound on each of `addrs` (asyncio's `create_server` loop): an address whose
/// socket cannot be made (a family the system lacks) or that is not available to bind
/// (`EADDRNOTAVAIL`) is skipped, as asyncio does; any other bind error closes the sockets bound
/// so far and is returned, naming the address ("error while attempting to bind on address
/// ..."); none bound is `AddrNotAvailable` ("could not bind on any address out of ...").
fn bind_all(addrs: &[SocketAddr], options: TcpOptions) -> io::Result<Vec<Socket>> {
    let mut sockets = Vec::new();
    for &addr in addrs {
        // `Socket::new` sets close-on-exec on every Unix.
        let Ok(socket) = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)) else {
            continue;
        };
        if options.reuse_address {
            socket.set_reuse_address(true)?;
        }
        if options.reuse_port {
            socket.set_reuse_port(true)?;
        }
        if options.keep_alive {
            socket.set_keepalive(true)?;
        }
        if addr.is_ipv6() {
            // The IPv4 socket on the same port takes IPv4: no dual-stack socket.
            socket.set_only_v6(true)?;
        }
        socket.set_nonblocking(true)?;
        match socket.bind(&addr.into()) {
            Ok(()) => sockets.push(socket),
            Err(err) if err.raw_os_error() == Some(libc::EADDRNOTAVAIL) => continue,
            Err(err) => {
                let reason = err.to_string().to_lowercase();
                return Err(io::Error::new(
                    err.kind(),
                    format!("error while attempting to bind on address {addr}: {reason}"),
                ));
            }
        }
    }
    if sockets.is_empty() {
        let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("could not bind on any address out of [{}]", list.join(", ")),
        ));
    }
    Ok(sockets)
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOptions")
            .field("addrs", &self.addrs)
            .field("family", &self.family)
            .field("keep_alive", &self.keep_alive)
            .field("path", &self.path)
            .field("sock", &self.sock)
            .field("backlog", &self.backlog)
            .field("reuse_address", &self.reuse_address)
            .field("reuse_port", &self.reuse_port)
            .field("start_serving", &self.start_serving)
            .field("cleanup_socket", &self.cleanup_socket)
            .finish()
    }
}

/// A server's sockets as [`ServerOptions::bind`] made them: bound, listening only if given
/// listening. Several for TCP addresses (one per address), one for a Unix-domain path or a
/// `sock`.
pub(crate) struct BoundSocket {
    sockets: Vec<Socket>,
    unix: bool,
    /// The socket file of a Unix-domain socket, removed when the server closes.
    file: Option<SocketFile>,
    locals: Vec<SocketAddr>,
    backlog: i32,
    start_serving: bool,
}

impl BoundSocket {
    /// The TCP addresses the sockets are bound to (none for a Unix-domain socket).
    pub(crate) fn locals(&self) -> &[SocketAddr] {
        &self.locals
    }

    /// Whether the server serves at once.
    pub(crate) fn start_serving(&self) -> bool {
        self.start_serving
    }

    /// Takes the socket file to remove when the server closes.
    pub(crate) fn take_file(&mut self) -> Option<SocketFile> {
        self.file.take()
    }

    /// Listens on every socket (asyncio's `sock.listen(backlog)` in `Server._start_serving`) and
    /// registers them with the running loop. On an error the sockets are closed.
    pub(crate) fn listen(self) -> io::Result<Vec<ServerListener>> {
        let mut listeners = Vec::with_capacity(self.sockets.len());
        for socket in self.sockets {
            socket.listen(self.backlog)?;
            let fd = OwnedFd::from(socket);
            listeners.push(if self.unix {
                ServerListener::Unix(UnixListener::from_std(fd.into())?)
            } else {
                ServerListener::Tcp(TcpListener::from_std(fd.into())?)
            });
        }
        Ok(listeners)
    }
}
