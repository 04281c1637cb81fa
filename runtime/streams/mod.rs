//! asyncio's streams: the high-level API for network connections.
//!
//! | asyncio | aioloop |
//! |---|---|
//! | `open_connection(host, port)` | [`open_connection`]`(addr) -> (StreamReader, StreamWriter)` |
//! | `open_connection(host, port, happy_eyeballs_delay=d, interleave=n, local_addr=a)` | [`open_connection_with`]`(addr, `[`ConnectOptions`]`::new().happy_eyeballs_delay(d).interleave(n).local_addr(a))` |
//! | `start_server(cb, host, port)` | [`start_server`]`(handler, addr) -> Server` |
//! | `open_unix_connection`, `start_unix_server` | [`open_unix_connection`], [`start_unix_server`] |
//! | `start_server(cb, host, port, sock=, family=, backlog=, reuse_address=, reuse_port=, keep_alive=, start_serving=)`, `start_server(cb, [host1, host2], port)`, `start_server(cb, None, port)`, `start_unix_server(cb, path, ...)` | [`start_server_with`]`(handler, `[`ServerOptions`](crate::net::ServerOptions)`::new().addr(addr)` (again for each host) or `.port(p)` or `.path(p)` or `.sock(s)`, `.family(f).backlog(n).reuse_port(b).keep_alive(b).start_serving(b))`; `Server.sockets` is [`Server::local_addrs`] |
//! | `StreamReader.read/readline/readexactly/readuntil/at_eof` | [`StreamReader`], same names |
//! | `readuntil((sep1, sep2))` (3.13) | [`StreamReader::readuntil_any`]`(&[sep1, sep2])` |
//! | `async for line in reader` | `while let Some(line) = reader.`[`next_line`](StreamReader::next_line)`().await` |
//! | `StreamWriter.write/drain/close/wait_closed` | [`StreamWriter`], same names |
//! | `Server.close/wait_closed/serve_forever/start_serving/is_serving/close_clients/abort_clients` | [`Server`], same names |
//! | `writer.get_extra_info('peername')`, `('sockname')` | [`StreamWriter::peer_addr`], [`local_addr`](StreamWriter::local_addr) (TCP); [`peer_unix_addr`](StreamWriter::peer_unix_addr), [`local_unix_addr`](StreamWriter::local_unix_addr) (Unix) |
//! | `open_connection(..., ssl=ctx)`, `start_server(..., ssl=ctx)` (feature `tls`) | `open_connection_tls`, `start_server_tls`, `open_unix_connection_tls`, `start_unix_server_tls`, `start_server_tls_with`, `StreamWriter::tls_info` (see `aioloop::tls`) |
//! | `IncompleteReadError`, `LimitOverrunError` | [`IncompleteReadError`], [`LimitOverrunError`] in [`StreamError`] |
//!
//! ```
//! use aioloop::streams::{open_connection, start_server, StreamError};
//!
//! aioloop::run(async {
//!     let server = start_server(
//!         |mut reader, writer| async move {
//!             let name = reader.readuntil(b"\0").await.unwrap();
//!             writer.write(b"hello, ");
//!             writer.write(&name[..name.len() - 1]);
//!             writer.close();
//!         },
//!         "127.0.0.1:0",
//!     )
//!     .await
//!     .unwrap();
//!     let (mut reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
//!     writer.write(b"loop\0");
//!     writer.drain().await.unwrap();
//!     let greeting = reader.readexactly(11).await.unwrap();
//!     assert_eq!(greeting, b"hello, loop");
//!     match reader.readexactly(1).await {
//!         Err(StreamError::IncompleteRead(err)) => assert!(err.partial.is_empty()),
//!         other => panic!("expected EOF, got {other:?}"),
//!     }
//!     assert!(reader.at_eof());
//! });
//! ```

mod error;
mod reader;
mod server;
#[cfg(feature = "tls")]
mod tls;
mod writer;

use std::io;
use std::net::Shutdown;
use std::path::Path;
use std::rc::Weak;

pub use error::{IncompleteReadError, LimitOverrunError, StreamError};
pub use reader::StreamReader;
pub use server::{start_server, start_server_with, start_unix_server, Server};
#[cfg(feature = "tls")]
pub use tls::{
    open_connection_tls, open_unix_connection_tls, start_server_tls, start_server_tls_with,
    start_unix_server_tls,
};
pub use writer::StreamWriter;

use crate::net::{ConnectOptions, TcpStream, ToSocketAddrs, UnixStream};

