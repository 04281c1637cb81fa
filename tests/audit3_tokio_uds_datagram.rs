//! Audit against tokio's tests/uds_datagram.rs: the behaviour of each upstream test, through
//! aioloop's `UnixDatagram`, under the upstream test's name.
//!
//! Not ported, for want of the API: `poll_send_to`/`poll_recv_from` and `poll_send`/`poll_recv`
//! on a `UnixDatagram` (`send_to_recv_from_poll` and `send_recv_poll`), the `*_buf` reads
//! (`try_recv_buf_from`, `recv_buf_from`, `try_recv_buf_never_block`, `recv_buf`), and
//! `poll_send_ready`/`poll_recv_ready` (`poll_ready` is `try_send_to_recv_from` with them, ported
//! there through `writable()`/`readable()`).

mod support;

use std::io;
use std::rc::Rc;

use aioloop::net::UnixDatagram;
use support::sockets::{until_ready, within, TempDir};

/// tokio's `echo_server`: sends each datagram back to its sender, if it has a path.
async fn echo_server(socket: UnixDatagram) -> io::Result<()> {
    let mut recv_buf = vec![0u8; 1024];
    loop {
        let (len, peer_addr) = socket.recv_from(&mut recv_buf[..]).await?;
        if let Some(path) = peer_addr.as_pathname() {
            socket.send_to(&recv_buf[..len], path).await?;
        }
    }
}

/// `echo`: a client bound to a path and connected to the echo server gets its datagram back.
#[aioloop::test]
async fn echo() {
    let dir = TempDir::new("audit3-dgram-echo");
    let server_path = dir.join("server.sock");
    let client_path = dir.join("client.sock");
    let server = aioloop::spawn(echo_server(UnixDatagram::bind(&server_path).unwrap()));
    let socket = UnixDatagram::bind(&client_path).unwrap();
    socket.connect(&server_path).unwrap();
    socket.send(b"ECHO").await.unwrap();
    let mut recv_buf = [0u8; 16];
    let len = within(socket.recv(&mut recv_buf[..])).await.unwrap();
    assert_eq!(&recv_buf[..len], b"ECHO");
    server.cancel();
}

/// `echo_from`: the same, and the echo comes from the server's path.
#[aioloop::test]
async fn echo_from() {
    let dir = TempDir::new("audit3-dgram-echo-from");
    let server_path = dir.join("server.sock");
    let server = aioloop::spawn(echo_server(UnixDatagram::bind(&server_path).unwrap()));
    let socket = UnixDatagram::bind(dir.join("client.sock")).unwrap();
    socket.connect(&server_path).unwrap();
    socket.send(b"ECHO").await.unwrap();
    let mut recv_buf = [0u8; 16];
    let (len, addr) = within(socket.recv_from(&mut recv_buf[..])).await.unwrap();
    assert_eq!(&recv_buf[..len], b"ECHO");
    assert_eq!(addr.as_pathname(), Some(server_path.as_path()));
    server.cancel();
}

/// `try_send_recv_never_block`: `try_send` until the pair's buffer is full (`WouldBlock`, or
/// `ENOBUFS`), then each datagram sent is received whole with `try_recv` after `readable`,
/// and then `try_recv` gives `WouldBlock`.
#[aioloop::test]
async fn try_send_recv_never_block() {
    let mut recv_buf = [0u8; 16];
    let payload = b"PAYLOAD";
    let mut count = 0;
    let (dgram1, dgram2) = UnixDatagram::pair().unwrap();
    loop {
        within(dgram1.writable()).await.unwrap();
        match dgram1.try_send(payload) {
            Err(err) => match (err.kind(), err.raw_os_error()) {
                (io::ErrorKind::WouldBlock, _) => break,
                (_, Some(libc::ENOBUFS)) => break,
                _ => panic!("unexpected error {err:?}"),
            },
            Ok(len) => assert_eq!(len, payload.len()),
        }
        count += 1;
    }
    assert!(count > 0);
    while count > 0 {
        within(dgram2.readable()).await.unwrap();
        let len = dgram2.try_recv(&mut recv_buf[..]).unwrap();
        assert_eq!(len, payload.len());
        assert_eq!(payload, &recv_buf[..len]);
        count -= 1;
    }
    let err = dgram2.try_recv(&mut recv_buf[..]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err:?}");
}

/// `split`: one socket shared by two futures sends to its own path from one and receives it in
/// the other (an `Rc` where tokio has an `Arc`).
#[aioloop::test]
async fn split() {
    let dir = TempDir::new("audit3-dgram-split");
    let path = dir.join("split.sock");
    let s = Rc::new(UnixDatagram::bind(&path).unwrap());
    let r = s.clone();
    let msg = b"hello";
    let ((), ()) = within(futures::future::try_join(
        async {
            s.send_to(msg, &path).await?;
            io::Result::Ok(())
        },
        async {
            let mut recv_buf = [0u8; 32];
            let (len, _) = r.recv_from(&mut recv_buf[..]).await?;
            assert_eq!(&recv_buf[..len], msg);
            Ok(())
        },
    ))
    .await
    .unwrap();
}

/// `try_send_to_recv_from` (and `poll_ready`): five rounds of `try_send_to` and
/// `try_recv_from` between sockets bound to paths, each after its readiness; the sender's path
/// comes with each datagram.
#[aioloop::test]
async fn try_send_to_recv_from() {
    let dir = TempDir::new("audit3-dgram-try");
    let server_path = dir.join("server.sock");
    let client_path = dir.join("client.sock");
    let server = UnixDatagram::bind(&server_path).unwrap();
    let client = UnixDatagram::bind(&client_path).unwrap();
    for _ in 0..5 {
        let sent = until_ready(
            || client.writable(),
            || client.try_send_to(b"hello world", &server_path),
        )
        .await;
        assert_eq!(sent, 11);
        let mut buf = [0; 512];
        let (n, addr) = within(until_ready(
            || server.readable(),
            || server.try_recv_from(&mut buf),
        ))
        .await;
        assert_eq!(addr.as_pathname(), Some(client_path.as_ref()));
        assert_eq!(&buf[..n], &b"hello world"[..]);
    }
}
