//! TLS in the protocols API (feature `tls`): asyncio's `create_connection(..., ssl=)`,
//! `create_server(..., ssl=)`, their Unix twins and `connect_accepted_socket(..., ssl=)`,
//! after CPython's test_asyncio/test_ssl.py (`test_create_connection_ssl_1`,
//! `test_create_server_ssl_1`, `test_create_connection_ssl_failed_certificate`,
//! `test_handshake_timeout`, connection_lost after a close with close_notify) and sslproto.py's
//! `SSLProtocol` semantics: `connection_made` only after the handshake, a server's protocol
//! made at accept time and never called on a failed handshake, `close` sending
//! `close_notify`, no half-close; and `loop.start_tls` after test_sslproto.py
//! (`test_start_tls_client_reg_proto_1`, `test_start_tls_server_1`,
//! `test_start_tls_wrong_args`, `test_start_tls_slow_client_cancel`,
//! `test_start_tls_client_corrupted_ssl`).
#![cfg(feature = "tls")]

use std::cell::{Cell, Ref, RefCell};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream, UnixStream};
use aioloop::protocols::{
    connect_accepted_socket_tls, connect_read_pipe, create_connection, create_connection_tls, create_server,
    create_server_tls, create_unix_connection_tls, create_unix_server_tls, start_tls, start_tls_server,
    Protocol, ProtocolServer, Transport,
};
use aioloop::streams::{
    open_connection, open_connection_tls, open_unix_connection_tls, Server, StreamReader, StreamWriter,
};
use aioloop::tls::{ClientTls, ServerTls};

mod support;

use support::closed_in_10s;
use support::net::SocketDir;
use support::protocols::{serial, until};
use support::tls::{
    assert_closed_by_server, pki, pki_for, start_loopback_server, start_starttls_server, Pki,
};

/// test_ssl.py's `A_DATA` and `B_DATA` (1 KiB times `BUF_MULTIPLIER`, 1024 on Linux).
const AB_LEN: usize = 1024 * 1024;

fn a_data() -> Vec<u8> {
    vec![b'A'; AB_LEN]
}

fn b_data() -> Vec<u8> {
    vec![b'B'; AB_LEN]
}

/// What a protocol saw: `connection_made` calls, data, `eof_received` calls, and the
/// `connection_lost` reports.
#[derive(Default)]
struct Log {
    made: usize,
    transport: Option<Transport>,
    data: Vec<u8>,
    eofs: usize,
    lost: Vec<Option<io::ErrorKind>>,
}

/// A protocol recording into a shared [`Log`]; `on_data` answers the data seen so far.
struct Recorder {
    log: Rc<RefCell<Log>>,
    on_data: fn(&Transport, &[u8]),
    /// What `eof_received` answers (a TLS transport closes whatever it is).
    keep_open: bool,
}

impl Recorder {
    fn new(on_data: fn(&Transport, &[u8])) -> (Self, Rc<RefCell<Log>>) {
        let log = Rc::new(RefCell::new(Log::default()));
        let recorder = Recorder {
            log: log.clone(),
            on_data,
            keep_open: false,
        };
        (recorder, log)
    }

    fn quiet() -> (Self, Rc<RefCell<Log>>) {
        Recorder::new(|_, _| {})
    }
}

impl Protocol for Recorder {
    fn connection_made(&mut self, transport: Transport) {
        let mut log = self.log.borrow_mut();
        log.made += 1;
        log.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        let (transport, seen) = {
            let mut log = self.log.borrow_mut();
            log.data.extend_from_slice(data);
            (log.transport.clone().unwrap(), log.data.clone())
        };
        (self.on_data)(&transport, &seen);
    }

    fn eof_received(&mut self) -> bool {
        self.log.borrow_mut().eofs += 1;
        self.keep_open
    }

    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.log.borrow_mut().lost.push(exc.map(|e| e.kind()));
    }
}

/// The logs of the protocols a server's factory made, in order.
struct Logs {
    logs: Rc<RefCell<Vec<Rc<RefCell<Log>>>>>,
}

impl Logs {
    fn new() -> Self {
        Logs { logs: Rc::default() }
    }

    /// A factory of [`Recorder`]s answering with `on_data`, each logged here.
    fn factory(&self, on_data: fn(&Transport, &[u8])) -> impl Fn() -> Recorder + 'static {
        let logs = self.logs.clone();
        move || {
            let (recorder, log) = Recorder::new(on_data);
            logs.borrow_mut().push(log);
            recorder
        }
    }

    fn count(&self) -> usize {
        self.logs.borrow().len()
    }

    fn get(&self, i: usize) -> Rc<RefCell<Log>> {
        self.logs.borrow()[i].clone()
    }
}

