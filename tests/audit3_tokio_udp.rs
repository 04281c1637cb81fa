//! Audit against tokio's tests/udp.rs: the behaviour of each upstream test, through aioloop's
//! `UdpSocket`, under the upstream test's name.
//!
//! Not ported, for want of the API: `poll_send`/`poll_recv` (connected, polled; `send_recv_poll`),
//! `poll_peek_from`, `try_peek_from`, `peek_sender` and its poll/try forms, the `*_buf` reads
//! (`recv_buf`, `try_recv_buf`, `recv_buf_from`, `try_recv_buf_from`), `poll_send_ready`/
//! `poll_recv_ready` (`poll_ready` is ported through `writable()`/`readable()`), and the
//! multicast, `tos` and `tclass` options.

mod support;

use std::future::poll_fn;
use std::io;
use std::rc::Rc;

use aioloop::net::UdpSocket;
use aioloop::sync::Queue;
use support::sockets::{until_ready, within};

const MSG: &[u8] = b"hello";
const MSG_LEN: usize = MSG.len();

async fn bind() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

/// `send_recv`: connected sockets exchange a datagram.
#[aioloop::test]
async fn send_recv() {
    let (sender, receiver) = (bind().await, bind().await);
    sender.connect(receiver.local_addr().unwrap()).await.unwrap();
    receiver.connect(sender.local_addr().unwrap()).await.unwrap();
    sender.send(MSG).await.unwrap();
    let mut recv_buf = [0u8; 32];
    let len = within(receiver.recv(&mut recv_buf[..])).await.unwrap();
    assert_eq!(&recv_buf[..len], MSG);
}

/// `send_to_recv_closed_returns_err`: a datagram sent on a connected socket to a closed port
/// makes the next `recv` fail with `ConnectionRefused` (the ICMP port-unreachable), within 5 s,
/// instead of waiting for ever.
#[aioloop::test]
async fn send_to_recv_closed_returns_err() {
    let sender = bind().await;
    let receiver = bind().await;
    let receiver_addr = receiver.local_addr().unwrap();
    drop(receiver);
    sender.connect(receiver_addr).await.unwrap();
    sender.send(MSG).await.unwrap();
    let mut recv_buf = [0u8; 32];
    let err = aioloop::wait_for(sender.recv(&mut recv_buf), std::time::Duration::from_secs(5))
        .await
        .expect("timed out instead of returning error")
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
        ),
        "{err:?}"
    );
}

/// `send_to_recv_from`: the datagram and its sender's address arrive.
#[aioloop::test]
async fn send_to_recv_from() {
    let (sender, receiver) = (bind().await, bind().await);
    let receiver_addr = receiver.local_addr().unwrap();
    sender.send_to(MSG, &receiver_addr).await.unwrap();
    let mut recv_buf = [0u8; 32];
    let (len, addr) = within(receiver.recv_from(&mut recv_buf[..])).await.unwrap();
    assert_eq!(&recv_buf[..len], MSG);
    assert_eq!(addr, sender.local_addr().unwrap());
}

/// `send_to_recv_from_poll`: the same through `poll_send_to` and `poll_recv_from`.
#[aioloop::test]
async fn send_to_recv_from_poll() {
    let (sender, receiver) = (bind().await, bind().await);
    let receiver_addr = receiver.local_addr().unwrap();
    poll_fn(|cx| sender.poll_send_to(cx, MSG, receiver_addr))
        .await
        .unwrap();
    let mut recv_buf = [0u8; 32];
    let (len, addr) = within(poll_fn(|cx| receiver.poll_recv_from(cx, &mut recv_buf)))
        .await
        .unwrap();
    assert_eq!(&recv_buf[..len], MSG);
    assert_eq!(addr, sender.local_addr().unwrap());
}

/// `send_to_peek_from`: peeking twice gives the datagram and its sender both times, and the
/// receive after them still gets it.
#[aioloop::test]
async fn send_to_peek_from() {
    let (sender, receiver) = (bind().await, bind().await);
    let receiver_addr = receiver.local_addr().unwrap();
    poll_fn(|cx| sender.poll_send_to(cx, MSG, receiver_addr))
        .await
        .unwrap();
    for _ in 0..2 {
        let mut recv_buf = [0u8; 32];
        let (n, addr) = within(receiver.peek_from(&mut recv_buf)).await.unwrap();
        assert_eq!(&recv_buf[..n], MSG);
        assert_eq!(addr, sender.local_addr().unwrap());
    }
    let mut recv_buf = [0u8; 32];
    let (n, addr) = receiver.recv_from(&mut recv_buf).await.unwrap();
    assert_eq!(&recv_buf[..n], MSG);
    assert_eq!(addr, sender.local_addr().unwrap());
}

/// `split`: one socket shared by two tasks (an `Rc` where tokio has an `Arc`) sends to itself
/// from one and receives in the other.
#[aioloop::test]
async fn split() {
    let s = Rc::new(bind().await);
    let r = s.clone();
    let addr = s.local_addr().unwrap();
    let _sender = aioloop::spawn(async move {
        s.send_to(MSG, &addr).await.unwrap();
    });
    let mut recv_buf = [0u8; 32];
    let (len, _) = within(r.recv_from(&mut recv_buf[..])).await.unwrap();
    assert_eq!(&recv_buf[..len], MSG);
}

