//! Several tasks waiting on one socket (shared through an `Rc`) are all woken by its next
//! readiness edge, on both I/O drivers (runtime/io/slots.rs, I5). Before, the reactor kept
//! one waker per socket and direction: only the task that polled last was woken, and the
//! others slept until some later edge, or forever.

mod support;

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;

use aioloop::net::{UdpSocket, UnixListener, UnixStream};
use aioloop::{spawn, yield_now};
use support::sockets::{within, write_until_pending, TempDir};

/// tokio's io_async_fd.rs `multiple_waiters`, through `readable()`: ten tasks wait for one
/// socket to become readable; one byte from the peer wakes all ten.
#[aioloop::test]
async fn multiple_waiters() {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let a = Rc::new(UnixStream::from_std(a).unwrap());
    let mut b = b;
    let (waiting, done) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (a, waiting, done) = (a.clone(), waiting.clone(), done.clone());
            spawn(async move {
                waiting.set(waiting.get() + 1);
                a.readable().await.unwrap();
                done.set(done.get() + 1);
            })
        })
        .collect();
    while waiting.get() < 10 {
        yield_now().await;
    }
    for _ in 0..5 {
        yield_now().await;
    }
    assert_eq!(done.get(), 0, "nothing was readable yet");
    b.write_all(b"0").unwrap();
    within(async {
        for task in tasks {
            task.await.unwrap();
        }
    })
    .await;
    assert_eq!(done.get(), 10);
}

/// Two tasks receive on one datagram socket; two datagrams reach both, one each.
#[aioloop::test]
async fn two_receivers_on_one_udp_socket_each_get_a_datagram() {
    let socket = Rc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = socket.local_addr().unwrap();
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let socket = socket.clone();
            spawn(async move {
                let mut buf = [0; 16];
                let n = socket.recv(&mut buf).await.unwrap();
                buf[..n].to_vec()
            })
        })
        .collect();
    for _ in 0..5 {
        yield_now().await;
    }
    let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sender.send_to(b"one", addr).await.unwrap();
    yield_now().await;
    sender.send_to(b"two", addr).await.unwrap();
    let mut got = within(async {
        let mut got = Vec::new();
        for receiver in receivers {
            got.push(receiver.await.unwrap());
        }
        got
    })
    .await;
    got.sort();
    assert_eq!(got, [b"one".to_vec(), b"two".to_vec()]);
}

/// Two tasks accept on one Unix listener; two clients connect and both are accepted.
#[aioloop::test]
async fn two_accepts_on_one_unix_listener_both_complete() {
    let dir = TempDir::new("shared-accept");
    let path = dir.join("sock");
    let listener = Rc::new(UnixListener::bind(&path).unwrap());
    let accepts: Vec<_> = (0..2)
        .map(|_| {
            let listener = listener.clone();
            spawn(async move { listener.accept().await.map(|_| ()) })
        })
        .collect();
    for _ in 0..5 {
        yield_now().await;
    }
    let _first = UnixStream::connect(&path).await.unwrap();
    for _ in 0..5 {
        yield_now().await;
    }
    let _second = UnixStream::connect(&path).await.unwrap();
    within(async {
        for accept in accepts {
            accept.await.unwrap().unwrap();
        }
    })
    .await;
}

/// Two tasks wait for a full socket to take bytes again; the peer's drain wakes both.
#[aioloop::test]
async fn two_writers_waiting_on_a_full_socket_are_both_woken() {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let a = Rc::new(UnixStream::from_std(a).unwrap());
    write_until_pending(|buf| a.try_write(buf));
    let woken = Rc::new(Cell::new(0));
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let (a, woken) = (a.clone(), woken.clone());
            spawn(async move {
                a.writable().await.unwrap();
                woken.set(woken.get() + 1);
            })
        })
        .collect();
    for _ in 0..5 {
        yield_now().await;
    }
    assert_eq!(woken.get(), 0, "the socket is full");
    let mut b = b;
    b.set_nonblocking(true).unwrap();
    let mut buf = vec![0; 1 << 16];
    while std::io::Read::read(&mut b, &mut buf).is_ok() {}
    within(async {
        for writer in writers {
            writer.await.unwrap();
        }
    })
    .await;
    assert_eq!(woken.get(), 2);
}