/// test_create_server_ssl_1's handler as a protocol: `OK` once all of `A_DATA` came, then
/// `SPAM` (written as `SP`, `A`, `M`) and a close once `B_DATA` came too.
fn ab_server(transport: &Transport, seen: &[u8]) {
    if seen.len() == AB_LEN {
        assert!(seen.iter().all(|&b| b == b'A'));
        transport.write(b"OK").unwrap();
    } else if seen.len() == 2 * AB_LEN {
        assert!(seen[AB_LEN..].iter().all(|&b| b == b'B'));
        transport.writelines([&b"SP"[..], b"A", b"M"]).unwrap();
        transport.close();
    }
}

/// `create_connection_tls` to `addr` with `recorder` as the protocol.
async fn connect(addr: SocketAddr, pki: &Pki, recorder: Recorder) -> Transport {
    let (transport, _protocol) = create_connection_tls(move || recorder, addr, &pki.client_tls())
        .await
        .unwrap();
    transport
}

/// A `create_server_tls` on a loopback port whose protocols `made` logs, answering `on_data`.
async fn server_tls(made: &Logs, on_data: fn(&Transport, &[u8]), tls: ServerTls) -> ProtocolServer {
    create_server_tls(made.factory(on_data), "127.0.0.1:0", tls)
        .await
        .unwrap()
}

/// `made` made one protocol, never called: neither `connection_made` nor `connection_lost`
/// (the protocol of a connection whose handshake failed).
fn assert_made_once_never_called(made: &Logs) {
    assert_eq!(made.count(), 1);
    let log = made.get(0);
    assert_eq!(log.borrow().made, 0);
    assert!(log.borrow().lost.is_empty());
}

/// Runs a test's `body` on a new loop with a [`pki`], holding [`serial`]'s lock.
fn run_with_pki<F, Fut>(body: F) -> Fut::Output
where
    F: FnOnce(Pki) -> Fut,
    Fut: Future,
{
    let _serial = serial();
    aioloop::run(body(pki()))
}

/// A streams TLS server on a loopback port running `handler`, and a client of it with
/// `recorder` as the protocol.
async fn server_and_client<H, Fut>(pki: &Pki, handler: H, recorder: Recorder) -> (Server, Transport)
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let server = start_loopback_server(handler, pki.server_tls()).await;
    let transport = connect(server.local_addr().unwrap(), pki, recorder).await;
    (server, transport)
}

/// Waits until `connection_lost` ran, and answers the log.
async fn lost(log: &Rc<RefCell<Log>>) -> Ref<'_, Log> {
    until(|| !log.borrow().lost.is_empty()).await;
    log.borrow()
}

/// The peer's `close_notify` ended the connection: `data` came, then `eof_received`, then
/// `connection_lost(None)`.
async fn assert_closed_by_peer(log: &Rc<RefCell<Log>>, data: &[u8]) {
    let log = lost(log).await;
    assert_eq!(log.data, data);
    assert_eq!(log.eofs, 1);
    assert_eq!(log.lost, vec![None]);
    assert!(log.transport.as_ref().unwrap().is_closing());
}

#[test]
fn test_create_connection_ssl_1() {
    run_with_pki(|pki| async move {
        // test_ssl.py's server: A_DATA -> "OK", B_DATA -> "SPAM", then a close (close_notify).
        let (recorder, log) = Recorder::new(|transport, seen| {
            if seen == b"OK" {
                transport.write(&b_data()).unwrap();
            }
        });
        let (server, transport) = server_and_client(
            &pki,
            |mut reader, writer| async move {
                assert_eq!(reader.readexactly(AB_LEN).await.unwrap(), a_data());
                writer.write(b"OK");
                assert_eq!(reader.readexactly(AB_LEN).await.unwrap(), b_data());
                writer.write(b"SPAM");
                writer.close();
            },
            recorder,
        )
        .await;
        // connection_made ran, after the handshake: the session is there.
        assert_eq!(log.borrow().made, 1);
        let info = transport.tls_info().expect("a TLS transport");
        assert!(info.protocol_version().is_some());
        assert!(info.cipher_suite().is_some());
        assert_eq!(info.peer_certificates().len(), 1);
        assert_eq!(transport.peer_addr(), Some(server.local_addr().unwrap()));
        // 1 MiB: most of it buffered, sent as the peer reads.
        transport.write(&a_data()).unwrap();
        // The server's close_notify is EOF: eof_received, then connection_lost(None).
        assert_closed_by_peer(&log, b"OKSPAM").await;
        server.close();
    });
}

