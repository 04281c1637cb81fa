//! asyncio's low-level Transports and Protocols API for stream sockets and pipes, and its
//! datagram endpoints (UDP and Unix-domain datagrams: [`create_datagram_endpoint`]).
//!
//! A [`Protocol`] is a user type whose methods the connection calls (`connection_made`,
//! `data_received`, `eof_received`, `connection_lost`, `pause_writing`, `resume_writing`); a
//! [`Transport`] is the handle it writes and controls the connection through (`write`,
//! `write_eof`, `close`, `abort`, `pause_reading`, write buffer limits...). Each connection is
//! driven by one task of the loop, which reads, calls the protocol and sends what the
//! transport buffered. The call order and the transport's semantics are those of asyncio's
//! `_SelectorSocketTransport`. A pipe ([`connect_read_pipe`], [`connect_write_pipe`]) is
//! another kind of socket under the same [`Transport`], with asyncio's pipe differences (see
//! those functions).
//!
//! | asyncio | aioloop |
//! |---|---|
//! | `loop.create_connection(factory, host, port)` | [`create_connection`]`(factory, addr) -> (Transport, Rc<RefCell<P>>)` |
//! | `create_connection(..., happy_eyeballs_delay=d, interleave=n, local_addr=a, family=f)` | [`create_connection_with`]`(factory, addr, ConnectOptions::new()...)` |
//! | `loop.create_unix_connection(factory, path)` | [`create_unix_connection`] |
//! | `loop.connect_accepted_socket(factory, sock)` | [`connect_accepted_socket`] |
//! | `loop.create_server(factory, host, port)` | [`create_server`]`(factory, addr) -> ProtocolServer` |
//! | `loop.create_unix_server(factory, path)` | [`create_unix_server`] |
//! | `create_server(factory, host, port, sock=, family=, backlog=, reuse_address=, reuse_port=, keep_alive=, start_serving=)` (`host` a list, or `None`), `create_unix_server(factory, path, ...)` | [`create_server_with`]`(factory, `[`ServerOptions`](crate::net::ServerOptions)`::new().addr(addr)` (again for each host) or `.port(p)` or `.path(p)` or `.sock(s)`, ...)`; [`ProtocolServer::start_serving`]; `Server.sockets` is [`ProtocolServer::local_addrs`] |
//! | `asyncio.Protocol` | [`Protocol`] (a trait; every method has a default) |
//! | `loop.connect_read_pipe(factory, pipe)` | [`connect_read_pipe`]`(factory, fd) -> (Transport, Rc<RefCell<P>>)` |
//! | `loop.connect_write_pipe(factory, pipe)` | [`connect_write_pipe`] |
//! | `asyncio.BufferedProtocol` | [`BufferedProtocol`] (`get_buffer`, `buffer_updated`); every entry point takes either kind ([`AnyProtocol`]) |
//! | `loop.create_datagram_endpoint(factory, local_addr=..., remote_addr=...)` | [`create_datagram_endpoint`]`(factory, DatagramOptions) -> (DatagramTransport, Rc<RefCell<P>>)` |
//! | `create_datagram_endpoint(..., family=AF_UNIX)` with paths | [`create_unix_datagram_endpoint`] |
//! | `create_datagram_endpoint(factory, sock=sock)` | [`datagram_endpoint_from_socket`] |
//! | `asyncio.DatagramProtocol`, `DatagramTransport` | [`DatagramProtocol`], [`DatagramTransport`] |
//! | `loop.subprocess_exec(factory, *args)` | [`subprocess_exec`]`(factory, Command) -> (SubprocessTransport, Rc<RefCell<P>>)` (unconfigured streams piped) |
//! | `loop.subprocess_shell(factory, cmd)` | [`subprocess_shell`]`(factory, &str)` (`/bin/sh -c cmd`) |
//! | `asyncio.SubprocessProtocol`, `SubprocessTransport` | [`SubprocessProtocol`] (`pipe_data_received(fd, data)`...), [`SubprocessTransport`] (`get_pipe_transport(fd)`, `get_returncode`, signals, `close`) |
//! | `transport.get_extra_info("peername")` | [`Transport::get_extra_info`], [`Transport::peer_addr`] |
//! | `create_connection(..., ssl=ctx, server_hostname=name, ssl_handshake_timeout=t)` (feature `tls`) | `create_connection_tls(factory, addr, &ClientTls)`, `create_unix_connection_tls` |
//! | `create_server(..., ssl=ctx)`, `create_unix_server(..., ssl=ctx)`, `connect_accepted_socket(..., ssl=ctx)` (feature `tls`) | `create_server_tls(factory, addr, ServerTls)`, `create_unix_server_tls`, `create_server_tls_with(factory, ServerTls, ServerOptions)`, `connect_accepted_socket_tls` |
//! | `transport.get_extra_info("ssl_object")`, `("peercert")`, `("cipher")` (feature `tls`) | `Transport::tls_info` → `aioloop::tls::TlsInfo` |
//! | `await loop.start_tls(transport, protocol, ctx, server_hostname=name)`, `server_side=True` (feature `tls`) | `start_tls(&transport, &ClientTls).await -> io::Result<Transport>` (the transport's own protocol goes on), `start_tls_server(&transport, &ServerTls)` |
//!
//! Differences: the protocol is `&mut self` methods on a user type, shared with the
//! connection's task as `Rc<RefCell<P>>` (hold no borrow of it across an `await`); an
//! exception in asyncio (`write` after `write_eof`, bad limits) is an `io::Error` of kind
//! `InvalidInput`; a `pause_writing` triggered by a write inside another protocol method is
//! called once that method returned, not inside the write; `get_buffer`'s `sizehint` is an
//! `Option` (`None` for asyncio's `-1`, which is all asyncio's transports pass).
//!
//! ```
//! use std::cell::RefCell;
//! use std::rc::Rc;
//! use aioloop::protocols::{create_connection, create_server, Protocol, Transport};
//!
//! /// Answers each chunk with its length, and half-closes like the peer.
//! struct Counter(Option<Transport>);
//! impl Protocol for Counter {
//!     fn connection_made(&mut self, transport: Transport) {
//!         self.0 = Some(transport);
//!     }
//!     fn data_received(&mut self, data: &[u8]) {
//!         let reply = data.len().to_string();
//!         self.0.as_ref().unwrap().write(reply.as_bytes()).unwrap();
//!     }
//!     fn eof_received(&mut self) -> bool {
//!         self.0.as_ref().unwrap().close();
//!         true
//!     }
//! }
//!
//! #[derive(Default)]
//! struct Client {
//!     got: Vec<u8>,
//!     done: Rc<aioloop::sync::Event>,
//! }
//! impl Protocol for Client {
//!     fn data_received(&mut self, data: &[u8]) {
//!         self.got.extend_from_slice(data);
//!     }
//!     fn connection_lost(&mut self, exc: Option<std::io::Error>) {
//!         assert!(exc.is_none());
//!         self.done.set();
//!     }
//! }
//!
//! aioloop::run(async {
//!     let server = create_server(|| Counter(None), "127.0.0.1:0").await.unwrap();
//!     let (transport, client) =
//!         create_connection(Client::default, server.local_addr().unwrap()).await.unwrap();
//!     transport.write(b"12345").unwrap();
//!     transport.write_eof().unwrap();
//!     let done = client.borrow().done.clone();
//!     done.wait().await;
//!     assert_eq!(client.borrow().got, b"5");
//!     server.close();
//!     server.wait_closed().await;
//! });
//! ```

