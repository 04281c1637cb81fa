//! TLS in the streams API (feature `tls`): asyncio's `open_connection(..., ssl=)` and
//! `start_server(..., ssl=)`, after CPython's test_asyncio/test_ssl.py (`test_create_connection_ssl_1_slow`
//! / `test_start_tls_*` shapes, the handshake timeout `test_handshake_timeout`,
//! `test_create_server_ssl_over_ssl`'s echo) and test_sslproto.py (`test_handshake_timeout`).
#![cfg(feature = "tls")]

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream};
use aioloop::streams::{
    open_connection, open_connection_tls, open_unix_connection_tls, start_unix_server_tls, StreamReader,
    StreamWriter,
};
use aioloop::tls::rustls::ProtocolVersion;
use aioloop::tls::{ClientTls, ServerTls};

mod support;

use support::closed_in_10s;
use support::net::SocketDir;
use support::streams::echo_lines;
use support::tls::{
    assert_closed_by_server, pki, pki_for, serve_and_connect, start_loopback_server, start_starttls_server,
};

#[aioloop::test]
async fn open_connection_tls_echoes_and_reports_the_session() {
    let pki = pki();
    let sni = Rc::new(Cell::new(false));
    let seen = sni.clone();
    let (server, mut reader, writer) = serve_and_connect(&pki, move |reader, writer| {
        let info = writer.tls_info().expect("a TLS connection").clone();
        seen.set(info.server_name() == Some("localhost"));
        echo_lines(reader, writer)
    })
    .await;
    for line in [&b"one\n"[..], b"two\n", b"three\n"] {
        writer.write(line);
        assert_eq!(reader.readline().await.unwrap(), line);
    }
    let info = writer.tls_info().unwrap();
    assert_eq!(info.protocol_version(), Some(ProtocolVersion::TLSv1_3));
    assert!(info.cipher_suite().is_some());
    assert_eq!(info.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(
        info.peer_certificates().len(),
        1,
        "the server's self-signed certificate"
    );
    assert_eq!(writer.peer_addr(), server.local_addr().ok());
    assert!(sni.get(), "the server saw the SNI name");
    // Our close sends close_notify: the server's reader reads EOF, its handler closes too, and
    // we read a clean EOF (its close_notify).
    writer.close();
    writer.wait_closed().await.unwrap();
    assert!(reader.read_to_eof().await.unwrap().is_empty());
    server.close();
    closed_in_10s(server.wait_closed()).await;
}

#[aioloop::test]
async fn a_plain_connection_has_no_tls_info() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (_reader, writer) = open_connection(listener.local_addr().unwrap()).await.unwrap();
    assert!(writer.tls_info().is_none());
}

#[aioloop::test]
async fn unix_tls_server_and_client() {
    let pki = pki();
    let dir = SocketDir::new("tls");
    let path = dir.path();
    let server = start_unix_server_tls(echo_lines, &path, pki.server_tls())
        .await
        .unwrap();
    let tls = pki.client_tls();
    let (mut reader, writer) = open_unix_connection_tls(&path, &tls).await.unwrap();
    writer.write(b"over a unix socket\n");
    assert_eq!(reader.readline().await.unwrap(), b"over a unix socket\n");
    assert!(writer.tls_info().is_some());
    writer.close();
    assert!(reader.read_to_eof().await.unwrap().is_empty());
    server.close();
    server.wait_closed().await;
}

