//! Third audit against CPython's Lib/test/test_asyncio/test_sock_lowlevel.py: asyncio's
//! `loop.sock_connect` / `sock_sendall` / `sock_recv` / `sock_recv_into` / `sock_accept` /
//! `sock_sendto` / `sock_recvfrom` are the methods of aioloop's `net` types (`TcpStream::read`,
//! `write_all`, `TcpListener::accept`, `UdpSocket::send_to`...), which own their socket. Each test
//! is named after the CPython test it ports; the peers are plain threads (tests/support/net.rs).
//!
//! Not ported: `test_sendto_blocking` (it mocks `sock.sendto` to raise `BlockingIOError`);
//! `test_sock_client_fail` is tests/net_tcp.rs `connect_to_a_closed_port_is_refused`. The
//! debug-mode check that a blocking socket is refused has no counterpart: `from_std` switches the
//! socket to non-blocking mode (`test_sock_client_ops` checks that).

mod support;

use std::io;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream, UdpSocket, UnixStream};
use aioloop::{spawn, wait_for, yield_now, TaskError};
use futures_util::AsyncReadExt;
use support::net::{run_test_server, run_test_unix_server, run_udp_echo_server, SocketDir, RESPONSE};

const REQUEST: &[u8] = b"GET / HTTP/1.0\r\n\r\n";

/// Whether the descriptor is in non-blocking mode (asyncio's `gettimeout() == 0`).
fn is_nonblocking(fd: &impl AsRawFd) -> bool {
    // SAFETY: F_GETFL on a descriptor the caller keeps open reads its flags, nothing else.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    assert!(flags >= 0);
    flags & libc::O_NONBLOCK != 0
}

/// Reads until EOF with `read`.
async fn read_all(stream: &TcpStream) -> Vec<u8> {
    let mut data = Vec::new();
    let mut buf = [0; 1024];
    loop {
        match stream.read(&mut buf).await.unwrap() {
            0 => return data,
            n => data.extend_from_slice(&buf[..n]),
        }
    }
}

