//! The close of a TLS stream's writer: asyncio's SSL shutdown (sslproto.py's
//! `_start_shutdown`, `_do_flush`, `_do_shutdown`, `_on_shutdown_complete`,
//! `_check_shutdown_timeout`) under `writer.close(); await writer.wait_closed()`: what was
//! written is sent, then `close_notify`, then the close waits for the peer's, bounded by
//! `ssl_shutdown_timeout`. After CPython's test_asyncio/test_ssl.py (`test_shutdown_cleanly`,
//! `test_flush_before_shutdown`, `test_remote_shutdown_receives_trailing_data`); the timeout
//! and the abort have no functional test upstream (test_sslproto.py's
//! `test_shutdown_timeout_handler_*` mock the timer). The peers are aioloop's streams: one
//! answers `close_notify` by closing its writer (asyncio's transport answers it at once).
#![cfg(feature = "tls")]

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use aioloop::streams::open_connection_tls;

mod support;

use support::closed_in_10s;
use support::protocols::until;
use support::tls::{pki, serve_and_connect, start_loopback_server};

/// test_ssl.py's `test_shutdown_cleanly`: the server reads the data, answers "OK" and shuts
/// the session down (`sock.unwrap()`: its `close_notify`, then the wait for the client's);
/// the client reads "OK" and EOF, then closes. The server's `wait_closed` returns only once
/// the client's `close_notify` came, and cleanly (the old close returned as soon as its own
/// `close_notify` was sent).
#[aioloop::test]
async fn test_shutdown_cleanly() {
    const TOTAL_CNT: usize = 5;
    const A_DATA: usize = 256 * 1024;
    let pki = pki();
    let client_closing = Rc::new(Cell::new(false));
    let results = Rc::new(RefCell::new(Vec::new()));
    let (closing, seen) = (client_closing.clone(), results.clone());
    let server = start_loopback_server(
        move |mut reader, writer| {
            let (closing, seen) = (closing.clone(), seen.clone());
            async move {
                let data = reader.readexactly(A_DATA).await.unwrap();
                assert!(data.iter().all(|&b| b == b'A'));
                writer.write(b"OK");
                writer.close();
                let closed = writer.wait_closed().await.map_err(|e| e.kind());
                // The client had begun its close (its close_notify) before ours ended.
                seen.borrow_mut().push((closed, closing.get()));
            }
        },
        pki.server_tls(),
    )
    .await;
    let addr = server.local_addr().unwrap();
    let tls = pki.client_tls();
    let clients = (0..TOTAL_CNT).map(|_| {
        let (tls, closing) = (tls.clone(), client_closing.clone());
        aioloop::spawn(async move {
            let (mut reader, writer) = open_connection_tls(addr, &tls).await.unwrap();
            writer.write(&vec![b'A'; A_DATA]);
            assert_eq!(reader.readexactly(2).await.unwrap(), b"OK");
            assert!(reader.read_to_eof().await.unwrap().is_empty());
            // The server's close waits for ours: let it wait a little.
            aioloop::sleep(Duration::from_millis(100)).await;
            closing.set(true);
            writer.close();
            writer.wait_closed().await.unwrap();
        })
    });
    let clients: Vec<_> = clients.collect();
    for client in clients {
        aioloop::wait_for(client, Duration::from_secs(30))
            .await
            .expect("the client is done in 30 s")
            .unwrap();
    }
    until(|| results.borrow().len() == TOTAL_CNT).await;
    assert_eq!(*results.borrow(), vec![(Ok(()), true); TOTAL_CNT]);
    server.close();
    closed_in_10s(server.wait_closed()).await;
}

/// test_ssl.py's `test_flush_before_shutdown`, the writer being the server handler's: it
/// writes a megabyte while the client does not read (most of it waits in the server's send
/// queue), closes, and returns once its `wait_closed` did, dropping a reader that did not read
/// what the client sent. The client, reading late, gets every byte and a clean
/// `close_notify`: the close did not let the socket be closed with the client's bytes unread,
/// which resets the connection and drops what the server's socket had not sent yet (the old
/// close: `ConnectionReset`).
#[aioloop::test]
async fn test_flush_before_shutdown() {
    const TOTAL: usize = 1 << 20;
    let pki = pki();
    let unread_sent = Rc::new(Cell::new(false));
    let server_closing = Rc::new(Cell::new(false));
    let server_closed = Rc::new(Cell::new(None));
    let (sent, closing, closed) = (unread_sent.clone(), server_closing.clone(), server_closed.clone());
    let (server, mut reader, writer) = serve_and_connect(&pki, move |reader, writer| {
        let (sent, closing, closed) = (sent.clone(), closing.clone(), closed.clone());
        async move {
            writer.write(b"go\n");
            until(|| sent.get()).await;
            // The client's bytes reach this socket (loopback), where nobody reads them.
            aioloop::sleep(Duration::from_millis(50)).await;
            writer.write(&vec![7; TOTAL - 4]);
            writer.write(b"tail");
            closing.set(true);
            writer.close();
            closed.set(Some(writer.wait_closed().await.map_err(|e| e.kind())));
            drop(reader);
        }
    })
    .await;
    // After the server's handshake (which reads what comes with its end).
    assert_eq!(reader.readline().await.unwrap(), b"go\n");
    writer.write(b"never read by the server");
    writer.drain().await.unwrap();
    unread_sent.set(true);
    // Read late: once the server's close was asked for (and, with the old close, its socket
    // closed under the client's unread bytes).
    until(|| server_closing.get()).await;
    aioloop::sleep(Duration::from_millis(200)).await;
    let got = aioloop::wait_for(reader.read_to_eof(), Duration::from_secs(30))
        .await
        .expect("the server's data and close_notify in 30 s")
        .expect("every byte, then a clean close_notify (no reset)");
    assert_eq!(got.len(), TOTAL);
    assert_eq!(&got[TOTAL - 4..], b"tail");
    writer.close();
    writer.wait_closed().await.unwrap();
    until(|| server_closed.get().is_some()).await;
    assert_eq!(server_closed.get(), Some(Ok(())));
    server.close();
    closed_in_10s(server.wait_closed()).await;
}

