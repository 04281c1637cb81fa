//! asyncio's datagram endpoints (`aioloop::protocols::create_datagram_endpoint`), porting
//! CPython's test_asyncio/test_events.py (`test_create_datagram_endpoint`, `_ipv6`, `_sock`
//! with `MyDatagramProto`: INITIAL -> INITIALIZED -> CLOSED, `nbytes`), test_base_events.py's
//! `test_create_datagram_endpoint_*` (no address, no address info, no matching family,
//! connect error, can't bind, `allow_broadcast`, `reuse_port` / sockopts, `sock=`, AF_UNIX
//! with a stale socket file) and test_selector_events.py's `SelectorDatagramTransportTests`
//! (sendto at once or buffered in order, an OS error to `error_received` with the endpoint
//! open, a connected endpoint's address check, sendto after close ignored, `close` sending the
//! buffer first, `abort` dropping it, the write buffer size with asyncio 3.13's 8 bytes a
//! datagram, flow control), on real sockets rather than mocks.
//!
//! A full send buffer is made with a Unix datagram pair whose other end does not read: the
//! kernel refuses datagrams past the receiver's queue (`EAGAIN`), which a UDP socket on
//! loopback never does. Every test holds one lock: the descriptor counts must not see another
//! test's sockets.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use aioloop::net::{UdpSocket, UnixDatagram};
use aioloop::protocols::{
    create_datagram_endpoint, create_unix_datagram_endpoint, datagram_endpoint_from_socket, DatagramOptions,
    DatagramProtocol, DatagramTransport, SocketAddress,
};

mod support;

use support::protocols::{exception_panics, flow_failures, open_fds, serial, until, Made};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Initial,
    Initialized,
    Closed,
}

/// test_events.py's `MyDatagramProto`, recording everything the transport calls; with
/// `reply`, it answers each datagram with `reply` + the datagram (`TestMyDatagramProto`).
#[derive(Debug)]
struct MyDatagramProto {
    state: State,
    nbytes: usize,
    datagrams: Vec<(Vec<u8>, SocketAddress)>,
    errors: Vec<io::Error>,
    lost: Vec<Option<String>>,
    flow: Vec<&'static str>,
    transport: Option<DatagramTransport>,
    reply: Option<&'static [u8]>,
    panic_on_datagram: bool,
    /// `pause_writing` and `resume_writing` panic ("pause boom", "resume boom") once they
    /// recorded the call.
    panic_on_flow: bool,
}

impl MyDatagramProto {
    fn new() -> Self {
        MyDatagramProto {
            state: State::Initial,
            nbytes: 0,
            datagrams: Vec::new(),
            errors: Vec::new(),
            lost: Vec::new(),
            flow: Vec::new(),
            transport: None,
            reply: None,
            panic_on_datagram: false,
            panic_on_flow: false,
        }
    }

    fn replying(reply: &'static [u8]) -> Self {
        MyDatagramProto {
            reply: Some(reply),
            ..Self::new()
        }
    }
}

impl DatagramProtocol for MyDatagramProto {
    fn connection_made(&mut self, transport: DatagramTransport) {
        assert_eq!(self.state, State::Initial);
        self.state = State::Initialized;
        self.transport = Some(transport);
    }

    fn datagram_received(&mut self, data: &[u8], addr: &SocketAddress) {
        assert_eq!(self.state, State::Initialized);
        if self.panic_on_datagram {
            panic!("boom");
        }
        self.nbytes += data.len();
        self.datagrams.push((data.to_vec(), addr.clone()));
        if let Some(reply) = self.reply {
            let answer = [reply, data].concat();
            self.transport
                .as_ref()
                .unwrap()
                .sendto(&answer, Some(addr))
                .unwrap();
        }
    }

    fn error_received(&mut self, exc: io::Error) {
        assert_eq!(self.state, State::Initialized);
        self.errors.push(exc);
    }

    fn connection_lost(&mut self, exc: Option<io::Error>) {
        assert_eq!(self.state, State::Initialized);
        self.state = State::Closed;
        self.lost.push(exc.map(|e| e.to_string()));
    }