/// `_basetest_sock_client_ops` and `_basetest_sock_recv_into`: connect, send a request, read
/// the response (`sock_recv`, then `sock_recv_into` a buffer's tail); a blocking socket given
/// to the loop (`from_std`) is switched to non-blocking mode, where asyncio's debug mode raises
/// `ValueError`.
#[aioloop::test]
async fn test_sock_client_ops() {
    // sock_connect, sock_sendall, sock_recv.
    let stream = TcpStream::connect(run_test_server()).await.unwrap();
    stream.write_all(REQUEST).await.unwrap();
    let mut buf = [0; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.0 200 OK"));
    let mut data = buf[..n].to_vec();
    data.extend(read_all(&stream).await);
    assert_eq!(data, RESPONSE);

    // sock_recv_into: the response read into the front of one buffer, then its tail.
    let stream = TcpStream::connect(run_test_server()).await.unwrap();
    stream.write_all(REQUEST).await.unwrap();
    let mut buf = [0; 1024];
    let mut filled = stream.read(&mut buf).await.unwrap();
    while let n @ 1.. = stream.read(&mut buf[filled..]).await.unwrap() {
        filled += n;
    }
    assert_eq!(&buf[..filled], RESPONSE);

    // A blocking socket handed to the loop.
    let blocking = std::net::TcpStream::connect(run_test_server()).unwrap();
    assert!(!is_nonblocking(&blocking));
    let stream = TcpStream::from_std(blocking).unwrap();
    assert!(is_nonblocking(&stream));
    stream.write_all(REQUEST).await.unwrap();
    assert_eq!(read_all(&stream).await, RESPONSE);
}

/// `test_unix_sock_client_ops`: the same over a Unix socket.
#[aioloop::test]
async fn test_unix_sock_client_ops() {
    let dir = SocketDir::new("sock-client-ops");
    run_test_unix_server(&dir.path());
    let stream = UnixStream::connect(dir.path()).await.unwrap();
    stream.write_all(REQUEST).await.unwrap();
    let mut data = Vec::new();
    let mut buf = [0; 1024];
    while let n @ 1.. = stream.read(&mut buf).await.unwrap() {
        data.extend_from_slice(&buf[..n]);
    }
    assert_eq!(data, RESPONSE);
}

/// A connection to the test server whose first read, made by `read` in a task, is cancelled
/// while it waits; then the request is sent: what the caller reads next is the whole response.
async fn read_cancelled_then_request<F>(read: impl FnOnce(Rc<TcpStream>) -> F) -> Rc<TcpStream>
where
    F: std::future::Future<Output = std::io::Result<usize>> + 'static,
{
    let stream = Rc::new(TcpStream::connect(run_test_server()).await.unwrap());
    let pending = spawn(read(stream.clone()));
    yield_now().await;
    pending.cancel();
    assert!(matches!(pending.await, Err(TaskError::Cancelled)));
    stream.write_all(REQUEST).await.unwrap();
    stream
}

/// `test_sock_client_racing`, its three parts.
///
/// `_basetest_sock_recv_racing`: a `sock_recv` cancelled while it waits, then the request
/// sent and the response read: nothing was lost to the cancelled read.
/// `_basetest_sock_recv_into_racing`: the same through the `futures-io` `AsyncRead` impl.
/// `_basetest_sock_send_racing`: a `sock_sendall` cancelled while the socket buffer is full,
/// then `sock_sendall(b"world")`: the peer's data ends with `world` (the cancelled call may
/// have written a prefix of `hello`, as asyncio's proactor may deliver it).
#[aioloop::test]
async fn test_sock_client_racing() {
    // recv
    let stream = read_cancelled_then_request(|stream| async move { stream.read(&mut [0; 1024]).await }).await;
    let data = wait_for(read_all(&stream), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(data, RESPONSE);

    // recv_into, through AsyncRead on &TcpStream
    let stream = read_cancelled_then_request(|stream| async move {
        AsyncReadExt::read(&mut &*stream, &mut [0; 1024]).await
    })
    .await;
    let mut data = Vec::new();
    wait_for((&*stream).read_to_end(&mut data), Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(data, RESPONSE);

    // send
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sock = Rc::new(TcpStream::connect(listener.local_addr().unwrap()).await.unwrap());
    socket2::SockRef::from(&*sock).set_send_buffer_size(1024).unwrap();
    let server = TcpStream::from_std(listener.accept().unwrap().0).unwrap();
    // Fill the buffers until even four bytes would block.
    let mut size = 8192;
    while size >= 4 {
        loop {
            match sock.try_write(&vec![b' '; size]) {
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) => panic!("{err}"),
            }
        }
        size /= 2;
    }
    let blocked = spawn({
        let sock = sock.clone();
        async move { sock.write_all(b"hello").await }
    });
    yield_now().await;
    blocked.cancel();
    let _ = blocked.await; // cancelled, or done if the buffers took it meanwhile (io_uring's send buffer)
    let recv_all = spawn(async move {
        let mut data = Vec::new();
        let mut buf = vec![0; 8192];
        while let n @ 1.. = server.read(&mut buf).await.unwrap() {
            data.extend(buf[..n].iter().filter(|&&b| b != b' '));
        }
        data
    });
    wait_for(sock.write_all(b"world"), Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    sock.shutdown(Shutdown::Write).unwrap();
    let data = wait_for(recv_all, Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    assert!(data.ends_with(b"world"), "{:?}", String::from_utf8_lossy(&data));
}

/// `test_sock_client_connect_racing`: a connect to a socket bound but not yet listening,
/// cancelled after one iteration; once the socket listens, a new connect succeeds (asyncio
/// retries on the same socket; aioloop's `connect` makes a new socket each time).
#[aioloop::test]
async fn test_sock_client_connect_racing() {
    let listener = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    listener
        .bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into())
        .unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let attempt = spawn(TcpStream::connect(addr));
    yield_now().await;
    attempt.cancel();
    let _ = attempt.await; // cancelled, or refused already: either is fine
    listener.listen(1).unwrap();
    let stream = wait_for(TcpStream::connect(addr), Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stream.peer_addr().unwrap(), addr);
}

const DATA_SIZE: usize = 1_000_000;

/// `_basetest_huge_content` and `_basetest_huge_content_recvinto`: a 1 MB body sent by one
/// task while another reads the echo on the same socket; every byte comes back, in order.
/// `read_into_one_buffer` reads through `AsyncRead` into one 1 MB buffer (`sock_recv_into`).
async fn huge_content(read_into_one_buffer: bool) {
    let stream = Rc::new(TcpStream::connect(run_test_server()).await.unwrap());
    let headers = format!("POST /loop HTTP/1.0\r\nContent-Length: {DATA_SIZE}\r\n\r\n");
    stream.write_all(headers.as_bytes()).await.unwrap();
    let chunk: Vec<u8> = b"0123456789".iter().copied().cycle().take(DATA_SIZE).collect();
    let send = spawn({
        let stream = stream.clone();
        let chunk = chunk.clone();
        async move { stream.write_all(&chunk).await }
    });
    let mut data = Vec::new();
    let mut buf = vec![0; DATA_SIZE];
    loop {
        let n = if read_into_one_buffer {
            AsyncReadExt::read(&mut &*stream, &mut buf).await.unwrap()
        } else {
            stream.read(&mut buf).await.unwrap()
        };
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    assert!(data.starts_with(b"HTTP/1.0 200 OK"));
    let body_at = data.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(data.len() - body_at, DATA_SIZE);
    assert!(data[body_at..] == chunk[..], "the echoed body differs");
    send.await.unwrap().unwrap();
}

/// `test_huge_content`.
#[aioloop::test]
async fn test_huge_content() {
    wait_for(huge_content(false), Duration::from_secs(30))
        .await
        .unwrap();
}

/// `test_huge_content_recvinto`.
#[aioloop::test]
async fn test_huge_content_recvinto() {
    wait_for(huge_content(true), Duration::from_secs(30))
        .await
        .unwrap();
}

/// `test_recvfrom`: a 4096-byte datagram to an echo server comes back whole, from its
/// address.
#[aioloop::test]
async fn test_recvfrom() {
    let server = run_udp_echo_server();
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let data = [1u8; 4096];
    assert_eq!(sock.send_to(&data, server).await.unwrap(), 4096);
    let mut buf = vec![0; 4096];
    let (n, from) = wait_for(sock.recv_from(&mut buf), Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((&buf[..n], from), (&data[..], server));
    sock.send_to(b"STOP", server).await.unwrap();
}

/// `test_recvfrom_into`: the datagram into a buffer of its size, then into the first 4096
/// bytes of a larger one (`sock_recvfrom_into(sock, buf, 4096)`), the rest untouched.
#[aioloop::test]
async fn test_recvfrom_into() {
    let server = run_udp_echo_server();
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let data = [1u8; 4096];

    let mut buf = [0u8; 4096];
    sock.send_to(&data, server).await.unwrap();
    let (n, from) = sock.recv_from(&mut buf).await.unwrap();
    assert_eq!((n, from), (4096, server));
    assert_eq!(buf, data);

    let mut buf = [0u8; 8192];
    sock.send_to(&data, server).await.unwrap();
    let (n, from) = sock.recv_from(&mut buf[..4096]).await.unwrap();
    assert_eq!((n, from), (4096, server));
    assert_eq!(buf[..4096], data);
    assert!(buf[4096..].iter().all(|&b| b == 0));
    sock.send_to(b"STOP", server).await.unwrap();
}

/// `test_sock_accept`: the accepted connection is non-blocking, its peer address is the
/// client's, and the client's peer is the listener.
#[aioloop::test]
async fn test_sock_accept() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (conn, addr) = listener.accept().await.unwrap();
    assert!(is_nonblocking(&conn));
    assert_eq!(addr, client.local_addr().unwrap());
    assert_eq!(conn.peer_addr().unwrap(), addr);
    assert_eq!(client.peer_addr().unwrap(), listener.local_addr().unwrap());
}

/// `test_cancel_sock_accept`: an accept that times out, then the listener closed: a connect
/// is refused (the cancelled accept left nothing holding the socket open).
#[aioloop::test]
async fn test_cancel_sock_accept() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    assert!(wait_for(listener.accept(), Duration::from_millis(100))
        .await
        .is_err());
    drop(listener);
    let refused = TcpStream::connect(addr).await.map(drop);
    assert_eq!(
        refused.map_err(|err| err.kind()),
        Err(io::ErrorKind::ConnectionRefused)
    );
}

/// `test_create_connection_sock`: a socket connected outside the loop, handed to it
/// (`create_connection(sock=sock)`), exchanges a request and its response.
#[aioloop::test]
async fn test_create_connection_sock() {
    let sock = std::net::TcpStream::connect(run_test_server()).unwrap();
    sock.set_nonblocking(true).unwrap();
    let stream = TcpStream::from_std(sock).unwrap();
    stream.write_all(REQUEST).await.unwrap();
    let data = read_all(&stream).await;
    assert!(!data.is_empty());
    assert_eq!(data, RESPONSE);
}
