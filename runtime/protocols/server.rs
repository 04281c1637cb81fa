//! [`create_server`] and [`ProtocolServer`]: asyncio's `loop.create_server` and its `Server`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use slab::Slab;

use super::driver::{start, MadeIn};
use super::sock::Sock;
use super::{Protocol, Transport};
use crate::net::{TcpListener, ToSocketAddrs};
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
    let shared = Rc::new(Shared::default());
    shared.listening.set(true);
    let accept = crate::spawn(accept_loop(
        Listening {
            listener,
            shared: shared.clone(),
        },
        protocol_factory,
    ));
    Ok(ProtocolServer {
        shared,
        accept: RefCell::new(Some(accept)),
        local,
    })
}

/// The listening socket, owned by the accept task: dropping it (when the server closes)
/// closes the socket and tells [`ProtocolServer::wait_closed`].
struct Listening {
    listener: TcpListener,
    shared: Rc<Shared>,
}

impl Drop for Listening {
    fn drop(&mut self) {
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
        match listening.listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let protocol = Rc::new(RefCell::new(protocol_factory()));
                let transport = start(Sock::Tcp(stream), &protocol, MadeIn::Task);
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

/// A server [`create_server`] started: asyncio's `Server`, with its `close`, `is_serving`,
/// `serve_forever`, `wait_closed`, `close_clients` and `abort_clients`. Dropping it does not
/// stop it; call [`close`](ProtocolServer::close).
pub struct ProtocolServer {
    shared: Rc<Shared>,
    accept: RefCell<Option<Task<()>>>,
    local: SocketAddr,
}

impl ProtocolServer {
    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
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