#[test]
fn test_create_server_ssl_1() {
    let _serial = serial();
    const TOTAL: usize = 10;
    aioloop::run(async {
        let pki = pki();
        let made = Logs::new();
        let tls = pki.server_tls().handshake_timeout(Duration::from_secs(30));
        let server = server_tls(&made, ab_server, tls).await;
        let addr = server.local_addr().unwrap();
        let tls = pki.client_tls();
        let done = Rc::new(Cell::new(0));
        let mut clients = Vec::new();
        for _ in 0..TOTAL {
            let (tls, done) = (tls.clone(), done.clone());
            clients.push(aioloop::spawn(async move {
                let (mut reader, writer) = open_connection_tls(addr, &tls).await.unwrap();
                writer.write(&a_data());
                assert_eq!(reader.readexactly(2).await.unwrap(), b"OK");
                writer.write(&b_data());
                assert_eq!(reader.readexactly(4).await.unwrap(), b"SPAM");
                // The server's transport closed with close_notify: a clean EOF.
                assert!(reader.read_to_eof().await.unwrap().is_empty());
                writer.close();
                done.set(done.get() + 1);
            }));
        }
        for client in clients {
            aioloop::wait_for(client, Duration::from_secs(30))
                .await
                .unwrap()
                .unwrap();
        }
        assert_eq!(done.get(), TOTAL);
        assert_eq!(made.count(), TOTAL);
        for i in 0..TOTAL {
            let log = made.get(i);
            let log = lost(&log).await;
            assert_eq!(log.made, 1);
            assert_eq!(log.lost, vec![None]);
            let info = log.transport.as_ref().unwrap().tls_info().unwrap();
            assert_eq!(info.server_name(), Some("localhost")); // the client's SNI
        }
        server.close();
        closed_in_10s(server.wait_closed()).await;
    });
}

#[test]
fn test_create_connection_ssl_failed_certificate() {
    let _serial = serial();
    aioloop::run(async {
        let trusted = pki();
        let other = pki(); // the client trusts another certificate only
        let wrong_name = pki_for(&["example.org"]); // trusted, for another name
        for (server_pki, client_pki) in [(&trusted, &other), (&wrong_name, &wrong_name)] {
            let server = start_loopback_server(
                |_reader, _writer| async { panic!("no handler without a handshake") },
                server_pki.server_tls(),
            )
            .await;
            let made = Logs::new();
            let addr = server.local_addr().unwrap();
            let err = create_connection_tls(made.factory(|_, _| {}), addr, &client_pki.client_tls())
                .await
                .err()
                .expect("the handshake fails");
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
            // asyncio makes the protocol before the handshake, and never calls it after a
            // failed one.
            assert_made_once_never_called(&made);
            server.close();
        }
    });
}

#[test]
fn test_handshake_timeout_client() {
    let _serial = serial();
    aioloop::run(async {
        // A peer that accepts and never answers the client's hello.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = aioloop::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut buf = vec![0; 64 * 1024];
            while stream.read(&mut buf).await.unwrap_or(0) > 0 {}
        });
        let tls = pki().client_tls().handshake_timeout(Duration::from_millis(200));
        let (recorder, log) = Recorder::quiet();
        let err = create_connection_tls(move || recorder, addr, &tls)
            .await
            .err()
            .expect("the handshake times out");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert!(
            err.to_string().contains("TLS handshake is taking longer"),
            "{err}"
        );
        assert_eq!(log.borrow().made, 0);
        // The connection was closed: the peer reads EOF.
        aioloop::wait_for(peer, Duration::from_secs(10))
            .await
            .unwrap()
            .unwrap();
    });
}

#[test]
fn test_handshake_timeout_server_closes_without_calling_the_protocol() {
    let _serial = serial();
    aioloop::run(async {
        let made = Logs::new();
        let tls = pki().server_tls().handshake_timeout(Duration::from_millis(200));
        let server = server_tls(&made, |_, _| {}, tls).await;
        // A client that connects and never sends its hello.
        let silent = TcpStream::connect(server.local_addr().unwrap()).await.unwrap();
        assert_closed_by_server(&silent).await;
        // Logs at accept time (asyncio's `_accept_connection2`), never called.
        assert_made_once_never_called(&made);
        server.close();
        closed_in_10s(server.wait_closed()).await;
    });
}

#[test]
fn a_failed_server_handshake_closes_the_connection_without_calling_the_protocol() {
    let _serial = serial();
    aioloop::run(async {
        let made = Logs::new();
        let server = server_tls(&made, |_, _| {}, pki().server_tls()).await;
        let client = TcpStream::connect(server.local_addr().unwrap()).await.unwrap();
        client.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap(); // not a TLS hello
        let mut buf = [0; 1024];
        // rustls's alert, if it sent one, then EOF.
        while let Ok(1..) = client.read(&mut buf).await {}
        assert_eq!(made.count(), 1);
        assert_eq!(made.get(0).borrow().made, 0);
        server.close();
        closed_in_10s(server.wait_closed()).await;
        assert!(made.get(0).borrow().lost.is_empty());
    });
}

