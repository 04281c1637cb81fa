//! asyncio's Transports and Protocols (`aioloop::protocols`), porting CPython's
//! test_asyncio/test_events.py (`test_create_connection`, `test_create_server` with the
//! `MyProto` state machine: INITIAL -> CONNECTED -> EOF -> CLOSED, `nbytes`) and
//! test_selector_events.py's `SelectorSocketTransportTests` (write buffering, `write_eof`,
//! `close` flushing, `abort`, pause/resume reading, `pause_writing`/`resume_writing` with
//! `set_write_buffer_limits`, `connection_lost` exactly once), plus descriptor accounting.
//!
//! Every test holds one lock: the descriptor counts must not see another test's sockets.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream, UnixStream};
use aioloop::protocols::{
    connect_accepted_socket, create_connection, create_server, create_unix_connection, Protocol,
    SocketAddress, Transport,
};

mod support;

use support::protocols::{
    exception_panics_checking, exceptions, flow_failures, lost_once_cleanly, open_fds, serial, until,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Initial,
    Connected,
    Eof,
    Closed,
}

/// test_events.py's `MyProto` (client side: sends a request on `connection_made`) and
/// `MyBaseProto`, recording everything the transport calls.
struct MyProto {
    state: State,
    nbytes: usize,
    data: Vec<u8>,
    transport: Option<Transport>,
    send_on_connect: Option<&'static [u8]>,
    lost: Vec<Option<io::ErrorKind>>,
    flow: Vec<&'static str>,
    keep_open_on_eof: bool,
}

impl MyProto {
    fn new() -> Self {
        MyProto {
            state: State::Initial,
            nbytes: 0,
            data: Vec::new(),
            transport: None,
            send_on_connect: None,
            lost: Vec::new(),
            flow: Vec::new(),
            keep_open_on_eof: false,
        }
    }

    fn sending(request: &'static [u8]) -> Self {
        MyProto {
            send_on_connect: Some(request),
            ..MyProto::new()
        }
    }

    fn transport(&self) -> &Transport {
        self.transport.as_ref().unwrap()
    }
}

impl Default for MyProto {
    fn default() -> Self {
        MyProto::new()
    }
}

impl Protocol for MyProto {
    fn connection_made(&mut self, transport: Transport) {
        assert_eq!(self.state, State::Initial);
        self.state = State::Connected;
        if let Some(request) = self.send_on_connect {
            transport.write(request).unwrap();
        }
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        assert_eq!(self.state, State::Connected);
        self.nbytes += data.len();
        self.data.extend_from_slice(data);
    }

    fn eof_received(&mut self) -> bool {
        assert_eq!(self.state, State::Connected);
        self.state = State::Eof;
        self.keep_open_on_eof
    }

    fn connection_lost(&mut self, exc: Option<io::Error>) {
        assert!(
            matches!(self.state, State::Connected | State::Eof),
            "{:?}",
            self.state
        );
        self.state = State::Closed;
        self.lost.push(exc.map(|e| e.kind()));
    }

    fn pause_writing(&mut self) {
        self.flow.push("pause");
    }

    fn resume_writing(&mut self) {
        self.flow.push("resume");
    }
}

/// A peer that answers an HTTP/1.0 request and closes (test_events.py's `run_test_server`).
async fn http_peer(listener: TcpListener) {
    let (stream, _) = listener.accept().await.unwrap();
    let mut request = [0; 18];
    stream.read_exact(&mut request).await.unwrap();
    assert_eq!(&request, b"GET / HTTP/1.0\r\n\r\n");
    stream
        .write_all(b"HTTP/1.0 200 OK\r\n\r\nTest message")
        .await
        .unwrap();
}

