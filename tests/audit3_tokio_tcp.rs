//! Audit against tokio's tests/tcp_stream.rs, tcp_accept.rs, tcp_connect.rs, tcp_echo.rs,
//! tcp_peek.rs, tcp_into_std.rs, tcp_into_split.rs and tcp_split.rs: the behaviour of each
//! upstream test, through aioloop's `net` API, under the upstream test's name. (tcp_shutdown.rs
//! is in tests/audit_tokio_io.rs.)
//!
//! Not ported, for want of the API: tokio's `try_read_vectored`/`try_write_vectored`,
//! `try_read_buf`, `ready(Interest)` with `is_read_closed`/`is_write_closed` (so `read_closed`
//! and `write_closed`), `poll_read_ready`/`poll_write_ready` (ported through `readable()` and
//! `writable()` polled once), `set_zero_linger` (`set_linger(Some(ZERO))` here).

mod support;

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream};
use aioloop::yield_now;
use support::sockets::{tcp_pair, within};

/// tcp_stream.rs `set_linger`: the option reads back as set; `Some(ZERO)` is tokio's
/// `set_zero_linger`.
#[aioloop::test]
async fn set_linger() {
    let (stream, _server) = tcp_pair().await;
    stream.set_linger(Some(Duration::from_secs(1))).unwrap();
    assert_eq!(stream.linger().unwrap().unwrap().as_secs(), 1);
    stream.set_linger(Some(Duration::ZERO)).unwrap();
    assert_eq!(stream.linger().unwrap().unwrap().as_secs(), 0);
    stream.set_linger(None).unwrap();
    assert!(stream.linger().unwrap().is_none());
}

/// tcp_stream.rs `try_read_write` (its non-vectored half): a pending `readable` is woken by
/// the peer's write; `try_write` fills the socket while `writable` stays ready, then
/// `writable` is pending; the server drains every byte, in order, with `readable` and
/// `try_read`; once the client is dropped the server reads EOF (tokio's `is_read_closed`).
///
/// A divergence: tokio clears the write readiness only when `try_write` meets `WouldBlock`,
/// so its loop writes until then. aioloop's readiness is edge-triggered and a short write
/// shows the buffer full (I2 in runtime/io/slots.rs), so `writable` is pending from the short
/// write on, and the loop stops there.
///
/// Another: aioloop's `readable()` and `writable()` spend the task's coop budget when they are
/// ready at once, as its reads and writes do (tokio's `ready()` does not; its `poll_*_ready`
/// do), so the hundreds of probes of the fill loop run `unconstrained`, else the 129th would
/// read `Pending` for one iteration.
#[aioloop::test]
async fn try_read_write() {
    let (client, server) = tcp_pair().await;
    aioloop::unconstrained(async { support::sockets::try_read_write!(client, server, &[2u8; 4000]) }).await;
}

/// tcp_stream.rs `buffer_not_included_in_future`: a read loop's buffer declared after the
/// `readable().await` is not part of the future's state.
#[test]
fn buffer_not_included_in_future() {
    const N: usize = 4096;
    let fut = async {
        let stream = TcpStream::connect("127.0.0.1:8080").await.unwrap();
        loop {
            stream.readable().await.unwrap();
            let mut buf = [0; N];
            if stream.try_read(&mut buf[..]).unwrap() == 0 {
                break;
            }
        }
    };
    let n = std::mem::size_of_val(&fut);
    assert!(n < 1000, "{n} bytes");
}

/// tcp_stream.rs `poll_read_ready` (through `readable()` polled once): not readable at first;
/// readable once data came, and still after a read that did not drain it; not readable once a
/// read met `WouldBlock`; readable again when the peer goes away.
#[aioloop::test]
async fn poll_read_ready() {
    let (client, server) = tcp_pair().await;
    support::sockets::poll_read_ready!(client, server);
}

/// tcp_stream.rs `poll_write_ready` (through `writable()` polled once): writable at first; not
/// writable once `try_write` met `WouldBlock`; writable again when the peer goes away.
#[aioloop::test]
async fn poll_write_ready() {
    let (client, server) = tcp_pair().await;
    support::sockets::poll_write_ready!(client, server);
}

/// tcp_accept.rs `test_accept!`: a listener bound through each form of address accepts, and
/// the accepted stream's peer is the client's local address.
async fn test_accept(target: impl aioloop::net::ToSocketAddrs) {
    let listener = TcpListener::bind(target).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = aioloop::spawn(async move { listener.accept().await.unwrap().0 });
    let cli = TcpStream::connect(&addr).await.unwrap();
    let srv = within(server).await.unwrap();
    assert_eq!(cli.local_addr().unwrap(), srv.peer_addr().unwrap());
}

