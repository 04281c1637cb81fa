//! Audit against tokio's tests/io_*.rs with the `tokio-io` feature, where aioloop's sockets are
//! the I/O: tokio's `AsyncRead`/`AsyncWrite` extension methods and utilities over aioloop
//! streams behave as over tokio's own. io_mem_stream.rs's tests run on a `UnixStream` pair
//! where tokio has its in-memory `duplex`; io_split.rs's `method_delegation` on tokio's `split`
//! of an aioloop stream; io_copy_bidirectional.rs's `blocking_one_side_does_not_block_other`
//! between TCP streams (its `test_basic_transfer` and `test_transfer_after_close` are in
//! tests/audit_tokio_io.rs).
//!
//! Not ported: the io_* tests whose I/O is tokio-test's mock or an in-memory type (io_read*,
//! io_write*, io_buf_*, io_chain, io_take, io_lines, io_copy, io_split's `unsplit_*`...: they
//! test tokio's own code, not aioloop's), io_async_fd*.rs (aioloop has no `AsyncFd`),
//! io_mem_stream.rs `max_write_size` (a duplex's capacity; a socket's buffer is the kernel's).
#![cfg(feature = "tokio-io")]

mod support;

use std::io::IoSlice;
use std::time::Duration;

use aioloop::net::{TcpStream, UnixStream};
use futures::FutureExt;
use support::sockets::{tcp_pair, within};
use tokio::io::{self, AsyncReadExt, AsyncWriteExt};

/// io_mem_stream.rs `ping_pong`.
#[aioloop::test]
async fn ping_pong() {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let mut buf = [0u8; 4];
    AsyncWriteExt::write_all(&mut a, b"ping").await.unwrap();
    within(AsyncReadExt::read_exact(&mut b, &mut buf)).await.unwrap();
    assert_eq!(&buf, b"ping");
    AsyncWriteExt::write_all(&mut b, b"pong").await.unwrap();
    within(AsyncReadExt::read_exact(&mut a, &mut buf)).await.unwrap();
    assert_eq!(&buf, b"pong");
}