/// Megabytes both ways at once: the reader and the writer share one TLS session, and neither
/// may be left waiting for a readiness the other one took (tests/streams_tls.rs's shared waker).
#[aioloop::test]
async fn large_transfers_both_ways_at_once() {
    const TOTAL: usize = 8 << 20;
    let pki = pki();
    let (server, mut reader, writer) = serve_and_connect(&pki, |mut reader, writer| async move {
        // Echo in chunks while the client is still sending.
        loop {
            let chunk = reader.read(64 * 1024).await.unwrap();
            if chunk.is_empty() {
                break;
            }
            writer.write(&chunk);
            writer.drain().await.unwrap();
        }
        writer.close();
    })
    .await;
    let sender = aioloop::spawn(async move {
        let block: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
        for _ in 0..TOTAL / block.len() {
            writer.write(&block);
            writer.drain().await.unwrap();
        }
        writer.close();
        writer.wait_closed().await.unwrap();
    });
    let received = aioloop::wait_for(reader.read_to_eof(), Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(received.len(), TOTAL);
    assert!(received
        .iter()
        .enumerate()
        .all(|(i, &b)| b == ((i % (64 * 1024)) % 251) as u8));
    sender.await.unwrap();
    server.close();
    server.wait_closed().await;
}

#[aioloop::test]
async fn an_untrusted_certificate_fails_the_connect_and_never_reaches_the_handler() {
    let trusted = pki();
    let other = pki(); // a client trusting another certificate only
    let (server, called) = start_flagging_server(trusted.server_tls()).await;
    let err = open_connection_tls(server.local_addr().unwrap(), &other.client_tls())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    assert!(err.to_string().to_lowercase().contains("certificate"), "{err}");
    server.close();
    closed_in_10s(server.wait_closed()).await;
    assert!(!called.get(), "a failed handshake never reaches the handler");
}

#[aioloop::test]
async fn a_certificate_for_another_name_fails_the_connect() {
    let pki = pki_for(&["example.org"]);
    let server = start_loopback_server(echo_lines, pki.server_tls()).await;
    let err = open_connection_tls(server.local_addr().unwrap(), &pki.client_tls())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    server.close();
}

/// A TLS server on a loopback port whose handler only sets the flag answered: it was called.
async fn start_flagging_server(tls: ServerTls) -> (aioloop::streams::Server, Rc<Cell<bool>>) {
    let called = Rc::new(Cell::new(false));
    let flag = called.clone();
    let server = start_loopback_server(
        move |_r, _w| {
            flag.set(true);
            async {}
        },
        tls,
    )
    .await;
    (server, called)
}

#[test]
fn a_bad_server_name_is_invalid_input() {
    let pki = pki();
    let err = ClientTls::new(pki.client, "not a host name!").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("not a host name!"), "{err}");
}

#[test]
#[should_panic(expected = "the timeout must be positive")]
fn a_zero_handshake_timeout_panics() {
    let _ = ServerTls::new(pki().server).handshake_timeout(Duration::ZERO);
}

/// test_ssl.py `test_handshake_timeout` (client side): a server that accepts and never answers.
#[aioloop::test]
async fn the_client_handshake_times_out() {
    let pki = pki();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tls = pki.client_tls().handshake_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let connect = open_connection_tls(listener.local_addr().unwrap(), &tls);
    let (result, accepted) = aioloop::gather!(connect, listener.accept()).await;
    let _silent_peer = accepted.unwrap();
    let err = result.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(started.elapsed() >= Duration::from_millis(200));
}

/// test_sslproto.py `test_handshake_timeout` (server side): a client that never sends its hello
/// is closed after the timeout, without reaching the handler.
#[aioloop::test]
async fn the_server_handshake_times_out_and_closes_the_connection() {
    let pki = pki();
    let (server, called) =
        start_flagging_server(pki.server_tls().handshake_timeout(Duration::from_millis(200))).await;
    let silent = TcpStream::connect(server.local_addr().unwrap()).await.unwrap();
    assert_closed_by_server(&silent).await;
    server.close();
    closed_in_10s(server.wait_closed()).await;
    assert!(!called.get());
}