#[test]
fn test_create_connection() {
    let _serial = serial();
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = aioloop::spawn(http_peer(listener));
        let (transport, proto) = create_connection(|| MyProto::sending(b"GET / HTTP/1.0\r\n\r\n"), addr)
            .await
            .unwrap();
        // create_connection returns once connection_made ran.
        assert_eq!(proto.borrow().state, State::Connected);
        assert_eq!(transport.peer_addr(), Some(addr));
        assert!(matches!(transport.get_extra_info("peername"), Some(SocketAddress::Inet(a)) if a == addr));
        assert!(transport.get_extra_info("sockname").is_some());
        assert!(transport.get_extra_info("nonsense").is_none());
        peer.await.unwrap();
        until(|| proto.borrow().state == State::Closed).await;
        let proto = proto.borrow();
        assert!(proto.nbytes > 0);
        assert_eq!(proto.data, b"HTTP/1.0 200 OK\r\n\r\nTest message");
        // EOF then close: eof_received answered false, so the transport closed itself.
        assert_eq!(proto.lost, vec![None]);
        assert!(transport.is_closing());
    });
}

#[test]
fn create_connection_refused_makes_no_protocol() {
    let _serial = serial();
    aioloop::run(async {
        let addr = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        };
        let made = Rc::new(RefCell::new(false));
        let made2 = made.clone();
        let Err(err) = create_connection(
            move || {
                *made2.borrow_mut() = true;
                MyProto::new()
            },
            addr,
        )
        .await
        else {
            panic!("connected to a closed port");
        };
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert!(!*made.borrow());
    });
}

#[test]
fn test_create_server() {
    let _serial = serial();
    aioloop::run(async {
        let protos: Rc<RefCell<Vec<Rc<RefCell<MyProto>>>>> = Rc::default();
        // The factory cannot see the Rc the server makes; record through the transport
        // instead: the server side is an echo-less MyProto counting bytes.
        #[derive(Default)]
        struct Recorder {
            proto: Rc<RefCell<MyProto>>,
        }
        impl Protocol for Recorder {
            fn connection_made(&mut self, transport: Transport) {
                self.proto.borrow_mut().connection_made(transport);
            }
            fn data_received(&mut self, data: &[u8]) {
                self.proto.borrow_mut().data_received(data);
            }
            fn eof_received(&mut self) -> bool {
                self.proto.borrow_mut().eof_received()
            }
            fn connection_lost(&mut self, exc: Option<io::Error>) {
                self.proto.borrow_mut().connection_lost(exc);
            }
        }
        let seen = protos.clone();
        let server = create_server(
            move || {
                let rec = Recorder::default();
                seen.borrow_mut().push(rec.proto.clone());
                rec
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        assert!(server.is_serving());
        let addr = server.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        client.write_all(b"xxx").await.unwrap();
        until(|| protos.borrow().len() == 1 && protos.borrow()[0].borrow().nbytes == 3).await;
        let proto = protos.borrow()[0].clone();
        assert_eq!(proto.borrow().state, State::Connected);
        client.write_all(b"xxx").await.unwrap();
        until(|| proto.borrow().nbytes == 6).await;
        {
            let p = proto.borrow();
            let t = p.transport();
            assert_eq!(t.peer_addr(), Some(client.local_addr().unwrap()));
            assert_eq!(t.local_addr(), Some(addr));
        }
        drop(client); // the server side reads EOF, and closes
        until(|| proto.borrow().state == State::Closed).await;
        assert_eq!(proto.borrow().lost, vec![None]);
        server.close();
        assert!(!server.is_serving());
        aioloop::wait_for(server.wait_closed(), Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(
            TcpStream::connect(addr).await.unwrap_err().kind(),
            io::ErrorKind::ConnectionRefused
        );
    });
}

/// A connected pair: our transport with a MyProto, and the raw peer stream.
async fn pair() -> (Transport, Rc<RefCell<MyProto>>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = aioloop::spawn(async move { listener.accept().await.unwrap().0 });
    let (transport, proto) = create_connection(MyProto::new, addr).await.unwrap();
    (transport, proto, accept.await.unwrap())
}

/// Reads the peer until EOF (or a reset), returning what it got.
async fn read_to_end(peer: &TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        match peer.read(&mut buf).await {
            Ok(0) | Err(_) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn test_write_sends_at_once_when_nothing_is_buffered() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, _proto, peer) = pair().await;
        transport.write(b"data").unwrap();
        // Sent inside write (asyncio's sock.send): nothing buffered.
        assert_eq!(transport.get_write_buffer_size(), 0);
        let mut got = [0; 4];
        peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"data");
        transport.write(b"").unwrap(); // empty: nothing
        transport.writelines([&b"line1"[..], b"line2"]).unwrap();
        let mut got = [0; 10];
        peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"line1line2");
        transport.close();
    });
}