    fn pause_writing(&mut self) {
        self.flow.push("pause");
        if self.panic_on_flow {
            panic!("pause boom");
        }
    }

    fn resume_writing(&mut self) {
        self.flow.push("resume");
        if self.panic_on_flow {
            panic!("resume boom");
        }
    }
}

type Proto = Rc<RefCell<MyDatagramProto>>;

fn state(p: &Proto) -> State {
    p.borrow().state
}

fn inet(addr: SocketAddr) -> SocketAddress {
    SocketAddress::Inet(addr)
}

/// An endpoint recording with `MyDatagramProto`, made as `options` say.
async fn endpoint(options: DatagramOptions) -> (DatagramTransport, Proto) {
    create_datagram_endpoint(MyDatagramProto::new, options)
        .await
        .unwrap()
}

/// Options for an endpoint bound to a free loopback port.
fn loopback() -> DatagramOptions {
    DatagramOptions::new().local_addr("127.0.0.1:0")
}

/// Closes the endpoint and waits for its `connection_lost(None)`, once.
async fn close_cleanly(transport: &DatagramTransport, protocol: &Proto) {
    transport.close();
    until(|| state(protocol) == State::Closed).await;
    assert_eq!(protocol.borrow().lost, [None]);
}

/// The messages the loop's exception handler gets from now on.
fn capture_reports() -> Rc<RefCell<Vec<String>>> {
    let reported: Rc<RefCell<Vec<String>>> = Rc::default();
    let r = reported.clone();
    aioloop::get_running_loop()
        .set_exception_handler(move |ctx| r.borrow_mut().push(ctx.message().to_owned()));
    reported
}

/// test_events.py `_test_create_datagram_endpoint`: a server endpoint answering "resp:" +
/// the datagram, a client endpoint connected to it.
async fn create_datagram_endpoint_roundtrip(local: &str) {
    let (s_transport, server) = create_datagram_endpoint(
        || MyDatagramProto::replying(b"resp:"),
        DatagramOptions::new().local_addr(local),
    )
    .await
    .unwrap();
    assert_eq!(state(&server), State::Initialized);
    let sockname = s_transport.local_addr().expect("sockname");
    assert!(server.borrow().transport.is_some());

    let (transport, client) = endpoint(DatagramOptions::new().remote_addr(sockname)).await;
    assert_eq!(state(&client), State::Initialized);
    match transport.get_extra_info("peername") {
        Some(SocketAddress::Inet(peer)) => assert_eq!(peer, sockname),
        other => panic!("peername {other:?}"),
    }

    transport.sendto(b"xxx", None).unwrap();
    until(|| server.borrow().nbytes > 0).await;
    assert_eq!(server.borrow().nbytes, 3);
    until(|| client.borrow().nbytes > 0).await;
    assert_eq!(client.borrow().nbytes, 8);
    assert_eq!(client.borrow().datagrams[0].0, b"resp:xxx");
    // The server saw the client's address, the client its connected peer.
    let client_name = transport.local_addr().unwrap();
    assert!(matches!(&server.borrow().datagrams[0].1, SocketAddress::Inet(a) if *a == client_name));
    assert!(transport.get_extra_info("sockname").is_some());

    transport.close();
    assert!(transport.is_closing());
    until(|| state(&client) == State::Closed).await;
    assert_eq!(client.borrow().lost, [None]);
    s_transport.close();
    until(|| state(&server) == State::Closed).await;
    assert_eq!(server.borrow().lost, [None]);
}

#[test]
fn test_create_datagram_endpoint() {
    let _serial = serial();
    aioloop::run(create_datagram_endpoint_roundtrip("127.0.0.1:0"));
}

fn ipv6_enabled() -> bool {
    std::net::UdpSocket::bind("[::1]:0").is_ok()
}

#[test]
fn test_create_datagram_endpoint_ipv6() {
    let _serial = serial();
    if !ipv6_enabled() {
        eprintln!("IPv6 not enabled here: skipped");
        return;
    }
    aioloop::run(create_datagram_endpoint_roundtrip("[::1]:0"));
}

