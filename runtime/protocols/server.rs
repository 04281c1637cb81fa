//! [`create_server`], [`create_unix_server`] and [`ProtocolServer`]: asyncio's
//! `loop.create_server`, `loop.create_unix_server` and their `Server`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use slab::Slab;

use super::driver::{start, MadeIn};
use super::sock::Sock;
use super::{Protocol, Transport};
use crate::net::{TcpListener, ToSocketAddrs, UnixListener};
use crate::task::waiters::{notify_all, WaitList, Waiter};
use crate::Task;

/// Starts a TCP server on `addr` that runs a protocol `protocol_factory()` makes on every
/// connection it accepts: asyncio's `loop.create_server(protocol_factory, host, port)`. It
/// accepts at once (asyncio's `start_serving=True`); `TCP_NODELAY` is set on each connection.
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
pub async fn create_server<P, F>(protocol_factory: F, addr: impl ToSocketAddrs) -> io::Result<ProtocolServer>
where
    P: Protocol + 'static,
    F: Fn() -> P + 'static,
{
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok(serve(Listener::Tcp(listener), Some(local), protocol_factory))
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
pub async fn create_unix_server<P, F>(
    protocol_factory: F,
    path: impl AsRef<Path>,
) -> io::Result<ProtocolServer>
where
    P: Protocol + 'static,
    F: Fn() -> P + 'static,
{
    let path = path.as_ref();
    if std::fs::metadata(path).is_ok_and(|meta| meta.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
    let listener = UnixListener::bind(path)?;
    let file = std::fs::symlink_metadata(path)
        .ok()
        .map(|meta| (path.to_path_buf(), (meta.dev(), meta.ino())));
    Ok(serve(Listener::Unix(listener, file), None, protocol_factory))
}

fn serve<P, F>(listener: Listener, local: Option<SocketAddr>, protocol_factory: F) -> ProtocolServer
where
    P: Protocol + 'static,
    F: Fn() -> P + 'static,
{
    let shared = Rc::new(Shared::default());
    shared.listening.set(true);
    let accept = crate::spawn(accept_loop(
        Listening {
            listener: Some(listener),
            shared: shared.clone(),
        },
        protocol_factory,
    ));
    ProtocolServer {
        shared,
        accept: RefCell::new(Some(accept)),
        local,
    }
}

enum Listener {
    Tcp(TcpListener),
    /// With the socket file it made and its identity, removed when the server closes unless
    /// another socket was bound there since.
    Unix(UnixListener, Option<(PathBuf, (u64, u64))>),
}

impl Listener {
    async fn accept(&self) -> io::Result<Sock> {
        match self {
            Listener::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                Ok(Sock::Tcp(stream))
            }
            Listener::Unix(listener, _) => Ok(Sock::Unix(listener.accept().await?.0)),
        }
    }
}

/// The listening socket, owned by the accept task: dropping it (when the server closes)
/// closes the socket and tells [`ProtocolServer::wait_closed`].
struct Listening {
    listener: Option<Listener>,
    shared: Rc<Shared>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        if let Some(Listener::Unix(listener, file)) = self.listener.take() {
            drop(listener);
            if let Some((path, id)) = file {
                let same = std::fs::symlink_metadata(&path).is_ok_and(|meta| (meta.dev(), meta.ino()) == id);
                if same {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        self.shared.listening.set(false);
        notify_all(&self.shared.waiters);
    }
}

async fn accept_loop<P, F>(listening: Listening, protocol_factory: F)
where
    P: Protocol + 'static,
    F: Fn() -> P + 'static,
{
    loop {
        let accepted = listening
            .listener
            .as_ref()
            .expect("open until dropped")
            .accept()
            .await;
        match accepted {
            Ok(sock) => {
                let protocol = Rc::new(RefCell::new(protocol_factory()));
                let transport = start(sock, &protocol, MadeIn::Task);
                listening.shared.attach(&transport);
            }
            // Out of descriptors or a connection reset before it was accepted: back off.
            Err(_) => crate::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
}

#[derive(Default)]
struct Shared {
    closed: Cell<bool>,
    listening: Cell<bool>,
    /// The connections not lost yet (asyncio's `Server._clients`).
    clients: RefCell<Slab<Transport>>,
    waiters: RefCell<WaitList>,
}

impl Shared {
    fn is_shut(&self) -> bool {
        self.closed.get() && !self.listening.get() && self.clients.borrow().is_empty()
    }

    /// asyncio's `Server._attach`: counts the connection until it is lost (`_detach`).
    fn attach(self: &Rc<Self>, transport: &Transport) {
        let key = self.clients.borrow_mut().insert(transport.clone());
        let shared = Rc::downgrade(self);
        *transport.inner.on_lost.borrow_mut() = Some(Box::new(move || {
            if let Some(shared) = shared.upgrade() {
                shared.clients.borrow_mut().remove(key);
                if shared.is_shut() {
                    notify_all(&shared.waiters);
                }
            }
        }));
    }

    fn each_client(&self) -> Vec<Transport> {
        self.clients.borrow().iter().map(|(_, t)| t.clone()).collect()
    }
}

/// A server [`create_server`] or [`create_unix_server`] started: asyncio's `Server`, with its `close`, `is_serving`,
/// `serve_forever`, `wait_closed`, `close_clients` and `abort_clients`. Dropping it does not
/// stop it; call [`close`](ProtocolServer::close).
pub struct ProtocolServer {
    shared: Rc<Shared>,
    accept: RefCell<Option<Task<()>>>,
    local: Option<SocketAddr>,
}

impl ProtocolServer {
    /// The address the server listens on (TCP; `NotConnected` for a Unix server).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.local.ok_or_else(|| io::ErrorKind::NotConnected.into())
    }

    /// True until [`close`](ProtocolServer::close).
    pub fn is_serving(&self) -> bool {
        !self.shared.closed.get()
    }

    /// Stops accepting: the listening socket is closed (at the loop's next iteration).
    /// Connections already made go on.
    pub fn close(&self) {
        if self.shared.closed.replace(true) {
            return;
        }
        if let Some(accept) = self.accept.borrow_mut().take() {
            accept.cancel();
        }
        notify_all(&self.shared.waiters);
    }

    /// Waits until the server is closed: asyncio's `serve_forever()`. A `serve_forever`
    /// cancelled while it waits closes the server, as in asyncio.
    pub async fn serve_forever(&self) {
        struct CloseOnCancel<'a>(Option<&'a ProtocolServer>);
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

    /// Waits until the server is closed, its listening socket too, and every connection was
    /// lost (its protocol's `connection_lost` ran): asyncio 3.12.1's `wait_closed()`.
    pub async fn wait_closed(&self) {
        let shared = &*self.shared;
        let mut waiter = Waiter::new(&shared.waiters);
        poll_fn(|cx| waiter.poll_until(cx, || shared.is_shut())).await
    }

    /// [`close`](Transport::close)s every connection: asyncio 3.13's `close_clients()`.
    pub fn close_clients(&self) {
        for transport in self.shared.each_client() {
            transport.close();
        }
    }

    /// [`abort`](Transport::abort)s every connection: asyncio 3.13's `abort_clients()`.
    pub fn abort_clients(&self) {
        for transport in self.shared.each_client() {
            transport.abort();
        }
    }
}

impl fmt::Debug for ProtocolServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtocolServer")
            .field("local_addr", &self.local)
            .field("serving", &self.is_serving())
            .field("connections", &self.shared.clients.borrow().len())
            .finish()
    }
}