/// test_ssl.py's `test_remote_shutdown_receives_trailing_data`: the server sends its
/// `close_notify` without waiting, and still reads everything the client sends until the
/// client's `close_notify` (here megabytes: the close holds what it reads for the reader, and
/// waits for the reader past a bound); the client reads EOF, then closes.
#[aioloop::test]
async fn test_remote_shutdown_receives_trailing_data() {
    const CHUNK: usize = 128 * 1024;
    const SIZE: usize = 32;
    let pki = pki();
    let received = Rc::new(Cell::new(None));
    let seen = received.clone();
    let (server, mut reader, writer) = serve_and_connect(&pki, move |mut reader, writer| {
        let seen = seen.clone();
        async move {
            assert_eq!(reader.readexactly(4).await.unwrap(), b"ping");
            writer.write(b"pong");
            // Let the client fill its backlog, then send close_notify without waiting.
            aioloop::sleep(Duration::from_millis(200)).await;
            writer.close();
            let data = reader.read_to_eof().await.unwrap();
            let closed = writer.wait_closed().await.map_err(|e| e.kind());
            seen.set(Some((data.len(), data.iter().all(|&b| b == b'x'), closed)));
        }
    })
    .await;
    writer.write(b"ping");
    assert_eq!(reader.readexactly(4).await.unwrap(), b"pong");
    for _ in 0..SIZE {
        writer.write(&vec![b'x'; CHUNK]);
    }
    let rest = aioloop::wait_for(reader.read_to_eof(), Duration::from_secs(30))
        .await
        .expect("the server's close_notify in 30 s");
    assert!(rest.unwrap().is_empty());
    writer.close();
    aioloop::wait_for(writer.wait_closed(), Duration::from_secs(30))
        .await
        .expect("sent in 30 s")
        .unwrap();
    until(|| received.get().is_some()).await;
    assert_eq!(received.get(), Some((CHUNK * SIZE, true, Ok(()))));
    server.close();
    closed_in_10s(server.wait_closed()).await;
}

/// asyncio's `_check_shutdown_timeout`: a peer that never answers our `close_notify` holds
/// the close until `ssl_shutdown_timeout` (here [`ServerTls::shutdown_timeout`], short); then
/// the connection is aborted, `wait_closed` fails with `TimedOut` and so does the reader
/// (asyncio's `connection_lost(TimeoutError('SSL shutdown timed out'))`, which
/// `wait_closed()` raises and the reader gets).
///
/// [`ServerTls::shutdown_timeout`]: aioloop::tls::ServerTls::shutdown_timeout
#[aioloop::test]
async fn wait_closed_fails_with_timed_out_when_the_peer_never_answers() {
    const TIMEOUT: Duration = Duration::from_millis(300);
    let pki = pki();
    let outcome = Rc::new(RefCell::new(None));
    let seen = outcome.clone();
    let server = start_loopback_server(
        move |mut reader, writer| {
            let seen = seen.clone();
            async move {
                writer.write(b"bye\n");
                let start = Instant::now();
                writer.close();
                let closed = writer.wait_closed().await.map_err(|e| e.kind());
                let waited = start.elapsed();
                let read = reader.read(10).await.map_err(|e| e.kind());
                *seen.borrow_mut() = Some((closed, waited, read));
            }
        },
        pki.server_tls().shutdown_timeout(TIMEOUT),
    )
    .await;
    // Reads the server's data and close_notify, never answers (nor closes) until the end.
    let (mut reader, _writer) = open_connection_tls(server.local_addr().unwrap(), &pki.client_tls())
        .await
        .unwrap();
    assert_eq!(reader.readline().await.unwrap(), b"bye\n");
    assert!(reader.read_to_eof().await.unwrap().is_empty());
    until(|| outcome.borrow().is_some()).await;
    let (closed, waited, read) = outcome.borrow_mut().take().unwrap();
    assert_eq!(closed, Err(io::ErrorKind::TimedOut));
    assert!(waited >= TIMEOUT, "the close waited for the timeout: {waited:?}");
    assert_eq!(
        read,
        Err(io::ErrorKind::TimedOut),
        "the reader fails as asyncio's"
    );
    server.close();
    closed_in_10s(server.wait_closed()).await;
}

