//! [`start_server`] and [`Server`]: asyncio's `start_server`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::Shutdown;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::rc::{Rc, Weak};

use slab::Slab;

use super::writer::WriterRef;
use super::{tcp_pair, unix_pair, Socket, StreamReader, StreamWriter};
use crate::net::{TcpListener, ToSocketAddrs, UnixListener};
use crate::task::waiters::{notify_all, WaitList, Waiter};
use crate::Task;

/// Starts a TCP server on `addr`: asyncio's `start_server(client_connected_cb, host, port)`.
///
/// The server accepts at once (as asyncio's `start_serving=True`); for every connection it
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
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let shared = Rc::new(Shared::default());
    let accept = accept_loop(Listening::new(Listener::Tcp(listener), &shared), handler);
    Ok(Server::new(shared, accept, Some(local)))
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
    let path = path.as_ref();
    remove_stale_socket(path);
    let listener = UnixListener::bind(path)?;
    let file = SocketFile::of(path);
    let shared = Rc::new(Shared::default());
    let accept = accept_loop(Listening::new(Listener::Unix(listener, file), &shared), handler);
    Ok(Server::new(shared, accept, None))
}

/// Removes the socket file at `path`, if there is one: asyncio's `create_unix_server` does so
/// before it binds (a stale socket would make the bind fail with `AddrInUse`). Anything else
/// at `path` stays, and the bind reports it.
fn remove_stale_socket(path: &Path) {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::metadata(path).is_ok_and(|meta| meta.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

enum Listener {
    Tcp(TcpListener),
    /// With the socket file it created, removed when the server closes.
    Unix(UnixListener, Option<SocketFile>),
}

/// The socket file a Unix server bound, and its identity: closing the server removes it only if
/// it is still that file (asyncio 3.13 checks the inode the same way), not one another process
/// bound at the same path since.
struct SocketFile {
    path: PathBuf,
    id: (u64, u64),
}

impl SocketFile {
    fn of(path: &Path) -> Option<SocketFile> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        Some(SocketFile {
            path: path.to_path_buf(),
            id: (meta.dev(), meta.ino()),
        })
    }

    fn remove(self) {
        let same =
            std::fs::symlink_metadata(&self.path).is_ok_and(|meta| (meta.dev(), meta.ino()) == self.id);
        if same {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// An accepted connection: its reader, its writer and its socket.
type Accepted = (StreamReader, StreamWriter, Weak<dyn Socket>);

impl Listener {
    async fn accept(&self) -> io::Result<Accepted> {
        match self {
            Listener::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                Ok(tcp_pair(stream))
            }
            Listener::Unix(listener, _) => Ok(unix_pair(listener.accept().await?.0)),
        }
    }
}

/// The listening socket, owned by the accept task: dropping it (when [`Server::close`] cancels
/// that task) closes the socket, then tells [`Server::wait_closed`].
struct Listening {
    listener: Option<Listener>,
    shared: Rc<Shared>,
}

impl Listening {
    fn new(listener: Listener, shared: &Rc<Shared>) -> Self {
        shared.listening.set(true);
        Listening {
            listener: Some(listener),
            shared: shared.clone(),
        }
    }

    async fn accept(&self) -> io::Result<Accepted> {
        self.listener.as_ref().expect("open until dropped").accept().await
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        // Closes the socket first, then removes a Unix server's socket file.
        if let Some(Listener::Unix(listener, file)) = self.listener.take() {
            drop(listener);
            if let Some(file) = file {
                file.remove();
            }
        }
        self.shared.listening.set(false);
        self.shared.wake_all();
    }
}

/// Spawns the accept loop: each connection is handled in its own task.
fn accept_loop<H, Fut>(listening: Listening, handler: H) -> Task<()>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    crate::spawn(async move {
        let shared = listening.shared.clone();
        loop {
            match listening.accept().await {
                Ok((reader, writer, socket)) => {
                    let guard = ConnectionGuard::new(&shared, &writer, socket);
                    let conn = handler(reader, writer);
                    drop(crate::spawn(async move {
                        conn.await;
                        drop(guard);
                    }));
                }
                // Out of descriptors or a connection reset before it was accepted: the
                // listener itself is fine; back off briefly instead of spinning.
                Err(_) => crate::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
    })
}

#[derive(Default)]
struct Shared {
    closed: Cell<bool>,
    /// True until the listening socket is closed (after `closed`, once the accept task is gone).
    listening: Cell<bool>,
    /// The connections not done yet (asyncio's `Server._clients`, its attached transports).
    clients: RefCell<Slab<Client>>,
    /// `serve_forever` and `wait_closed` calls, notified when the server closes, when the
    /// listening socket is closed and when the last connection is done.
    waiters: RefCell<WaitList>,
}

/// A connection the server accepted. It is done once its handler returned and its writer is
/// done with it (its close finished, it failed, or it was dropped): asyncio detaches a
/// transport once its connection is lost, whatever its handler does; here the handler's reader
/// can still read after its writer's close (the write side only), so the handler counts too.
struct Client {
    writer: WriterRef,
    socket: Weak<dyn Socket>,
    handler_running: bool,
    writer_open: bool,
    /// Set by `close_clients`: once the writer's close finished, the read side is shut down
    /// too (asyncio's `transport.close()` ends both directions: the reader gets EOF).
    shut_read_when_closed: bool,
}

impl Shared {
    /// Closed, the listening socket too, and no connection left.
    fn is_shut(&self) -> bool {
        self.closed.get() && !self.listening.get() && self.clients.borrow().is_empty()
    }

    fn wake_all(&self) {
        notify_all(&self.waiters);
    }

    /// Counts a new connection (asyncio's `Server._attach`); answers its key.
    fn attach(self: &Rc<Self>, writer: &StreamWriter, socket: Weak<dyn Socket>) -> usize {
        let mut clients = self.clients.borrow_mut();
        let entry = clients.vacant_entry();
        let key = entry.key();
        let shared = Rc::downgrade(self);
        let writer = writer.attach(Box::new(move || {
            if let Some(shared) = shared.upgrade() {
                shared.writer_done(key);
            }
        }));
        entry.insert(Client {
            writer,
            socket,
            handler_running: true,
            writer_open: true,
            shut_read_when_closed: false,
        });
        key
    }

    fn writer_done(&self, key: usize) {
        let mut clients = self.clients.borrow_mut();
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
        self.detach_if_done(key);
    }

    fn handler_done(&self, key: usize) {
        if let Some(client) = self.clients.borrow_mut().get_mut(key) {
            client.handler_running = false;
        }
        self.detach_if_done(key);
    }

    /// Forgets the connection once both its handler and its writer are done (asyncio's
    /// `Server._detach`), and wakes `wait_closed` if it was the last of a closed server.
    fn detach_if_done(&self, key: usize) {
        let mut clients = self.clients.borrow_mut();
        let done = clients
            .get(key)
            .is_some_and(|client| !client.handler_running && !client.writer_open);
        if !done {
            return;
        }
        clients.remove(key);
        drop(clients);
        if self.is_shut() {
            self.wake_all();
        }
    }

    /// Every connection's writer and socket, copied out of `clients` (asyncio's
    /// `self._clients.copy()`) so that closing them, which may detach them, finds it free;
    /// `mark` runs on each client first.
    fn each_client(&self, mut mark: impl FnMut(&mut Client)) -> Vec<(bool, WriterRef, Weak<dyn Socket>)> {
        let mut clients = self.clients.borrow_mut();
        clients
            .iter_mut()
            .map(|(_, client)| {
                mark(client);
                (client.writer_open, client.writer.clone(), client.socket.clone())
            })
            .collect()
    }
}

/// Counts a live connection handler.
struct ConnectionGuard {
    shared: Rc<Shared>,
    key: usize,
}

impl ConnectionGuard {
    fn new(shared: &Rc<Shared>, writer: &StreamWriter, socket: Weak<dyn Socket>) -> Self {
        ConnectionGuard {
            shared: shared.clone(),
            key: shared.attach(writer, socket),
        }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.shared.handler_done(self.key);
    }
}

/// A running server: asyncio's `Server`. Dropping it does not stop it (the accept task is
/// detached, like any task); call [`close`](Server::close).
pub struct Server {
    shared: Rc<Shared>,
    accept: RefCell<Option<Task<()>>>,
    local: Option<SocketAddr>,
}

impl Server {
    fn new(shared: Rc<Shared>, accept: Task<()>, local: Option<SocketAddr>) -> Self {
        Server {
            shared,
            accept: RefCell::new(Some(accept)),
            local,
        }
    }

    /// The address the server listens on (TCP; `NotConnected` for a Unix server).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.local.ok_or_else(|| io::ErrorKind::NotConnected.into())
    }

    /// True until [`close`](Server::close).
    pub fn is_serving(&self) -> bool {
        !self.shared.closed.get()
    }

    /// Stops accepting: the listening socket is closed (at the loop's next iteration, when the
    /// accept task is dropped). Connections already accepted go on;
    /// [`wait_closed`](Server::wait_closed) waits for the socket and for them, and
    /// [`close_clients`](Server::close_clients) or [`abort_clients`](Server::abort_clients)
    /// end them.
    pub fn close(&self) {
        if self.shared.closed.replace(true) {
            return;
        }
        let accept = self.accept.borrow_mut().take();
        if let Some(accept) = accept {
            accept.cancel();
        }
        self.shared.wake_all();
    }

    /// Waits until the server is closed (by [`close`](Server::close), from another task or a
    /// handler): asyncio's `serve_forever()`. Returns at once if it is closed already (where
    /// asyncio raises `RuntimeError`).
    ///
    /// As in asyncio, a `serve_forever` cancelled while it waits (its task cancelled, or the
    /// future dropped by a `wait_for` timeout or a `select!`) closes the server; await
    /// [`wait_closed`](Server::wait_closed) afterwards to wait for the connections.
    pub async fn serve_forever(&self) {
        /// Closes the server if dropped before the wait ended.
        struct CloseOnCancel<'a>(Option<&'a Server>);
        impl Drop for CloseOnCancel<'_> {
            fn drop(&mut self) {
                if let Some(server) = self.0 {
                    server.close();
                }
            }
        }
        let mut guard = CloseOnCancel(Some(self));
        let mut waiter = Waiter::new(&self.shared.waiters);
        poll_fn(|cx| waiter.poll_until(cx, || self.shared.closed.get())).await;
        guard.0 = None;
    }

    /// Waits until the server is closed, its listening socket too (a connect attempt is then
    /// refused), and every connection is done (asyncio 3.12.1's `wait_closed()`: "until server
    /// is closed and all connections are dropped"). A connection is done once its handler
    /// returned and its writer's close finished (or the writer failed, or was dropped): a
    /// writer the handler handed to another task keeps the server waiting, as asyncio's open
    /// transport does.
    pub async fn wait_closed(&self) {
        let shared = &*self.shared;
        let mut waiter = Waiter::new(&shared.waiters);
        poll_fn(|cx| waiter.poll_until(cx, || shared.is_shut())).await
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
        let clients = self
            .shared
            .each_client(|client| client.shut_read_when_closed = true);
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
        for (_, writer, socket) in self.shared.each_client(|_| {}) {
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
            .field("local_addr", &self.local)
            .field("serving", &self.is_serving())
            .field("connections", &self.shared.clients.borrow().len())
            .finish()
    }
}
