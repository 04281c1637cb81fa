//! What every asyncio-style server shares, whatever it runs on a connection: the listening
//! sockets (TCP ones, one per address, or a Unix one with the socket file it made), the one
//! accept task that accepts on all of them, and the
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
use std::task::{ready, Context, Poll};
use std::time::Duration;

use slab::Slab;

use super::server_options::BoundSocket;
use super::{TcpListener, TcpStream, UnixListener, UnixStream};
use crate::task::waiters::{notify_all, WaitList, Waiter};
use crate::Task;

/// How long the accept loop waits after a failed accept (out of descriptors, a connection
/// reset before it was accepted): the listener itself is fine, so it backs off briefly
/// instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// One of a server's listening sockets, registered with the loop.
pub(crate) enum ServerListener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl ServerListener {
    /// Polls for the next connection, made into a `T` by `tcp` or `unix`; `TCP_NODELAY` is set
    /// on a TCP connection, as asyncio does.
    fn poll_accept<T>(
        &self,
        cx: &mut Context<'_>,
        tcp: fn(TcpStream) -> T,
        unix: fn(UnixStream) -> T,
    ) -> Poll<io::Result<T>> {
        Poll::Ready(match self {
            ServerListener::Tcp(listener) => ready!(listener.poll_accept(cx)).map(|(stream, _)| {
                let _ = stream.set_nodelay(true);
                tcp(stream)
            }),
            ServerListener::Unix(listener) => {
                ready!(listener.poll_accept(cx)).map(|(stream, _)| unix(stream))
            }
        })
    }
}

