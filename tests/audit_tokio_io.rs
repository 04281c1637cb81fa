//! Audit against tokio's tests/tcp_shutdown.rs, io_read_buf.rs, io_write_all_buf.rs and
//! io_copy_bidirectional.rs, with the `tokio-io` feature: tokio's `AsyncRead`/`AsyncWrite` on
//! aioloop's sockets behave as on tokio's own, for what tests/net_tokio_io.rs does not assert
//! already. Each test is named after the tokio test it ports.
#![cfg(feature = "tokio-io")]

use std::io::IoSlice;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream, UnixStream};
use aioloop::sync::oneshot;
use tokio::io::{self, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A connected pair of TCP streams on the loopback interface.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = aioloop::spawn(async move { TcpStream::connect(addr).await.unwrap() });
    let (server, _) = listener.accept().await.unwrap();
    (client.await.unwrap(), server)
}

/// tcp_shutdown.rs `shutdown`: after the client shuts its write side down, the server's
/// `io::copy` from its read half to its write half ends with 0 bytes, and the client, after the
/// server's own shutdown, reads EOF.
#[aioloop::test]
async fn shutdown() {
    let (mut client, server) = tcp_pair().await;
    let handle = aioloop::spawn(async move {
        AsyncWriteExt::shutdown(&mut client).await.unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(client.read(&mut buf).await.unwrap(), 0);
    });
    let (mut rd, mut wr) = server.into_split();
    assert_eq!(io::copy(&mut rd, &mut wr).await.unwrap(), 0);
    AsyncWriteExt::shutdown(&mut wr).await.unwrap();
    handle.await.unwrap();
}

/// tcp_shutdown.rs `shutdown_after_tcp_reset`: shutting down a stream whose peer reset the
/// connection is `Ok` (or `ConnectionReset`), not another error.
#[aioloop::test]
async fn shutdown_after_tcp_reset() {
    let (mut client, server) = tcp_pair().await;
    server.set_linger(Some(Duration::ZERO)).unwrap();
    drop(server);
    aioloop::sleep(Duration::from_millis(10)).await;
    match AsyncWriteExt::shutdown(&mut client).await {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("unexpected error after reset: {e:?}"),
    }
}

/// tcp_shutdown.rs `shutdown_multiple_calls`: shutting down is idempotent.
#[aioloop::test]
async fn shutdown_multiple_calls() {
    let (mut client, mut server) = tcp_pair().await;
    for _ in 0..3 {
        AsyncWriteExt::shutdown(&mut client).await.unwrap();
    }
    AsyncWriteExt::shutdown(&mut server).await.unwrap();
}

/// io_read_buf.rs `read_buf`: `read_buf` appends to the buffer's spare capacity and says how
/// much it read; at EOF it reads 0 and leaves the buffer alone.
#[aioloop::test]
async fn read_buf() {
    let (mut a, b) = UnixStream::pair().unwrap();
    b.write_all(b"hello world").await.unwrap();
    drop(b);
    let mut buf = Vec::with_capacity(64);
    buf.extend_from_slice(b">");
    let mut total = 0;
    loop {
        let n = a.read_buf(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(total, 11);
    assert_eq!(buf, b">hello world");
}

/// `poll_write_vectored` (tokio's `write_vectored`): the slices go out in order, and
/// `is_write_vectored` says the stream writes them in one call.
#[aioloop::test]
async fn write_vectored_sends_the_slices_in_order() {
    let (mut client, server) = tcp_pair().await;
    assert!(client.is_write_vectored());
    let slices = [IoSlice::new(b"hello "), IoSlice::new(b""), IoSlice::new(b"world")];
    let mut sent = 0;
    while sent < 11 {
        // Small enough for one loopback send; loop anyway, as the trait allows a short write.
        let n = client.write_vectored(&slices).await.unwrap();
        assert!(n > 0);
        sent += n;
        assert_eq!(sent, 11, "a short vectored write of 11 bytes on a fresh socket");
    }
    let mut got = [0u8; 11];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"hello world");
}

/// io_write_all_buf.rs `write_all_buf`: a `Buf` made of two chunks is written whole.
#[aioloop::test]
async fn write_all_buf() {
    use bytes::Buf;
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let mut chained = Buf::chain(&b"hello "[..], &b"world"[..]);
    a.write_all_buf(&mut chained).await.unwrap();
    assert!(!chained.has_remaining());
    drop(a);
    let mut got = Vec::new();
    b.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"hello world");
}

/// io_copy_bidirectional.rs `test_basic_transfer` and `test_transfer_after_close`: tokio's
/// `copy_bidirectional` between two aioloop streams relays both ways, passes one side's
/// shutdown on to the other, and reports the byte counts.
#[aioloop::test]
async fn copy_bidirectional_between_aioloop_streams() {
    let (mut left_outer, mut left_inner) = UnixStream::pair().unwrap();
    let (mut right_inner, mut right_outer) = tcp_pair().await;
    let (done_tx, done_rx) = oneshot::channel();
    let relay = aioloop::spawn(async move {
        let counts = io::copy_bidirectional(&mut left_inner, &mut right_inner)
            .await
            .unwrap();
        let _ = done_tx.send(());
        counts
    });
    left_outer.write_all(b"ping").await.unwrap();
    let mut got = [0u8; 4];
    right_outer.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"ping");
    right_outer.write_all(b"pong!").await.unwrap();
    let mut got = [0u8; 5];
    left_outer.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"pong!");
    // One side closes: the other sees EOF after the bytes still in flight.
    left_outer.write_all(b"bye").await.unwrap();
    AsyncWriteExt::shutdown(&mut left_outer).await.unwrap();
    let mut rest = Vec::new();
    right_outer.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, b"bye");
    AsyncWriteExt::shutdown(&mut right_outer).await.unwrap();
    done_rx.await.unwrap();
    assert_eq!(relay.await.unwrap(), (7, 5));
}
