//! [`ServerOptions`]: where and how a server listens (asyncio's `create_server` /
//! `start_server` arguments `host`/`port`, `path`, `sock`, `backlog`, `reuse_address`,
//! `reuse_port`, `start_serving` and `cleanup_socket`), and the bound socket they make.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr, Socket, Type};

use super::addr::first_ok;
use super::serving::{remove_stale_socket, ServerListener, SocketFile};
use super::tcp_listener::{bind_socket, DEFAULT_BACKLOG};
use super::{OwnedAddr, TcpListener, ToSocketAddrs, UnixListener};

/// Where and how a server listens: the arguments of asyncio's `loop.create_server`,
/// `loop.create_unix_server`, `start_server` and `start_unix_server` besides the callback, for
/// [`start_server_with`](crate::streams::start_server_with) and
/// [`create_server_with`](crate::protocols::create_server_with) (and their TLS forms).
///
/// Exactly one place to listen is needed: a TCP [`addr`](Self::addr) (asyncio's `host` and
/// `port`), a Unix-domain socket file [`path`](Self::path), or a socket bound already
/// ([`sock`](Self::sock)); none, or more than one, is `InvalidInput` (asyncio's
/// `ValueError`s). The other options are asyncio's, with its defaults except the backlog:
///
/// - [`backlog`](Self::backlog): the accept queue's length, 1024 by default (asyncio's is 100,
///   which a burst of a few hundred connects overflows on loopback);
/// - [`reuse_address`](Self::reuse_address): `SO_REUSEADDR`, on by default (as asyncio on
///   POSIX);
/// - [`reuse_port`](Self::reuse_port): `SO_REUSEPORT`, off by default, so that several servers
///   (one per loop, one loop per core) can listen on one port, the kernel spreading the
///   connections across them;
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
    addr: Option<OwnedAddr>,
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
            addr: None,
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
    /// [`ToSocketAddrs`]); of several addresses, the first that binds is kept (asyncio binds
    /// one socket on each).
    pub fn addr(mut self, addr: impl ToSocketAddrs) -> Self {
        self.addr = Some(addr.to_owned_addr());
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

    /// Makes the socket: bound, not listening yet. `what` names the call, for errors.
    pub(crate) async fn bind(self, what: &'static str) -> io::Result<BoundSocket> {
        let backlog = i32::try_from(self.backlog).unwrap_or(i32::MAX);
        let (socket, unix, file) = match (self.addr, self.path, self.sock) {
            (Some(addr), None, None) => {
                let (reuse_address, reuse_port) = (self.reuse_address, self.reuse_port);
                let socket = first_ok(addr, what, async |addr| {
                    bind_socket(addr, reuse_address, reuse_port)
                })
                .await?;
                (socket, false, None)
            }
            (None, Some(path), None) => {
                remove_stale_socket(&path);
                // `Socket::new` sets close-on-exec on every Unix (the type flags are Linux's).
                let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
                socket.set_nonblocking(true)?;
                socket.bind(&SockAddr::unix(&path)?)?;
                (socket, true, SocketFile::of(&path))
            }
            (None, None, Some(sock)) => {
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
                (socket, unix, file)
            }
            (None, None, None) => {
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
        let local = if unix {
            None
        } else {
            socket.local_addr()?.as_socket()
        };
        Ok(BoundSocket {
            socket,
            unix,
            file,
            local,
            backlog,
            start_serving: self.start_serving,
        })
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOptions")
            .field("addr", &self.addr)
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

/// A server's socket as [`ServerOptions::bind`] made it: bound, listening only if it was
/// given listening.
pub(crate) struct BoundSocket {
    socket: Socket,
    unix: bool,
    /// The socket file of a Unix-domain socket, removed when the server closes.
    file: Option<SocketFile>,
    local: Option<SocketAddr>,
    backlog: i32,
    start_serving: bool,
}

impl BoundSocket {
    /// The TCP address the socket is bound to (`None` for a Unix-domain socket).
    pub(crate) fn local(&self) -> Option<SocketAddr> {
        self.local
    }

    /// Whether the server serves at once.
    pub(crate) fn start_serving(&self) -> bool {
        self.start_serving
    }

    /// Takes the socket file to remove when the server closes.
    pub(crate) fn take_file(&mut self) -> Option<SocketFile> {
        self.file.take()
    }

    /// Listens (asyncio's `sock.listen(backlog)` in `Server._start_serving`) and registers the
    /// socket with the running loop.
    pub(crate) fn listen(self) -> io::Result<ServerListener> {
        self.socket.listen(self.backlog)?;
        let fd = OwnedFd::from(self.socket);
        Ok(if self.unix {
            ServerListener::Unix(UnixListener::from_std(fd.into())?)
        } else {
            ServerListener::Tcp(TcpListener::from_std(fd.into())?)
        })
    }
}
