//! What every asyncio-style server shares, whatever it runs on a connection: the listening
//! socket (TCP or Unix, with the socket file a Unix one made), the accept task, and the
//! lifecycle of asyncio's `Server` (`close`, `is_serving`, `serve_forever`, `wait_closed`),
//! counting the connections it still serves. [`crate::streams::Server`] (a handler per
//! connection) and [`crate::protocols::ProtocolServer`] (a protocol per connection) are this
//! with their own kind of connection `C`.

use std::cell::{Cell, RefCell, RefMut};
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use slab::Slab;

use super::{TcpListener, TcpStream, ToSocketAddrs, UnixListener, UnixStream};
use crate::task::waiters::{notify_all, WaitList, Waiter};
use crate::Task;

/// How long the accept loop waits after a failed accept (out of descriptors, a connection
/// reset before it was accepted): the listener itself is fine, so it backs off briefly
/// instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// A server's listening socket.
pub(crate) enum ServerListener {
    Tcp(TcpListener),
    /// With the socket file it made, removed when the listener is closed.
    Unix(UnixListener, Option<SocketFile>),
}

impl ServerListener {
    /// Binds a TCP listener on `addr`; answers it with its address.
    pub(crate) async fn bind_tcp(addr: impl ToSocketAddrs) -> io::Result<(Self, SocketAddr)> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        Ok((ServerListener::Tcp(listener), local))
    }

    /// Binds a Unix listener on the socket file `path`. A socket file already there is removed
    /// first, as asyncio's `create_unix_server` does (a stale socket would make the bind fail
    /// with `AddrInUse`); anything else at `path` stays, and the bind reports it.
    pub(crate) fn bind_unix(path: &Path) -> io::Result<Self> {
        remove_stale_socket(path);
        let listener = UnixListener::bind(path)?;
        Ok(ServerListener::Unix(listener, SocketFile::of(path)))
    }

    /// The next connection, made into a `T` by `tcp` or `unix`; `TCP_NODELAY` is set on a TCP
    /// connection, as asyncio does.
    async fn accept<T>(&self, tcp: fn(TcpStream) -> T, unix: fn(UnixStream) -> T) -> io::Result<T> {
        match self {
            ServerListener::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                Ok(tcp(stream))
            }
            ServerListener::Unix(listener, _) => Ok(unix(listener.accept().await?.0)),
        }
    }
}

