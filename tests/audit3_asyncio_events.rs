//! Third audit against CPython's Lib/test/test_asyncio/test_events.py, its socket, server and
//! datagram tests (`EventLoopTestsMixin`): asyncio's `create_connection` / `create_server` /
//! `create_datagram_endpoint` with protocols are aioloop's `streams::{open_connection,
//! start_server}` and `net::{TcpListener, UdpSocket}`. Each test is named after the CPython test
//! it ports; the peers are plain sockets or threads (tests/support/net.rs).
//!
//! Ported elsewhere: `test_create_connection_local_addr`, `_local_addr_in_use` (in
//! tests/asyncio_create_connection_options.rs, with `ConnectOptions::local_addr`);
//! `test_create_server_sock`, `test_create_server_multiple_hosts_*`, `_dual_stack`, `_ipv6` (in
//! tests/asyncio_server_options.rs, with `ServerOptions`); `test_server_close` is
//! tests/streams_server.rs `issue_16_item_5_wait_closed_returns_once_the_listener_is_closed`; the
//! ssl tests (tests/streams_tls.rs, tests/asyncio_protocols_tls.rs). Not ported: the pipe, pty
//! and subprocess tests (audited with test_subprocess.py).

mod support;

use std::io::{self, Read, Write};
use std::net::{Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use aioloop::net::{ServerOptions, TcpListener, TcpStream, UdpSocket, UnixStream};
use aioloop::streams::{
    open_connection, open_unix_connection, start_server, start_server_with, start_unix_server,
};
use aioloop::streams::{StreamReader, StreamWriter};
use aioloop::{call_soon, spawn, wait_for, yield_now, Future, TaskError};
use support::net::{run_test_server, run_test_unix_server, SocketDir, RESPONSE};

const TIMEOUT: Duration = Duration::from_secs(10);

/// asyncio's `MyProto` on a server: the bytes its connection received, then that it ended.
#[derive(Default)]
struct Received {
    bytes: std::cell::RefCell<Vec<u8>>,
    closed: std::cell::Cell<bool>,
}

/// A handler that records what it reads until `n` bytes came, then closes the connection
/// (asyncio's `proto.transport.close()`), with its `sockname` and `peername` in `addrs`.
fn recording_handler(
    received: Rc<Received>,
    addrs: Future<(Option<SocketAddr>, Option<SocketAddr>)>,
    n: usize,
) -> impl Fn(StreamReader, StreamWriter) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
    move |mut reader, writer| {
        let received = received.clone();
        let addrs = addrs.clone();
        Box::pin(async move {
            let _ = addrs.set_result((writer.local_addr(), writer.peer_addr()));
            let data = reader.readexactly(n).await.unwrap();
            received.bytes.borrow_mut().extend(data);
            writer.close();
            writer.wait_closed().await.unwrap();
            received.closed.set(true);
        })
    }
}

/// `_basetest_create_connection`: the request goes out and a response comes back.
async fn basetest_create_connection(mut reader: StreamReader, writer: StreamWriter) {
    writer.write(b"GET / HTTP/1.0\r\nHost: example.com\r\n\r\n");
    let data = wait_for(reader.read_to_eof(), TIMEOUT).await.unwrap().unwrap();
    assert_eq!(data, RESPONSE);
    writer.close();
}

/// `test_create_connection`: `open_connection` to a server; the writer knows both addresses.
#[aioloop::test]
async fn test_create_connection() {
    let addr = run_test_server();
    let (reader, writer) = open_connection(addr).await.unwrap();
    assert_eq!(writer.peer_addr(), Some(addr));
    assert!(writer.local_addr().is_some(), "sockname");
    basetest_create_connection(reader, writer).await;
}

/// `test_create_unix_connection`.
#[aioloop::test]
async fn test_create_unix_connection() {
    let dir = SocketDir::new("events-unix-connection");
    run_test_unix_server(&dir.path());
    let (reader, writer) = open_unix_connection(dir.path()).await.unwrap();
    basetest_create_connection(reader, writer).await;
}

/// `open_connection` to a port nothing listens on: `ConnectionRefused` (test_events.py's
/// `create_connection` errors; `test_sock_client_fail` one level down).
#[aioloop::test]
async fn test_create_connection_connection_refused() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = open_connection(addr).await.map(drop).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}

