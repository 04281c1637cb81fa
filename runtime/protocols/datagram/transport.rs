//! [`DatagramTransport`]: the handle on a datagram endpoint a [`DatagramProtocol`] sends and
//! closes it through (asyncio's `_SelectorDatagramTransport`).

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::rc::{Rc, Weak};

use super::{DatagramProtocol, DatagramSocket};
use crate::protocols::closing::Closing;
use crate::protocols::flow::{deliver_flow, FlowControl};
use crate::protocols::lost_writes::LostWrites;
use crate::protocols::task::wake;
use crate::protocols::write_state::WriteState;
use crate::protocols::SocketAddress;
use crate::waker_slot::WakerSlot;

/// What [`DatagramTransport::get_write_buffer_size`] counts for each queued datagram on top of
/// its bytes (asyncio 3.13's `_header_size`: a flood of empty datagrams still fills the
/// buffer).
pub(super) const HEADER_SIZE: usize = 8;

/// The handle on a datagram endpoint: asyncio's `DatagramTransport`
/// (`_SelectorDatagramTransport`).
///
/// A cheap clone (an `Rc`) that the protocol keeps from
/// [`connection_made`](DatagramProtocol::connection_made) and any task of the loop may use.
/// Its methods never wait and never call the protocol re-entrantly:
/// [`sendto`](DatagramTransport::sendto) sends at once if the socket takes the datagram and
/// queues it otherwise, and the endpoint's task sends the queue as the socket drains;
/// [`close`](DatagramTransport::close) sends the queue first, then closes;
/// [`abort`](DatagramTransport::abort) closes at once.
///
/// ```
/// use std::rc::Rc;
/// use aioloop::protocols::{create_datagram_endpoint, DatagramOptions, DatagramProtocol, SocketAddress};
/// use aioloop::sync::Event;
///
/// #[derive(Default)]
/// struct Inbox {
///     got: Vec<Vec<u8>>,
///     arrived: Rc<Event>,
/// }
/// impl DatagramProtocol for Inbox {
///     fn datagram_received(&mut self, data: &[u8], _addr: &SocketAddress) {
///         self.got.push(data.to_vec());
///         self.arrived.set();
///     }
/// }
///
/// aioloop::run(async {
///     let (server, inbox) =
///         create_datagram_endpoint(Inbox::default, DatagramOptions::new().local_addr("127.0.0.1:0"))
///             .await
///             .unwrap();
///     let to = server.local_addr().unwrap();
///     let (client, _) =
///         create_datagram_endpoint(Inbox::default, DatagramOptions::new().remote_addr(to))
///             .await
///             .unwrap();
///     client.sendto(b"ping", None).unwrap(); // a connected endpoint: to its remote address
///     let arrived = inbox.borrow().arrived.clone();
///     arrived.wait().await;
///     assert_eq!(inbox.borrow().got, [b"ping"]);
///     client.close();
///     server.close();
/// });
/// ```
#[derive(Clone)]
pub struct DatagramTransport {
    pub(super) inner: Rc<Inner>,
}

/// What a transport and its endpoint's task share.
pub(super) struct Inner {
    /// The socket; taken (and closed) once `connection_lost` was called.
    pub(super) sock: RefCell<Option<DatagramSocket>>,
    pub(super) state: RefCell<State>,
    protocol: Weak<RefCell<dyn DatagramProtocol>>,
    /// Where a `sendto` without an address goes, and the only address allowed (asyncio's
    /// `_address`: the remote address, connected or, with `allow_broadcast`, not).
    address: Option<SocketAddress>,
    /// The socket is connected: sends go to its peer.
    connected: bool,
    peer: Option<SocketAddress>,
    local: Option<SocketAddress>,
    /// The endpoint task's waker while it waits.
    pub(super) driver: RefCell<WakerSlot>,
    /// Datagrams ignored since the endpoint was lost (asyncio's `_conn_lost` count).
    lost_sends: LostWrites,
    /// A protocol method's panic, resumed once `connection_lost` ran.
    pub(super) panic: RefCell<Option<Box<dyn Any + Send>>>,
}

