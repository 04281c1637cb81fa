//! [`BufferedProtocol`]: a protocol the transport reads into directly (asyncio's
//! `asyncio.BufferedProtocol`).

use std::io;

use super::Transport;

/// The callbacks of a stream connection that hands the transport its own buffer to read into:
/// asyncio's `asyncio.BufferedProtocol`. The connection's task asks
/// [`get_buffer`](BufferedProtocol::get_buffer) for a buffer, reads the socket into it (no copy
/// from a transport's buffer), and tells [`buffer_updated`](BufferedProtocol::buffer_updated)
/// how many bytes it wrote there. Every entry point that takes a [`Protocol`](super::Protocol)
/// takes a `BufferedProtocol` too ([`create_connection`](super::create_connection),
/// [`create_server`](super::create_server)...): implement one trait or the other.
///
/// The other callbacks and their order are [`Protocol`](super::Protocol)'s (asyncio's
/// `BaseProtocol`), `buffer_updated` taking `data_received`'s place, and so is the fate of a
/// panic: one in `get_buffer` or `buffer_updated` is the connection's fatal error, as in
/// `data_received`. `get_buffer` answering an empty buffer is a fatal error too
/// (`connection_lost` gets "get_buffer() returned an empty buffer", asyncio's
/// `RuntimeError`).
///
/// `get_buffer` is called once the socket is readable, as asyncio's `_read_ready__get_buffer`
/// (on a TLS connection, on each wake of the connection's task: its decrypted bytes are not
/// the socket's readiness). It may be called without a `buffer_updated` following, when the
/// read finds no data after all (asyncio too, after a `BlockingIOError`); the buffer's
/// contents are only meaningful up to the `nbytes` of a `buffer_updated`.
///
/// ```
/// use aioloop::protocols::{create_connection, BufferedProtocol};
///
/// /// Collects everything into one growing buffer, reading into its free tail.
/// #[derive(Default)]
/// struct Collect {
///     buf: Vec<u8>,
///     len: usize,
///     done: bool,
/// }
///
/// impl BufferedProtocol for Collect {
///     fn get_buffer(&mut self, _sizehint: Option<usize>) -> &mut [u8] {
///         if self.buf.len() - self.len < 1024 {
///             self.buf.resize(self.len + 4096, 0);
///         }
///         &mut self.buf[self.len..]
///     }
///     fn buffer_updated(&mut self, nbytes: usize) {
///         self.len += nbytes;
///     }
///     fn connection_lost(&mut self, _exc: Option<std::io::Error>) {
///         self.done = true;
///     }
/// }
///
/// aioloop::run(async {
///     let listener = aioloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let (_transport, collect) = create_connection(Collect::default, addr).await.unwrap();
///     let (peer, _) = listener.accept().await.unwrap();
///     peer.write_all(&[7; 10_000]).await.unwrap();
///     drop(peer); // EOF: eof_received answers false, the transport closes
///     while !collect.borrow().done {
///         aioloop::sleep(std::time::Duration::from_millis(1)).await;
///     }
///     let collect = collect.borrow();
///     assert_eq!(&collect.buf[..collect.len], &[7; 10_000][..]);
/// });
/// ```
pub trait BufferedProtocol {
    /// The connection is made, as [`Protocol::connection_made`](super::Protocol::connection_made).
    fn connection_made(&mut self, transport: Transport) {
        let _ = transport;
    }

    /// The buffer the next read goes into; it must not be empty. `sizehint` is asyncio's
    /// `sizehint`, which its transports always pass as `-1` ("any size"): `None` here, always,
    /// for now. Any non-empty size works; a read takes at most the buffer's length.
    fn get_buffer(&mut self, sizehint: Option<usize>) -> &mut [u8];

    /// The last read wrote `nbytes` bytes (at least one) to the front of the buffer
    /// [`get_buffer`](BufferedProtocol::get_buffer) gave.
    fn buffer_updated(&mut self, nbytes: usize);

    /// The peer closed its write side, as [`Protocol::eof_received`](super::Protocol::eof_received):
    /// `true` keeps the connection open for writing, `false` (the default) closes it.
    fn eof_received(&mut self) -> bool {
        false
    }

    /// The connection is closed, as
    /// [`Protocol::connection_lost`](super::Protocol::connection_lost).
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        let _ = exc;
    }

    /// The write buffer went above its high-water mark, as
    /// [`Protocol::pause_writing`](super::Protocol::pause_writing).
    fn pause_writing(&mut self) {}

    /// The write buffer drained to its low-water mark, as
    /// [`Protocol::resume_writing`](super::Protocol::resume_writing).
    fn resume_writing(&mut self) {}
}