#[test]
fn test_write_buffers_what_the_socket_does_not_take_and_sends_it_in_order() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto, peer) = pair().await;
        transport.set_write_buffer_limits(Some(usize::MAX), None).unwrap();
        let data = pattern(16 << 20);
        for chunk in data.chunks(1 << 20) {
            transport.write(chunk).unwrap();
        }
        assert!(
            transport.get_write_buffer_size() > 0,
            "16 MiB fits no socket buffer"
        );
        transport.close(); // flushes first
        assert!(transport.is_closing());
        let got = read_to_end(&peer).await;
        assert_eq!(got.len(), data.len());
        assert!(got == data);
        until(|| proto.borrow().state == State::Closed).await;
        assert_eq!(proto.borrow().lost, vec![None]);
        assert_eq!(transport.get_write_buffer_size(), 0);
    });
}

#[test]
fn test_write_eof_after_the_buffer_and_write_after_write_eof_is_an_error() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto, peer) = pair().await;
        assert!(transport.can_write_eof());
        transport.set_write_buffer_limits(Some(usize::MAX), None).unwrap();
        let data = pattern(8 << 20);
        transport.write(&data).unwrap();
        transport.write_eof().unwrap();
        transport.write_eof().unwrap(); // twice: nothing
        let err = transport.write(b"more").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        // write_eof is no close: still reading, not closing.
        assert!(!transport.is_closing());
        assert!(transport.is_reading());
        let got = read_to_end(&peer).await;
        assert!(got == data);
        // The other direction still works.
        peer.write_all(b"reply").await.unwrap();
        until(|| proto.borrow().nbytes == 5).await;
        drop(peer);
        until(|| proto.borrow().state == State::Closed).await;
        assert_eq!(proto.borrow().lost, vec![None]);
    });
}

#[test]
fn test_close_with_nothing_buffered_calls_connection_lost_once_later() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto, peer) = pair().await;
        transport.close();
        // Not inside close (asyncio: call_soon).
        assert_eq!(proto.borrow().state, State::Connected);
        transport.close();
        transport.abort();
        until(|| proto.borrow().state == State::Closed).await;
        assert!(read_to_end(&peer).await.is_empty());
        aioloop::sleep(Duration::from_millis(20)).await;
        assert_eq!(proto.borrow().lost, vec![None]);
        // Writes after the connection was lost are ignored.
        transport.write(b"ignored").unwrap();
        assert_eq!(transport.get_write_buffer_size(), 0);
        assert!(!transport.is_reading());
    });
}

/// SelectorSocketTransportTests `test_write_exception`'s warning: writes after the
/// connection was lost are ignored, and from the fifth on each is reported (asyncio logs
/// "socket.send() raised exception.").
#[test]
fn test_write_exception_warns_from_the_fifth_write_after_the_connection_was_lost() {
    let _serial = serial();
    aioloop::run(async {
        let reported = exceptions();
        let (transport, proto, _peer) = pair().await;
        transport.abort();
        until(|| proto.borrow().state == State::Closed).await;
        for _ in 0..4 {
            transport.write(b"data").unwrap();
        }
        assert!(reported.borrow().is_empty(), "{:?}", reported.borrow());
        transport.write(b"data").unwrap();
        assert_eq!(reported.borrow().len(), 1);
        assert!(
            reported.borrow()[0].contains("5 writes ignored"),
            "{:?}",
            reported.borrow()
        );
        transport.write(b"data").unwrap();
        assert_eq!(reported.borrow().len(), 2);
        assert_eq!(transport.get_write_buffer_size(), 0);
    });
}

#[test]
fn test_abort_drops_the_buffer() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto, peer) = pair().await;
        transport.set_write_buffer_limits(Some(usize::MAX), None).unwrap();
        let data = pattern(32 << 20);
        transport.write(&data).unwrap();
        assert!(transport.get_write_buffer_size() > 0);
        transport.abort();
        assert_eq!(transport.get_write_buffer_size(), 0);
        assert!(transport.is_closing());
        until(|| proto.borrow().state == State::Closed).await;
        assert_eq!(proto.borrow().lost, vec![None]);
        let got = read_to_end(&peer).await;
        assert!(got.len() < data.len(), "abort sent everything");
        transport.close();
        transport.abort();
        aioloop::sleep(Duration::from_millis(20)).await;
        assert_eq!(proto.borrow().lost.len(), 1);
    });
}