/// asyncio's `transport.abort()` during the wait for the peer's `close_notify` (here
/// `Server::abort_clients`): the wait ends at once, long before the (default, 30 s) timeout,
/// and `wait_closed` returns (asyncio's `connection_lost(None)`).
#[aioloop::test]
async fn abort_clients_ends_the_wait_for_the_peers_close_notify() {
    let pki = pki();
    let aborted = Rc::new(Cell::new(false));
    let outcome = Rc::new(Cell::new(None));
    let (was_aborted, seen) = (aborted.clone(), outcome.clone());
    let (server, mut reader, _writer) = serve_and_connect(&pki, move |_reader, writer| {
        let (was_aborted, seen) = (was_aborted.clone(), seen.clone());
        async move {
            writer.write(b"bye\n");
            writer.close();
            let closed = writer.wait_closed().await.map_err(|e| e.kind());
            seen.set(Some((closed, was_aborted.get())));
        }
    })
    .await;
    // Never answers the server's close_notify.
    assert_eq!(reader.readline().await.unwrap(), b"bye\n");
    aioloop::sleep(Duration::from_millis(100)).await;
    assert_eq!(outcome.get(), None, "waiting for our close_notify");
    aborted.set(true);
    server.close();
    server.abort_clients();
    closed_in_10s(server.wait_closed()).await;
    assert_eq!(outcome.get(), Some((Ok(()), true)), "ended by the abort");
}

/// A server whose handler says "ready", then reads the client's `close_notify` and never
/// answers it; the client's reader has read "ready".
async fn connect_to_a_silent_peer(
    pki: &support::tls::Pki,
) -> (
    aioloop::streams::Server,
    aioloop::streams::StreamReader,
    aioloop::streams::StreamWriter,
) {
    let (server, mut reader, writer) = serve_and_connect(pki, |mut reader, writer| async move {
        writer.write(b"ready\n");
        let _ = reader.read_to_eof().await;
        aioloop::sleep(Duration::from_secs(60)).await;
        drop(writer);
    })
    .await;
    assert_eq!(reader.readline().await.unwrap(), b"ready\n");
    (server, reader, writer)
}

/// A peer that closes its socket without `close_notify` ends the wait too (asyncio's
/// shutdown ends on the transport's EOF or error); the reader gets rustls's truncation error.
/// Here the client's close waits for the server's `close_notify`, and the server's
/// `abort_clients` shuts its socket down without one.
#[aioloop::test]
async fn a_peer_gone_without_close_notify_ends_the_wait() {
    let pki = pki();
    let (server, mut reader, writer) = connect_to_a_silent_peer(&pki).await;
    let aborted = Rc::new(Cell::new(false));
    let closed = {
        let aborted = aborted.clone();
        aioloop::spawn(async move {
            writer.close();
            let closed = writer.wait_closed().await.map_err(|e| e.kind());
            (closed, aborted.get())
        })
    };
    aioloop::sleep(Duration::from_millis(100)).await;
    aborted.set(true);
    server.close();
    server.abort_clients();
    let (closed, after_abort) = aioloop::wait_for(closed, Duration::from_secs(10))
        .await
        .expect("the wait ends in 10 s")
        .unwrap();
    assert_eq!(closed, Ok(()));
    assert!(after_abort, "the close waited for the server until it went");
    assert!(reader.read_to_eof().await.is_err(), "no close_notify came");
}

/// The client side's way out (asyncio's `writer.transport.abort()`): a close waiting for a
/// peer that never answers `close_notify` ends at `StreamWriter::abort`, long before the
/// 30-second shutdown timeout; the peer sees the connection end without our data.
#[aioloop::test]
async fn writer_abort_ends_the_wait_for_the_peers_close_notify() {
    let pki = pki();
    let (server, _reader, writer) = connect_to_a_silent_peer(&pki).await;
    writer.close();
    let writer = Rc::new(writer);
    let waiting = aioloop::spawn({
        let writer = writer.clone();
        async move { writer.wait_closed().await }
    });
    aioloop::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_done(), "waiting for the server's close_notify");
    writer.abort();
    closed_in_10s(async { waiting.await.unwrap().unwrap() }).await;
    writer.write(b"dropped");
    assert_eq!(writer.buffered(), 0, "writes after the abort are dropped");
    server.close();
    server.abort_clients();
}