#[aioloop::test]
async fn ip_str() {
    test_accept("127.0.0.1:0").await;
}

#[aioloop::test]
async fn host_str() {
    test_accept("localhost:0").await;
}

#[aioloop::test]
async fn socket_addr() {
    test_accept("127.0.0.1:0".parse::<SocketAddr>().unwrap()).await;
}

#[aioloop::test]
async fn str_port_tuple() {
    test_accept(("127.0.0.1", 0)).await;
}

#[aioloop::test]
async fn ip_port_tuple() {
    test_accept(("127.0.0.1".parse::<IpAddr>().unwrap(), 0)).await;
}

/// tcp_accept.rs `no_extra_poll`: a task accepting in a loop through `poll_accept` is polled
/// once while nothing connects, then twice for one connection (the accept, then `Pending`).
#[aioloop::test]
async fn no_extra_poll() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let npolls = Rc::new(Cell::new(0));
    let accepted = Rc::new(Cell::new(0));
    let (polls, count) = (npolls.clone(), accepted.clone());
    let _acceptor = aioloop::spawn(async move {
        loop {
            poll_fn(|cx| {
                polls.set(polls.get() + 1);
                listener.poll_accept(cx)
            })
            .await
            .unwrap();
            count.set(count.get() + 1);
        }
    });
    yield_now().await;
    yield_now().await;
    assert_eq!(npolls.get(), 1);

    let _client = TcpStream::connect(addr).await.unwrap();
    within(async {
        while accepted.get() == 0 {
            yield_now().await;
        }
    })
    .await;
    assert_eq!(npolls.get(), 1 + 2);
}

/// tcp_accept.rs `accept_many`: 50 tasks wait in `accept` on one listener; one connection
/// wakes every one of them (one takes it, the others wait again), none is left asleep.
#[aioloop::test]
async fn accept_many() {
    const N: usize = 50;
    let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
    let addr = listener.local_addr().unwrap();
    let connected = Rc::new(Cell::new(false));
    let (pending, notified) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let mut tasks = Vec::new();
    for _ in 0..N {
        let (listener, connected) = (listener.clone(), connected.clone());
        let (pending, notified) = (pending.clone(), notified.clone());
        tasks.push(aioloop::spawn(async move {
            let mut accept = pin!(listener.accept());
            let mut polled = false;
            poll_fn(|cx| {
                if !polled {
                    polled = true;
                    assert!(accept.as_mut().poll(cx).is_pending());
                    pending.set(pending.get() + 1);
                    Poll::Pending
                } else if connected.get() {
                    notified.set(notified.get() + 1);
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
        }));
    }
    while pending.get() < N {
        yield_now().await;
    }
    connected.set(true);
    let _sock = TcpStream::connect(addr).await.unwrap();
    within(async {
        while notified.get() < N {
            yield_now().await;
        }
    })
    .await;
    for task in tasks {
        task.await.unwrap();
    }
}

/// tcp_connect.rs `connect_v4` and `connect_v6`: each side's local address is the other's
/// peer address, and `accept` gives the peer's address.
async fn connect_ip(bind: &str) {
    let srv = TcpListener::bind(bind).await.unwrap();
    let addr = srv.local_addr().unwrap();
    assert_eq!(addr.is_ipv6(), bind.starts_with('['));
    let theirs = aioloop::spawn(async move {
        let (socket, addr) = srv.accept().await.unwrap();
        assert_eq!(addr, socket.peer_addr().unwrap());
        socket
    });
    let mine = TcpStream::connect(&addr).await.unwrap();
    let theirs = within(theirs).await.unwrap();
    assert_eq!(mine.local_addr().unwrap(), theirs.peer_addr().unwrap());
    assert_eq!(theirs.local_addr().unwrap(), mine.peer_addr().unwrap());
}

#[aioloop::test]
async fn connect_v4() {
    connect_ip("127.0.0.1:0").await;
}

#[aioloop::test]
async fn connect_v6() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here: connect_v6 skipped");
        return;
    }
    connect_ip("[::1]:0").await;
}

/// tcp_connect.rs `connect_addr_*`: `connect` takes each form of address.
async fn connect_to(connect: impl FnOnce(u16) -> aioloop::Task<std::io::Result<TcpStream>>) {
    let srv = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = connect(srv.local_addr().unwrap().port());
    within(srv.accept()).await.unwrap();
    within(client).await.unwrap().unwrap();
}

#[aioloop::test]
async fn connect_addr_ip_string() {
    connect_to(|port| aioloop::spawn(TcpStream::connect(format!("127.0.0.1:{port}")))).await;
}

#[aioloop::test]
async fn connect_addr_ip_str_slice() {
    connect_to(|port| {
        aioloop::spawn(async move { TcpStream::connect(&format!("127.0.0.1:{port}")[..]).await })
    })
    .await;
}

#[aioloop::test]
async fn connect_addr_host_string() {
    connect_to(|port| aioloop::spawn(TcpStream::connect(format!("localhost:{port}")))).await;
}

#[aioloop::test]
async fn connect_addr_ip_port_tuple() {
    let ip: IpAddr = "127.0.0.1".parse().unwrap();
    connect_to(|port| aioloop::spawn(async move { TcpStream::connect(&(ip, port)).await })).await;
}

#[aioloop::test]
async fn connect_addr_ip_str_port_tuple() {
    connect_to(|port| aioloop::spawn(async move { TcpStream::connect(&("127.0.0.1", port)).await })).await;
}

#[aioloop::test]
async fn connect_addr_host_str_port_tuple() {
    connect_to(|port| aioloop::spawn(async move { TcpStream::connect(&("localhost", port)).await })).await;
}

/// tcp_echo.rs `echo_server`: 1024 round trips through a server that copies its stream's
/// read side to its write side (a `&TcpStream` for each: tokio's borrowed `split`), which
/// counts every byte.
#[aioloop::test]
async fn echo_server() {
    const BYTES: &[u8] = b"foo bar baz";
    const ITER: usize = 1024;
    let srv = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = srv.local_addr().unwrap();
    let client = aioloop::spawn(async move {
        let stream = TcpStream::connect(&addr).await.unwrap();
        for _ in 0..ITER {
            stream.write_all(BYTES).await.unwrap();
            let mut buf = [0; BYTES.len()];
            stream.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf[..], BYTES);
        }
    });
    let (stream, _) = srv.accept().await.unwrap();
    let (mut rd, mut wr) = (&stream, &stream);
    let n = within(futures::io::copy(&mut rd, &mut wr)).await.unwrap();
    assert_eq!(n, (ITER * BYTES.len()) as u64);
    within(client).await.unwrap();
}