/// test_events.py `test_create_datagram_endpoint_sock` and test_base_events.py's: an endpoint
/// on a socket made beforehand receives, and closes.
#[test]
fn test_create_datagram_endpoint_sock() {
    let _serial = serial();
    aioloop::run(async {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap();
        let (transport, protocol) =
            datagram_endpoint_from_socket(MyDatagramProto::new, UdpSocket::from_std(sock).unwrap());
        assert_eq!(state(&protocol), State::Initialized);
        assert_eq!(transport.local_addr(), Some(addr));
        assert!(transport.get_extra_info("peername").is_none());
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        peer.send_to(b"hello", addr).await.unwrap();
        until(|| protocol.borrow().nbytes == 5).await;
        transport.close();
        until(|| state(&protocol) == State::Closed).await;
    });
}

/// test_base_events.py `test_create_datagram_endpoint_noaddr_nofamily`, `_no_addrinfo`,
/// `_addr_error` and `_no_matching_family`: `InvalidInput` (asyncio's `ValueError`, or its
/// `OSError` for no address information), and no protocol made.
#[test]
fn test_create_datagram_endpoint_bad_addresses() {
    let _serial = serial();
    aioloop::run(async {
        let made = Made::default();
        let factory = || made.factory(MyDatagramProto::new);
        let err = create_datagram_endpoint(factory(), DatagramOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let none: &[SocketAddr] = &[];
        let err = create_datagram_endpoint(factory(), DatagramOptions::new().local_addr(none))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = create_datagram_endpoint(factory(), DatagramOptions::new().local_addr("localhost"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = create_datagram_endpoint(
            factory(),
            DatagramOptions::new()
                .remote_addr("127.0.0.1:9")
                .local_addr("[::1]:0"),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(made.count(), 0);
    });
}

/// test_base_events.py `test_create_datagram_endpoint_cant_bind`: the bind's error.
#[test]
fn test_create_datagram_endpoint_cant_bind() {
    let _serial = serial();
    aioloop::run(async {
        let taken = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap();
        let err = create_datagram_endpoint(MyDatagramProto::new, DatagramOptions::new().local_addr(addr))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    });
}

/// test_base_events.py `test_create_datagram_endpoint_connect_err` and `_allow_broadcast`:
/// connecting to the broadcast address without `SO_BROADCAST` fails (Linux: `EACCES`); with
/// `allow_broadcast` the socket is not connected, and the remote address stays the one
/// `sendto` defaults to and allows.
#[test]
#[cfg(target_os = "linux")]
fn test_create_datagram_endpoint_connect_err_and_allow_broadcast() {
    let _serial = serial();
    aioloop::run(async {
        let broadcast: SocketAddr = "255.255.255.255:9".parse().unwrap();
        let err = create_datagram_endpoint(
            MyDatagramProto::new,
            DatagramOptions::new().remote_addr(broadcast),
        )
        .await
        .unwrap_err();
        assert_ne!(err.kind(), io::ErrorKind::InvalidInput, "{err}");

        let (transport, protocol) = endpoint(
            DatagramOptions::new()
                .remote_addr(broadcast)
                .allow_broadcast(true),
        )
        .await;
        assert!(transport.get_extra_info("peername").is_none(), "not connected");
        let other = inet("127.0.0.1:9".parse().unwrap());
        let err = transport.sendto(b"x", Some(&other)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        close_cleanly(&transport, &protocol).await;
    });
}

/// test_base_events.py `test_create_datagram_endpoint_sockopts`, by behaviour: without
/// `reuse_port` a second endpoint cannot bind the same address (asyncio sets no
/// `SO_REUSEADDR`); with it on both, both bind it.
#[test]
fn test_create_datagram_endpoint_reuse_port() {
    let _serial = serial();
    aioloop::run(async {
        let (a, pa) = endpoint(loopback()).await;
        let addr = a.local_addr().unwrap();
        let err = create_datagram_endpoint(MyDatagramProto::new, DatagramOptions::new().local_addr(addr))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        a.close();
        until(|| state(&pa) == State::Closed).await;

        let reuse = DatagramOptions::new().local_addr("127.0.0.1:0").reuse_port(true);
        let (a, _) = endpoint(reuse).await;
        let addr = a.local_addr().unwrap();
        let reuse = DatagramOptions::new().local_addr(addr).reuse_port(true);
        let (b, _) = endpoint(reuse).await;
        assert_eq!(b.local_addr(), Some(addr));
        a.close();
        b.close();
    });
}

/// SelectorDatagramTransportTests `test_sendto` and `test_sendto_connected_addr`, `test_sendto`
/// without an address on an unconnected endpoint: what is sent arrives, a wrong address is
/// `InvalidInput` (asyncio's `ValueError`) and sends nothing, the remote address itself is
/// allowed; an empty datagram is sent (asyncio 3.13).
#[test]
fn test_sendto_and_addresses() {
    let _serial = serial();
    aioloop::run(async {
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = peer.local_addr().unwrap();
        let (unconnected, _) = endpoint(loopback()).await;
        let err = unconnected.sendto(b"data", None).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        unconnected.sendto(b"data", Some(&inet(to))).unwrap();
        unconnected.sendto(b"", Some(&inet(to))).unwrap();
        let mut buf = [0; 16];
        let (n, from) = peer.recv_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"data"[..], unconnected.local_addr().unwrap())
        );
        let (n, _) = peer.recv_from(&mut buf).await.unwrap();
        assert_eq!(n, 0);

        let (connected, _) = endpoint(DatagramOptions::new().remote_addr(to)).await;
        let elsewhere = inet("127.0.0.1:9".parse().unwrap());
        let err = connected.sendto(b"str", Some(&elsewhere)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        connected.sendto(b"one", Some(&to.into())).unwrap();
        connected.sendto(b"two", None).unwrap();
        for expected in [&b"one"[..], b"two"] {
            let (n, from) = peer.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (expected, connected.local_addr().unwrap()));
        }
        unconnected.close();
        connected.close();
    });
}

/// SelectorDatagramTransportTests `test_sendto_exception` / `test_sendto_error_received`: an
/// OS error of the send (here `EMSGSIZE`, a datagram over UDP's 64 KiB) goes to
/// `error_received`; the endpoint stays open and sends on.
#[test]
fn test_sendto_error_received() {
    let _serial = serial();
    aioloop::run(async {
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = inet(peer.local_addr().unwrap());
        let (transport, protocol) = endpoint(loopback()).await;
        transport.sendto(&vec![0; 70_000], Some(&to)).unwrap();
        until(|| !protocol.borrow().errors.is_empty()).await;
        assert_eq!(protocol.borrow().errors[0].raw_os_error(), Some(libc::EMSGSIZE));
        assert!(!transport.is_closing());
        assert_eq!(state(&protocol), State::Initialized);
        transport.sendto(b"after", Some(&to)).unwrap();
        let mut buf = [0; 16];
        let n = peer.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"after");
        close_cleanly(&transport, &protocol).await;
    });
}

/// SelectorDatagramTransportTests `test_sendto_error_received_connected` and
/// `test_read_ready_oserr`: on a connected UDP endpoint, the ICMP "port unreachable" for a
/// datagram comes back as `ConnectionRefused` in `error_received` (from the receive or the
/// next send), and the endpoint stays open.
#[test]
#[cfg(target_os = "linux")]
fn test_connection_refused_goes_to_error_received() {
    let _serial = serial();
    aioloop::run(async {
        let closed = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = closed.local_addr().unwrap();
        drop(closed);
        let (transport, protocol) = endpoint(DatagramOptions::new().remote_addr(to)).await;
        aioloop::wait_for(
            async {
                while protocol.borrow().errors.is_empty() {
                    transport.sendto(b"anyone?", None).unwrap();
                    aioloop::sleep(Duration::from_millis(5)).await;
                }
            },
            Duration::from_secs(10),
        )
        .await
        .expect("no error_received in 10 s");
        assert_eq!(
            protocol.borrow().errors[0].kind(),
            io::ErrorKind::ConnectionRefused
        );
        assert!(!transport.is_closing());
        assert_eq!(state(&protocol), State::Initialized);
        close_cleanly(&transport, &protocol).await;
    });
}

/// SelectorDatagramTransportTests `test_sendto_closing` and `test_sendto_exception`'s
/// warning: after `close`, datagrams are ignored (no error, nothing sent), from the fifth on
/// each reported (asyncio's warning), and `connection_lost` comes once.
#[test]
fn test_sendto_after_close_is_ignored() {
    let _serial = serial();
    aioloop::run(async {
        let reported = capture_reports();
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = peer.local_addr().unwrap();
        let (transport, protocol) = endpoint(DatagramOptions::new().remote_addr(to)).await;
        transport.close();
        transport.close();
        for _ in 0..4 {
            transport.sendto(b"late", None).unwrap();
        }
        assert!(reported.borrow().is_empty());
        transport.sendto(b"late", None).unwrap();
        assert_eq!(reported.borrow().len(), 1);
        assert!(
            reported.borrow()[0].contains("5 datagrams ignored"),
            "{:?}",
            reported.borrow()
        );
        until(|| state(&protocol) == State::Closed).await;
        transport.sendto(b"later", None).unwrap();
        assert_eq!(reported.borrow().len(), 2);
        assert_eq!(protocol.borrow().lost, [None]);
        let mut buf = [0; 16];
        let got = aioloop::wait_for(peer.recv(&mut buf), Duration::from_millis(50)).await;
        assert!(got.is_err(), "a datagram sent after close arrived");
    });
}

/// A Unix datagram pair: an endpoint on `ours`; `theirs` reads only when the test says.
fn unix_pair_endpoint() -> (DatagramTransport, Proto, UnixDatagram) {
    let (ours, theirs) = UnixDatagram::pair().unwrap();
    let (transport, protocol) = datagram_endpoint_from_socket(MyDatagramProto::new, ours);
    (transport, protocol, theirs)
}

/// Sends `datagram` until the socket refuses one and the transport buffers it; answers how
/// many left before it (the one buffered last stays buffered). A datagram is also buffered
/// while the loop has not seen the socket writable yet (a fresh endpoint, until the loop's
/// next poll for I/O, which a slow run such as valgrind's may not reach in a few
/// milliseconds); the endpoint's task then sends it, so the buffer must still hold one after
/// the loop has been idle (and so polled) for a while: the socket is full only then.
async fn fill(transport: &DatagramTransport, datagram: &[u8]) -> usize {
    let mut sent = 0;
    loop {
        while transport.get_write_buffer_size() == 0 {
            transport.sendto(datagram, None).unwrap();
            sent += 1;
            assert!(sent < 1_000_000, "the socket never refused a datagram");
        }
        aioloop::sleep(Duration::from_millis(20)).await;
        if transport.get_write_buffer_size() != 0 {
            return sent - 1;
        }
    }
}

/// Reads `count` datagrams from `theirs`, each checked by `check`.
async fn drain(theirs: &UnixDatagram, count: usize, mut check: impl FnMut(usize, &[u8])) {
    let mut buf = vec![0; 4096];
    for i in 0..count {
        let n = aioloop::wait_for(theirs.recv(&mut buf), Duration::from_secs(10))
            .await
            .expect("a datagram in 10 s")
            .unwrap();
        check(i, &buf[..n]);
    }
}

/// SelectorDatagramTransportTests `test_sendto_tryagain`, `test_sendto_buffer`,
/// `test_sendto_ready` and the buffer size: once the socket refuses a datagram it is
/// buffered, and so is every datagram after it (no overtaking); the buffer counts each
/// datagram's bytes plus 8 (asyncio 3.13, an empty datagram too) and is 0 again once the
/// endpoint's task sent them all (gh-135444), in order.
#[test]
fn test_sendto_buffer_in_order_and_its_size() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, protocol, theirs) = unix_pair_endpoint();
        let at_once = fill(&transport, b"0000").await;
        assert_eq!(transport.get_write_buffer_size(), 4 + 8);
        transport.sendto(b"", None).unwrap();
        assert_eq!(transport.get_write_buffer_size(), 4 + 8 + 8);
        for i in 1..=100u32 {
            transport.sendto(format!("{i:04}").as_bytes(), None).unwrap();
        }
        assert_eq!(transport.get_write_buffer_size(), 12 + 8 + 100 * 12);
        drain(&theirs, at_once + 1, |_, d| assert_eq!(d, b"0000")).await;
        drain(&theirs, 1, |_, d| assert!(d.is_empty())).await;
        drain(&theirs, 100, |i, d| {
            assert_eq!(d, format!("{:04}", i + 1).as_bytes())
        })
        .await;
        until(|| transport.get_write_buffer_size() == 0).await;
        assert!(protocol.borrow().errors.is_empty());
        assert!(protocol.borrow().flow.is_empty());
        transport.close();
        until(|| state(&protocol) == State::Closed).await;
    });
}