/// asyncio's default limit of `readuntil` / `readline` (64 KiB).
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// Connects to `addr` and returns a reader and a writer: asyncio's `open_connection`.
/// `TCP_NODELAY` is set, as asyncio does. A host name is looked up on the loop's blocking pool,
/// as asyncio does in its default executor (see [`ToSocketAddrs`]).
///
/// # Panics
/// If no loop is running on this thread.
pub async fn open_connection(addr: impl ToSocketAddrs) -> io::Result<(StreamReader, StreamWriter)> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (reader, writer, _) = tcp_pair(stream);
    Ok((reader, writer))
}

/// [`open_connection`] with options: asyncio's `open_connection(host, port,
/// happy_eyeballs_delay=..., interleave=...)`. The addresses `addr` resolves to are tried as
/// [`TcpStream::connect_with`] tries them: one after another by default, or with Happy
/// Eyeballs (RFC 8305) given a delay, the first connection made winning and the other attempts
/// closed. `TCP_NODELAY` is set, as asyncio does.
///
/// ```
/// use std::time::Duration;
/// use aioloop::net::ConnectOptions;
/// use aioloop::streams::{open_connection_with, start_server};
///
/// aioloop::run(async {
///     let server = start_server(|_reader, writer| async move { writer.write(b"hi") }, "127.0.0.1:0")
///         .await
///         .unwrap();
///     let port = server.local_addr().unwrap().port();
///     let options = ConnectOptions::new().happy_eyeballs_delay(Duration::from_millis(250));
///     let (mut reader, _writer) = open_connection_with(("localhost", port), options).await.unwrap();
///     assert_eq!(reader.readexactly(2).await.unwrap(), b"hi");
/// });
/// ```
///
/// # Panics
/// If no loop is running on this thread.
pub async fn open_connection_with(
    addr: impl ToSocketAddrs,
    options: ConnectOptions,
) -> io::Result<(StreamReader, StreamWriter)> {
    let stream = TcpStream::connect_with(addr, options).await?;
    stream.set_nodelay(true)?;
    let (reader, writer, _) = tcp_pair(stream);
    Ok((reader, writer))
}

/// Connects to the Unix-domain socket at `path`: asyncio's `open_unix_connection`.
///
/// # Panics
/// If no loop is running on this thread.
pub async fn open_unix_connection(path: impl AsRef<Path>) -> io::Result<(StreamReader, StreamWriter)> {
    let (reader, writer, _) = unix_pair(UnixStream::connect(path).await?);
    Ok((reader, writer))
}

/// A connection's socket as a server sees it, to close it under its handler
/// ([`Server::close_clients`], [`Server::abort_clients`]): shut down, not closed, since the
/// handler's reader and writer still hold it.
pub(crate) trait Socket {
    fn shutdown(&self, how: Shutdown);
    /// Drops what the socket took and did not send, and shuts it down both ways at once.
    fn abort(&self);
}

impl Socket for TcpStream {
    fn shutdown(&self, how: Shutdown) {
        let _ = TcpStream::shutdown(self, how); // not connected any more: nothing to do
    }

    fn abort(&self) {
        let _ = TcpStream::abort(self);
    }
}

impl Socket for UnixStream {
    fn shutdown(&self, how: Shutdown) {
        let _ = UnixStream::shutdown(self, how);
    }

    fn abort(&self) {
        let _ = UnixStream::abort(self);
    }
}

/// A reader and a writer over `stream`, paired (see [`StreamWriter::drain`]), and a handle on
/// the socket that does not keep it open.
pub(crate) fn tcp_pair(stream: TcpStream) -> (StreamReader, StreamWriter, Weak<dyn Socket>) {
    let peer = stream.peer_addr().ok();
    let local = stream.local_addr().ok();
    let (read, write) = stream.into_split();
    let shared = write.downgrade();
    let socket: Weak<dyn Socket> = shared.clone();
    let writer = StreamWriter::with_addrs(write, peer, local);
    writer.set_socket(&socket);
    writer.set_native_sendfile(shared);
    (StreamReader::paired(read, writer.link()), writer, socket)
}

/// [`tcp_pair`] for a Unix stream.
pub(crate) fn unix_pair(stream: UnixStream) -> (StreamReader, StreamWriter, Weak<dyn Socket>) {
    let peer = stream.peer_addr().ok();
    let local = stream.local_addr().ok();
    let (read, write) = stream.into_split();
    let shared = write.downgrade();
    let socket: Weak<dyn Socket> = shared.clone();
    let writer = StreamWriter::with_unix_addrs(write, peer, local);
    writer.set_socket(&socket);
    writer.set_native_sendfile(shared);
    (StreamReader::paired(read, writer.link()), writer, socket)
}