/// A connection in its handshake is the server's: `wait_closed` waits for it, and
/// `abort_clients` ends it (asyncio attaches the transport before the handshake).
#[aioloop::test]
async fn wait_closed_waits_for_a_connection_in_its_handshake_and_abort_clients_ends_it() {
    let pki = pki();
    let server = start_loopback_server(echo_lines, pki.server_tls()).await;
    let silent = TcpStream::connect(server.local_addr().unwrap()).await.unwrap();
    aioloop::sleep(Duration::from_millis(50)).await; // accepted, in its handshake
    server.close();
    assert!(
        aioloop::wait_for(server.wait_closed(), Duration::from_millis(200))
            .await
            .is_err(),
        "wait_closed returned with a connection still in its handshake"
    );
    server.abort_clients();
    closed_in_10s(server.wait_closed()).await;
    assert_closed_by_server(&silent).await;
}

/// `close_clients` on a TLS connection: the writer's close sends close_notify (the client
/// reads a clean EOF) and the handler's reader reads EOF, not rustls's "peer closed without
/// close_notify" error, since the read side was shut down here. The server's close waits for
/// the client's close_notify, which the client sends once it read the server's (asyncio's
/// transport answers at once).
#[aioloop::test]
async fn close_clients_gives_both_readers_a_clean_eof() {
    let pki = pki();
    let handler_saw = Rc::new(Cell::new(None::<bool>));
    let saw = handler_saw.clone();
    let (server, mut reader, writer) = serve_and_connect(&pki, move |mut reader, writer| {
        let saw = saw.clone();
        async move {
            writer.write(
                b"ready
",
            );
            let rest = reader.read_to_eof().await;
            saw.set(Some(matches!(rest, Ok(ref r) if r.is_empty())));
        }
    })
    .await;
    assert_eq!(
        reader.readline().await.unwrap(),
        b"ready
"
    );
    let client = aioloop::spawn(async move {
        let rest = reader.read_to_eof().await.unwrap();
        writer.close();
        rest
    });
    server.close();
    server.close_clients();
    closed_in_10s(server.wait_closed()).await;
    assert_eq!(
        handler_saw.get(),
        Some(true),
        "the handler's reader read a clean EOF"
    );
    assert!(client.await.unwrap().is_empty(), "the client read close_notify");
}

/// A peer that drops its socket without close_notify: the read fails (rustls's guard against
/// a truncated stream) instead of reading EOF.
#[aioloop::test]
async fn a_peer_closing_without_close_notify_is_an_error() {
    let pki = pki();
    let (server, mut reader, _writer) = serve_and_connect(&pki, |mut reader, writer| async move {
        writer.write(b"x\n");
        writer.drain().await.unwrap();
        // Until abort_clients shuts the socket down at once, without close_notify.
        let _ = reader.read_to_eof().await;
        drop(writer);
    })
    .await;
    assert_eq!(reader.readline().await.unwrap(), b"x\n");
    server.close();
    server.abort_clients();
    let err = reader.read_to_eof().await.unwrap_err();
    assert!(format!("{err:?}").contains("UnexpectedEof"), "{err:?}");
}

/// Bytes a write gave the TLS session are sent without a `drain`, a flush or a close, as a
/// plain socket sends what it took: when the socket could not take the session's records at
/// once, they go out as it drains (here the client reads slowly, so the socket is full when
/// the server's writer hands over its last bytes; the handler then only waits).
#[aioloop::test]
async fn bytes_written_without_drain_reach_the_peer() {
    const TOTAL: usize = (1 << 20) + 4;
    let pki = pki();
    // A Unix socket: its buffers are small (no TCP autotuning), so the slow reader keeps them full.
    let dir = SocketDir::new("tls-drain");
    let path = dir.path();
    let server = start_unix_server_tls(
        |mut reader, writer| async move {
            // A high-water mark above everything written: the writer never flushes its sink,
            // so what the socket could not take when the writer handed it over must go out by
            // itself, as on a plain socket.
            writer.set_write_buffer_limits(64 << 20, 0);
            writer.write(&vec![7; TOTAL - 4]);
            writer.write(b"tail");
            let _ = reader.read_to_eof().await; // no drain, no close meanwhile
            drop(writer);
        },
        &path,
        pki.server_tls(),
    )
    .await
    .unwrap();
    let tls = pki.client_tls();
    let (mut reader, writer) = open_unix_connection_tls(&path, &tls).await.unwrap();
    let mut got = Vec::new();
    let slow_reader = async {
        while got.len() < TOTAL {
            got.extend(reader.read(4 * 1024).await.unwrap());
            aioloop::sleep(Duration::from_millis(1)).await;
        }
    };
    aioloop::wait_for(slow_reader, Duration::from_secs(30))
        .await
        .expect("every byte written arrives");
    assert!(got[..TOTAL - 4].iter().all(|&b| b == 7));
    assert_eq!(&got[TOTAL - 4..], b"tail");
    writer.close();
    server.close();
    server.wait_closed().await;
}

