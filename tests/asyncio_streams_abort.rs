//! `StreamWriter::abort`, asyncio's `writer.transport.abort()` (test_streams.py has no
//! functional test of it; asyncio's `_SelectorTransport.abort` is `_force_close(None)`): the
//! buffer is dropped, the connection ends at once, `wait_closed` returns, `drain` fails, later
//! writes are dropped, the paired reader reads the end. The TLS case is in
//! tests/streams_tls_shutdown.rs.

use std::io::ErrorKind;
use std::rc::Rc;
use std::time::Duration;

use aioloop::streams::{open_connection, start_server};

mod support;
use support::closed_in_10s;

/// A writer whose peer never reads: `close` would wait for the buffer to drain, `abort` ends
/// it at once and drops the buffer.
#[aioloop::test]
async fn test_abort_drops_the_buffer_and_ends_the_close() {
    let release = Rc::new(aioloop::sync::Event::new());
    let gate = release.clone();
    let server = start_server(
        move |reader, writer| {
            let gate = gate.clone();
            async move {
                // Holds the connection open, reading nothing.
                gate.wait().await;
                drop((reader, writer));
            }
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let (mut reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    writer.write(&vec![0; 64 << 20]);
    assert!(writer.buffered() > 0, "the socket cannot take 64 MiB at once");
    writer.close();
    let writer = Rc::new(writer);
    let waiting = aioloop::spawn({
        let writer = writer.clone();
        async move { writer.wait_closed().await }
    });
    aioloop::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_done(), "the close waits for the peer to read");

    writer.abort();
    closed_in_10s(async { waiting.await.unwrap().unwrap() }).await;
    assert_eq!(writer.buffered(), 0, "the buffer is dropped");
    writer.write(b"after");
    assert_eq!(writer.buffered(), 0, "writes after the abort are dropped");
    let drained = writer.drain().await.unwrap_err();
    assert_eq!(drained.kind(), ErrorKind::ConnectionReset);
    // The socket is shut down both ways: our reader reads the end.
    let rest = aioloop::wait_for(reader.read(1024), Duration::from_secs(10))
        .await
        .expect("the reader sees the end")
        .unwrap();
    assert!(rest.is_empty(), "{} bytes", rest.len());
    release.set();
    server.close();
    closed_in_10s(async { server.wait_closed().await }).await;
}

/// The peer sees the connection end at the abort, without the data still buffered.
#[aioloop::test]
async fn test_abort_ends_the_connection_for_the_peer() {
    let got = Rc::new(std::cell::Cell::new(None));
    let seen = got.clone();
    let server = start_server(
        move |mut reader, _writer| {
            let seen = seen.clone();
            async move {
                let mut total = 0;
                loop {
                    match reader.read(1 << 16).await {
                        Ok(data) if data.is_empty() => break,
                        Ok(data) => total += data.len(),
                        Err(_) => break,
                    }
                }
                seen.set(Some(total));
            }
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let (_reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    writer.write(b"first");
    writer.drain().await.unwrap();
    aioloop::sleep(Duration::from_millis(20)).await;
    writer.write(&vec![0; 64 << 20]);
    writer.abort();
    let started = std::time::Instant::now();
    while got.get().is_none() && started.elapsed() < Duration::from_secs(10) {
        aioloop::sleep(Duration::from_millis(5)).await;
    }
    let total = got.get().expect("the peer saw the connection end");
    assert!(total < 64 << 20, "the buffer was not sent: {total} bytes");
    assert!(total >= 5, "what was sent before the abort arrived: {total}");
    server.close();
}