/// `test_connect_accepted_socket`: a connection accepted outside the loop, handed to it
/// (`connect_accepted_socket`): the message is read and the response written. Once
/// `wait_closed` returned, the response and the EOF are the peer's: a client thread reads them
/// while the loop's thread blocks (on io_uring, `wait_closed` used to return with the bytes
/// still in the stream's send buffer, sent at the end of the loop's iteration).
#[aioloop::test]
async fn test_connect_accepted_socket() {
    let lsock = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = lsock.local_addr().unwrap();
    let (done, response) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut csock = std::net::TcpStream::connect(addr).unwrap();
        csock.write_all(b"test data").unwrap();
        let mut response = Vec::new();
        let _ = csock.read_to_end(&mut response);
        let _ = done.send(response);
    });
    let (conn, peer) = lsock.accept().unwrap();
    let (read, write) = TcpStream::from_std(conn).unwrap().into_split();
    let (mut reader, writer) = (StreamReader::new(read), StreamWriter::new(write, Some(peer)));
    assert_eq!(reader.readexactly(9).await.unwrap(), b"test data");
    writer.write(b"roger");
    writer.close();
    writer.wait_closed().await.unwrap();
    // Blocks the loop's thread: nothing more is sent from here on.
    let response = response.recv_timeout(TIMEOUT);
    assert_eq!(
        response.as_deref(),
        Ok(&b"roger"[..]),
        "the peer got the response and EOF"
    );
}

/// `test_create_server`: a server on 0.0.0.0 reports that address; a client's three bytes
/// reach the handler, whose writer has the client's address as its peer; the handler closes
/// the connection and the client reads EOF.
#[aioloop::test]
async fn test_create_server() {
    let received = Rc::new(Received::default());
    let addrs = Future::new();
    let server = start_server(recording_handler(received.clone(), addrs.clone(), 3), "0.0.0.0:0")
        .await
        .unwrap();
    let local = server.local_addr().unwrap();
    assert_eq!(local.ip().to_string(), "0.0.0.0");
    let client = std::net::TcpStream::connect(("127.0.0.1", local.port())).unwrap();
    (&client).write_all(b"xxx").unwrap();

    let (sockname, peername) = wait_for(addrs, TIMEOUT).await.unwrap().unwrap();
    assert!(sockname.is_some());
    assert_eq!(peername, Some(client.local_addr().unwrap()));
    client.set_read_timeout(Some(TIMEOUT)).unwrap();
    handler_got_xxx_and_closed(&received, &client).await;
    server.close();
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
}

/// Waits until the recording handler closed its connection, having read `xxx`; the client
/// then reads EOF.
async fn handler_got_xxx_and_closed(received: &Rc<Received>, mut client: impl Read) {
    let closed = received.clone();
    wait_for(until(move || closed.closed.get()), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(*received.bytes.borrow(), b"xxx");
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "the handler closed the connection");
}

/// Waits, an iteration at a time, until `done()`.
async fn until(done: impl Fn() -> bool) {
    while !done() {
        yield_now().await;
    }
}

/// `test_create_unix_server`: the same over a Unix socket.
#[aioloop::test]
async fn test_create_unix_server() {
    let dir = SocketDir::new("events-unix-server");
    let received = Rc::new(Received::default());
    let server = start_unix_server(recording_handler(received.clone(), Future::new(), 3), dir.path())
        .await
        .unwrap();
    let mut client = std::os::unix::net::UnixStream::connect(dir.path()).unwrap();
    client.write_all(b"xxx").unwrap();
    client.set_read_timeout(Some(TIMEOUT)).unwrap();
    handler_got_xxx_and_closed(&received, &client).await;
    server.close();
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
}

/// `test_create_server_reuse_port`: `SO_REUSEPORT` is off unless asked for (`reuse_port=True`
/// is `TcpListener::bind_reuseport`; `start_server` never sets it).
#[aioloop::test]
async fn test_create_server_reuse_port() {
    let plain = TcpListener::bind("0.0.0.0:0").await.unwrap();
    assert!(!socket2::SockRef::from(&plain).reuse_port().unwrap());
    drop(plain);
    let reuse = TcpListener::bind_reuseport("0.0.0.0:0").await.unwrap();
    assert!(socket2::SockRef::from(&reuse).reuse_port().unwrap());
}

/// `test_create_server_addr_in_use`: a second server on the address a first one listens on
/// fails with `AddrInUse` (`SO_REUSEADDR` lets a port in `TIME_WAIT` be reused, not a listening
/// one).
#[aioloop::test]
async fn test_create_server_addr_in_use() {
    let first = start_server(|_, _| async {}, "0.0.0.0:0").await.unwrap();
    let addr = first.local_addr().unwrap();
    let err = start_server(|_, _| async {}, addr).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    first.close();
    wait_for(first.wait_closed(), TIMEOUT).await.unwrap();
}