/// Removes the socket file at `path`, if a socket file is there, before a bind to it: asyncio's
/// `create_unix_server` and `create_datagram_endpoint(family=AF_UNIX)` do (a stale socket
/// would make the bind fail with `AddrInUse`). Anything else at `path` stays, for the bind to
/// report it.
pub(crate) fn remove_stale_socket(path: &Path) {
    if std::fs::metadata(path).is_ok_and(|meta| meta.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

/// The socket file a Unix server bound, and its identity: closing the server removes it only if
/// it is still that file (asyncio 3.13 checks the inode the same way), not one another process
/// bound at the same path since.
pub(crate) struct SocketFile {
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

/// The state a server, its accept task and its connections share: closed or not, listening or
/// not, and the connections not done yet (asyncio's `Server._clients`), each a `C`.
pub(crate) struct Serving<C> {
    closed: Cell<bool>,
    /// True until the listening socket is closed (after `closed`, once the accept task is gone).
    listening: Cell<bool>,
    clients: RefCell<Slab<C>>,
    /// `serve_forever` and `wait_closed` calls, notified when the server closes, when the
    /// listening socket is closed and when the last connection is done.
    waiters: RefCell<WaitList>,
}

impl<C> Serving<C> {
    /// Closed, the listening socket too, and no connection left.
    fn is_shut(&self) -> bool {
        self.closed.get() && !self.listening.get() && self.clients.borrow().is_empty()
    }

    /// The connections not done yet. Do not hold the borrow while closing one: that may detach
    /// it (copy out what to close first, as asyncio's `self._clients.copy()`).
    pub(crate) fn clients(&self) -> RefMut<'_, Slab<C>> {
        self.clients.borrow_mut()
    }

    /// Counts a new connection (asyncio's `Server._attach`); answers its key for
    /// [`detach`](Serving::detach).
    pub(crate) fn attach(&self, client: C) -> usize {
        self.clients.borrow_mut().insert(client)
    }

    /// Forgets the connection `key` (asyncio's `Server._detach`), and wakes `wait_closed` if it
    /// was the last of a closed server. Nothing if it was forgotten already.
    pub(crate) fn detach(&self, key: usize) {
        let removed = self.clients.borrow_mut().try_remove(key);
        drop(removed); // outside the borrow: a connection's drop may reach the server
        if self.is_shut() {
            notify_all(&self.waiters);
        }
    }
}

/// The listening socket, owned by the accept task: dropping it (when the server's `close`
/// cancels that task) closes the socket, removes a Unix server's socket file, then tells
/// `wait_closed`.
struct Listening<C> {
    listener: Option<ServerListener>,
    serving: Rc<Serving<C>>,
}

impl<C> Drop for Listening<C> {
    fn drop(&mut self) {
        if let Some(ServerListener::Unix(listener, file)) = self.listener.take() {
            drop(listener);
            if let Some(file) = file {
                file.remove();
            }
        }
        self.serving.listening.set(false);
        notify_all(&self.serving.waiters);
    }
}

/// A running server's lifecycle: asyncio's `Server` without what depends on the kind of
/// connection (the servers built on it add `close_clients` and `abort_clients`).
pub(crate) struct ServerControl<C> {
    serving: Rc<Serving<C>>,
    accept: RefCell<Option<Task<()>>>,
    local: Option<SocketAddr>,
}

impl<C: 'static> ServerControl<C> {
    /// Starts serving on `listener` (bound at `local`, for TCP): spawns the accept task, which
    /// makes each connection into a `S` (by `tcp` or `unix`) and hands it to `on_accept`.
    pub(crate) fn start<S: 'static>(
        listener: ServerListener,
        local: Option<SocketAddr>,
        tcp: fn(TcpStream) -> S,
        unix: fn(UnixStream) -> S,
        mut on_accept: impl FnMut(&Rc<Serving<C>>, S) + 'static,
    ) -> Self {
        let serving = Rc::new(Serving {
            closed: Cell::new(false),
            listening: Cell::new(true),
            clients: RefCell::new(Slab::new()),
            waiters: RefCell::new(WaitList::default()),
        });
        let listening = Listening {
            listener: Some(listener),
            serving: serving.clone(),
        };
        let accept = crate::spawn(async move {
            let listener = listening.listener.as_ref().expect("open until dropped");
            loop {
                match listener.accept(tcp, unix).await {
                    Ok(stream) => on_accept(&listening.serving, stream),
                    Err(_) => crate::sleep(ACCEPT_BACKOFF).await,
                }
            }
        });
        ServerControl {
            serving,
            accept: RefCell::new(Some(accept)),
            local,
        }
    }

    /// The shared state, to reach the connections.
    pub(crate) fn serving(&self) -> &Serving<C> {
        &self.serving
    }

    /// The address the server listens on (TCP; `NotConnected` for a Unix server).
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.local.ok_or_else(|| io::ErrorKind::NotConnected.into())
    }

    /// True until [`close`](ServerControl::close).
    pub(crate) fn is_serving(&self) -> bool {
        !self.serving.closed.get()
    }

    /// Stops accepting: cancels the accept task, whose drop (at the loop's next iteration)
    /// closes the listening socket. Connections go on.
    pub(crate) fn close(&self) {
        if self.serving.closed.replace(true) {
            return;
        }
        let accept = self.accept.borrow_mut().take();
        if let Some(accept) = accept {
            accept.cancel();
        }
        notify_all(&self.serving.waiters);
    }

    /// Waits until the server is closed; a wait cancelled (dropped) before closes it, as
    /// asyncio's `serve_forever` does.
    pub(crate) async fn serve_forever(&self) {
        /// Closes the server if dropped before the wait ended.
        struct CloseOnCancel<'a, C: 'static>(Option<&'a ServerControl<C>>);
        impl<C: 'static> Drop for CloseOnCancel<'_, C> {
            fn drop(&mut self) {
                if let Some(server) = self.0 {
                    server.close();
                }
            }
        }
        let mut guard = CloseOnCancel(Some(self));
        let mut waiter = Waiter::new(&self.serving.waiters);
        poll_fn(|cx| waiter.poll_until(cx, || self.serving.closed.get())).await;
        guard.0 = None;
    }

    /// Waits until the server is closed, its listening socket too, and no connection is left.
    pub(crate) async fn wait_closed(&self) {
        let serving = &*self.serving;
        let mut waiter = Waiter::new(&serving.waiters);
        poll_fn(|cx| waiter.poll_until(cx, || serving.is_shut())).await
    }

    /// How many connections are not done yet.
    pub(crate) fn connections(&self) -> usize {
        self.serving.clients.borrow().len()
    }

    /// The address, for `Debug`.
    pub(crate) fn local(&self) -> Option<SocketAddr> {
        self.local
    }
}