/// asyncio's `StreamWriter.start_tls` (test_streams.py `test_start_tls`, test_sslproto.py
/// `test_start_tls_client_corrupted_ssl`'s happy path): a connection that starts in the clear
/// and switches to TLS on both sides, reader and writer going on through it.
#[aioloop::test]
async fn start_tls_upgrades_a_plain_connection_on_both_sides() {
    let pki = pki();
    let server = start_starttls_server(pki.server_tls(), go_then_upgrade_and_echo).await;
    let (mut reader, writer) = starttls_go(&server).await;
    let tls = pki.client_tls();
    writer.start_tls(&mut reader, &tls).await.unwrap();
    assert_eq!(
        writer.tls_info().unwrap().protocol_version(),
        Some(ProtocolVersion::TLSv1_3)
    );
    for line in [&b"after the upgrade\n"[..], b"still\n"] {
        writer.write(line);
        assert_eq!(reader.readline().await.unwrap(), line);
    }
    let again = writer.start_tls(&mut reader, &tls).await.unwrap_err();
    assert_eq!(again.kind(), io::ErrorKind::InvalidInput, "{again}");
    writer.close();
    assert!(reader.read_to_eof().await.unwrap().is_empty());
    server.close();
    closed_in_10s(server.wait_closed()).await;
}