/// SelectorDatagramTransportTests `test_sendto_ready_closing`: `close` with datagrams
/// buffered sends them first; `connection_lost(None)` comes after the last one left.
#[test]
fn test_close_sends_the_buffer_first() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, protocol, theirs) = unix_pair_endpoint();
        let at_once = fill(&transport, b"a").await;
        transport.sendto(b"last", None).unwrap();
        transport.close();
        assert!(transport.is_closing());
        aioloop::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            state(&protocol),
            State::Initialized,
            "lost before the buffer was sent"
        );
        drain(&theirs, at_once + 1, |_, d| assert_eq!(d, b"a")).await;
        drain(&theirs, 1, |_, d| assert_eq!(d, b"last")).await;
        until(|| state(&protocol) == State::Closed).await;
        assert_eq!(protocol.borrow().lost, [None]);
        assert_eq!(transport.get_write_buffer_size(), 0);
    });
}

/// `abort` drops the buffer: `connection_lost(None)` at once, the buffered datagrams never
/// sent.
#[test]
fn test_abort_drops_the_buffer() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, protocol, theirs) = unix_pair_endpoint();
        let at_once = fill(&transport, b"a").await;
        transport.sendto(b"never", None).unwrap();
        transport.abort();
        assert!(transport.is_closing());
        until(|| state(&protocol) == State::Closed).await;
        assert_eq!(protocol.borrow().lost, [None]);
        assert_eq!(transport.get_write_buffer_size(), 0);
        drain(&theirs, at_once, |_, d| assert_eq!(d, b"a")).await;
        let mut buf = [0; 8];
        assert_eq!(
            theirs.try_recv(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "a buffered datagram was sent after abort"
        );
    });
}

