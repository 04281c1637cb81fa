//! [`create_server`], [`create_unix_server`] and [`ProtocolServer`]: asyncio's
//! `loop.create_server`, `loop.create_unix_server` and their `Server`.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;

use super::driver::{start, MadeIn};
use super::{AnyProtocol, StreamSocket, Transport};
use crate::net::server_options::BoundSocket;
use crate::net::serving::{ServerControl, Serving};
use crate::net::{ServerOptions, ToSocketAddrs};

/// Starts a TCP server on `addr` (one socket on each address it resolves to) that runs a
/// protocol `protocol_factory()` makes on every connection it accepts: asyncio's `loop.create_server(protocol_factory, host, port)`. It
/// accepts at once (asyncio's `start_serving=True`; [`create_server_with`] takes asyncio's
/// other keyword arguments, `sock=`, `backlog=`, `start_serving=`...); `TCP_NODELAY` is set on
/// each connection.
///
/// # Errors
/// The bind's error.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use aioloop::protocols::{create_server, Protocol, Transport};
/// use aioloop::streams::open_connection;
///
/// struct Echo(Option<Transport>);
/// impl Protocol for Echo {
///     fn connection_made(&mut self, transport: Transport) {
///         self.0 = Some(transport);
///     }
///     fn data_received(&mut self, data: &[u8]) {
///         self.0.as_ref().unwrap().write(data).unwrap();
///     }
/// }
///
/// aioloop::run(async {
///     let server = create_server(|| Echo(None), "127.0.0.1:0").await.unwrap();
///     let (mut reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
///     writer.write(b"ping\n");
///     assert_eq!(reader.readline().await.unwrap(), b"ping\n");
///     writer.close();
///     server.close();
///     server.wait_closed().await; // the connection saw the EOF and closed
/// });
/// ```
pub async fn create_server<K, P, F>(
    protocol_factory: F,
    addr: impl ToSocketAddrs,
) -> io::Result<ProtocolServer>
where
    P: AnyProtocol<K>,
    F: Fn() -> P + 'static,
{
    create_server_with(protocol_factory, ServerOptions::new().addr(addr)).await
}

/// [`create_server`] on the Unix-domain socket file `path`: asyncio's
/// `loop.create_unix_server(protocol_factory, path)`. A socket file already at `path` is
/// removed first, as asyncio does (any other file there makes the bind fail with
/// `AddrInUse`); closing the server removes the socket file it made, as asyncio 3.13 does.
///
/// # Errors
/// The bind's error.
///
/// # Panics
/// If no loop is running on this thread.
pub async fn create_unix_server<K, P, F>(
    protocol_factory: F,
    path: impl AsRef<Path>,
) -> io::Result<ProtocolServer>
where
    P: AnyProtocol<K>,
    F: Fn() -> P + 'static,
{
    create_server_with(protocol_factory, ServerOptions::new().path(path)).await
}

/// [`create_server`] where and as `options` say: asyncio's `loop.create_server` and
/// `loop.create_unix_server` with their keyword arguments (a list of hosts, `host=None`,
/// `sock=`, `family=`, `backlog=`, `reuse_address=`, `reuse_port=`, `keep_alive=`,
/// `start_serving=`); see [`ServerOptions`].
///
/// # Errors
/// `InvalidInput` unless `options` give exactly one kind of place to listen (or if the socket
/// given is not a stream socket, or no address is of the [`family`](ServerOptions::family)
/// given); a bind's error, naming the address ("error while attempting to bind on address
/// ..."), the sockets bound before it closed; `AddrNotAvailable` if no address could be bound
/// ("could not bind on any address out of ..."); `listen`'s, if the server serves at once.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use aioloop::net::ServerOptions;
/// use aioloop::protocols::{create_server_with, Protocol, Transport};
/// use aioloop::streams::open_connection;
///
/// struct Hello;
/// impl Protocol for Hello {
///     fn connection_made(&mut self, transport: Transport) {
///         transport.write(b"hello\n").unwrap();
///     }
/// }
///
/// aioloop::run(async {
///     let options = ServerOptions::new().addr("127.0.0.1:0").start_serving(false);
///     let server = create_server_with(|| Hello, options).await.unwrap();
///     assert!(!server.is_serving());
///     let addr = server.local_addr().unwrap();
///     let forever = aioloop::spawn(async move { server.serve_forever().await });
///     aioloop::yield_now().await; // the task runs: serve_forever starts serving
///     let (mut reader, _writer) = open_connection(addr).await.unwrap();
///     assert_eq!(reader.readline().await.unwrap(), b"hello\n");
///     forever.cancel(); // a cancelled serve_forever closes the server
/// });
/// ```
pub async fn create_server_with<K, P, F>(
    protocol_factory: F,
    options: ServerOptions,
) -> io::Result<ProtocolServer>
where
    P: AnyProtocol<K>,
    F: Fn() -> P + 'static,
{
    let bound = options.bind("protocols::create_server_with").await?;
    serve(bound, protocol_factory)
}

/// Makes the server: each connection gets its protocol and its transport, and counts until
/// its `connection_lost` ran (asyncio's `Server._attach` / `_detach`).
fn serve<K, P, F>(bound: BoundSocket, protocol_factory: F) -> io::Result<ProtocolServer>
where
    P: AnyProtocol<K>,
    F: Fn() -> P + 'static,
{
    ProtocolServer::start(bound, move |serving, sock| {
        let protocol = Rc::new(RefCell::new(protocol_factory()));
        let transport = start(sock.into(), &protocol, MadeIn::Task);
        attach(serving, None, transport);
    })
}