/// The next connection on any of `listeners` (a server bound on several addresses accepts on
/// all), made into a `T` as [`ServerListener::poll_accept`] does. The listeners are polled in
/// turn from `*next`, which moves past the one that answered, so that a busy listener does not
/// starve the others.
fn poll_accept_any<T>(
    listeners: &[ServerListener],
    next: &mut usize,
    cx: &mut Context<'_>,
    tcp: fn(TcpStream) -> T,
    unix: fn(UnixStream) -> T,
) -> Poll<io::Result<T>> {
    let count = listeners.len();
    for offset in 0..count {
        let index = (*next + offset) % count;
        if let Poll::Ready(accepted) = listeners[index].poll_accept(cx, tcp, unix) {
            *next = (index + 1) % count;
            return Poll::Ready(accepted);
        }
    }
    Poll::Pending
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
    /// The socket file at `path`, if there is one.
    pub(crate) fn of(path: &Path) -> Option<SocketFile> {
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
    /// True until the listening sockets are closed (after `closed`, once the accept task is gone).
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

/// The server's sockets, bound (until the server starts serving), then listening (owned by
/// the accept task): dropping it (when the server's `close` drops the bound sockets or cancels
/// that task) closes the sockets, removes a Unix server's socket file, then tells
/// `wait_closed`.
struct Listening<C> {
    bound: Option<BoundSocket>,
    listeners: Vec<ServerListener>,
    file: Option<SocketFile>,
    serving: Rc<Serving<C>>,
}

impl<C> Drop for Listening<C> {
    fn drop(&mut self) {
        drop(self.bound.take());
        self.listeners.clear();
        if let Some(file) = self.file.take() {
            file.remove();
        }
        self.serving.listening.set(false);
        notify_all(&self.serving.waiters);
    }
}

/// What starts a server not serving yet: listens and spawns the accept task.
type Start = Box<dyn FnOnce() -> io::Result<Task<()>>>;

/// A running server's lifecycle: asyncio's `Server` without what depends on the kind of
/// connection (the servers built on it add `close_clients` and `abort_clients`).
pub(crate) struct ServerControl<C> {
    serving: Rc<Serving<C>>,
    /// The accept task, while the server serves.
    accept: RefCell<Option<Task<()>>>,
    /// Until the server starts serving (or is closed first): what starts it.
    start: RefCell<Option<Start>>,
    /// The TCP addresses the server's sockets are bound to, in the order they were bound.
    locals: Vec<SocketAddr>,
}

impl<C: 'static> ServerControl<C> {
    /// A server on `bound`: once it serves (at once unless made with `start_serving(false)`),
    /// its accept task makes each connection, on any of its sockets, into a `S` (by `tcp` or
    /// `unix`) and hands it to `on_accept`.
    ///
    /// # Errors
    /// `listen`'s, when the server serves at once.
    pub(crate) fn new<S: 'static>(
        mut bound: BoundSocket,
        tcp: fn(TcpStream) -> S,
        unix: fn(UnixStream) -> S,
        mut on_accept: impl FnMut(&Rc<Serving<C>>, S) + 'static,
    ) -> io::Result<Self> {
        let serving = Rc::new(Serving {
            closed: Cell::new(false),
            listening: Cell::new(true),
            clients: RefCell::new(Slab::new()),
            waiters: RefCell::new(WaitList::default()),
        });
        let locals = bound.locals().to_vec();
        let serve_now = bound.start_serving();
        let mut listening = Listening {
            file: bound.take_file(),
            bound: Some(bound),
            listeners: Vec::new(),
            serving: serving.clone(),
        };
        let start: Start = Box::new(move || {
            let bound = listening.bound.take().expect("bound until it listens");
            listening.listeners = bound.listen()?;
            Ok(crate::spawn(async move {
                let listeners = &listening.listeners;
                let mut next = 0;
                loop {
                    let accepted = poll_fn(|cx| poll_accept_any(listeners, &mut next, cx, tcp, unix)).await;
                    match accepted {
                        Ok(stream) => on_accept(&listening.serving, stream),
                        Err(_) => crate::sleep(ACCEPT_BACKOFF).await,
                    }
                }
            }))
        });
        let control = ServerControl {
            serving,
            accept: RefCell::new(None),
            start: RefCell::new(Some(start)),
            locals,
        };
        if serve_now {
            control.start_serving()?;
        }
        Ok(control)
    }

    /// Starts serving a server made with `start_serving(false)`: the sockets listen and the
    /// accept task starts (asyncio's `Server._start_serving`). Nothing on a server serving
    /// already, or closed.
    ///
    /// # Errors
    /// `listen`'s; the server is closed then.
    pub(crate) fn start_serving(&self) -> io::Result<()> {
        let start = self.start.borrow_mut().take();
        let Some(start) = start else {
            return Ok(());
        };
        match start() {
            Ok(accept) => {
                *self.accept.borrow_mut() = Some(accept);
                Ok(())
            }
            Err(err) => {
                self.close();
                Err(err)
            }
        }
    }

    /// The shared state, to reach the connections.
    pub(crate) fn serving(&self) -> &Serving<C> {
        &self.serving
    }

    /// The first address the server listens on (TCP; `NotConnected` for a Unix server).
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.locals
            .first()
            .copied()
            .ok_or_else(|| io::ErrorKind::NotConnected.into())
    }

    /// Every address the server listens on (TCP; none for a Unix server, or once closed, as
    /// asyncio's `Server.sockets`).
    pub(crate) fn local_addrs(&self) -> &[SocketAddr] {
        match self.serving.closed.get() {
            true => &[],
            false => &self.locals,
        }
    }

    /// True from the start of serving until [`close`](ServerControl::close).
    pub(crate) fn is_serving(&self) -> bool {
        self.accept.borrow().is_some()
    }

    /// Stops accepting: cancels the accept task, whose drop (at the loop's next iteration)
    /// closes the listening sockets, or closes at once the sockets of a server not serving yet.
    /// Connections go on.
    pub(crate) fn close(&self) {
        if self.serving.closed.replace(true) {
            return;
        }
        let accept = self.accept.borrow_mut().take();
        if let Some(accept) = accept {
            accept.cancel();
        }
        let start = self.start.borrow_mut().take();
        drop(start); // closes the bound socket
        notify_all(&self.serving.waiters);
    }

    /// Starts serving if the server does not yet, then waits until it is closed; a wait
    /// cancelled (dropped) before closes it, as asyncio's `serve_forever` does. If the socket
    /// cannot listen, the error goes to the loop's exception handler and the server is
    /// closed (asyncio's `serve_forever` raises it).
    pub(crate) async fn serve_forever(&self) {
        if let Err(err) = self.start_serving() {
            if let Some(core) = crate::context::current() {
                core.report(
                    &format!("aioloop: serve_forever could not start serving: {err}"),
                    None,
                    None,
                );
            }
        }
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
}