/// The flow control of asyncio's `_FlowControlMixin` on a datagram transport:
/// `pause_writing` once the buffer (bytes + 8 a datagram) goes above the high-water mark,
/// `resume_writing` once it drained to the low one; bad limits are `InvalidInput`.
#[test]
fn test_pause_and_resume_writing() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, protocol, theirs) = unix_pair_endpoint();
        assert_eq!(transport.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
        let err = transport.set_write_buffer_limits(Some(1), Some(2)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        transport.set_write_buffer_limits(Some(100), Some(30)).unwrap();
        assert_eq!(transport.get_write_buffer_limits(), (30, 100));
        let at_once = fill(&transport, &[7; 2]).await;
        // 2 + 8 a datagram: the 11th buffered one goes above 100.
        for _ in 0..9 {
            transport.sendto(&[7; 2], None).unwrap();
        }
        assert_eq!(transport.get_write_buffer_size(), 100);
        assert!(protocol.borrow().flow.is_empty());
        transport.sendto(&[7; 2], None).unwrap();
        assert_eq!(protocol.borrow().flow, ["pause"]);
        drain(&theirs, at_once + 11, |_, d| assert_eq!(d, [7; 2])).await;
        until(|| transport.get_write_buffer_size() == 0).await;
        assert_eq!(protocol.borrow().flow, ["pause", "resume"]);
        transport.close();
        until(|| state(&protocol) == State::Closed).await;
    });
}

