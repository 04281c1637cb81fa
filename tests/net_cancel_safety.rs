//! Cancel safety of the I/O and stream methods (issue 16 item 10), as their docs state it:
//! each test cancels calls mid-way (a `wait_for` that times out, many times over while data
//! trickles in) and checks that no byte is lost or duplicated; for the methods that are not
//! cancel-safe (`read_exact`, `write_all`), it checks what their docs do guarantee. The split
//! halves and `UnixListener::accept` share these code paths (`stream_impl`, `poll_io`).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream};
use aioloop::streams::{open_connection, StreamReader, StreamWriter};
use aioloop::{sleep, spawn, wait_for};

/// A short timeout: most calls are cancelled while they wait for data.
const CANCEL_AFTER: Duration = Duration::from_micros(300);

/// A connected pair of plain TCP streams.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let connect = spawn(TcpStream::connect(listener.local_addr().unwrap()));
    let (server, _) = listener.accept().await.unwrap();
    (connect.await.unwrap().unwrap(), server)
}

/// A stream reader and writer whose peer is a plain TCP stream.
async fn stream_pair() -> (StreamReader, StreamWriter, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let connect = spawn(open_connection(listener.local_addr().unwrap()));
    let (peer, _) = listener.accept().await.unwrap();
    let (reader, writer) = connect.await.unwrap().unwrap();
    (reader, writer, peer)
}

/// `len` bytes of a pattern that does not repeat within 251 bytes.
fn pattern(len: usize) -> Vec<u8> {
    let base: Vec<u8> = (0..251u8).collect();
    let mut out = base.repeat(len / base.len() + 1);
    out.truncate(len);
    out
}

/// Sends `data` in uneven chunks with pauses between them, then shuts the write side down.
fn trickle(peer: TcpStream, data: Vec<u8>) -> aioloop::Task<TcpStream> {
    spawn(async move {
        let mut seed = 7u32;
        let mut rest = &data[..];
        while !rest.is_empty() {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let n = (1 + (seed >> 16) as usize % 97).min(rest.len());
            peer.write_all(&rest[..n]).await.unwrap();
            rest = &rest[n..];
            sleep(Duration::from_micros(u64::from(seed >> 24) * 4)).await;
        }
        peer.shutdown(std::net::Shutdown::Write).unwrap();
        peer
    })
}

/// Counts the calls a test cancelled, to check that it did cancel some.
#[derive(Default)]
struct Cancels(Cell<u32>);

impl Cancels {
    fn bump(&self) {
        self.0.set(self.0.get() + 1);
    }

    /// One try of `op` under `timeout`: `Some(value)` if it finished, `None` if the timeout
    /// cancelled it (counted); an error of the operation fails the test.
    async fn attempt<T, E: std::fmt::Display>(
        &self,
        timeout: Duration,
        op: impl std::future::Future<Output = Result<T, E>>,
    ) -> Option<T> {
        match wait_for(op, timeout).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(err)) => panic!("{err}"),
            Err(_) => {
                self.bump();
                None
            }
        }
    }

    fn assert_some(&self) {
        assert!(
            self.0.get() > 10,
            "too few cancellations to mean much: {}",
            self.0.get()
        );
    }
}

#[aioloop::test]
async fn read_is_cancel_safe() {
    let (reader, peer) = tcp_pair().await;
    let sent = pattern(20_000);
    let sender = trickle(peer, sent.clone());
    let (mut got, cancels) = (Vec::new(), Cancels::default());
    let mut buf = [0u8; 64];
    loop {
        match cancels.attempt(CANCEL_AFTER, reader.read(&mut buf)).await {
            Some(0) => break,
            Some(n) => got.extend_from_slice(&buf[..n]),
            None => {}
        }
    }
    sender.await.unwrap();
    assert_eq!(got, sent, "a cancelled read lost or duplicated bytes");
    cancels.assert_some();
}

/// `read_exact` is not cancel-safe: the bytes it read before it was cancelled are in the
/// front of `buf`, in order, and the stream goes on after them (nothing is read twice), but
/// how many there were is lost with the future.
#[aioloop::test]
async fn read_exact_cancelled_keeps_what_it_read_in_the_front_of_buf() {
    let (reader, peer) = tcp_pair().await;
    peer.write_all(b"abcde").await.unwrap();
    // The five bytes are there before the clock starts: on a loaded machine they could
    // otherwise arrive after the timeout, and nothing would have been read.
    reader.readable().await.unwrap();
    let mut buf = [0u8; 10];
    let res = wait_for(reader.read_exact(&mut buf), Duration::from_millis(50)).await;
    assert!(res.is_err(), "only 5 of 10 bytes came: the call times out");
    assert_eq!(&buf, b"abcde\0\0\0\0\0");
    peer.write_all(b"fghij").await.unwrap();
    let mut rest = [0u8; 5];
    reader.read_exact(&mut rest).await.unwrap();
    assert_eq!(&rest, b"fghij", "the stream goes on after the bytes already read");
}

/// `write_all` is not cancel-safe: when cancelled, a prefix of the buffer (of unknown length)
/// was written, in order; nothing else. `write` is cancel-safe: cancelled, it wrote nothing.
#[aioloop::test]
async fn write_all_cancelled_wrote_a_prefix_and_write_nothing() {
    let (writer, peer) = tcp_pair().await;
    let big = pattern(32 << 20);
    // The peer reads nothing yet: the socket buffers fill and write_all waits.
    let res = wait_for(writer.write_all(&big), Duration::from_millis(50)).await;
    assert!(res.is_err(), "32 MiB cannot fit in the socket buffers");
    let res = wait_for(writer.write(b"NOT SENT"), Duration::from_millis(20)).await;
    assert!(res.is_err(), "the socket buffer is still full");
    writer.shutdown(std::net::Shutdown::Write).unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match peer.read(&mut buf).await.unwrap() {
            0 => break,
            n => got.extend_from_slice(&buf[..n]),
        }
    }
    assert!(!got.is_empty() && got.len() < big.len(), "{} bytes", got.len());
    assert!(
        got[..] == big[..got.len()],
        "exactly a prefix of the buffer was written"
    );
}