/// io_mem_stream.rs `across_tasks`: the same with each end in its own task.
#[aioloop::test]
async fn across_tasks() {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let t1 = aioloop::spawn(async move {
        AsyncWriteExt::write_all(&mut a, b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        AsyncReadExt::read_exact(&mut a, &mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
    });
    let t2 = aioloop::spawn(async move {
        let mut buf = [0u8; 4];
        AsyncReadExt::read_exact(&mut b, &mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        AsyncWriteExt::write_all(&mut b, b"pong").await.unwrap();
    });
    within(t1).await.unwrap();
    within(t2).await.unwrap();
}

/// io_mem_stream.rs `disconnect`: the reader gets the bytes, then EOF once the writer is gone.
#[aioloop::test]
async fn disconnect() {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let t1 = aioloop::spawn(async move {
        AsyncWriteExt::write_all(&mut a, b"ping").await.unwrap();
    });
    let t2 = aioloop::spawn(async move {
        let mut buf = [0u8; 32];
        let n = AsyncReadExt::read(&mut b, &mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"ping");
        assert_eq!(AsyncReadExt::read(&mut b, &mut buf).await.unwrap(), 0);
    });
    within(t1).await.unwrap();
    within(t2).await.unwrap();
}

/// io_mem_stream.rs `disconnect_reader`: a `write_all` waiting for room (more than the socket
/// buffers hold) fails once the reading end is dropped, instead of waiting for ever.
#[aioloop::test]
async fn disconnect_reader() {
    let (a, mut b) = UnixStream::pair().unwrap();
    let t1 = aioloop::spawn(async move {
        let big = vec![0u8; 64 << 20];
        AsyncWriteExt::write_all(&mut b, &big).await.unwrap_err()
    });
    let t2 = aioloop::spawn(async move {
        aioloop::sleep(Duration::from_millis(10)).await;
        drop(a);
    });
    within(t2).await.unwrap();
    let err = within(t1).await.unwrap();
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
        ),
        "{err:?}"
    );
}

/// io_mem_stream.rs `zero_length_operations`: a read into an empty buffer, and writes of
/// nothing, complete at once with 0.
#[aioloop::test]
async fn zero_length_operations() {
    let (mut reader, _peer) = UnixStream::pair().unwrap();
    assert!(matches!(
        AsyncReadExt::read(&mut reader, &mut []).now_or_never(),
        Some(Ok(0))
    ));
    let (mut writer, _peer) = UnixStream::pair().unwrap();
    AsyncWriteExt::write_all(&mut writer, b"x").await.unwrap();
    assert!(matches!(
        AsyncWriteExt::write(&mut writer, &[]).now_or_never(),
        Some(Ok(0))
    ));
    let bufs = [IoSlice::new(&[]), IoSlice::new(&[])];
    assert!(matches!(
        AsyncWriteExt::write_vectored(&mut writer, &bufs).now_or_never(),
        Some(Ok(0))
    ));
}

/// io_mem_stream.rs `duplex_is_cooperative`: a loop of writes and reads that are always ready
/// gives the loop back (aioloop's coop budget), so a `yield_now` racing it in a biased select
/// wins and the test ends.
#[aioloop::test]
async fn duplex_is_cooperative() {
    let (mut tx, mut rx) = UnixStream::pair().unwrap();
    let busy = async {
        loop {
            let buf = [3u8; 4096];
            AsyncWriteExt::write_all(&mut tx, &buf).await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = AsyncReadExt::read(&mut rx, &mut buf).await.unwrap();
        }
    };
    within(async {
        aioloop::select! {
            biased;
            _ = busy => {},
            _ = aioloop::yield_now() => {}
        }
    })
    .await;
}

/// io_split.rs `method_delegation`: tokio's `split` of an aioloop stream reads, writes
/// (vectored too), flushes and shuts down through the stream.
#[aioloop::test]
async fn method_delegation() {
    let (stream, mut peer) = UnixStream::pair().unwrap();
    let (mut r, mut w) = io::split(stream);
    AsyncWriteExt::write_all(&mut peer, b"z").await.unwrap();
    let mut buf = [0; 1];
    assert_eq!(1, within(r.read(&mut buf)).await.unwrap());
    assert_eq!(b'z', buf[0]);
    assert_eq!(1, w.write(b"x").await.unwrap());
    assert_eq!(2, w.write_vectored(&[IoSlice::new(b"xy")]).await.unwrap());
    assert!(io::AsyncWrite::is_write_vectored(&w));
    w.flush().await.unwrap();
    w.shutdown().await.unwrap();
    let mut rest = Vec::new();
    within(AsyncReadExt::read_to_end(&mut peer, &mut rest))
        .await
        .unwrap();
    assert_eq!(rest, b"xxy");
}

/// io_copy_bidirectional.rs `block_write`: writes to `s` until a write has waited 10 ms (the
/// peer's buffers are full); how many bytes went.
async fn block_write(s: &mut TcpStream) -> usize {
    static BUF: [u8; 2048] = [0; 2048];
    let mut copied = 0;
    loop {
        aioloop::select! {
            result = AsyncWriteExt::write(s, &BUF) => copied += result.expect("write error"),
            _ = aioloop::sleep(Duration::from_millis(10)) => break,
        }
    }
    copied
}

/// io_copy_bidirectional.rs `blocking_one_side_does_not_block_other`, both ways round (its
/// `symmetric`): with one direction of the relay stuck (its writer's peer does not read), the
/// other direction still relays, and after a shutdown the relay reports both counts.
#[aioloop::test]
async fn blocking_one_side_does_not_block_other() {
    for flipped in [false, true] {
        let (a, mut a1) = tcp_pair().await;
        let (b, mut b1) = tcp_pair().await;
        let (mut a, mut b) = if flipped { (b, a) } else { (a, b) };
        let handle = aioloop::spawn(async move {
            if flipped {
                io::copy_bidirectional(&mut b1, &mut a1).await
            } else {
                io::copy_bidirectional(&mut a1, &mut b1).await
            }
        });
        block_write(&mut a).await;
        AsyncWriteExt::write_all(&mut b, b"quux").await.unwrap();
        let mut tmp = [0; 4];
        within(AsyncReadExt::read_exact(&mut a, &mut tmp)).await.unwrap();
        assert_eq!(&tmp[..], b"quux");
        AsyncWriteExt::shutdown(&mut a).await.unwrap();
        let mut buf = Vec::new();
        within(AsyncReadExt::read_to_end(&mut b, &mut buf)).await.unwrap();
        drop(b);
        assert_eq!(within(handle).await.unwrap().unwrap(), (buf.len() as u64, 4));
    }
}