#[test]
fn test_pause_resume_reading() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto, peer) = pair().await;
        assert!(transport.is_reading());
        transport.pause_reading();
        transport.pause_reading(); // twice: nothing
        assert!(!transport.is_reading());
        peer.write_all(b"held").await.unwrap();
        aioloop::sleep(Duration::from_millis(50)).await;
        assert_eq!(proto.borrow().nbytes, 0);
        transport.resume_reading();
        transport.resume_reading();
        assert!(transport.is_reading());
        until(|| proto.borrow().nbytes == 4).await;
        assert_eq!(proto.borrow().data, b"held");
        // An EOF that arrives while paused waits too.
        transport.pause_reading();
        drop(peer);
        aioloop::sleep(Duration::from_millis(50)).await;
        assert_eq!(proto.borrow().state, State::Connected);
        transport.resume_reading();
        until(|| proto.borrow().state == State::Closed).await;
        // Closing: pause/resume do nothing and is_reading is false.
        transport.resume_reading();
        assert!(!transport.is_reading());
    });
}

#[test]
fn test_set_write_buffer_limits() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, _proto, _peer) = pair().await;
        assert_eq!(transport.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
        transport.set_write_buffer_limits(Some(128), None).unwrap();
        assert_eq!(transport.get_write_buffer_limits(), (32, 128));
        transport.set_write_buffer_limits(None, Some(100)).unwrap();
        assert_eq!(transport.get_write_buffer_limits(), (100, 400));
        transport.set_write_buffer_limits(Some(7), Some(7)).unwrap();
        assert_eq!(transport.get_write_buffer_limits(), (7, 7));
        transport.set_write_buffer_limits(None, None).unwrap();
        assert_eq!(transport.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
        let err = transport.set_write_buffer_limits(Some(1), Some(2)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(transport.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
        transport.abort();
    });
}

#[test]
fn test_flow_control_pause_writing_resume_writing() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto, peer) = pair().await;
        transport
            .set_write_buffer_limits(Some(1 << 20), Some(1 << 18))
            .unwrap();
        // Fill the socket, then go above the high mark: pause_writing inside write.
        let chunk = pattern(256 * 1024);
        while proto.borrow().flow.is_empty() {
            transport.write(&chunk).unwrap();
        }
        assert_eq!(proto.borrow().flow, vec!["pause"]);
        assert!(transport.get_write_buffer_size() > 1 << 20);
        transport.write(&chunk).unwrap(); // still above: no second pause
        assert_eq!(proto.borrow().flow, vec!["pause"]);
        // The peer reads: the buffer drains to the low mark, resume_writing.
        let mut buf = vec![0; 1 << 20];
        while proto.borrow().flow.len() < 2 {
            peer.read(&mut buf).await.unwrap();
        }
        assert_eq!(proto.borrow().flow, vec!["pause", "resume"]);
        assert!(transport.get_write_buffer_size() <= 1 << 18);
        // Lowering the high mark below what is buffered pauses at once.
        let buffered = transport.get_write_buffer_size();
        if buffered > 0 {
            transport
                .set_write_buffer_limits(Some(buffered - 1), Some(0))
                .unwrap();
            assert_eq!(proto.borrow().flow, vec!["pause", "resume", "pause"]);
        }
        transport.abort();
        until(|| proto.borrow().state == State::Closed).await;
    });
}

/// Records the flow calls and `connection_lost`; panics ("pause boom", "resume boom") in
/// the flow calls `panics` names, once it recorded them.
struct FlowPanics {
    panics: &'static [&'static str],
    flow: Vec<&'static str>,
    lost: Vec<Option<io::ErrorKind>>,
}

impl FlowPanics {
    fn flow(&mut self, call: &'static str) {
        self.flow.push(call);
        if self.panics.contains(&call) {
            panic!("{call} boom");
        }
    }
}