/// asyncio's `_maybe_pause_protocol` / `_maybe_resume_protocol` on a datagram transport: a
/// panic in `pause_writing` (inside the test task's `sendto`) or `resume_writing` (from the
/// endpoint's task, once the queue drained) goes to the loop's exception handler as
/// "protocol.pause_writing() failed" with the panic, and the endpoint goes on: it still
/// sends, and `connection_lost(None)` comes once, after the close.
#[test]
fn pause_writing_panic_is_reported_and_the_endpoint_goes_on() {
    let _serial = serial();
    aioloop::run(async {
        let reported = exception_panics();
        let (ours, theirs) = UnixDatagram::pair().unwrap();
        let factory = || MyDatagramProto {
            panic_on_flow: true,
            ..MyDatagramProto::new()
        };
        let (transport, protocol) = datagram_endpoint_from_socket(factory, ours);
        transport.set_write_buffer_limits(Some(100), Some(30)).unwrap();
        let at_once = fill(&transport, &[7; 2]).await;
        // 2 + 8 a datagram: the 11th buffered one goes above 100.
        for _ in 0..10 {
            transport.sendto(&[7; 2], None).unwrap();
        }
        assert_eq!(protocol.borrow().flow, ["pause"]);
        drain(&theirs, at_once + 11, |_, d| assert_eq!(d, [7; 2])).await;
        until(|| protocol.borrow().flow.len() == 2).await;
        assert_eq!(protocol.borrow().flow, ["pause", "resume"]);
        transport.sendto(b"after", None).unwrap();
        drain(&theirs, 1, |_, d| assert_eq!(d, b"after")).await;
        close_cleanly(&transport, &protocol).await;
        aioloop::sleep(Duration::from_millis(10)).await;
        assert_eq!(protocol.borrow().lost, [None], "connection_lost once");
        assert_eq!(*reported.borrow(), flow_failures(&["pause", "resume"]));
    });
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aioloop-dgram-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// test_base_events.py `test_create_datagram_endpoint_sock_unix` and
/// `test_create_datagram_endpoint_existing_sock_unix`, and test_events.py's round trip on
/// Unix datagram sockets: a stale socket file at the local path is replaced; the server
/// answers to the client's path; an unbound endpoint closes cleanly.
#[test]
fn test_create_unix_datagram_endpoint() {
    let _serial = serial();
    let dir = temp_dir("unix");
    let server_path = dir.join("server.sock");
    let client_path = dir.join("client.sock");
    drop(std::os::unix::net::UnixDatagram::bind(&server_path).unwrap()); // stale file
    aioloop::run(async {
        let (s_transport, server) =
            create_unix_datagram_endpoint(|| MyDatagramProto::replying(b"resp:"), Some(&server_path), None)
                .await
                .unwrap();
        let (transport, client) =
            create_unix_datagram_endpoint(MyDatagramProto::new, Some(&client_path), Some(&server_path))
                .await
                .unwrap();
        match transport.get_extra_info("peername") {
            Some(SocketAddress::Unix(peer)) => assert_eq!(peer.as_pathname(), Some(server_path.as_path())),
            other => panic!("peername {other:?}"),
        }
        transport.sendto(b"xxx", None).unwrap();
        until(|| client.borrow().nbytes > 0).await;
        assert_eq!(server.borrow().nbytes, 3);
        assert_eq!(client.borrow().datagrams[0].0, b"resp:xxx");
        match &server.borrow().datagrams[0].1 {
            SocketAddress::Unix(from) => assert_eq!(from.as_pathname(), Some(client_path.as_path())),
            other => panic!("from {other:?}"),
        }
        transport.close();
        s_transport.close();
        until(|| state(&client) == State::Closed && state(&server) == State::Closed).await;

        let (unbound, protocol) = create_unix_datagram_endpoint(MyDatagramProto::new, None, None)
            .await
            .unwrap();
        unbound.close();
        until(|| state(&protocol) == State::Closed).await;
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A panic in `datagram_received` is the endpoint's fatal error (as a panic in a stream
/// protocol is): `connection_lost` gets an error naming the method, the socket is closed, and
/// the panic is reported as the endpoint task's. Both UDP and Unix.
#[test]
fn a_panic_in_datagram_received_is_a_fatal_error_of_that_endpoint() {
    let _serial = serial();
    aioloop::run(async {
        let reported = capture_reports();
        let panicky = || MyDatagramProto {
            panic_on_datagram: true,
            ..MyDatagramProto::new()
        };
        let before = open_fds();
        let (transport, protocol) =
            create_datagram_endpoint(panicky, DatagramOptions::new().local_addr("127.0.0.1:0"))
                .await
                .unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        peer.send_to(b"x", transport.local_addr().unwrap()).await.unwrap();
        until(|| state(&protocol) == State::Closed).await;
        let exc = protocol.borrow().lost[0]
            .clone()
            .expect("connection_lost got the error");
        assert!(exc.contains("datagram_received") && exc.contains("boom"), "{exc}");
        assert!(transport.is_closing());
        until(|| reported.borrow().len() == 1).await;
        drop(peer);
        if cfg!(target_os = "linux") {
            assert_eq!(open_fds(), before);
        }

        let (ours, theirs) = UnixDatagram::pair().unwrap();
        let (transport, protocol) = datagram_endpoint_from_socket(panicky, ours);
        theirs.send(b"x").await.unwrap();
        until(|| state(&protocol) == State::Closed).await;
        assert!(protocol.borrow().lost[0]
            .as_deref()
            .unwrap()
            .contains("datagram_received"));
        assert!(transport.is_closing());
        until(|| reported.borrow().len() == 2).await;
    });
}

/// A loop that ends with endpoints open closes their sockets (no descriptor left), without
/// calling `connection_lost`.
#[test]
#[cfg(target_os = "linux")]
fn a_loop_ending_with_open_endpoints_closes_their_sockets() {
    let _serial = serial();
    let before = open_fds();
    let lost = aioloop::run(async {
        let (_t, p) = endpoint(loopback()).await;
        let (ours, _theirs) = UnixDatagram::pair().unwrap();
        let (_u, q) = datagram_endpoint_from_socket(MyDatagramProto::new, ours);
        aioloop::sleep(Duration::from_millis(10)).await;
        (p, q)
    });
    assert_eq!(open_fds(), before);
    assert_eq!(state(&lost.0), State::Initialized);
    assert_eq!(state(&lost.1), State::Initialized);
}

/// SelectorDatagramTransportTests `test_sendto_ready_error_received`: a buffered datagram
/// whose send fails (the peer of a Unix pair closed: `ECONNREFUSED`, then `ENOTCONN`) goes to
/// `error_received` and is dropped; the endpoint stays open, its buffer empties.
#[test]
#[cfg(target_os = "linux")]
fn test_sendto_ready_error_received() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, protocol, theirs) = unix_pair_endpoint();
        fill(&transport, b"a").await;
        transport.sendto(b"b", None).unwrap();
        drop(theirs);
        until(|| transport.get_write_buffer_size() == 0).await;
        let errors = protocol
            .borrow()
            .errors
            .iter()
            .map(io::Error::kind)
            .collect::<Vec<_>>();
        // The first send finds the peer gone; the socket is disconnected for the next ones.
        assert_eq!(
            errors.first(),
            Some(&io::ErrorKind::ConnectionRefused),
            "{errors:?}"
        );
        let gone = [io::ErrorKind::ConnectionRefused, io::ErrorKind::NotConnected];
        assert!(errors.iter().all(|kind| gone.contains(kind)), "{errors:?}");
        assert!(!transport.is_closing());
        assert_eq!(state(&protocol), State::Initialized);
        close_cleanly(&transport, &protocol).await;
    });
}
