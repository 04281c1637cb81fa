//! Audit against tokio's tests/uds_stream.rs and uds_split.rs: the behaviour of each upstream
//! test, through aioloop's `UnixListener` and `UnixStream`, under the upstream test's name.
//!
//! Not ported, for want of the API: `accept_read_write_socketaddr` (`bind_addr`/`connect_addr`
//! with a `SocketAddr`), `try_read_buf`, the vectored half of `try_read_write` and
//! `ready(Interest)`'s `is_read_closed` (an EOF read stands for it).

mod support;

use std::io;
use std::net::Shutdown;
use std::pin::pin;

use aioloop::net::{UnixListener, UnixStream};
use futures::io::{AsyncReadExt, AsyncWriteExt};
use support::sockets::{poll_once, within, TempDir};

/// A listener at `dir/name` and a client connected to it: `(client, server)`.
async fn unix_pair(dir: &TempDir) -> (UnixStream, UnixStream) {
    let path = dir.join("bind.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let client = UnixStream::connect(&path).await.unwrap();
    let (server, _) = within(listener.accept()).await.unwrap();
    (client, server)
}

/// `accept_read_write`: what the client wrote before it went away is read to the end, then
/// reads give 0.
#[aioloop::test]
async fn accept_read_write() {
    let dir = TempDir::new("audit3-uds-arw");
    let (client, mut server) = unix_pair(&dir).await;
    client.write_all(b"hello").await.unwrap();
    drop(client);
    let mut buf = vec![];
    within(server.read_to_end(&mut buf)).await.unwrap();
    assert_eq!(&buf, b"hello");
    assert_eq!(server.read(&mut buf).await.unwrap(), 0);
}

/// `shutdown`: shutting the client's write side down (tokio's `AsyncWriteExt::shutdown`,
/// futures' `close` here, or `shutdown(Shutdown::Write)`) gives the server EOF.
#[aioloop::test]
async fn shutdown() {
    let dir = TempDir::new("audit3-uds-shutdown");
    let (mut client, server) = unix_pair(&dir).await;
    client.close().await.unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(within(server.read(&mut buf)).await.unwrap(), 0);

    let (client, server) = unix_pair(&TempDir::new("audit3-uds-shutdown2")).await;
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(within(server.read(&mut buf)).await.unwrap(), 0);
}

/// `try_read_write` (its non-vectored half); the body is tcp_stream.rs's, shared in
/// tests/support/net.rs, with tokio's 11-byte message.
#[aioloop::test]
async fn try_read_write() {
    let dir = TempDir::new("audit3-uds-trw");
    let (client, server) = unix_pair(&dir).await;
    aioloop::unconstrained(async { support::sockets::try_read_write!(client, server, b"hello world") }).await;
}

/// `poll_read_ready`, through `readable()` polled once (see tests/support/net.rs).
#[aioloop::test]
async fn poll_read_ready() {
    let dir = TempDir::new("audit3-uds-prr");
    let (client, server) = unix_pair(&dir).await;
    support::sockets::poll_read_ready!(client, server);
}

/// `poll_write_ready`, through `writable()` polled once.
#[aioloop::test]
async fn poll_write_ready() {
    let dir = TempDir::new("audit3-uds-pwr");
    let (client, server) = unix_pair(&dir).await;
    support::sockets::poll_write_ready!(client, server);
}

/// `epollhup`: a connect left pending when its listener is dropped fails with
/// `ConnectionRefused` or `ConnectionReset`, rather than hanging or succeeding. (A Unix connect
/// completes at once while the backlog has room, so where the first poll is already done the
/// test has nothing to check, as tokio's would panic at its `assert_pending!`.)
#[aioloop::test]
async fn epollhup() {
    let dir = TempDir::new("audit3-uds-epollhup");
    let sock_path = dir.join("connect.sock");
    let listener = UnixListener::bind(&sock_path).unwrap();
    let mut connect = pin!(UnixStream::connect(&sock_path));
    let first = poll_once(connect.as_mut()).await;
    drop(listener);
    let result = match first {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => within(connect).await,
    };
    match result {
        // Connected before the listener went: the stream reads EOF or a reset, never hangs.
        Ok(stream) => {
            let mut buf = [0u8; 1];
            match within(stream.read(&mut buf)).await {
                Ok(0) => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
                other => panic!("{other:?}"),
            }
        }
        Err(err) => assert!(
            matches!(
                err.kind(),
                io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
            ),
            "unexpected error kind: {err:?}"
        ),
    }
}

/// `abstract_socket_name`: a name beginning with a NUL byte binds in Linux's abstract namespace,
/// and the accepted stream's local address is that abstract name.
#[cfg(target_os = "linux")]
#[aioloop::test]
async fn abstract_socket_name() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("aioloop-audit3-{}", std::process::id());
    let socket_path = format!("\0{name}");
    let listener = UnixListener::bind(&socket_path).unwrap();
    let _client = UnixStream::connect(&socket_path).await.unwrap();
    let (stream, _) = within(listener.accept()).await.unwrap();
    let local_addr = stream.into_std().unwrap().local_addr().unwrap();
    assert_eq!(local_addr.as_abstract_name().unwrap(), name.as_bytes());
}

/// uds_split.rs `split`: each end of a pair writes its letter, shuts its write side down and
/// reads the other's to the end, both at once (tokio's borrowed halves are `&UnixStream`).
#[aioloop::test]
async fn split() {
    async fn send_recv_all(stream: &UnixStream, input: &[u8]) -> io::Result<Vec<u8>> {
        let (mut read, mut write) = (stream, stream);
        write.write_all(input).await?;
        write.close().await?;
        let mut output = Vec::new();
        read.read_to_end(&mut output).await?;
        Ok(output)
    }
    let (a, b) = UnixStream::pair().unwrap();
    let (a_response, b_response) = within(futures::future::try_join(
        send_recv_all(&a, b"A"),
        send_recv_all(&b, b"B"),
    ))
    .await
    .unwrap();
    assert_eq!(a_response, b"B");
    assert_eq!(b_response, b"A");
}
