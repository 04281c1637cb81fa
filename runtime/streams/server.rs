//! [`start_server`] and [`Server`]: asyncio's `start_server`.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::path::Path;
use std::rc::{Rc, Weak};

use super::writer::WriterRef;
use super::{tcp_pair, unix_pair, Socket, StreamReader, StreamWriter};
use crate::net::server_options::BoundSocket;
use crate::net::serving::{ServerControl, Serving};
use crate::net::{ServerOptions, ToSocketAddrs};

/// Starts a TCP server on `addr`, one socket on each address it resolves to: asyncio's
/// `start_server(client_connected_cb, host, port)`.
///
/// The server accepts at once (as asyncio's `start_serving=True`; [`start_server_with`] takes
/// asyncio's other keyword arguments, `sock=`, `backlog=`, `start_serving=`...); for every connection it
/// spawns `handler(reader, writer)` as a task (`TCP_NODELAY` set, as asyncio does). Await
/// [`Server::serve_forever`] to keep the caller until the server is closed.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use aioloop::streams::{open_connection, start_server};
///
/// aioloop::run(async {
///     let server = start_server(
///         |mut reader, writer| async move {
///             while let Ok(line) = reader.readline().await {
///                 if line.is_empty() {
///                     break; // EOF
///                 }
///                 writer.write(&line);
///                 if writer.drain().await.is_err() {
///                     break;
///                 }
///             }
///         },
///         "127.0.0.1:0",
///     )
///     .await
///     .unwrap();
///     let (mut reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
///     writer.write(b"hello\n");
///     assert_eq!(reader.readline().await.unwrap(), b"hello\n");
///     server.close();
/// });
/// ```
pub async fn start_server<H, Fut>(handler: H, addr: impl ToSocketAddrs) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    start_server_with(handler, ServerOptions::new().addr(addr)).await
}

/// Starts a Unix-domain server on the socket file `path`: asyncio's `start_unix_server`.
/// A socket file already at `path` (left behind by a server that did not remove it) is
/// removed first, as asyncio does; any other file there makes this fail with `AddrInUse`.
/// Closing the server removes the socket file, as asyncio 3.13 does (unless another socket was
/// bound at that path since).
///
/// # Panics
/// If no loop is running on this thread.
pub async fn start_unix_server<H, Fut>(handler: H, path: impl AsRef<Path>) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    start_server_with(handler, ServerOptions::new().path(path)).await
}

/// Starts a server where and as `options` say: asyncio's `start_server` and
/// `start_unix_server` with their keyword arguments (a list of hosts, `host=None`, `sock=`,
/// `family=`, `backlog=`, `reuse_address=`, `reuse_port=`, `keep_alive=`, `start_serving=`);
/// see [`ServerOptions`]. Without options, [`start_server`]
/// and [`start_unix_server`].
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
/// use aioloop::streams::{open_connection, start_server_with};
///
/// aioloop::run(async {
///     // A listener bound by the standard library (or inherited from a service manager).
///     let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     let server = start_server_with(
///         |_reader, writer| async move {
///             writer.write(b"hi\n");
///         },
///         ServerOptions::new().sock(listener),
///     )
///     .await
///     .unwrap();
///     let (mut reader, _writer) = open_connection(addr).await.unwrap();
///     assert_eq!(reader.readline().await.unwrap(), b"hi\n");
///     server.close();
/// });
/// ```
pub async fn start_server_with<H, Fut>(handler: H, options: ServerOptions) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let bound = options.bind("streams::start_server_with").await?;
    serve(bound, handler)
}

/// Makes the server: each connection is handled in its own task.
fn serve<H, Fut>(bound: BoundSocket, handler: H) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let control = ServerControl::new(
        bound,
        tcp_pair,
        unix_pair,
        move |serving, (reader, writer, socket)| {
            let guard = ConnectionGuard::new(serving, &writer, socket);
            let conn = handler(reader, writer);
            drop(crate::spawn(async move {
                conn.await;
                drop(guard);
            }));
        },
    )?;
    Ok(Server::new(control))
}

/// A connection the server accepted (a TLS one from its handshake on). It is done once its handler returned and its writer is
/// done with it (its close finished, it failed, or it was dropped): asyncio detaches a
/// transport once its connection is lost, whatever its handler does; here the handler's reader
/// can still read after its writer's close (the write side only), so the handler counts too.
pub(super) struct Client {
    writer: WriterRef,
    socket: Weak<dyn Socket>,
    handler_running: bool,
    writer_open: bool,
    /// Set by `close_clients`: once the writer's close finished, the read side is shut down
    /// too (asyncio's `transport.close()` ends both directions: the reader gets EOF).
    shut_read_when_closed: bool,
}

/// Counts a new connection (asyncio's `Server._attach`), before its writer is made (see
/// [`set_writer`]); answers its key.
fn attach(serving: &Serving<Client>, socket: Weak<dyn Socket>) -> usize {
    serving.attach(Client {
        writer: WriterRef::none(),
        socket,
        handler_running: true,
        writer_open: false,
        shut_read_when_closed: false,
    })
}