#[test]
fn pending_handshakes_count_for_wait_closed_and_close_clients_or_abort_clients_end_them() {
    let _serial = serial();
    aioloop::run(async {
        for abort in [false, true] {
            let made = Logs::new();
            let server = server_tls(&made, |_, _| {}, pki().server_tls()).await;
            let silent = TcpStream::connect(server.local_addr().unwrap()).await.unwrap();
            until(|| made.count() == 1).await;
            server.close();
            // The connection in its handshake is the server's: wait_closed waits for it.
            assert!(
                aioloop::wait_for(server.wait_closed(), Duration::from_millis(100))
                    .await
                    .is_err()
            );
            if abort {
                server.abort_clients();
            } else {
                server.close_clients();
            }
            closed_in_10s(server.wait_closed()).await;
            assert_closed_by_server(&silent).await;
            assert_eq!(made.get(0).borrow().made, 0);
        }
    });
}

#[test]
fn close_sends_close_notify_and_connection_lost_follows() {
    run_with_pki(|pki| async move {
        let clean_eof = Rc::new(Cell::new(None));
        let seen = clean_eof.clone();
        let (recorder, log) = Recorder::quiet();
        let (server, transport) = server_and_client(
            &pki,
            move |mut reader, writer| {
                let seen = seen.clone();
                async move {
                    // A clean EOF only after close_notify (rustls reports UnexpectedEof otherwise).
                    seen.set(Some(reader.read_to_eof().await.map(|rest| rest.len())));
                    writer.close();
                }
            },
            recorder,
        )
        .await;
        transport.write(b"bye").unwrap();
        transport.close();
        assert!(transport.is_closing());
        until(|| {
            clean_eof
                .take()
                .inspect(|got| assert_eq!(got.as_ref().unwrap(), &3))
                .is_some()
        })
        .await;
        let log = lost(&log).await;
        assert_eq!(log.lost, vec![None]);
        assert_eq!(log.eofs, 0); // closed before the server's close_notify was read
        server.close();
    });
}

#[test]
fn abort_sends_no_close_notify() {
    run_with_pki(|pki| async move {
        let read_result = Rc::new(Cell::new(None));
        let seen = read_result.clone();
        let (recorder, log) = Recorder::quiet();
        let (server, transport) = server_and_client(
            &pki,
            move |mut reader, _writer| {
                let seen = seen.clone();
                async move { seen.set(Some(reader.read_to_eof().await.map(|_| ()))) }
            },
            recorder,
        )
        .await;
        transport.abort();
        assert_eq!(lost(&log).await.lost, vec![None]);
        let mut result = None;
        until(|| {
            result = read_result.take();
            result.is_some()
        })
        .await;
        assert!(result.unwrap().is_err(), "a TLS stream cut without close_notify");
        server.close();
    });
}

#[test]
fn the_peers_close_notify_closes_the_transport_whatever_eof_received_answers() {
    run_with_pki(|pki| async move {
        let (mut recorder, log) = Recorder::quiet();
        recorder.keep_open = true; // asyncio: "has no effect when using ssl"
        let (server, _) = server_and_client(
            &pki,
            |_reader, writer| async move {
                writer.write(b"hi");
                writer.close(); // close_notify
            },
            recorder,
        )
        .await;
        assert_closed_by_peer(&log, b"hi").await;
        server.close();
    });
}

#[test]
fn a_peer_gone_without_close_notify_is_an_unexpected_eof() {
    run_with_pki(|pki| async move {
        let made = Logs::new();
        // The server's protocol aborts on the first data: no close_notify.
        let abort = |transport: &Transport, _: &[u8]| transport.abort();
        let server = server_tls(&made, abort, pki.server_tls()).await;
        let (recorder, log) = Recorder::quiet();
        let transport = connect(server.local_addr().unwrap(), &pki, recorder).await;
        transport.write(b"x").unwrap();
        let (kinds, eofs) = {
            let log = lost(&log).await;
            (log.lost.clone(), log.eofs)
        };
        assert!(
            matches!(
                kinds[..],
                [Some(
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
                )]
            ),
            "{kinds:?}"
        );
        assert_eq!(eofs, 0);
        server.close();
        closed_in_10s(server.wait_closed()).await;
    });
}

#[test]
fn write_eof_is_unsupported_on_tls() {
    run_with_pki(|pki| async move {
        let made = Logs::new();
        let server = server_tls(&made, |_, _| {}, pki.server_tls()).await;
        let transport = connect(server.local_addr().unwrap(), &pki, Recorder::quiet().0).await;
        assert!(!transport.can_write_eof());
        assert_eq!(
            transport.write_eof().unwrap_err().kind(),
            io::ErrorKind::Unsupported
        );
        // The transport goes on: a write still arrives.
        transport.write(b"still open").unwrap();
        until(|| made.count() == 1 && made.get(0).borrow().data == b"still open").await;
        transport.close();
        server.close();
        closed_in_10s(server.wait_closed()).await;
        assert_eq!(made.get(0).borrow().lost, vec![None]);
    });
}

