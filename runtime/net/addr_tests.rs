//! Address resolution without a loop: literal addresses resolve at the first poll (so without
//! the blocking pool, which needs a running loop) to what the standard library gives; strings
//! that are not addresses fail with the standard library's errors; host names need the pool.

use std::any::type_name;
use std::fmt::Debug;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};

use super::sealed::{Internal, ToSocketAddrsPriv};

/// Starts resolving `addr` on this thread (no loop runs here) and polls it once.
fn first_poll<A: ToSocketAddrsPriv + ?Sized>(addr: &A) -> Poll<io::Result<Vec<SocketAddr>>> {
    let mut resolve = addr.to_socket_addrs(Internal("TcpStream::connect"));
    Pin::new(&mut resolve).poll(&mut Context::from_waker(Waker::noop()))
}

/// `addr` resolves at the first poll, to the addresses the standard library gives.
fn at_once_as_std<A>(addr: A)
where
    A: ToSocketAddrsPriv + std::net::ToSocketAddrs + Debug,
{
    let Poll::Ready(ours) = first_poll(&addr) else {
        panic!(
            "{addr:?} ({}) was not resolved at the first poll",
            type_name::<A>()
        );
    };
    let std: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(&addr).unwrap().collect();
    assert_eq!(ours.unwrap(), std, "{addr:?} ({})", type_name::<A>());
}

#[test]
fn literal_addresses_resolve_at_the_first_poll_without_a_loop() {
    let v4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 80);
    let v6 = SocketAddrV6::new(Ipv6Addr::LOCALHOST, 443, 0, 0);
    at_once_as_std(SocketAddr::V4(v4));
    at_once_as_std(v4);
    at_once_as_std(v6);
    at_once_as_std((IpAddr::V6(Ipv6Addr::LOCALHOST), 8080));
    at_once_as_std((Ipv4Addr::new(10, 1, 2, 3), 0));
    at_once_as_std((Ipv6Addr::UNSPECIFIED, 9));
    at_once_as_std(&[SocketAddr::V4(v4), SocketAddr::V6(v6)][..]);
    at_once_as_std(&[][..]);
    at_once_as_std("127.0.0.1:80");
    at_once_as_std("[::1]:443");
    at_once_as_std("[fe80::1%2]:443");
    at_once_as_std(String::from("0.0.0.0:0"));
    at_once_as_std(("127.0.0.1", 80));
    at_once_as_std(("::1", 80));
    at_once_as_std((String::from("192.168.0.1"), 65535));
    // References, through `&T` (as variables: a borrow in the call itself is flagged by clippy).
    let (text, by_ref): (&&&str, &SocketAddrV4) = (&&"127.0.0.1:80", &v4);
    at_once_as_std(text);
    at_once_as_std(by_ref);
}

#[test]
fn strings_that_are_not_addresses_fail_at_once_as_std_fails() {
    for bad in [
        "",
        "127.0.0.1",
        "not an address",
        "localhost:http",
        "localhost:65536",
        "[::1]",
        "::1:-1",
    ] {
        let Poll::Ready(Err(ours)) = first_poll(bad) else {
            panic!("{bad:?} did not fail at the first poll");
        };
        let std = std::net::ToSocketAddrs::to_socket_addrs(bad).unwrap_err();
        assert_eq!(ours.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        assert_eq!(
            (ours.kind(), ours.to_string()),
            (std.kind(), std.to_string()),
            "{bad:?}"
        );
    }
}

const NAMES: [&str; 2] = ["localhost:80", "example.invalid:443"];

#[test]
fn host_names_wait_for_the_blocking_pool() {
    crate::Builder::new().blocking_threads(1).run(async {
        // The pool's only thread is held: a lookup sent there cannot finish, one made on the
        // loop's thread would be ready at the first poll.
        let (release, held) = mpsc::channel::<()>();
        let holder = crate::to_thread(move || {
            let _ = held.recv();
        });
        for name in NAMES {
            assert!(first_poll(name).is_pending(), "{name}");
            assert!(first_poll(&String::from(name)).is_pending(), "{name}");
            let (host, _) = name.rsplit_once(':').unwrap();
            assert!(first_poll(&(host, 80)).is_pending(), "{name}");
            assert!(first_poll(&(host.to_string(), 80)).is_pending(), "{name}");
        }
        assert!(first_poll("127.0.0.1:80").is_ready());
        release.send(()).unwrap();
        holder.await.unwrap();
    });
}

#[test]
fn without_a_loop_a_host_name_panics_naming_the_call() {
    for name in NAMES {
        let payload = catch_unwind(AssertUnwindSafe(|| first_poll(name)))
            .expect_err("a host name was resolved with no loop, so not on a loop's pool");
        let message = payload
            .downcast_ref::<String>()
            .expect("a formatted panic message");
        assert!(
            message.contains("aioloop::TcpStream::connect called with no running event loop"),
            "{name}: {message}"
        );
    }
}