/// The connection's writer is made (at once, or once its TLS handshake finished): the
/// connection is done once its handler returned and this writer is done too; `socket` replaces
/// the handle [`attach`] was given.
fn set_writer(serving: &Rc<Serving<Client>>, key: usize, writer: &StreamWriter, socket: Weak<dyn Socket>) {
    let weak = Rc::downgrade(serving);
    let writer = writer.attach(Box::new(move || {
        if let Some(serving) = weak.upgrade() {
            writer_done(&serving, key);
        }
    }));
    if let Some(client) = serving.clients().get_mut(key) {
        client.writer = writer;
        client.writer_open = true;
        client.socket = socket;
    }
}

fn writer_done(serving: &Serving<Client>, key: usize) {
    let mut clients = serving.clients();
    let Some(client) = clients.get_mut(key) else {
        return;
    };
    client.writer_open = false;
    if client.shut_read_when_closed {
        if let Some(socket) = client.socket.upgrade() {
            socket.shutdown(Shutdown::Read);
        }
    }
    drop(clients);
    detach_if_done(serving, key);
}

fn handler_done(serving: &Serving<Client>, key: usize) {
    if let Some(client) = serving.clients().get_mut(key) {
        client.handler_running = false;
    }
    detach_if_done(serving, key);
}

/// Forgets the connection once both its handler and its writer are done.
fn detach_if_done(serving: &Serving<Client>, key: usize) {
    let done = serving
        .clients()
        .get(key)
        .is_some_and(|client| !client.handler_running && !client.writer_open);
    if done {
        serving.detach(key);
    }
}

/// Every connection's writer and socket, copied out (asyncio's `self._clients.copy()`) so that
/// closing them, which may detach them, finds the set free; `mark` runs on each client first.
fn each_client(
    serving: &Serving<Client>,
    mut mark: impl FnMut(&mut Client),
) -> Vec<(bool, WriterRef, Weak<dyn Socket>)> {
    serving
        .clients()
        .iter_mut()
        .map(|(_, client)| {
            mark(client);
            (client.writer_open, client.writer.clone(), client.socket.clone())
        })
        .collect()
}

/// Counts a live connection handler.
pub(super) struct ConnectionGuard {
    serving: Rc<Serving<Client>>,
    key: usize,
}

impl ConnectionGuard {
    fn new(serving: &Rc<Serving<Client>>, writer: &StreamWriter, socket: Weak<dyn Socket>) -> Self {
        let guard = ConnectionGuard::pending(serving, socket.clone());
        guard.connected(writer, socket);
        guard
    }

    /// A connection whose writer is not made yet (in its TLS handshake): `socket` is how
    /// [`Server::close_clients`] and [`Server::abort_clients`] end it meanwhile.
    pub(super) fn pending(serving: &Rc<Serving<Client>>, socket: Weak<dyn Socket>) -> Self {
        ConnectionGuard {
            serving: serving.clone(),
            key: attach(serving, socket),
        }
    }

    /// The connection's reader and writer are made: see [`set_writer`].
    pub(super) fn connected(&self, writer: &StreamWriter, socket: Weak<dyn Socket>) {
        set_writer(&self.serving, self.key, writer, socket);
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        handler_done(&self.serving, self.key);
    }
}

/// A running server: asyncio's `Server`. Dropping it does not stop it (the accept task is
/// detached, like any task); call [`close`](Server::close).
pub struct Server {
    control: ServerControl<Client>,
}

impl Server {
    /// The server `control` runs: a plain server's (see `serve`) or a TLS one's.
    pub(super) fn new(control: ServerControl<Client>) -> Self {
        Server { control }
    }