/// tcp_peek.rs `peek`: a stream made from a std stream peeks the bytes waiting, then reads
/// the same bytes.
#[aioloop::test]
async fn peek() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let t = std::thread::spawn(move || listener.accept().unwrap().0);
    let left = std::net::TcpStream::connect(addr).unwrap();
    let mut right = t.join().unwrap();
    right.write_all(&[1, 2, 3, 4]).unwrap();
    let left = TcpStream::from_std(left).unwrap();
    let mut buf = [0u8; 16];
    let n = within(left.peek(&mut buf)).await.unwrap();
    assert_eq!([1, 2, 3, 4], buf[..n]);
    let n = left.read(&mut buf).await.unwrap();
    assert_eq!([1, 2, 3, 4], buf[..n]);
}

/// tcp_into_std.rs `tcp_into_std`: an accepted stream turned into a std stream reads in
/// blocking mode what the client wrote, and back in aioloop reads the next message.
#[aioloop::test]
async fn tcp_into_std() {
    let mut data = [0u8; 12];
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let client = aioloop::spawn(async move { TcpStream::connect(addr).await.unwrap() });
    let (stream, _) = listener.accept().await.unwrap();
    let mut std_stream = stream.into_std().unwrap();
    std_stream.set_nonblocking(false).unwrap();
    std_stream
        .set_read_timeout(Some(support::sockets::LIMIT))
        .unwrap();
    let client = client.await.unwrap();
    client.write_all(b"Hello world!").await.unwrap();
    // On io_uring's completion form `write_all` hands the bytes to the stream's send buffer,
    // sent at the end of the iteration: `flush` waits for the send before the thread blocks
    // (on epoll it has nothing to wait for). tokio's bytes are in the socket already.
    client.flush().await.unwrap();
    std_stream.read_exact(&mut data).unwrap();
    assert_eq!(b"Hello world!", &data);
    std_stream.set_nonblocking(true).unwrap();
    let stream = TcpStream::from_std(std_stream).unwrap();
    client.write_all(b"Hello tokio!").await.unwrap();
    within(stream.read_exact(&mut data)).await.unwrap();
    assert_eq!(b"Hello tokio!", &data);
}