impl Protocol for FlowPanics {
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.lost.push(exc.map(|e| e.kind()));
    }
    fn pause_writing(&mut self) {
        self.flow("pause");
    }
    fn resume_writing(&mut self) {
        self.flow("resume");
    }
}

/// asyncio's `_maybe_pause_protocol` / `_maybe_resume_protocol` (`_FlowControlMixin`): a
/// panic in `pause_writing` (here inside the test task's `write`) or `resume_writing` (from
/// the connection's task, once the peer drained the buffer) goes to the loop's exception
/// handler as "protocol.pause_writing() failed" with the panic, and the connection goes on:
/// it still sends, and `connection_lost(None)` comes once, after the close. The handler runs
/// with the protocol free (asyncio hands it the protocol).
fn flow_panics_are_reported_and_the_connection_goes_on(panics: &'static [&'static str]) {
    let _serial = serial();
    aioloop::run(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = aioloop::spawn(async move { listener.accept().await.unwrap().0 });
        let factory = move || FlowPanics {
            panics,
            flow: Vec::new(),
            lost: Vec::new(),
        };
        let (transport, proto) = create_connection(factory, addr).await.unwrap();
        let seen = proto.clone();
        let reported = exception_panics_checking(move || {
            assert!(seen.try_borrow_mut().is_ok(), "the protocol is borrowed");
        });
        let peer = accept.await.unwrap();
        transport
            .set_write_buffer_limits(Some(64 * 1024), Some(0))
            .unwrap();
        let chunk = pattern(256 * 1024);
        let mut sent = 0;
        while proto.borrow().flow.is_empty() {
            transport.write(&chunk).unwrap();
            sent += chunk.len();
        }
        assert_eq!(proto.borrow().flow, ["pause"]);
        let mut got = vec![0; sent];
        peer.read_exact(&mut got).await.unwrap();
        assert!(got.chunks(chunk.len()).all(|c| c == chunk));
        until(|| proto.borrow().flow.len() == 2).await;
        assert_eq!(proto.borrow().flow, ["pause", "resume"]);
        transport.write(b"tail").unwrap();
        transport.close();
        assert_eq!(read_to_end(&peer).await, b"tail");
        lost_once_cleanly(|| proto.borrow().lost.clone()).await;
        assert_eq!(*reported.borrow(), flow_failures(panics));
    });
}

#[test]
fn pause_writing_panic_is_reported_and_the_connection_goes_on() {
    flow_panics_are_reported_and_the_connection_goes_on(&["pause"]);
}

#[test]
fn resume_writing_panic_is_reported_and_the_connection_goes_on() {
    flow_panics_are_reported_and_the_connection_goes_on(&["resume"]);
}

/// Writes, closes and pauses from inside the protocol's callbacks: no re-entrancy panic.
struct Echo {
    transport: Option<Transport>,
    flow: Rc<RefCell<Vec<&'static str>>>,
    lost: Rc<RefCell<u32>>,
}

impl Protocol for Echo {
    fn connection_made(&mut self, transport: Transport) {
        transport.set_write_buffer_limits(Some(16), Some(0)).unwrap();
        self.transport = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        let t = self.transport.as_ref().unwrap();
        if data.ends_with(b"!") {
            t.write(data).unwrap();
            t.close(); // closes after the echo
        } else {
            t.write(data).unwrap();
            // A big write inside the callback: pause_writing comes once we return.
            if data.starts_with(b"big") {
                t.write(&vec![b'x'; 8 << 20]).unwrap();
            }
        }
    }
    fn connection_lost(&mut self, _exc: Option<io::Error>) {
        *self.lost.borrow_mut() += 1;
    }
    fn pause_writing(&mut self) {
        self.flow.borrow_mut().push("pause");
    }
    fn resume_writing(&mut self) {
        self.flow.borrow_mut().push("resume");
    }
}