/// Bytes the reader read ahead with the last plain line are the start of the handshake, not
/// lost: here the client sends its hello right behind "STARTTLS", so the server's `readline`
/// reads part of it into its buffer.
#[aioloop::test]
async fn start_tls_keeps_the_handshake_bytes_read_ahead() {
    let pki = pki();
    let ahead = Rc::new(Cell::new(0));
    let seen = ahead.clone();
    let server = start_starttls_server(pki.server_tls(), move |mut reader, writer, tls| {
        let seen = seen.clone();
        async move {
            aioloop::sleep(Duration::from_millis(50)).await; // the hello arrives too
            assert_eq!(reader.readline().await.unwrap(), b"STARTTLS\n");
            seen.set(reader.buffer().len());
            upgrade_and_echo(reader, writer, tls).await;
        }
    })
    .await;
    let (mut reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    writer.write(b"STARTTLS\n");
    let tls = pki.client_tls();
    writer.start_tls(&mut reader, &tls).await.unwrap();
    assert!(ahead.get() > 0, "the server had read part of the hello ahead");
    writer.write(b"ok\n");
    assert_eq!(reader.readline().await.unwrap(), b"ok\n");
    server.close();
    server.abort_clients();
}

/// A reader of another connection is refused, and a failed upgrade leaves the connection
/// failed on both ends (asyncio closes the transport).
#[aioloop::test]
async fn start_tls_refuses_a_foreign_reader_and_a_failed_upgrade_fails_both_ends() {
    let pki = pki();
    let other = pki_for(&["localhost"]); // a certificate the client does not trust
    let server = start_starttls_server(other.server_tls(), |mut reader, writer, tls| async move {
        let _ = reader.readline().await;
        let _ = writer.start_tls_server(&mut reader, &tls).await;
    })
    .await;
    let addr = server.local_addr().unwrap();
    let (mut reader, writer) = open_connection(addr).await.unwrap();
    let (mut foreign, _its_writer) = open_connection(addr).await.unwrap();
    let tls = pki.client_tls();
    let err = writer.start_tls(&mut foreign, &tls).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    writer.write(b"STARTTLS\n");
    let err = writer.start_tls(&mut reader, &tls).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    assert!(
        writer.drain().await.is_err(),
        "the writer failed with the handshake"
    );
    let read = reader.read(10).await.unwrap_err();
    assert_eq!(read.kind(), io::ErrorKind::InvalidData, "{read}");
    server.close();
    server.abort_clients();
}

/// A write made while the handshake of `start_tls` runs (another task writing) is buffered
/// and sent through TLS once the upgrade is done, as `start_tls`'s writer promises, instead
/// of failing the writer.
#[aioloop::test]
async fn start_tls_sends_a_write_made_during_the_handshake_after_it() {
    let pki = pki();
    let server = start_starttls_server(pki.server_tls(), go_then_upgrade_and_echo).await;
    let (mut reader, writer) = starttls_go(&server).await;
    let writer = Rc::new(writer);
    let wrote = write_during_the_handshake(&writer);
    let tls = pki.client_tls();
    writer.start_tls(&mut reader, &tls).await.unwrap();
    wrote.await.unwrap();
    writer.write(b"after\n");
    for line in [&b"during the handshake\n"[..], b"after\n"] {
        let got = aioloop::wait_for(reader.readline(), Duration::from_secs(10))
            .await
            .expect("the line comes back")
            .unwrap();
        assert_eq!(got, line);
    }
    writer.drain().await.unwrap();
    server.close();
    server.abort_clients();
}

/// A `start_tls` cancelled during its handshake (here by a `wait_for` on a peer that never
/// answers) leaves a writer that fails, not one whose writes wait forever for the upgrade.
#[aioloop::test]
async fn a_cancelled_start_tls_fails_the_writer() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (mut reader, writer) = open_connection(addr).await.unwrap();
    let (_silent, _) = listener.accept().await.unwrap();
    let writer = Rc::new(writer);
    let wrote = write_during_the_handshake(&writer);
    let tls = pki().client_tls();
    let upgrade = aioloop::wait_for(writer.start_tls(&mut reader, &tls), Duration::from_millis(100)).await;
    assert!(upgrade.is_err(), "the silent peer never answers the hello");
    wrote.await.unwrap();
    writer.write(b"after\n");
    let drained = aioloop::wait_for(writer.drain(), Duration::from_secs(10))
        .await
        .expect("drain returns");
    assert!(drained.is_err(), "the writer failed with the cancelled upgrade");
}