#[test]
fn unix_server_and_connection() {
    run_with_pki(|pki| async move {
        let dir = SocketDir::new("protocols-tls-unix");
        let path = dir.path();
        let made = Logs::new();
        let echo_line = |transport: &Transport, seen: &[u8]| {
            if seen.ends_with(b"\n") {
                transport.write(seen).unwrap();
                transport.close();
            }
        };
        let server = create_unix_server_tls(made.factory(echo_line), &path, pki.server_tls())
            .await
            .unwrap();
        let tls = pki.client_tls();
        let (recorder, log) = Recorder::quiet();
        let (transport, _p) = create_unix_connection_tls(move || recorder, &path, &tls)
            .await
            .unwrap();
        assert!(transport.tls_info().is_some());
        transport.write(b"over unix\n").unwrap();
        assert_closed_by_peer(&log, b"over unix\n").await;
        // The streams client against the same server.
        let (mut reader, writer) = open_unix_connection_tls(&path, &tls).await.unwrap();
        writer.write(b"streams\n");
        assert_eq!(reader.read_to_eof().await.unwrap(), b"streams\n");
        // The server's close waits for our close_notify.
        writer.close();
        server.close();
        closed_in_10s(server.wait_closed()).await;
        assert_eq!(made.count(), 2);
    });
}

#[test]
fn connect_accepted_socket_makes_the_server_handshake() {
    run_with_pki(|pki| async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tls = pki.client_tls();
        let client = aioloop::spawn(async move {
            let (mut reader, writer) = open_connection_tls(addr, &tls).await.unwrap();
            writer.write(b"ping");
            let got = reader.read_to_eof().await.unwrap();
            writer.close();
            got
        });
        let (stream, _) = listener.accept().await.unwrap();
        let (recorder, log) = Recorder::new(|transport, seen| {
            if seen == b"ping" {
                transport.write(b"pong").unwrap();
                transport.close();
            }
        });
        let server_tls = pki.server_tls();
        let (transport, _p) = connect_accepted_socket_tls(move || recorder, stream, &server_tls)
            .await
            .unwrap();
        assert_eq!(log.borrow().made, 1);
        assert_eq!(transport.tls_info().unwrap().server_name(), Some("localhost"));
        assert_eq!(client.await.unwrap(), b"pong");
        assert_eq!(lost(&log).await.lost, vec![None]);

        // A Unix stream too, and a failed handshake is the call's error.
        let (a, b) = UnixStream::pair().unwrap();
        drop(b);
        let (recorder, log) = Recorder::quiet();
        let err = connect_accepted_socket_tls(move || recorder, a, &server_tls)
            .await
            .err()
            .expect("the handshake fails");
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{err}"
        );
        assert_eq!(log.borrow().made, 0);
    });
}

/// A close right after a write much larger than the socket takes, to a peer that starts
/// reading late: everything is sent, then `close_notify` (the peer reads a clean EOF after
/// all the bytes), then `connection_lost(None)`.
#[test]
fn close_after_a_large_write_to_a_slow_reader_sends_everything() {
    run_with_pki(|pki| async move {
        const LEN: usize = 4 * 1024 * 1024;
        let got = Rc::new(Cell::new(None));
        let seen = got.clone();
        let (recorder, log) = Recorder::quiet();
        let (server, transport) = server_and_client(
            &pki,
            move |mut reader, writer| {
                let seen = seen.clone();
                async move {
                    aioloop::sleep(Duration::from_millis(200)).await;
                    seen.set(Some(reader.read_to_eof().await.map(|all| all.len())));
                    writer.close();
                }
            },
            recorder,
        )
        .await;
        transport.write(&vec![7; LEN]).unwrap();
        transport.close();
        until(|| {
            got.take()
                .inspect(|got| assert_eq!(got.as_ref().unwrap(), &LEN))
                .is_some()
        })
        .await;
        assert_eq!(lost(&log).await.lost, vec![None]);
        server.close();
        closed_in_10s(server.wait_closed()).await;
    });
}

/// test_sslproto.py's `HELLO_MSG` for the start_tls tests (CPython's is 100 KiB).
const HELLO_LEN: usize = 1024 * 1024;

fn hello() -> Vec<u8> {
    vec![b'1'; HELLO_LEN]
}

/// What a client writes in the clear before its upgrade in
/// `test_start_tls_client_reg_proto_1`: more than a loopback socket takes at once, so that
/// part of it is still in the transport's buffer when `start_tls` is called.
const CLEAR_LEN: usize = 16 * 1024 * 1024;

/// A plain `create_connection` to `addr` with `recorder` as the protocol.
async fn connect_plain(addr: SocketAddr, recorder: Recorder) -> Transport {
    let (transport, _protocol) = create_connection(move || recorder, addr).await.unwrap();
    transport
}

/// A `create_server` on a loopback port whose protocols `made` logs, answering `on_data`.
async fn server_plain(made: &Logs, on_data: fn(&Transport, &[u8])) -> ProtocolServer {
    create_server(made.factory(on_data), "127.0.0.1:0").await.unwrap()
}