#[test]
fn write_and_close_inside_callbacks() {
    let _serial = serial();
    aioloop::run(async {
        let flow: Rc<RefCell<Vec<&'static str>>> = Rc::default();
        let lost: Rc<RefCell<u32>> = Rc::default();
        let (f, l) = (flow.clone(), lost.clone());
        let server = create_server(
            move || Echo {
                transport: None,
                flow: f.clone(),
                lost: l.clone(),
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let client = TcpStream::connect(server.local_addr().unwrap()).await.unwrap();
        client.write_all(b"hello").await.unwrap();
        let mut got = [0; 5];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello");
        client.write_all(b"big").await.unwrap();
        until(|| !flow.borrow().is_empty()).await;
        assert_eq!(*flow.borrow(), vec!["pause"]);
        let mut big = vec![0; 3 + (8 << 20)];
        client.read_exact(&mut big).await.unwrap();
        until(|| flow.borrow().len() == 2).await;
        assert_eq!(*flow.borrow(), vec!["pause", "resume"]);
        client.write_all(b"bye!").await.unwrap();
        let rest = read_to_end(&client).await;
        assert_eq!(rest, b"bye!");
        until(|| *lost.borrow() == 1).await;
        server.close();
        aioloop::wait_for(server.wait_closed(), Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(*lost.borrow(), 1);
    });
}

#[test]
fn eof_received_true_keeps_the_connection_open_for_writing() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto, peer) = pair().await;
        proto.borrow_mut().keep_open_on_eof = true;
        peer.write_all(b"request").await.unwrap();
        peer.shutdown(std::net::Shutdown::Write).unwrap();
        until(|| proto.borrow().state == State::Eof).await;
        assert!(!transport.is_closing());
        assert_eq!(proto.borrow().data, b"request");
        // Half-closed: the protocol can still write.
        transport.write(b"response").unwrap();
        transport.close();
        assert_eq!(read_to_end(&peer).await, b"response");
        until(|| proto.borrow().state == State::Closed).await;
        assert_eq!(proto.borrow().lost, vec![None]);
    });
}

#[test]
fn connection_lost_gets_the_read_error() {
    let _serial = serial();
    aioloop::run(async {
        let (_transport, proto, peer) = pair().await;
        // A reset: SO_LINGER 0 then close.
        peer.set_linger(Some(Duration::ZERO)).unwrap();
        drop(peer);
        until(|| proto.borrow().state == State::Closed).await;
        let lost = proto.borrow().lost.clone();
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0], Some(io::ErrorKind::ConnectionReset), "{lost:?}");
    });
}

#[test]
fn writes_from_another_task_and_writes_after_close_while_flushing() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto, peer) = pair().await;
        transport.set_write_buffer_limits(Some(usize::MAX), None).unwrap();
        let t = transport.clone();
        aioloop::spawn(async move {
            t.write(&pattern(4 << 20)).unwrap();
            t.close();
            // Still flushing: asyncio keeps appending to the buffer.
            if t.get_write_buffer_size() > 0 {
                t.write(b"tail").unwrap();
            }
        })
        .await
        .unwrap();
        let got = read_to_end(&peer).await;
        assert!(got.len() == 4 << 20 || got.len() == (4 << 20) + 4);
        assert!(got[..4 << 20] == pattern(4 << 20)[..]);
        until(|| proto.borrow().state == State::Closed).await;
    });
}

