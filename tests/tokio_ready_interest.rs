//! The sockets' `ready(Interest)`, tokio's `TcpStream::ready` / `UdpSocket::ready`: ports of
//! tokio's tests/tcp_stream.rs `read_closed`, `write_closed` and the end of `try_read_buf` (the
//! peer's close reported as `is_read_closed`), and of the `ready` loop of tokio's docs (one task
//! reading and writing through the `try_` calls). Run under both io drivers
//! (`AIOLOOP_IO_DRIVER=epoll` / `io_uring`).

use std::io;
use std::pin::pin;

use aioloop::net::{Interest, Ready, UdpSocket, UnixStream};

mod support;
use support::sockets::{poll_once, read_until_pending, tcp_pair, within, write_until_pending};

/// tokio's `read_closed`: data makes a pending `ready(READABLE)` end, with no false "read
/// closed".
#[aioloop::test]
async fn read_closed() {
    let (client, server) = tcp_pair().await;
    let mut ready = pin!(client.ready(Interest::READABLE));
    assert!(poll_once(ready.as_mut()).await.is_pending());
    server.write_all(b"ping").await.unwrap();
    let found = within(ready).await.unwrap();
    assert!(found.is_readable());
    assert!(!found.is_read_closed());
    assert!(!found.is_writable(), "only what was asked: {found:?}");
}

/// tokio's `write_closed`: a full socket's `ready(WRITABLE)` waits until the peer drained it,
/// with no false "write closed".
#[aioloop::test]
async fn write_closed() {
    let (client, server) = tcp_pair().await;
    let written = write_until_pending(|buf| client.try_write(buf));
    let mut ready = pin!(client.ready(Interest::WRITABLE));
    assert!(poll_once(ready.as_mut()).await.is_pending(), "full: not writable");
    let mut read = 0;
    while read < written {
        server.readable().await.unwrap();
        read += read_until_pending(|buf| server.try_read(buf));
    }
    let found = within(ready).await.unwrap();
    assert!(found.is_writable());
    assert!(!found.is_write_closed());
}

/// The end of tokio's `try_read_buf`: once the peer closed, `ready(READABLE)` reports the read
/// side closed, and the read finds the end.
#[aioloop::test]
async fn try_read_buf_sees_the_peer_close() {
    let (client, server) = tcp_pair().await;
    client.write_all(b"last").await.unwrap();
    drop(client);
    let mut data = Vec::new();
    let mut closed = false;
    for _ in 0..100 {
        let found = within(server.ready(Interest::READABLE)).await.unwrap();
        let mut buf = [0; 64];
        match server.try_read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) => panic!("{err}"),
        }
        assert!(found.is_readable());
        aioloop::yield_now().await;
    }
    assert!(closed, "the end of the stream within 100 waits");
    assert_eq!(data, b"last");
    let found = within(server.ready(Interest::READABLE)).await.unwrap();
    assert!(found.is_readable(), "the end stays visible: {found:?}");
    assert!(
        found.is_read_closed(),
        "reported as the read side closed: {found:?}"
    );
}

/// The pattern of tokio's `ready` docs: one task waits for either direction and acts on what
/// it found with `try_read`/`try_write`; both sides of a Unix pair exchange a message.
#[aioloop::test]
async fn test_one_task_reads_and_writes_through_ready() {
    let (a, b) = UnixStream::pair().unwrap();
    let peer = aioloop::spawn(async move {
        let mut got = Vec::new();
        let mut sent = false;
        while got.len() < 5 || !sent {
            let found = b.ready(Interest::READABLE | Interest::WRITABLE).await.unwrap();
            if found.is_readable() {
                let mut buf = [0; 16];
                match b.try_read(&mut buf) {
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                    Err(err) => panic!("{err}"),
                }
            }
            if found.is_writable() && !sent {
                match b.try_write(b"world") {
                    Ok(n) => {
                        assert_eq!(n, 5);
                        sent = true;
                    }
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                    Err(err) => panic!("{err}"),
                }
            }
            if got.len() < 5 && sent {
                // Only reads are left: wait for them alone, or `ready` answers writable at once.
                b.readable().await.unwrap();
            }
        }
        got
    });
    let found = within(a.ready(Interest::WRITABLE)).await.unwrap();
    assert!(found.is_writable());
    assert_eq!(a.try_write(b"hello").unwrap(), 5);
    let mut buf = [0; 16];
    let n = within(a.read(&mut buf)).await.unwrap();
    assert_eq!(&buf[..n], b"world");
    assert_eq!(within(peer).await.unwrap(), b"hello");
}

/// `UdpSocket::ready`: writable at once, readable once a datagram came.
#[aioloop::test]
async fn test_udp_ready() {
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let found = within(a.ready(Interest::READABLE | Interest::WRITABLE))
        .await
        .unwrap();
    assert_eq!(found & (Ready::READABLE | Ready::WRITABLE), Ready::WRITABLE);
    let mut ready = pin!(a.ready(Interest::READABLE));
    assert!(poll_once(ready.as_mut()).await.is_pending());
    b.send_to(b"dgram", a.local_addr().unwrap()).await.unwrap();
    assert!(within(ready).await.unwrap().is_readable());
    let mut buf = [0; 16];
    let (n, _) = a.try_recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"dgram");
}