/// asyncio's `_SelectorDatagramTransport` attributes.
pub(super) struct State {
    /// Datagrams not sent yet, each with its address (`None`: the connected peer).
    pub(super) buffer: VecDeque<(Vec<u8>, Option<SocketAddress>)>,
    /// Their bytes plus [`HEADER_SIZE`] each (`_buffer_size`).
    pub(super) buffer_size: usize,
    /// `close`, `abort`, the endpoint lost (`_closing`, `_conn_lost`).
    pub(super) end: Closing,
    pub(super) flow: FlowControl,
    /// Send errors for `error_received`, which the endpoint's task calls.
    pub(super) errors: VecDeque<io::Error>,
}

impl WriteState for State {
    fn buffered(&self) -> usize {
        self.buffer_size
    }

    fn end(&mut self) -> &mut Closing {
        &mut self.end
    }

    fn flow(&mut self) -> &mut FlowControl {
        &mut self.flow
    }

    fn discard(&mut self) {
        self.buffer.clear();
        self.buffer_size = 0;
    }
}

impl State {
    /// Queues a datagram (asyncio's `_buffer.append`, `_maybe_pause_protocol`).
    fn push(&mut self, data: &[u8], to: Option<&SocketAddress>) {
        self.buffer.push_back((data.to_vec(), to.cloned()));
        self.buffer_size += data.len() + HEADER_SIZE;
        self.flow.maybe_pause(self.buffer_size);
    }
}