#[test]
fn server_close_clients_and_abort_clients() {
    let _serial = serial();
    aioloop::run(async {
        let lost: Rc<RefCell<u32>> = Rc::default();
        let l = lost.clone();
        let server = create_server(
            move || Echo {
                transport: None,
                flow: Rc::default(),
                lost: l.clone(),
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let a = TcpStream::connect(addr).await.unwrap();
        let b = TcpStream::connect(addr).await.unwrap();
        a.write_all(b"x").await.unwrap();
        b.write_all(b"y").await.unwrap();
        let mut one = [0; 1];
        a.read_exact(&mut one).await.unwrap();
        b.read_exact(&mut one).await.unwrap();
        server.close();
        // Connections go on after close; wait_closed waits for them.
        assert!(aioloop::wait_for(server.wait_closed(), Duration::from_millis(50))
            .await
            .is_err());
        server.close_clients();
        assert!(read_to_end(&a).await.is_empty());
        assert!(read_to_end(&b).await.is_empty());
        aioloop::wait_for(server.wait_closed(), Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(*lost.borrow(), 2);

        let server = create_server(
            || Echo {
                transport: None,
                flow: Rc::default(),
                lost: Rc::default(),
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let c = TcpStream::connect(server.local_addr().unwrap()).await.unwrap();
        c.write_all(b"big").await.unwrap(); // the server buffers 8 MiB
        let mut three = [0; 3];
        c.read_exact(&mut three).await.unwrap();
        server.close();
        server.abort_clients();
        aioloop::wait_for(server.wait_closed(), Duration::from_secs(10))
            .await
            .unwrap();
        assert!(read_to_end(&c).await.len() < 8 << 20);
    });
}

#[test]
fn serve_forever_returns_when_closed() {
    let _serial = serial();
    aioloop::run(async {
        let server = Rc::new(create_server(MyProto::new, "127.0.0.1:0").await.unwrap());
        let s = server.clone();
        drop(aioloop::spawn(async move {
            aioloop::sleep(Duration::from_millis(10)).await;
            s.close();
        }));
        aioloop::wait_for(server.serve_forever(), Duration::from_secs(10))
            .await
            .unwrap();
        assert!(!server.is_serving());
        server.wait_closed().await;
    });
}

#[test]
fn unix_connection_and_accepted_socket() {
    let _serial = serial();
    aioloop::run(async {
        let dir = std::env::temp_dir().join(format!("aioloop-protocols-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let listener = aioloop::net::UnixListener::bind(&dir).unwrap();
        let (transport, proto) = create_unix_connection(MyProto::new, &dir).await.unwrap();
        let (peer, _) = listener.accept().await.unwrap();
        assert!(matches!(
            transport.get_extra_info("peername"),
            Some(SocketAddress::Unix(_))
        ));
        assert_eq!(transport.peer_addr(), None);
        transport.write(b"over unix").unwrap();
        let mut got = [0; 9];
        peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"over unix");
        // The peer end as a protocol too (connect_accepted_socket).
        let (peer_transport, peer_proto) = connect_accepted_socket(MyProto::new, peer);
        peer_transport.write(b"back").unwrap();
        until(|| proto.borrow().nbytes == 4).await;
        transport.close();
        until(|| peer_proto.borrow().state == State::Closed && proto.borrow().state == State::Closed).await;
        let _ = std::fs::remove_file(&dir);

        let (a, b) = UnixStream::pair().unwrap();
        let (ta, pa) = connect_accepted_socket(MyProto::new, a);
        let (_tb, pb) = connect_accepted_socket(MyProto::new, b);
        ta.write(b"pair").unwrap();
        ta.write_eof().unwrap();
        until(|| pb.borrow().state == State::Closed).await;
        assert_eq!(pb.borrow().data, b"pair");
        until(|| pa.borrow().state == State::Closed).await;
    });
}

#[test]
#[cfg(target_os = "linux")]
fn close_and_abort_leave_no_descriptor_behind() {
    let _serial = serial();
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Warm up whatever the loop opens lazily.
        let (t, p) = create_connection(MyProto::new, addr).await.unwrap();
        let peer = listener.accept().await.unwrap().0;
        t.close();
        until(|| p.borrow().state == State::Closed).await;
        drop(peer);
        aioloop::sleep(Duration::from_millis(10)).await;
        let before = open_fds();
        for i in 0..50 {
            let (t, p) = create_connection(MyProto::new, addr).await.unwrap();
            let peer = listener.accept().await.unwrap().0;
            t.write(&pattern(1 << 20)).unwrap();
            if i % 2 == 0 {
                t.close();
                read_to_end(&peer).await;
            } else {
                t.abort();
            }
            until(|| p.borrow().state == State::Closed).await;
            drop(peer);
        }
        aioloop::sleep(Duration::from_millis(20)).await;
        assert_eq!(open_fds(), before);
    });
}

/// Panics in `data_received`, records `connection_lost`.
struct Panicky {
    lost: Rc<RefCell<Vec<Option<String>>>>,
}

impl Protocol for Panicky {
    fn data_received(&mut self, _data: &[u8]) {
        panic!("boom");
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.lost.borrow_mut().push(exc.map(|e| e.to_string()));
    }
}

/// asyncio's `_fatal_error` for an exception in `data_received`: the connection closes, and
/// `connection_lost` gets the error; the panic is reported as the connection task's.
#[test]
fn a_panic_in_data_received_is_a_fatal_error_of_that_connection() {
    let _serial = serial();
    aioloop::run(async {
        let reported: Rc<RefCell<Vec<String>>> = Rc::default();
        let r = reported.clone();
        aioloop::get_running_loop()
            .set_exception_handler(move |ctx| r.borrow_mut().push(ctx.message().to_owned()));
        let lost: Rc<RefCell<Vec<Option<String>>>> = Rc::default();
        let l = lost.clone();
        let server = create_server(move || Panicky { lost: l.clone() }, "127.0.0.1:0")
            .await
            .unwrap();
        let client = TcpStream::connect(server.local_addr().unwrap()).await.unwrap();
        client.write_all(b"x").await.unwrap();
        assert!(read_to_end(&client).await.is_empty()); // the server side closed
        until(|| !reported.borrow().is_empty()).await;
        let lost = lost.borrow().clone();
        assert_eq!(lost.len(), 1);
        let exc = lost[0].as_deref().expect("connection_lost got the error");
        assert!(exc.contains("data_received") && exc.contains("boom"), "{exc}");
        // The server goes on accepting, and forgot the connection.
        let again = TcpStream::connect(server.local_addr().unwrap()).await.unwrap();
        drop(again);
        server.close();
        aioloop::wait_for(server.wait_closed(), Duration::from_secs(10))
            .await
            .unwrap();
    });
}

/// A loop that ends with connections open closes their sockets (no descriptor left).
#[test]
#[cfg(target_os = "linux")]
fn a_loop_ending_with_open_connections_closes_their_sockets() {
    let _serial = serial();
    let before = open_fds();
    aioloop::run(async {
        let server = create_server(MyProto::new, "127.0.0.1:0").await.unwrap();
        let (_t, _p) = create_connection(MyProto::new, server.local_addr().unwrap())
            .await
            .unwrap();
        aioloop::sleep(Duration::from_millis(10)).await;
    });
    assert_eq!(open_fds(), before);
}

#[test]
fn unix_server() {
    let _serial = serial();
    aioloop::run(async {
        let path = std::env::temp_dir().join(format!("aioloop-protocols-srv-{}", std::process::id()));
        let lost: Rc<RefCell<u32>> = Rc::default();
        let l = lost.clone();
        let server = aioloop::protocols::create_unix_server(
            move || Echo {
                transport: None,
                flow: Rc::default(),
                lost: l.clone(),
            },
            &path,
        )
        .await
        .unwrap();
        assert_eq!(
            server.local_addr().unwrap_err().kind(),
            io::ErrorKind::NotConnected
        );
        let client = UnixStream::connect(&path).await.unwrap();
        client.write_all(b"unix!").await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0; 16];
        loop {
            match client.read(&mut buf).await.unwrap() {
                0 => break,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(got, b"unix!");
        server.close();
        aioloop::wait_for(server.wait_closed(), Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(*lost.borrow(), 1);
        assert!(!path.exists(), "closing the server removes its socket file");
    });
}

/// test_selector_events.py's `test_write_exception`-style: a send error is fatal, and
/// `connection_lost` gets it; later writes are ignored.
#[test]
fn a_send_error_closes_the_transport_with_it() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto, peer) = pair().await;
        transport.pause_reading(); // the error shows up in a send, not a read
        peer.set_linger(Some(Duration::ZERO)).unwrap();
        drop(peer);
        aioloop::sleep(Duration::from_millis(20)).await;
        let chunk = pattern(64 * 1024);
        until(|| {
            transport.write(&chunk).unwrap();
            transport.is_closing()
        })
        .await;
        until(|| proto.borrow().state == State::Closed).await;
        let lost = proto.borrow().lost.clone();
        assert_eq!(lost.len(), 1);
        assert!(
            matches!(
                lost[0],
                Some(io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe)
            ),
            "{lost:?}"
        );
        transport.write(b"ignored").unwrap();
        assert_eq!(transport.get_write_buffer_size(), 0);
    });
}