/// A connection a [`ProtocolServer`] serves (in asyncio's `Server._clients`).
#[derive(Clone)]
pub(super) enum Client {
    /// Its transport, until its `connection_lost` ran.
    Connected(Transport),
    /// A TLS connection in its handshake: its protocol is made, its `connection_made` not yet.
    #[cfg(feature = "tls")]
    Handshaking(Rc<crate::tls::PendingHandshake>),
}

/// Counts `transport` as a connection of the server until its `connection_lost` ran: in the
/// place `key` held (a TLS connection's handshake), or as a new one.
pub(super) fn attach(serving: &Rc<Serving<Client>>, key: Option<usize>, transport: Transport) {
    let key = match key {
        Some(key) => {
            if let Some(client) = serving.clients().get_mut(key) {
                *client = Client::Connected(transport.clone());
            }
            key
        }
        None => serving.attach(Client::Connected(transport.clone())),
    };
    let serving = Rc::downgrade(serving);
    transport.on_lost(Box::new(move || {
        if let Some(serving) = serving.upgrade() {
            serving.detach(key);
        }
    }));
}

/// A server [`create_server`] or [`create_unix_server`] started (or, with the `tls` feature,
/// `create_server_tls` or `create_unix_server_tls`): asyncio's `Server`, with its `close`,
/// `is_serving`, `serve_forever`, `wait_closed`, `close_clients` and `abort_clients`.
/// Dropping it does not stop it; call [`close`](ProtocolServer::close).
pub struct ProtocolServer {
    control: ServerControl<Client>,
}

impl ProtocolServer {
    /// A server on `bound`: `on_accept` makes each connection the server's.
    ///
    /// # Errors
    /// `listen`'s, if the server serves at once.
    pub(super) fn start(
        bound: BoundSocket,
        on_accept: impl FnMut(&Rc<Serving<Client>>, StreamSocket) + 'static,
    ) -> io::Result<Self> {
        let control = ServerControl::new(bound, StreamSocket::Tcp, StreamSocket::Unix, on_accept)?;
        Ok(ProtocolServer { control })
    }

    /// The address the server listens on (TCP; `NotConnected` for a Unix server): the first
    /// of [`local_addrs`](ProtocolServer::local_addrs), for a server bound on several.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.control.local_addr()
    }

    /// Every address the server listens on, one per socket, in the order they were bound
    /// (asyncio's `Server.sockets`, their `getsockname()`): several when its host resolved to
    /// several addresses, or it was given several
    /// ([`ServerOptions::addr`](crate::net::ServerOptions::addr)), or every interface of both
    /// families ([`ServerOptions::port`](crate::net::ServerOptions::port)). Empty for a Unix
    /// server, and empty once [`close`](ProtocolServer::close)d, as asyncio's
    /// (`local_addr` still says where it listened).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        self.control.local_addrs()
    }

    /// True while the server accepts connections: from its start (at once, unless it was
    /// made with [`ServerOptions::start_serving`] false) until
    /// [`close`](ProtocolServer::close).
    pub fn is_serving(&self) -> bool {
        self.control.is_serving()
    }

    /// Starts accepting, on a server made with [`ServerOptions::start_serving`] false: its
    /// sockets listen from now on (asyncio's `start_serving()`). Nothing on a server serving
    /// already, or closed.
    ///
    /// # Errors
    /// `listen`'s (`AddrInUse` if another socket listens on the port); the server is closed
    /// then.
    pub fn start_serving(&self) -> io::Result<()> {
        self.control.start_serving()
    }

    /// Stops accepting: the listening sockets are closed (at the loop's next iteration).
    /// Connections already made go on.
    pub fn close(&self) {
        self.control.close();
    }

    /// Starts accepting if the server does not yet (see
    /// [`start_serving`](ProtocolServer::start_serving)), then waits until the server is
    /// closed: asyncio's `serve_forever()`. A `serve_forever` cancelled while it waits closes
    /// the server, as in asyncio. If a socket cannot listen, the server is closed and the
    /// error goes to the loop's exception handler (asyncio's `serve_forever` raises it).
    pub async fn serve_forever(&self) {
        self.control.serve_forever().await;
    }

    /// Waits until the server is closed, its listening sockets too, and every connection was
    /// lost (its protocol's `connection_lost` ran): asyncio 3.12.1's `wait_closed()`.
    pub async fn wait_closed(&self) {
        self.control.wait_closed().await;
    }

    /// [`close`](Transport::close)s every connection: asyncio 3.13's `close_clients()`. A
    /// TLS connection still in its handshake is closed without its protocol's
    /// `connection_made`.
    pub fn close_clients(&self) {
        self.each_client(Transport::close);
    }

    /// [`abort`](Transport::abort)s every connection: asyncio 3.13's `abort_clients()`. A
    /// TLS connection still in its handshake is closed without its protocol's
    /// `connection_made`.
    pub fn abort_clients(&self) {
        self.each_client(Transport::abort);
    }

    /// Runs `f` on every connection's transport, and ends the handshakes under way; the
    /// clients are copied out first (asyncio's `self._clients.copy()`): closing one may detach
    /// it.
    fn each_client(&self, f: impl Fn(&Transport)) {
        let clients: Vec<Client> = {
            let clients = self.control.serving().clients();
            clients.iter().map(|(_, client)| client.clone()).collect()
        };
        for client in clients {
            match client {
                Client::Connected(transport) => f(&transport),
                #[cfg(feature = "tls")]
                Client::Handshaking(pending) => crate::streams::Socket::abort(&*pending),
            }
        }
    }
}

impl fmt::Debug for ProtocolServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtocolServer")
            .field("local_addrs", &self.control.local_addrs())
            .field("serving", &self.is_serving())
            .field("connections", &self.control.connections())
            .finish()
    }
}