/// `split_chan` (and `split_chan_poll`, with the poll forms): an echo server of two tasks on
/// one socket, a receiving task handing each datagram through a queue to a sending task.
async fn split_chan_with(poll: bool) {
    let socket = Rc::new(bind().await);
    let addr = socket.local_addr().unwrap();
    let (s, r) = (socket.clone(), socket);
    let queue = Rc::new(Queue::<(Vec<u8>, std::net::SocketAddr)>::new(1_000));
    let rx = queue.clone();
    let echo_tx = aioloop::spawn(async move {
        while let Ok((bytes, addr)) = rx.get().await {
            if poll {
                poll_fn(|cx| s.poll_send_to(cx, &bytes, addr)).await.unwrap();
            } else {
                s.send_to(&bytes, &addr).await.unwrap();
            }
        }
    });
    let echo_rx = aioloop::spawn(async move {
        let mut buf = [0u8; 32];
        loop {
            let (len, addr) = if poll {
                poll_fn(|cx| r.poll_recv_from(cx, &mut buf)).await.unwrap()
            } else {
                r.recv_from(&mut buf).await.unwrap()
            };
            queue.put((buf[..len].to_vec(), addr)).await.unwrap();
        }
    });
    let sender = bind().await;
    sender.send_to(MSG, addr).await.unwrap();
    let mut recv_buf = [0u8; 32];
    let (len, _) = within(sender.recv_from(&mut recv_buf)).await.unwrap();
    assert_eq!(&recv_buf[..len], MSG);
    echo_rx.cancel();
    echo_tx.cancel();
}

#[aioloop::test]
async fn split_chan() {
    split_chan_with(false).await;
}

#[aioloop::test]
async fn split_chan_poll() {
    split_chan_with(true).await;
}

/// `try_send_spawn`: `try_send_to`, then `try_send` once connected, and a `try_send` from
/// another thread (here before the socket's loop: an aioloop socket is `!Send`, so the thread
/// sends on a std socket made from a duplicate of its descriptor); every datagram arrives.
#[aioloop::test]
async fn try_send_spawn() {
    const MSG2: &[u8] = b"world!";
    const MSG2_LEN: usize = MSG2.len();
    let (sender, receiver) = (bind().await, bind().await);
    receiver.connect(sender.local_addr().unwrap()).await.unwrap();
    sender.writable().await.unwrap();
    let sent = sender.try_send_to(MSG, receiver.local_addr().unwrap()).unwrap();
    assert_eq!(sent, MSG_LEN);
    let mut buf = [0u8; 32];
    let mut received = within(receiver.recv(&mut buf[..])).await.unwrap();
    sender.connect(receiver.local_addr().unwrap()).await.unwrap();
    assert_eq!(sender.try_send(MSG2).unwrap(), MSG2_LEN);
    received += within(receiver.recv(&mut buf[..])).await.unwrap();
    let dup = {
        use std::os::fd::AsFd;
        std::net::UdpSocket::from(sender.as_fd().try_clone_to_owned().unwrap())
    };
    std::thread::spawn(move || assert_eq!(dup.send(MSG).unwrap(), MSG_LEN))
        .join()
        .unwrap();
    received += within(receiver.recv(&mut buf[..])).await.unwrap();
    assert_eq!(received, MSG_LEN * 2 + MSG2_LEN);
}

/// `try_send_recv`: five rounds of `writable` + `try_send`, `readable` + `try_recv` between
/// connected sockets.
#[aioloop::test]
async fn try_send_recv() {
    let (server, client) = (bind().await, bind().await);
    client.connect(server.local_addr().unwrap()).await.unwrap();
    server.connect(client.local_addr().unwrap()).await.unwrap();
    for _ in 0..5 {
        let sent = until_ready(|| client.writable(), || client.try_send(b"hello world")).await;
        assert_eq!(sent, 11);
        let mut buf = [0; 512];
        let n = within(until_ready(|| server.readable(), || server.try_recv(&mut buf))).await;
        assert_eq!(&buf[..n], &b"hello world"[..]);
    }
}

/// `try_send_to_recv_from` (and `poll_ready`, whose `poll_send_ready`/`poll_recv_ready` are
/// `writable()`/`readable()` here): five rounds of `try_send_to` and `try_recv_from`, each
/// after its readiness, and the sender's address comes with each datagram.
#[aioloop::test]
async fn try_send_to_recv_from() {
    let server = bind().await;
    let saddr = server.local_addr().unwrap();
    let client = bind().await;
    let caddr = client.local_addr().unwrap();
    for _ in 0..5 {
        let sent = until_ready(|| client.writable(), || client.try_send_to(b"hello world", saddr)).await;
        assert_eq!(sent, 11);
        let mut buf = [0; 512];
        let (n, addr) = within(until_ready(
            || server.readable(),
            || server.try_recv_from(&mut buf),
        ))
        .await;
        assert_eq!(addr, caddr);
        assert_eq!(&buf[..n], &b"hello world"[..]);
    }
}

/// `test!(broadcast, set_broadcast(true))`: the option reads back as set, on IPv4 and IPv6.
#[aioloop::test]
async fn broadcast() {
    for addr in ["127.0.0.1:0", "[::1]:0"] {
        let Ok(socket) = UdpSocket::bind(addr).await else {
            continue; // no IPv6 loopback here
        };
        assert!(!socket.broadcast().unwrap());
        socket.set_broadcast(true).unwrap();
        assert!(socket.broadcast().unwrap());
    }
}

/// `test!(IPv4 ttl, set_ttl(40))`.
#[aioloop::test]
async fn ttl() {
    let socket = bind().await;
    assert_ne!(socket.ttl().unwrap(), 40);
    socket.set_ttl(40).unwrap();
    assert_eq!(socket.ttl().unwrap(), 40);
}