/// The log and the transport of the first connection a server's protocols `made` logs, once
/// its `connection_made` ran (the server makes the protocol at accept time and calls it in the
/// connection's task, later: the log has no transport in between).
async fn first_connection(made: &Logs) -> (Rc<RefCell<Log>>, Transport) {
    until(|| made.count() == 1 && made.get(0).borrow().made == 1).await;
    let log = made.get(0);
    let transport = log.borrow().transport.clone().unwrap();
    (log, transport)
}

/// A plain streams client of `addr` that reads `clear`, then upgrades with `tls`.
async fn upgraded_after(addr: SocketAddr, clear: &[u8], tls: &ClientTls) -> (StreamReader, StreamWriter) {
    let (mut reader, writer) = open_connection(addr).await.unwrap();
    assert_eq!(reader.readexactly(clear.len()).await.unwrap(), clear);
    writer.start_tls(&mut reader, tls).await.unwrap();
    (reader, writer)
}

/// test_start_tls_client_reg_proto_1: a client writes in the clear, upgrades at once (the
/// buffered rest goes out before the handshake), reads `O` over TLS, writes
/// HELLO again, and reads the server's EOF (close_notify). The protocol's `connection_made`
/// ran once, for the plain transport only; the plain transport refuses writes.
#[test]
fn test_start_tls_client_reg_proto_1() {
    run_with_pki(|pki| async move {
        let server = start_starttls_server(pki.server_tls(), |mut reader, writer, tls| async move {
            let clear = reader.readexactly(CLEAR_LEN).await.unwrap();
            assert!(clear.iter().all(|&b| b == b'1'));
            writer.start_tls_server(&mut reader, &tls).await.unwrap();
            writer.write(b"O");
            assert_eq!(reader.readexactly(HELLO_LEN).await.unwrap(), hello());
            writer.close();
        })
        .await;
        let (recorder, log) = Recorder::quiet();
        let plain = connect_plain(server.local_addr().unwrap(), recorder).await;
        plain.write(&vec![b'1'; CLEAR_LEN]).unwrap();
        assert!(plain.get_write_buffer_size() > 0, "part of it still buffered");
        let transport = start_tls(&plain, &pki.client_tls()).await.unwrap();
        assert!(transport.tls_info().is_some());
        assert_eq!(
            plain.write(b"clear").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        log.borrow_mut().transport = Some(transport.clone());
        until(|| log.borrow().data == b"O").await;
        transport.write(&hello()).unwrap();
        until(|| log.borrow().eofs == 1).await;
        transport.close();
        let log = lost(&log).await;
        assert_eq!(log.lost, vec![None]);
        assert_eq!(log.made, 1, "start_tls calls no connection_made");
        assert!(plain.is_closing());
        server.close();
    });
}

/// test_start_tls_server_1: a server's protocol writes HELLO in the clear and upgrades as the
/// server of the handshake; the client upgrades after reading HELLO, sends HELLO over TLS and
/// gets the protocol's answer. The server counts the connection until the upgraded transport
/// is lost.
#[test]
fn test_start_tls_server_1() {
    run_with_pki(|pki| async move {
        const ANSWER: &[u8] = b"answer";
        let made = Logs::new();
        let answer = |transport: &Transport, seen: &[u8]| {
            if seen.len() == HELLO_LEN {
                transport.write(ANSWER).unwrap();
            }
        };
        let server = server_plain(&made, answer).await;
        let tls = pki.client_tls();
        let addr = server.local_addr().unwrap();
        let client = aioloop::spawn(async move {
            let (mut reader, writer) = upgraded_after(addr, &hello(), &tls).await;
            writer.write(&hello());
            let answer = reader.readexactly(ANSWER.len()).await.unwrap();
            writer.close();
            writer.wait_closed().await.unwrap();
            answer
        });
        let (log, plain) = first_connection(&made).await;
        plain.write(&hello()).unwrap();
        assert!(log.borrow().data.is_empty());
        let server_tls = pki.server_tls().handshake_timeout(Duration::from_secs(10));
        let transport = start_tls_server(&plain, &server_tls).await.unwrap();
        log.borrow_mut().transport = Some(transport.clone());
        assert_eq!(client.await.unwrap(), ANSWER);
        // The client's close_notify ends the upgraded transport.
        {
            let log = lost(&log).await;
            assert_eq!(log.data, hello());
            assert_eq!(log.lost, vec![None]);
            assert_eq!(log.made, 1);
        }
        server.close();
        closed_in_10s(server.wait_closed()).await;
    });
}

/// A server's `close_clients` reaches its protocols' upgraded connections (the plain
/// transport it counts acts on the upgraded one), and `wait_closed` waits for them. The
/// server says `GO` and upgrades; the client upgrades once it read `GO` (what the plain
/// transport read went to the protocol, so a client must not send its hello earlier).
#[test]
fn close_clients_reaches_an_upgraded_connection() {
    run_with_pki(|pki| async move {
        let made = Logs::new();
        let server = server_plain(&made, |_, _| {}).await;
        let tls = pki.client_tls();
        let addr = server.local_addr().unwrap();
        let client = aioloop::spawn(async move {
            let (mut reader, _writer) = upgraded_after(addr, b"GO", &tls).await;
            reader.read_to_eof().await
        });
        let (log, plain) = first_connection(&made).await;
        plain.write(b"GO").unwrap();
        let transport = start_tls_server(&plain, &pki.server_tls()).await.unwrap();
        server.close();
        server.close_clients();
        assert!(transport.is_closing());
        closed_in_10s(server.wait_closed()).await;
        assert_eq!(lost(&log).await.lost, vec![None]);
        assert!(
            client.await.unwrap().unwrap().is_empty(),
            "close_notify, then EOF"
        );
    });
}

/// test_start_tls_wrong_args: asyncio's `TypeError` for a transport that cannot be upgraded
/// is `InvalidInput` here: a pipe's, a TLS transport, a closing one, one upgraded already.
#[test]
fn test_start_tls_wrong_args() {
    run_with_pki(|pki| async move {
        let tls = pki.client_tls();
        let invalid =
            |r: io::Result<Transport>| assert_eq!(r.err().unwrap().kind(), io::ErrorKind::InvalidInput);

        let (read_end, _write_end) = std::io::pipe().unwrap();
        let (pipe, _p) = connect_read_pipe(|| Recorder::quiet().0, read_end).unwrap();
        invalid(start_tls(&pipe, &tls).await);

        let made = Logs::new();
        let server = server_tls(&made, |_, _| {}, pki.server_tls()).await;
        let (recorder, _log) = Recorder::quiet();
        let secure = connect(server.local_addr().unwrap(), &pki, recorder).await;
        invalid(start_tls(&secure, &tls).await);
        invalid(start_tls_server(&secure, &pki.server_tls()).await);
        secure.close();

        let plain_server = create_server(|| Recorder::quiet().0, "127.0.0.1:0")
            .await
            .unwrap();
        let (recorder, _log) = Recorder::quiet();
        let closing = connect_plain(plain_server.local_addr().unwrap(), recorder).await;
        closing.close();
        invalid(start_tls(&closing, &tls).await);

        let (recorder, _log) = Recorder::quiet();
        let plain = connect_plain(plain_server.local_addr().unwrap(), recorder).await;
        let upgrade = start_tls(&plain, &tls);
        invalid(start_tls(&plain, &tls).await);
        drop(upgrade);
        server.close();
        plain_server.close();
    });
}

/// test_start_tls_slow_client_cancel: the server reads HELLO and never answers the
/// handshake; the client's upgrade under a 0.5 s `wait_for` is cancelled, which closes the
/// connection (the server reads EOF) without calling the protocol.
#[test]
fn test_start_tls_slow_client_cancel() {
    run_with_pki(|pki| async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = aioloop::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            let mut buf = vec![0; 64 * 1024];
            // HELLO, the ClientHello, then EOF once the client gave up.
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return got.len(),
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
        });
        let (recorder, log) = Recorder::quiet();
        let plain = connect_plain(addr, recorder).await;
        plain.write(&hello()).unwrap();
        let upgrade =
            aioloop::wait_for(start_tls(&plain, &pki.client_tls()), Duration::from_millis(500)).await;
        assert!(upgrade.is_err(), "timed out");
        assert!(plain.is_closing());
        let got = aioloop::wait_for(server, Duration::from_secs(10))
            .await
            .unwrap()
            .unwrap();
        assert!(got > HELLO_LEN, "HELLO and the start of the handshake were sent");
        aioloop::sleep(Duration::from_millis(50)).await;
        let log = log.borrow();
        assert_eq!(log.made, 1);
        assert!(log.lost.is_empty(), "no protocol call for a cancelled upgrade");
    });
}

