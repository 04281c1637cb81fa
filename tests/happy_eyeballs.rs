//! Happy Eyeballs (RFC 8305): `TcpStream::connect_with` and `streams::open_connection_with`
//! with `ConnectOptions` (asyncio's `create_connection(happy_eyeballs_delay=..., interleave=...)`),
//! on real sockets. The address that never answers is a local listener whose accept queue is
//! full (backlog 0, one connection queued and never accepted): Linux drops the SYNs that come
//! next, so a connect to it waits (for the SYN retransmissions) instead of failing.
//!
//! The tests take one lock, so that they run one at a time: they count the process's file
//! descriptors (`/proc/self/fd`) to check that the losing attempts' sockets are closed.

use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use aioloop::net::{ConnectOptions, TcpListener, TcpStream};
use aioloop::streams::open_connection_with;
use aioloop::wait_for;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn fd_count() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}

/// A listener that never completes a connection: its accept queue (backlog 0) holds one
/// connection never accepted, so the kernel drops further SYNs. Checked: a connect to it times
/// out. Keep the returned sockets alive as long as the address is used.
struct Unresponsive {
    addr: SocketAddr,
    _listener: socket2::Socket,
    _queued: Vec<StdStream>,
}

fn unresponsive() -> Unresponsive {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut queued = Vec::new();
    for _ in 0..8 {
        match StdStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => queued.push(stream),
            Err(err) if err.kind() == std::io::ErrorKind::TimedOut => {
                return Unresponsive {
                    addr,
                    _listener: listener,
                    _queued: queued,
                };
            }
            Err(err) => panic!("filling the accept queue: {err}"),
        }
    }
    panic!("the accept queue of a backlog-0 listener never filled: the kernel accepts more");
}

/// A port nothing listens on: a connect is refused at once.
fn closed_port() -> SocketAddr {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

fn happy(delay_ms: u64) -> ConnectOptions {
    ConnectOptions::new().happy_eyeballs_delay(Duration::from_millis(delay_ms))
}

/// The first address never answers, the second accepts: with a delay, the second is tried
/// once the delay has passed and wins; the first attempt's socket is closed (the descriptor
/// count is the winner's one more, then back once it is dropped).
#[test]
fn the_second_address_wins_after_the_delay() {
    let _serial = serial();
    aioloop::run(async {
        let silent = unresponsive();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = listener.local_addr().unwrap();
        let before = fd_count();
        let started = Instant::now();
        let stream = TcpStream::connect_with(&[silent.addr, good][..], happy(200))
            .await
            .unwrap();
        let took = started.elapsed();
        assert_eq!(stream.peer_addr().unwrap(), good);
        assert!(
            took >= Duration::from_millis(190),
            "the second try came early: {took:?}"
        );
        assert!(
            took < Duration::from_secs(5),
            "the second try came late: {took:?}"
        );
        if let Some(before) = before {
            assert_eq!(
                fd_count(),
                Some(before + 1),
                "only the winner's socket may stay open"
            );
        }
        let (accepted, _) = listener.accept().await.unwrap();
        assert_eq!(accepted.peer_addr().unwrap(), stream.local_addr().unwrap());
        drop((stream, accepted));
        if let Some(before) = before {
            assert_eq!(fd_count(), Some(before));
        }
    });
}

/// asyncio's default: without a delay the addresses are tried one after another, so the
/// second is not tried while the first is still waiting; dropping the connect (a timeout)
/// closes the attempt's socket.
#[test]
fn without_a_delay_the_tries_are_sequential() {
    let _serial = serial();
    aioloop::run(async {
        let silent = unresponsive();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = listener.local_addr().unwrap();
        let before = fd_count();
        let addrs = [silent.addr, good];
        let connect = TcpStream::connect_with(&addrs[..], ConnectOptions::new());
        assert!(
            wait_for(connect, Duration::from_millis(500)).await.is_err(),
            "the first address never answers: the connect must still wait"
        );
        assert!(
            wait_for(listener.accept(), Duration::from_millis(50))
                .await
                .is_err(),
            "the second address was tried while the first one still waited"
        );
        assert_eq!(fd_count(), before, "the dropped attempt's socket stays open");
    });
}

/// A refused address starts the next attempt at once, however long the delay.
#[test]
fn a_refused_address_starts_the_next_at_once() {
    let _serial = serial();
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = listener.local_addr().unwrap();
        let started = Instant::now();
        let stream = TcpStream::connect_with(&[closed_port(), good][..], happy(60_000))
            .await
            .unwrap();
        assert_eq!(stream.peer_addr().unwrap(), good);
        assert!(started.elapsed() < Duration::from_secs(30));
    });
}