/// `test_create_server_dual_stack`: asyncio's `host=None` binds every interface, IPv4 and IPv6,
/// a socket on each (the IPv6 one `IPV6_V6ONLY`): `ServerOptions::port` here, which serves
/// both `127.0.0.1` and `::1` clients. With port 0 each socket has its own port, as in asyncio
/// (tests/asyncio_server_options.rs checks one port for both).
#[aioloop::test]
async fn test_create_server_dual_stack() {
    if std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_err() {
        eprintln!("no IPv6 on this host: skipped");
        return;
    }
    let received = Rc::new(Received::default());
    let server = start_server_with(
        recording_handler(received.clone(), Future::new(), 3),
        ServerOptions::new().port(0),
    )
    .await
    .unwrap();
    let addrs = server.local_addrs().to_vec();
    assert_eq!(addrs.len(), 2, "{addrs:?}");
    for addr in addrs {
        let host = if addr.is_ipv4() { "127.0.0.1" } else { "::1" };
        received.closed.set(false);
        let client = std::net::TcpStream::connect((host, addr.port())).unwrap();
        (&client).write_all(b"xxx").unwrap();
        let closed = received.clone();
        wait_for(until(move || closed.closed.get()), TIMEOUT)
            .await
            .unwrap();
    }
    assert_eq!(*received.bytes.borrow(), b"xxxxxx");
    server.close();
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
}

/// `_test_create_datagram_endpoint`: a server socket answers `resp:` + each datagram to its
/// sender; a client connected to it (`remote_addr`) sends three bytes and gets eight back.
async fn basetest_create_datagram_endpoint(local: &str) {
    let server = Rc::new(UdpSocket::bind(local).await.unwrap());
    let server_addr = server.local_addr().unwrap();
    let echo = spawn({
        let server = server.clone();
        async move {
            let mut buf = [0; 64];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            let mut resp = b"resp:".to_vec();
            resp.extend_from_slice(&buf[..n]);
            server.send_to(&resp, from).await.unwrap();
            n
        }
    });
    let unspecified = if server_addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let client = UdpSocket::bind(unspecified).await.unwrap();
    client.connect(server_addr).await.unwrap();
    assert!(client.local_addr().is_ok(), "sockname");
    assert_eq!(client.peer_addr().unwrap(), server_addr);
    client.send(b"xxx").await.unwrap();
    assert_eq!(wait_for(echo, TIMEOUT).await.unwrap().unwrap(), 3);
    let mut buf = [0; 64];
    let n = wait_for(client.recv(&mut buf), TIMEOUT).await.unwrap().unwrap();
    assert_eq!(&buf[..n], b"resp:xxx");
}

/// `test_create_datagram_endpoint`.
#[aioloop::test]
async fn test_create_datagram_endpoint() {
    basetest_create_datagram_endpoint("127.0.0.1:0").await;
}

/// `test_create_datagram_endpoint_ipv6`.
#[aioloop::test]
async fn test_create_datagram_endpoint_ipv6() {
    if std::net::UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).is_err() {
        eprintln!("no IPv6 on this host: skipped");
        return;
    }
    basetest_create_datagram_endpoint("[::1]:0").await;
}

/// `test_create_datagram_endpoint_sock`: a socket bound outside the loop, handed to it
/// (`sock=`), sends and receives.
#[aioloop::test]
async fn test_create_datagram_endpoint_sock() {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let sock = UdpSocket::from_std(sock).unwrap();
    let addr = sock.local_addr().unwrap();
    sock.send_to(b"self", addr).await.unwrap();
    let mut buf = [0; 8];
    let (n, from) = wait_for(sock.recv_from(&mut buf), TIMEOUT)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((&buf[..n], from), (&b"self"[..], addr));
}

/// test_selector_events.py `test_sendto_error_received_connected` (asyncio's protocol gets
/// `error_received(ConnectionRefusedError)`): a connected UDP socket that sent to a port
/// nothing listens on gets `ConnectionRefused` from its pending receive (the ICMP error wakes
/// it) instead of waiting forever.
#[aioloop::test]
async fn test_sendto_error_received_connected() {
    let closed_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = Rc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    client.connect(closed_port).await.unwrap();
    let recv = spawn({
        let client = client.clone();
        async move { client.recv(&mut [0; 8]).await.map_err(|err| err.kind()) }
    });
    yield_now().await;
    client.send(b"ping").await.unwrap();
    let outcome = wait_for(recv, TIMEOUT).await.expect("the receive woke").unwrap();
    assert_eq!(outcome, Err(io::ErrorKind::ConnectionRefused));
}

/// `test_prompt_cancellation`: a pending `sock_recv` cancelled from a callback ends cancelled
/// within the iteration, taking nothing: a later read gets the byte sent after.
#[aioloop::test]
async fn test_prompt_cancellation() {
    let (r, w) = UnixStream::pair().unwrap();
    let r = Rc::new(r);
    let f = spawn({
        let r = r.clone();
        async move { r.read(&mut [0; 1]).await }
    });
    yield_now().await;
    let task = f.task_ref();
    call_soon(move || {
        task.cancel();
    });
    assert!(matches!(
        wait_for(f, TIMEOUT).await.unwrap(),
        Err(TaskError::Cancelled)
    ));
    w.write_all(b"x").await.unwrap();
    let mut buf = [0; 1];
    assert_eq!(wait_for(r.read(&mut buf), TIMEOUT).await.unwrap().unwrap(), 1);
    assert_eq!(&buf, b"x");
}