mod any;
mod buffered;
mod callback;
mod closing;
mod connect;
mod datagram;
mod driver;
mod flow;
mod lost_writes;
mod pipe;
mod protocol;
mod sendfile;
mod server;
mod sock;
mod subprocess;
mod task;
#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "tls")]
mod tls_socket;
mod transport;
#[cfg(feature = "tls")]
mod upgrade;
mod write_state;

pub use any::{AnyProtocol, Buffered, Plain};
pub use buffered::BufferedProtocol;
pub use connect::{
    connect_accepted_socket, create_connection, create_connection_with, create_unix_connection,
};
pub use datagram::{
    create_datagram_endpoint, create_unix_datagram_endpoint, datagram_endpoint_from_socket, DatagramOptions,
    DatagramProtocol, DatagramSocket, DatagramTransport,
};
pub use pipe::{connect_read_pipe, connect_write_pipe};
pub use protocol::Protocol;
pub use sendfile::{sendfile, sendfile_with};
pub use server::{create_server, create_server_with, create_unix_server, ProtocolServer};
pub use sock::StreamSocket;
pub use subprocess::{subprocess_exec, subprocess_shell, SubprocessProtocol, SubprocessTransport};
#[cfg(feature = "tls")]
pub use tls::{
    connect_accepted_socket_tls, create_connection_tls, create_server_tls, create_server_tls_with,
    create_unix_connection_tls, create_unix_server_tls,
};
pub use transport::{Transport, DEFAULT_HIGH_WATER};
#[cfg(feature = "tls")]
pub use upgrade::{start_tls, start_tls_server};

/// A socket address as [`Transport::get_extra_info`] and [`DatagramTransport::get_extra_info`]
/// give it (asyncio's `peername` and `sockname`), as
/// [`DatagramProtocol::datagram_received`] names a sender and [`DatagramTransport::sendto`] a
/// destination: an IP address for TCP and UDP, a path (or nothing) for Unix sockets; and a
/// pipe transport's `pipe`.
#[derive(Debug, Clone)]
pub enum SocketAddress {
    /// A TCP connection's or a UDP socket's address.
    Inet(std::net::SocketAddr),
    /// A Unix-domain socket's address.
    Unix(std::os::unix::net::SocketAddr),
    /// Not an address: a pipe transport's descriptor, asyncio's `pipe` extra info
    /// ([`connect_read_pipe`], [`connect_write_pipe`]); open until `connection_lost`.
    Pipe(std::os::fd::RawFd),
}

impl From<std::net::SocketAddr> for SocketAddress {
    fn from(addr: std::net::SocketAddr) -> Self {
        SocketAddress::Inet(addr)
    }
}