/// test_start_tls_client_corrupted_ssl, on an upgraded transport: the server (a thread with
/// a blocking socket, as CPython's) makes its handshake, sends `A\n`, reads a byte, then
/// writes garbage on the raw socket; the client's transport loses the connection with the
/// TLS error (`InvalidData`).
#[test]
fn test_start_tls_client_corrupted_ssl() {
    use std::io::{Read, Write};
    let _serial = serial();
    let pki = pki();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server_config = pki.server.clone();
    let server = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut orig = sock.try_clone().unwrap();
        let mut conn = aioloop::tls::rustls::ServerConnection::new(server_config).unwrap();
        let mut tls = aioloop::tls::rustls::Stream::new(&mut conn, &mut sock);
        tls.write_all(b"A\n").unwrap();
        tls.flush().unwrap();
        let mut one = [0; 1];
        tls.read_exact(&mut one).unwrap();
        orig.write_all(b"please corrupt the SSL connection").unwrap();
        // Held open until the client is done.
        let _ = orig.read(&mut one);
    });
    aioloop::run(async {
        let (recorder, log) = Recorder::quiet();
        let plain = connect_plain(addr, recorder).await;
        let transport = start_tls(&plain, &pki.client_tls()).await.unwrap();
        log.borrow_mut().transport = Some(transport.clone());
        until(|| log.borrow().data == b"A\n").await;
        transport.write(b"B").unwrap();
        let log = lost(&log).await;
        assert_eq!(log.lost, vec![Some(io::ErrorKind::InvalidData)]);
        assert_eq!(log.eofs, 0);
    });
    server.join().unwrap();
}

