//! [`sendfile()`]: asyncio's `loop.sendfile(transport, file, offset, count, fallback=True)` on
//! a protocol [`Transport`], over the socket level's mechanism (runtime/net/sendfile.rs).
//!
//! As asyncio's `_sendfile_native` (selector transports): reading is paused for the call
//! (and resumed after if it was on), the call waits until the transport's write buffer is
//! empty, then the socket sends from the file through `sendfile(2)`, lent by the transport for
//! each poll; writes meanwhile are refused ("unable to write; sendfile is in progress"). A TLS
//! transport, a file `sendfile(2)` cannot send and other systems take asyncio's
//! `_sendfile_fallback`: chunks read on the loop's blocking pool and written through
//! [`Transport::write`], each once the protocol is not paused for writing (the transport's
//! buffer at most above its high-water mark by one chunk).

use std::fs::File;
use std::future::poll_fn;
use std::io;
use std::task::Poll;

use super::sock::IoKind;
use super::transport::{Inner, Transport};
use crate::net::sendfile::{self, FallbackReader, NativeSend};

/// Sends `count` bytes of `file` from `offset` (to its end if `None`) over `transport`, after
/// what it buffered: asyncio's `loop.sendfile(transport, file, offset, count)`. Returns how
/// many bytes were sent (fewer than `count` if the file ends first) and leaves the file's
/// position right after them.
///
/// On a plain TCP or Unix transport (Linux) the file goes through `sendfile(2)`: reading is
/// paused meanwhile (and resumed after if it was on), the call waits for the transport's
/// buffer to empty first, and [`Transport::write`] fails with `ResourceBusy` until it ends. A
/// TLS transport (asyncio's SSL transports support only this), a file `sendfile(2)` cannot send
/// (a pipe) and other systems take the fallback: chunks read on the blocking pool and written
/// through the transport, each once the protocol is not paused for writing (the protocol's
/// own `pause_writing` / `resume_writing` are called meanwhile, where asyncio's swap of
/// protocols hides them).
///
/// ```
/// use std::io::Write;
/// use aioloop::protocols::{create_connection, sendfile, Protocol, Transport};
///
/// struct Quiet;
/// impl Protocol for Quiet {}
///
/// aioloop::run(async {
///     let listener = aioloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let (transport, _protocol) = create_connection(|| Quiet, addr).await.unwrap();
///     let (peer, _) = listener.accept().await.unwrap();
///
///     let path = std::env::temp_dir().join(format!("aioloop-doc-proto-sendfile-{}", std::process::id()));
///     let mut file = std::fs::File::options().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
///     std::fs::remove_file(&path).unwrap();
///     file.write_all(b"0123456789").unwrap();
///
///     transport.write(b"<").unwrap();
///     assert_eq!(sendfile(&transport, &file, 3, Some(4)).await.unwrap(), 4);
///     transport.write(b">").unwrap();
///     let mut buf = [0u8; 6];
///     peer.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"<3456>");
///     transport.close();
/// });
/// ```
///
/// # Errors
/// `BrokenPipe` ("Transport is closing") on a closing transport; `Unsupported` on a pipe
/// transport ("sendfile is not supported"); `ResourceBusy` while another sendfile of the
/// transport runs; `ConnectionReset` if the connection ends while the call waits;
/// `InvalidInput` for a `count` of `Some(0)`; a read's or a send's error.
///
/// # Cancel safety
/// The file's position is set as the bytes go out (the fallback's: as the transport takes
/// them), so a new call from the position goes on where a dropped one stopped; reading is
/// resumed and writes are accepted again when the call is dropped.
pub async fn sendfile(
    transport: &Transport,
    file: &File,
    offset: u64,
    count: Option<u64>,
) -> io::Result<u64> {
    sendfile_with(transport, file, offset, count, true).await
}

/// [`sendfile()`] with asyncio's `fallback=` argument: with `false`, a file the native path
/// cannot send, or any file on a TLS transport, is an error of kind `Unsupported` (asyncio's
/// `SendfileNotAvailableError`) and nothing of it is sent.
///
/// # Errors
/// As [`sendfile()`]'s.
pub async fn sendfile_with(
    transport: &Transport,
    file: &File,
    offset: u64,
    count: Option<u64>,
    fallback: bool,
) -> io::Result<u64> {
    sendfile::check_count(count)?;
    let inner = &*transport.inner;
    if transport.is_closing() {
        return Err(io::Error::new(io::ErrorKind::BrokenPipe, "Transport is closing"));
    }
    if inner.kind() != IoKind::Stream {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "sendfile is not supported for a pipe transport",
        ));
    }
    if let Some(refused) = inner.sendfile_refused() {
        return Err(refused);
    }
    let _reading = PausedReading::begin(transport);
    if !inner.is_tls() {
        match native(inner, file, offset, count).await {
            Err(err) if fallback && sendfile::is_not_available(&err) => {}
            done => return done,
        }
    } else if !fallback {
        return Err(sendfile::not_available(
            "TLS transports support only the fallback",
        ));
    }
    let mut reader = FallbackReader::new(file, offset, count)?;
    loop {
        let chunk = reader.chunk().await?;
        if chunk.is_empty() {
            return Ok(reader.sent());
        }
        // asyncio's `_SendfileFallbackProtocol.drain`.
        if transport.is_closing() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "Connection closed by peer",
            ));
        }
        wait_until(inner, false).await?;
        transport.write(chunk)?;
        let n = chunk.len();
        reader.consume(n)?;
    }
}

/// asyncio's `_sendfile_native`: waits for the buffer to empty, then sends from the file
/// through the transport's socket, writes refused meanwhile.
async fn native(inner: &Inner, file: &File, offset: u64, count: Option<u64>) -> io::Result<u64> {
    let mut send = NativeSend::new(file, offset, count)?;
    // asyncio's `_make_empty_waiter`.
    wait_until(inner, true).await?;
    let _busy = NativeBusy::begin(inner);
    poll_fn(|cx| {
        inner
            .poll_sendfile(cx, &mut send, file)
            .unwrap_or(Poll::Ready(Err(lost())))
    })
    .await
}

/// Waits until the transport's write buffer is empty (`empty`) or writing is not paused;
/// `ConnectionReset` if the connection ends first (asyncio's empty waiter gets "Connection is
/// closed by peer").
async fn wait_until(inner: &Inner, empty: bool) -> io::Result<()> {
    match poll_fn(|cx| inner.poll_for_sendfile(cx, empty)).await {
        true => Ok(()),
        false => Err(lost()),
    }
}

fn lost() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "Connection is closed by peer")
}

/// Reading paused for the call, resumed at its end (also when it is dropped) if it was on.
struct PausedReading<'a> {
    transport: &'a Transport,
    resume: bool,
}

impl<'a> PausedReading<'a> {
    fn begin(transport: &'a Transport) -> Self {
        let resume = transport.is_reading();
        transport.pause_reading();
        PausedReading { transport, resume }
    }
}

impl Drop for PausedReading<'_> {
    fn drop(&mut self) {
        if self.resume {
            self.transport.resume_reading();
        }
    }
}

/// The native send owns the socket: [`Transport::write`] refuses until it ends.
struct NativeBusy<'a>(&'a Inner);

impl<'a> NativeBusy<'a> {
    fn begin(inner: &'a Inner) -> Self {
        inner.set_sendfile(true);
        NativeBusy(inner)
    }
}

impl Drop for NativeBusy<'_> {
    fn drop(&mut self) {
        self.0.set_sendfile(false);
    }
}