/// Whether two addresses are the same: IP addresses equal, or Unix addresses naming the same
/// path.
fn same_address(a: &SocketAddress, b: &SocketAddress) -> bool {
    match (a, b) {
        (SocketAddress::Inet(a), SocketAddress::Inet(b)) => a == b,
        (SocketAddress::Unix(a), SocketAddress::Unix(b)) => {
            a.as_pathname().is_some() && a.as_pathname() == b.as_pathname()
        }
        _ => false,
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

impl Inner {
    /// `address`: the remote address the endpoint was made with, if any.
    pub(super) fn new(
        sock: DatagramSocket,
        protocol: Weak<RefCell<dyn DatagramProtocol>>,
        address: Option<SocketAddress>,
    ) -> Self {
        let (peer, local) = sock.addresses();
        Inner {
            sock: RefCell::new(Some(sock)),
            state: RefCell::new(State {
                buffer: VecDeque::new(),
                buffer_size: 0,
                end: Closing::default(),
                flow: FlowControl::new(),
                errors: VecDeque::new(),
            }),
            protocol,
            address: address.or_else(|| peer.clone()),
            connected: peer.is_some(),
            peer,
            local,
            driver: RefCell::new(WakerSlot::new()),
            lost_sends: LostWrites::default(),
            panic: RefCell::new(None),
        }
    }

    pub(super) fn wake_driver(&self) {
        wake(&self.driver);
    }

    /// Calls the pending `pause_writing` / `resume_writing` on the protocol, unless one of its
    /// methods is running (then the endpoint's task calls them once it returned).
    pub(super) fn deliver_flow(&self) {
        deliver_flow(&self.protocol, &self.state, || self.wake_driver());
    }
}

impl DatagramTransport {
    /// Sends the datagram `data` to `addr`: asyncio's `transport.sendto(data, addr)`. It goes
    /// at once if the socket takes it (and nothing is queued), else it is queued and the
    /// endpoint's task sends it as the socket drains; it never waits. A queue above the
    /// high-water mark calls the protocol's [`pause_writing`](DatagramProtocol::pause_writing).
    /// An empty datagram is sent too (asyncio 3.13 and later).
    ///
    /// On an endpoint made with a remote address, `addr` is `None` or that address, and the
    /// datagram goes there. A send error (`ConnectionRefused` after an ICMP "port
    /// unreachable" on a connected socket, `EMSGSIZE`...) goes to the protocol's
    /// [`error_received`](DatagramProtocol::error_received), called by the endpoint's task
    /// (asyncio calls it inside `sendto`); the endpoint stays open and the datagram is
    /// dropped. Once the endpoint was lost (right after a `close` with nothing queued),
    /// datagrams are ignored; from the fifth on, each is reported to the loop's exception
    /// handler, where asyncio logs its warning (asyncio does so only on an endpoint with a
    /// remote address).
    ///
    /// # Errors
    /// `InvalidInput` (asyncio's `ValueError`) for an `addr` other than the remote address,
    /// no `addr` on an endpoint without one, or an address of the other family (or a Unix
    /// address with no path).
    pub fn sendto(&self, data: &[u8], addr: Option<&SocketAddress>) -> io::Result<()> {
        let inner = &*self.inner;
        let to = match (&inner.address, addr) {
            (Some(remote), Some(addr)) if !same_address(remote, addr) => {
                return Err(invalid(format!("Invalid address: must be None or {remote:?}")));
            }
            (Some(_), _) if inner.connected => None,
            (Some(remote), _) => Some(remote),
            (None, Some(addr)) => Some(addr),
            (None, None) => {
                return Err(invalid(
                    "Invalid address: an endpoint without a remote address needs one".to_string(),
                ));
            }
        };
        let mut state = inner.state.borrow_mut();
        if state.end.conn_lost {
            drop(state);
            inner.lost_sends.ignore(|ignored| {
                format!("DatagramTransport.sendto() after the endpoint was lost: {ignored} datagrams ignored")
            });
            return Ok(());
        }
        if let Some(sock) = inner.sock.borrow().as_ref() {
            sock.check_target(to)?;
            if state.buffer.is_empty() {
                match sock.try_send(data, to) {
                    Ok(_) => return Ok(()),
                    Err(err)
                        if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                    Err(err) => {
                        state.errors.push_back(err);
                        drop(state);
                        inner.wake_driver();
                        return Ok(());
                    }
                }
            }
        }
        state.push(data, to);
        drop(state);
        inner.wake_driver();
        inner.deliver_flow();
        Ok(())
    }

    /// Closes the endpoint: asyncio's `transport.close()`. Nothing more is received; the
    /// queued datagrams are sent first, then the protocol's
    /// [`connection_lost`](DatagramProtocol::connection_lost) is called with `None` (from the
    /// endpoint's task, never inside this call) and the socket is closed. Closing again does
    /// nothing.
    pub fn close(&self) {
        Closing::close_transport(&self.inner.state, || self.inner.wake_driver());
    }

    /// Closes the endpoint at once, dropping the queued datagrams: asyncio's
    /// `transport.abort()`. The protocol's [`connection_lost`](DatagramProtocol::connection_lost)
    /// is called with `None` from the endpoint's task.
    pub fn abort(&self) {
        Closing::abort_transport(&self.inner.state, || self.inner.wake_driver());
    }

    /// True once [`close`](DatagramTransport::close) or [`abort`](DatagramTransport::abort)
    /// was called or the endpoint was lost: asyncio's `is_closing()`.
    pub fn is_closing(&self) -> bool {
        self.inner.state.borrow().end.closing
    }

    /// The queued datagrams' bytes, plus 8 for each datagram: asyncio's
    /// `get_write_buffer_size()` as of Python 3.13 (with 3.14's fix, gh-135444, that takes
    /// the 8 off again when the datagram is sent).
    pub fn get_write_buffer_size(&self) -> usize {
        self.inner.state.borrow().buffered()
    }

    /// Sets the write buffer's high- and low-water marks: asyncio's
    /// `set_write_buffer_limits(high, low)`, with the defaults of
    /// [`Transport::set_write_buffer_limits`](crate::protocols::Transport::set_write_buffer_limits)
    /// (64 KiB, and a quarter of the high mark).
    ///
    /// # Errors
    /// `InvalidInput` unless `high >= low` (asyncio raises `ValueError`).
    pub fn set_write_buffer_limits(&self, high: Option<usize>, low: Option<usize>) -> io::Result<()> {
        FlowControl::set_transport_limits(&self.inner.state, high, low, || self.inner.deliver_flow())
    }

    /// The write buffer's `(low, high)` water marks: asyncio's `get_write_buffer_limits()`.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        self.inner.state.borrow().flow.limits()
    }

    /// asyncio's `get_extra_info(name)` for `"peername"` (the connected peer, if any) and
    /// `"sockname"`, read when the endpoint was made; `None` for other names.
    pub fn get_extra_info(&self, name: &str) -> Option<SocketAddress> {
        match name {
            "peername" => self.inner.peer.clone(),
            "sockname" => self.inner.local.clone(),
            _ => None,
        }
    }

    /// The local address of a UDP endpoint (`get_extra_info("sockname")`).
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        match self.inner.local {
            Some(SocketAddress::Inet(addr)) => Some(addr),
            _ => None,
        }
    }
}

impl fmt::Debug for DatagramTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.borrow();
        f.debug_struct("DatagramTransport")
            .field("sockname", &self.inner.local)
            .field("peername", &self.inner.peer)
            .field("closing", &state.end.closing)
            .field("buffered", &state.buffer.len())
            .finish()
    }
}