/// tcp_into_split.rs `split`: the write half's bytes reach the peer, which echoes them; the
/// read half peeks them twice alike (through `as_ref()`: the halves have no `peek` of their
/// own), then reads them.
#[aioloop::test]
async fn split() {
    const MSG: &[u8] = b"split";
    let (stream1, stream2) = tcp_pair().await;
    let (mut read_half, mut write_half) = stream1.into_split();
    let peer = aioloop::spawn(async move {
        assert_eq!(stream2.write(MSG).await.unwrap(), MSG.len());
        let mut read_buf = vec![0u8; 32];
        let n = stream2.read(&mut read_buf).await.unwrap();
        assert_eq!(&read_buf[..n], MSG);
        stream2
    });
    assert_eq!(write_half.write(MSG).await.unwrap(), MSG.len());
    let mut read_buf = [0u8; 32];
    let peek_len1 = within(read_half.as_ref().peek(&mut read_buf[..])).await.unwrap();
    let peek_len2 = read_half.as_ref().peek(&mut read_buf[..]).await.unwrap();
    assert_eq!(peek_len1, peek_len2);
    let read_len = read_half.read(&mut read_buf[..]).await.unwrap();
    assert_eq!(peek_len1, read_len);
    assert_eq!(&read_buf[..read_len], MSG);
    within(peer).await.unwrap();
}

/// tcp_into_split.rs `reunite`: halves of two streams do not reunite (the error gives them
/// back); the halves of one stream do.
#[aioloop::test]
async fn reunite() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        drop(listener.accept().unwrap());
        drop(listener.accept().unwrap());
    });
    let (read1, write1) = TcpStream::connect(&addr).await.unwrap().into_split();
    let (_, write2) = TcpStream::connect(&addr).await.unwrap().into_split();
    let read1 = match read1.reunite(write2) {
        Ok(_) => panic!("Reunite should not succeed"),
        Err(err) => err.0,
    };
    read1.reunite(write1).expect("Reunite should succeed");
    handle.join().unwrap();
}

/// tcp_into_split.rs `drop_write`: dropping the write half (here on another thread, as
/// upstream; an owned half is `!Send` in aioloop, so it is dropped by a task after the same
/// delay) shuts the write side down: the peer reads EOF, and the read half goes on reading.
#[aioloop::test]
async fn drop_write() {
    const MSG: &[u8] = b"split";
    let (addr, handle) = split_peer(MSG);
    let (mut read_half, write_half) = TcpStream::connect(&addr).await.unwrap().into_split();
    let mut read_buf = [0u8; 32];
    let n = within(read_half.read(&mut read_buf[..])).await.unwrap();
    assert_eq!(&read_buf[..n], MSG);
    let _dropper = aioloop::spawn(async move {
        aioloop::sleep(Duration::from_millis(10)).await;
        drop(write_half);
    });
    match within(read_half.read(&mut read_buf[..])).await {
        Ok(0) => {}
        Ok(len) => panic!("Unexpected read: {len} bytes."),
        Err(err) => panic!("Unexpected error: {err}."),
    }
    assert_eq!(handle.join().unwrap(), b"", "the peer read EOF, not data");
}

/// The peer thread of tokio's split tests: accepts one connection, writes `msg`, and answers
/// what its one read then got (empty at EOF).
fn split_peer(msg: &'static [u8]) -> (SocketAddr, std::thread::JoinHandle<Vec<u8>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(msg).unwrap();
        stream.set_read_timeout(Some(support::sockets::LIMIT)).unwrap();
        let mut read_buf = [0u8; 32];
        let read_len = stream.read(&mut read_buf).unwrap();
        read_buf[..read_len].to_vec()
    });
    (addr, handle)
}

/// tcp_split.rs `split`: tokio's borrowed halves are `&TcpStream` here (reads and writes take
/// `&self`): peek twice alike, read the peer's message, write one back.
#[aioloop::test]
async fn tcp_split_split() {
    const MSG: &[u8] = b"split";
    let (addr, handle) = split_peer(MSG);
    let stream = TcpStream::connect(&addr).await.unwrap();
    let (read_half, write_half) = (&stream, &stream);
    let mut read_buf = [0u8; 32];
    let peek_len1 = within(read_half.peek(&mut read_buf[..])).await.unwrap();
    let peek_len2 = read_half.peek(&mut read_buf[..]).await.unwrap();
    assert_eq!(peek_len1, peek_len2);
    let read_len = read_half.read(&mut read_buf[..]).await.unwrap();
    assert_eq!(peek_len1, read_len);
    assert_eq!(&read_buf[..read_len], MSG);
    assert_eq!(write_half.write(MSG).await.unwrap(), MSG.len());
    write_half.flush().await.unwrap(); // sent before the join blocks (see `tcp_into_std`)
    assert_eq!(handle.join().unwrap(), MSG);
}