#[aioloop::test]
async fn stream_reader_read_is_cancel_safe() {
    let (mut reader, _writer, peer) = stream_pair().await;
    let sent = pattern(20_000);
    let sender = trickle(peer, sent.clone());
    let (mut got, cancels) = (Vec::new(), Cancels::default());
    loop {
        match cancels.attempt(CANCEL_AFTER, reader.read(50)).await {
            Some(data) if data.is_empty() => break,
            Some(data) => got.extend(data),
            None => {}
        }
    }
    sender.await.unwrap();
    assert_eq!(got, sent);
    cancels.assert_some();
}

#[aioloop::test]
async fn readexactly_is_cancel_safe() {
    let (mut reader, _writer, peer) = stream_pair().await;
    let sent = pattern(7 * 3_000);
    let sender = trickle(peer, sent.clone());
    let (mut got, cancels) = (Vec::new(), Cancels::default());
    while got.len() < sent.len() {
        if let Some(data) = cancels.attempt(CANCEL_AFTER, reader.readexactly(7)).await {
            assert_eq!(data.len(), 7);
            got.extend(data);
        }
    }
    sender.await.unwrap();
    assert_eq!(got, sent);
    cancels.assert_some();
}

#[aioloop::test]
async fn read_to_eof_is_cancel_safe() {
    let (mut reader, _writer, peer) = stream_pair().await;
    let sent = pattern(20_000);
    let sender = trickle(peer, sent.clone());
    let cancels = Cancels::default();
    let got = loop {
        let timeout = Duration::from_millis(2);
        if let Some(data) = cancels.attempt(timeout, reader.read_to_eof()).await {
            break data;
        }
    };
    sender.await.unwrap();
    assert_eq!(got, sent);
    assert!(cancels.0.get() > 0, "never cancelled");
}

/// Lines of varying length, each ending with `end`.
fn lines(end: &[u8]) -> Vec<Vec<u8>> {
    (0..1_000)
        .map(|i| {
            let mut line = format!("line {i} {}", "x".repeat(i % 37)).into_bytes();
            line.extend_from_slice(end);
            line
        })
        .collect()
}

#[aioloop::test]
async fn readline_is_cancel_safe() {
    let (mut reader, _writer, peer) = stream_pair().await;
    let sent = lines(b"\n");
    let sender = trickle(peer, sent.concat());
    let (mut got, cancels) = (Vec::new(), Cancels::default());
    loop {
        match cancels.attempt(CANCEL_AFTER, reader.readline()).await {
            Some(line) if line.is_empty() => break,
            Some(line) => got.push(line),
            None => {}
        }
    }
    sender.await.unwrap();
    assert_eq!(got, sent);
    cancels.assert_some();
}

#[aioloop::test]
async fn readuntil_is_cancel_safe() {
    let (mut reader, _writer, peer) = stream_pair().await;
    let sent = lines(b"\r\n");
    let sender = trickle(peer, sent.concat());
    let (mut got, cancels) = (Vec::new(), Cancels::default());
    while got.len() < sent.len() {
        if let Some(line) = cancels.attempt(CANCEL_AFTER, reader.readuntil(b"\r\n")).await {
            got.push(line);
        }
    }
    sender.await.unwrap();
    assert_eq!(got, sent);
    cancels.assert_some();
}

/// Cancelling `drain` loses nothing: the buffered bytes are still sent, in order.
#[aioloop::test]
async fn drain_is_cancel_safe() {
    let (_reader, writer, peer) = stream_pair().await;
    writer.set_write_buffer_limits(4096, 1024);
    let chunk = pattern(64 << 10);
    let cancels = Cancels::default();
    // The peer does not read yet: the socket fills, the writer buffers, drain waits.
    for _ in 0..100 {
        writer.write(&chunk);
        cancels.attempt(Duration::from_micros(100), writer.drain()).await;
    }
    writer.close();
    let expected = chunk.repeat(100);
    let mut got = Vec::with_capacity(expected.len());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match peer.read(&mut buf).await.unwrap() {
            0 => break,
            n => got.extend_from_slice(&buf[..n]),
        }
    }
    writer.wait_closed().await.unwrap();
    assert!(got == expected, "got {} of {} bytes", got.len(), expected.len());
    cancels.assert_some();
}

/// Cancelling `accept` loses no connection: one that arrives meanwhile waits in the backlog.
#[aioloop::test]
async fn accept_is_cancel_safe() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    const CLIENTS: u8 = 50;
    let clients = spawn(async move {
        for i in 0..CLIENTS {
            let client = TcpStream::connect(addr).await.unwrap();
            client.write_all(&[i]).await.unwrap();
            sleep(Duration::from_micros(200 + u64::from(i % 5) * 300)).await;
        }
    });
    let cancels = Rc::new(Cancels::default());
    let mut seen = Vec::new();
    while seen.len() < usize::from(CLIENTS) {
        if let Some((stream, _)) = cancels.attempt(CANCEL_AFTER, listener.accept()).await {
            let mut id = [0u8];
            stream.read_exact(&mut id).await.unwrap();
            seen.push(id[0]);
        }
    }
    clients.await.unwrap();
    seen.sort_unstable();
    assert_eq!(seen, (0..CLIENTS).collect::<Vec<_>>());
    cancels.assert_some();
}