/// Every address refused: asyncio's "Multiple exceptions: ..." error, naming each address in
/// the order tried, of the kind they share; with one address, its error alone.
#[test]
fn every_address_refused() {
    let _serial = serial();
    aioloop::run(async {
        let (a, b) = (closed_port(), closed_port());
        for options in [ConnectOptions::new(), happy(100)] {
            let err = TcpStream::connect_with(&[a, b][..], options).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
            let message = err.to_string();
            assert!(message.starts_with("Multiple exceptions: "), "{message}");
            let (at_a, at_b) = (
                message.find(&a.to_string()).unwrap(),
                message.find(&b.to_string()).unwrap(),
            );
            assert!(at_a < at_b, "{message}");

            let err = TcpStream::connect_with(a, options).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
            assert!(
                err.to_string().starts_with(&format!("connect to {a} failed: ")),
                "{err}"
            );
        }
    });
}

/// `interleave` reorders by family, also without a delay (asyncio): two IPv4 addresses and an
/// IPv6 one are tried IPv4, IPv6, IPv4 (the order of the errors tells; ::1 fails one way or
/// another, refused or unreachable where there is no IPv6).
#[test]
fn interleave_alternates_the_families() {
    let _serial = serial();
    aioloop::run(async {
        let (a, b) = (closed_port(), closed_port());
        let six: SocketAddr = format!("[::1]:{}", closed_port().port()).parse().unwrap();
        let err = TcpStream::connect_with(&[a, b, six][..], ConnectOptions::new().interleave(1))
            .await
            .unwrap_err();
        let message = err.to_string();
        let at = |addr: SocketAddr| message.find(&format!("connect to {addr} failed")).unwrap();
        assert!(at(a) < at(six) && at(six) < at(b), "{message}");
        // Without interleave, the given order.
        let err = TcpStream::connect_with(&[a, b, six][..], ConnectOptions::new())
            .await
            .unwrap_err();
        let message = err.to_string();
        let at = |addr: SocketAddr| message.find(&format!("connect to {addr} failed")).unwrap();
        assert!(at(a) < at(b) && at(b) < at(six), "{message}");
    });
}

/// The options' defaults are asyncio's: no delay, interleave 1 once a delay is given.
#[test]
fn the_defaults_are_asyncios() {
    assert_eq!(ConnectOptions::default(), ConnectOptions::new());
    assert_eq!(ConnectOptions::new().delay(), None);
    assert_eq!(ConnectOptions::new().first_family_count(), 0);
    assert_eq!(happy(250).first_family_count(), 1);
    assert_eq!(happy(250).interleave(0).first_family_count(), 0);
    assert_eq!(ConnectOptions::new().interleave(2).first_family_count(), 2);
}

/// `open_connection_with`: the stream pair over the winner.
#[test]
fn open_connection_with_happy_eyeballs() {
    let _serial = serial();
    aioloop::run(async {
        let silent = unresponsive();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = listener.local_addr().unwrap();
        let (client, server) = aioloop::gather!(
            async {
                open_connection_with(&[silent.addr, good][..], happy(100))
                    .await
                    .unwrap()
            },
            async {
                let (stream, _) = listener.accept().await.unwrap();
                stream.write_all(b"hello\n").await.unwrap();
                stream
            }
        )
        .await;
        let (mut reader, writer) = client;
        assert_eq!(writer.peer_addr(), Some(good));
        assert_eq!(reader.readline().await.unwrap(), b"hello\n");
        drop(server);
    });
}