/// asyncio's `ssl_shutdown_timeout`: `close` sends `close_notify`, then waits for the peer's;
/// a peer that reads our data and EOF but never answers holds the close until the timeout,
/// then the connection is aborted and `connection_lost` gets `TimedOut` (asyncio's
/// `TimeoutError('SSL shutdown timed out')`).
#[test]
fn close_waits_for_the_peers_close_notify_until_the_shutdown_timeout() {
    run_with_pki(|pki| async move {
        let got = Rc::new(RefCell::new(None));
        let seen = got.clone();
        let server = start_loopback_server(
            move |mut reader, writer| {
                let seen = seen.clone();
                async move {
                    *seen.borrow_mut() = Some(reader.read_to_eof().await.unwrap());
                    // Never answers with its close_notify (the test ends first).
                    aioloop::sleep(Duration::from_secs(60)).await;
                    drop(writer);
                }
            },
            pki.server_tls(),
        )
        .await;
        let tls = pki.client_tls().shutdown_timeout(Duration::from_secs(2));
        let (recorder, log) = Recorder::quiet();
        let (transport, _p) = create_connection_tls(move || recorder, server.local_addr().unwrap(), &tls)
            .await
            .unwrap();
        transport.write(b"bye").unwrap();
        transport.close();
        until(|| got.borrow().is_some()).await;
        assert_eq!(
            got.borrow().as_deref(),
            Some(&b"bye"[..]),
            "the data, then a clean EOF"
        );
        aioloop::sleep(Duration::from_millis(200)).await;
        assert!(
            log.borrow().lost.is_empty(),
            "still waiting for the peer's close_notify"
        );
        assert_eq!(lost(&log).await.lost, vec![Some(io::ErrorKind::TimedOut)]);
        server.close();
    });
}

/// A peer that answers our `close_notify` (after a last write, which the closing transport
/// reads and drops) ends the close: `connection_lost(None)`, the peer got all our data and
/// its own close completes cleanly (our socket was not closed under its last records).
#[test]
fn close_completes_when_the_peer_answers_close_notify() {
    run_with_pki(|pki| async move {
        const LEN: usize = 1024 * 1024;
        let got = Rc::new(RefCell::new(None));
        let seen = got.clone();
        let (recorder, log) = Recorder::quiet();
        let (server, transport) = server_and_client(
            &pki,
            move |mut reader, writer| {
                let seen = seen.clone();
                async move {
                    let data = reader.read_to_eof().await.unwrap();
                    writer.write(b"late");
                    writer.close();
                    *seen.borrow_mut() = Some((data.len(), writer.wait_closed().await.map_err(|e| e.kind())));
                }
            },
            recorder,
        )
        .await;
        transport.write(&vec![7; LEN]).unwrap();
        transport.close();
        {
            let log = lost(&log).await;
            assert_eq!(log.lost, vec![None]);
            assert!(
                log.data.is_empty(),
                "data after close() is dropped, not given to the protocol"
            );
            assert_eq!(log.eofs, 0);
        }
        until(|| got.borrow().is_some()).await;
        assert_eq!(got.borrow_mut().take(), Some((LEN, Ok(()))));
        server.close();
        closed_in_10s(server.wait_closed()).await;
    });
}

/// `abort` during a close's wait for the peer's `close_notify` ends it at once:
/// `connection_lost(None)`, long before the (default, 30 s) shutdown timeout.
#[test]
fn abort_ends_the_wait_for_the_peers_close_notify() {
    run_with_pki(|pki| async move {
        let (recorder, log) = Recorder::quiet();
        let (server, transport) = server_and_client(
            &pki,
            |mut reader, writer| async move {
                let _ = reader.read_to_eof().await;
                aioloop::sleep(Duration::from_secs(60)).await;
                drop(writer);
            },
            recorder,
        )
        .await;
        transport.close();
        aioloop::sleep(Duration::from_millis(100)).await;
        assert!(
            log.borrow().lost.is_empty(),
            "waiting for the peer's close_notify"
        );
        transport.abort();
        assert_eq!(lost(&log).await.lost, vec![None]);
        server.close();
    });
}