/// `start_tls` called with bytes still buffered (below the high-water mark: the peer reads
/// late) waits until they were sent, then upgrades, as asyncio's waits for the write buffer
/// to be empty; it does not fail as if the writer had been written to during the upgrade.
#[aioloop::test]
async fn start_tls_waits_for_the_bytes_still_buffered() {
    let pki = pki();
    let server =
        late_starttls_echo_server(pki.server_tls(), || aioloop::sleep(Duration::from_millis(100))).await;
    let (mut reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    fill(&writer, 0);
    assert!(writer.buffered() > 0, "the socket is full");
    writer.write(b"STARTTLS\n");
    let tls = pki.client_tls();
    writer.start_tls(&mut reader, &tls).await.unwrap();
    writer.write(b"over TLS\n");
    assert_eq!(reader.readline().await.unwrap(), b"over TLS\n");
    writer.close();
    server.close();
    server.abort_clients();
}

/// While `start_tls` waits for the bytes still buffered, the writer keeps its own water
/// marks: another task's `drain` with the buffer below the high-water mark returns at once
/// (it is not held until everything was sent, as if the marks were 0).
#[aioloop::test]
async fn a_drain_during_start_tls_s_wait_keeps_the_writer_s_water_marks() {
    let pki = pki();
    let go = Rc::new(aioloop::sync::Event::new());
    let read = go.clone();
    let server = late_starttls_echo_server(pki.server_tls(), move || {
        let read = read.clone();
        async move { read.wait().await }
    })
    .await;
    let (mut reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    // More buffered than the kernel takes (on io_uring too, whose sends take from the
    // buffer), below a high-water mark raised for it.
    const BUFFERED: usize = 8 * 1024 * 1024;
    writer.set_write_buffer_limits(4 * BUFFERED, 0);
    fill(&writer, BUFFERED);
    writer.write(b"STARTTLS\n");
    assert!(writer.buffered() > BUFFERED, "the socket is full");
    let writer = Rc::new(writer);
    let upgrading = writer.clone();
    let tls = pki.client_tls();
    let upgrade = aioloop::spawn(async move {
        upgrading.start_tls(&mut reader, &tls).await.unwrap();
        reader
    });
    aioloop::yield_now().await; // start_tls waits for the buffer now
    assert!(writer.buffered() > 0);
    aioloop::wait_for(writer.drain(), Duration::from_secs(1))
        .await
        .expect("drain returns below the high-water mark")
        .unwrap();
    go.set();
    let mut reader = upgrade.await.unwrap();
    writer.write(b"over TLS\n");
    assert_eq!(reader.readline().await.unwrap(), b"over TLS\n");
    writer.close();
    server.close();
    server.abort_clients();
}

/// A plain server whose connections await `before()` (a late reader), read lines until
/// `STARTTLS`, upgrade as the server, and echo lines.
async fn late_starttls_echo_server<F, Fut>(server_tls: ServerTls, before: F) -> aioloop::streams::Server
where
    F: Fn() -> Fut + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let before = Rc::new(before);
    start_starttls_server(server_tls, move |mut reader, writer, tls| {
        let before = before.clone();
        async move {
            before().await;
            while reader.readline().await.unwrap() != b"STARTTLS\n" {}
            upgrade_and_echo(reader, writer, tls).await;
        }
    })
    .await
}

/// A connection's handler: reads `STARTTLS`, answers `GO`, upgrades as the server and echoes
/// lines.
async fn go_then_upgrade_and_echo(mut reader: StreamReader, writer: StreamWriter, tls: ServerTls) {
    assert_eq!(reader.readline().await.unwrap(), b"STARTTLS\n");
    writer.write(b"GO\n");
    writer.start_tls_server(&mut reader, &tls).await.unwrap();
    assert!(writer.tls_info().is_some());
    echo_lines(reader, writer).await;
}

/// Upgrades a connection as the server of the handshake, then echoes lines.
async fn upgrade_and_echo(mut reader: StreamReader, writer: StreamWriter, tls: ServerTls) {
    writer.start_tls_server(&mut reader, &tls).await.unwrap();
    echo_lines(reader, writer).await;
}

/// A plain client of `server` (a [`go_then_upgrade_and_echo`] one) that sent `STARTTLS` and
/// read `GO`: its upgrade comes next.
async fn starttls_go(server: &aioloop::streams::Server) -> (StreamReader, StreamWriter) {
    let (mut reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    writer.write(b"STARTTLS\n");
    assert_eq!(reader.readline().await.unwrap(), b"GO\n");
    (reader, writer)
}

/// Another task's write once the upgrade `writer` starts is in its handshake.
fn write_during_the_handshake(writer: &Rc<StreamWriter>) -> aioloop::Task<()> {
    let during = writer.clone();
    aioloop::spawn(async move {
        aioloop::yield_now().await; // the upgrade is in its handshake now
        during.write(b"during the handshake\n");
    })
}

/// Writes 1 KiB lines until more than `more_than` bytes are buffered (the socket is full).
fn fill(writer: &StreamWriter, more_than: usize) {
    let mut line = vec![b'x'; 1023];
    line.push(b'\n');
    for _ in 0..1_000_000 {
        if writer.buffered() > more_than {
            break;
        }
        writer.write(&line);
    }
}