    /// The address the server listens on (TCP; `NotConnected` for a Unix server): the first
    /// of [`local_addrs`](Server::local_addrs), for a server bound on several.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.control.local_addr()
    }

    /// Every address the server listens on, one per socket, in the order they were bound
    /// (asyncio's `Server.sockets`, their `getsockname()`): several when its host resolved to
    /// several addresses, or it was given several
    /// ([`ServerOptions::addr`](crate::net::ServerOptions::addr)), or every interface of both
    /// families ([`ServerOptions::port`](crate::net::ServerOptions::port)). Empty for a Unix
    /// server, and empty once [`close`](Server::close)d, as asyncio's
    /// (`local_addr` still says where it listened).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        self.control.local_addrs()
    }

    /// True while the server accepts connections: from its start (at once, unless it was
    /// made with [`ServerOptions::start_serving`] false) until [`close`](Server::close).
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

    /// Stops accepting: the listening sockets are closed (at the loop's next iteration, when the
    /// accept task is dropped). Connections already accepted go on;
    /// [`wait_closed`](Server::wait_closed) waits for the sockets and for them, and
    /// [`close_clients`](Server::close_clients) or [`abort_clients`](Server::abort_clients)
    /// end them.
    pub fn close(&self) {
        self.control.close();
    }

    /// Starts accepting if the server does not yet (see
    /// [`start_serving`](Server::start_serving)), then waits until the server is closed (by
    /// [`close`](Server::close), from another task or a handler): asyncio's `serve_forever()`.
    /// Returns at once if it is closed already (where asyncio raises `RuntimeError`). If a
    /// socket cannot listen, the server is closed and the error goes to the loop's exception
    /// handler (asyncio's `serve_forever` raises it).
    ///
    /// As in asyncio, a `serve_forever` cancelled while it waits (its task cancelled, or the
    /// future dropped by a `wait_for` timeout or a `select!`) closes the server; await
    /// [`wait_closed`](Server::wait_closed) afterwards to wait for the connections.
    pub async fn serve_forever(&self) {
        self.control.serve_forever().await;
    }

    /// Waits until the server is closed, its listening sockets too (a connect attempt is then
    /// refused), and every connection is done (asyncio 3.12.1's `wait_closed()`: "until server
    /// is closed and all connections are dropped"). A connection is done once its handler
    /// returned and its writer's close finished (or the writer failed, or was dropped): a
    /// writer the handler handed to another task keeps the server waiting, as asyncio's open
    /// transport does.
    pub async fn wait_closed(&self) {
        self.control.wait_closed().await;
    }

    /// Closes every connection the server is serving: asyncio 3.13's `close_clients()`. Each
    /// writer is closed as [`StreamWriter::close`] does (what it buffered is still sent), then
    /// the read side is shut down too, so that the handler's reader reads EOF (asyncio's
    /// `transport.close()` ends both directions). A connection whose writer was closed already
    /// has its read side shut down at once. The handlers go on until they return, as in
    /// asyncio; [`wait_closed`](Server::wait_closed) waits for them. Connections accepted later
    /// are not affected: call [`close`](Server::close) first to stop accepting.
    ///
    /// ```
    /// use aioloop::streams::{open_connection, start_server};
    ///
    /// aioloop::run(async {
    ///     let server = start_server(
    ///         |mut reader, writer| async move {
    ///             writer.write(b"bye\n");
    ///             // Reads until EOF: close_clients() brings it.
    ///             let rest = reader.read_to_eof().await.unwrap();
    ///             assert!(rest.is_empty());
    ///         },
    ///         "127.0.0.1:0",
    ///     )
    ///     .await
    ///     .unwrap();
    ///     let (mut reader, _writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(reader.readline().await.unwrap(), b"bye\n");
    ///     server.close();
    ///     server.close_clients();
    ///     server.wait_closed().await; // the handler returned
    ///     assert!(reader.read_to_eof().await.unwrap().is_empty()); // the client reads EOF
    /// });
    /// ```
    pub fn close_clients(&self) {
        let clients = each_client(self.control.serving(), |client| {
            client.shut_read_when_closed = true;
        });
        for (writer_open, writer, socket) in clients {
            if writer_open {
                writer.close();
            } else if let Some(socket) = socket.upgrade() {
                socket.shutdown(Shutdown::Read);
            }
        }
    }

    /// Closes every connection the server is serving at once, dropping what their writers
    /// buffered: asyncio 3.13's `abort_clients()` (`transport.abort()`). Each socket is shut
    /// down in both directions (the peer and the handler's reader read EOF), and each writer
    /// is closed: its [`wait_closed`](StreamWriter::wait_closed) returns, its
    /// [`drain`](StreamWriter::drain) raises `ConnectionReset`, its writes are dropped. On the
    /// io_uring driver's completion form the stream's own send buffer is dropped too, all but
    /// a send already in the kernel. The handlers go on until they return;
    /// [`wait_closed`](Server::wait_closed) waits for them.
    ///
    /// ```
    /// use aioloop::streams::{open_connection, start_server};
    ///
    /// aioloop::run(async {
    ///     let server = start_server(
    ///         |_reader, writer| async move {
    ///             // More than the client will ever read: the writer buffers the rest.
    ///             writer.write(&vec![0; 32 << 20]);
    ///             writer.wait_closed().await.unwrap(); // abort_clients() ends the wait
    ///         },
    ///         "127.0.0.1:0",
    ///     )
    ///     .await
    ///     .unwrap();
    ///     let (_reader, _writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    ///     aioloop::yield_now().await; // the handler runs
    ///     server.close();
    ///     server.abort_clients();
    ///     server.wait_closed().await;
    /// });
    /// ```
    pub fn abort_clients(&self) {
        for (_, writer, socket) in each_client(self.control.serving(), |_| {}) {
            if let Some(socket) = socket.upgrade() {
                socket.abort();
            }
            writer.abort();
        }
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addrs", &self.control.local_addrs())
            .field("serving", &self.is_serving())
            .field("connections", &self.control.connections())
            .finish()
    }
}
