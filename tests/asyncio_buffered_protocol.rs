//! asyncio's `BufferedProtocol` on aioloop's transports (`aioloop::protocols::BufferedProtocol`),
//! porting CPython's test_asyncio/test_buffered_proto.py (`test_buffered_proto_create_connection`)
//! and test_selector_events.py's `SelectorSocketTransportBufferedProtocolTests` (`test_read_ready`,
//! `test_get_buffer_error`, `test_get_buffer_zerosized`, `test_buffer_updated_error`,
//! `test_read_eof_received_error`, `test_read_ready_eof`, `test_read_ready_eof_keep_open`,
//! `test_read_ready_conn_reset`), plus pause/resume reading, flow control, and every entry
//! point (client, server, Unix, accepted socket) with a buffered protocol.
//!
//! Through real sockets: where CPython's tests mock `recv_into`, these have a peer write.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream, UnixStream};
use aioloop::protocols::{
    connect_accepted_socket, create_connection, create_server, create_unix_connection, create_unix_server,
    BufferedProtocol, ProtocolServer, Transport,
};
use aioloop::streams::{start_server, StreamReader, StreamWriter};

mod support;
use support::closed_in_10s;
use support::protocols::{exceptions, serial, until};

/// What a test protocol did, in order.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Made,
    GetBuffer(Option<usize>),
    Updated(usize),
    Eof,
    Lost(Option<String>),
    Pause,
    Resume,
}

/// test_utils.make_test_protocol(asyncio.BufferedProtocol) with `get_buffer` answering a
/// buffer of `size` bytes (CPython's setUp: `bytearray(1)`), recording every call and the
/// bytes `buffer_updated` reported.
struct Recorder {
    buf: Vec<u8>,
    data: Vec<u8>,
    calls: Vec<Call>,
    transport: Option<Transport>,
    keep_open_on_eof: bool,
    panic_in: Option<&'static str>,
}

impl Recorder {
    fn new(size: usize) -> Self {
        Recorder {
            buf: vec![0; size],
            data: Vec::new(),
            calls: Vec::new(),
            transport: None,
            keep_open_on_eof: false,
            panic_in: None,
        }
    }

    fn lost(&self) -> Option<Option<String>> {
        self.calls.iter().find_map(|c| match c {
            Call::Lost(exc) => Some(exc.clone()),
            _ => None,
        })
    }

    fn updated(&self) -> usize {
        self.calls
            .iter()
            .filter(|c| matches!(c, Call::Updated(_)))
            .count()
    }

    fn maybe_panic(&self, what: &str) {
        if self.panic_in == Some(what) {
            panic!("boom in {what}");
        }
    }
}

impl BufferedProtocol for Recorder {
    fn connection_made(&mut self, transport: Transport) {
        self.calls.push(Call::Made);
        self.transport = Some(transport);
    }

    fn get_buffer(&mut self, sizehint: Option<usize>) -> &mut [u8] {
        self.calls.push(Call::GetBuffer(sizehint));
        self.maybe_panic("get_buffer");
        &mut self.buf
    }

    fn buffer_updated(&mut self, nbytes: usize) {
        self.calls.push(Call::Updated(nbytes));
        self.data.extend_from_slice(&self.buf[..nbytes]);
        self.maybe_panic("buffer_updated");
    }

    fn eof_received(&mut self) -> bool {
        self.calls.push(Call::Eof);
        self.maybe_panic("eof_received");
        self.keep_open_on_eof
    }

    fn connection_lost(&mut self, exc: Option<io::Error>) {
        assert!(self.lost().is_none(), "connection_lost twice");
        self.calls.push(Call::Lost(exc.map(|e| e.to_string())));
    }

    fn pause_writing(&mut self) {
        self.calls.push(Call::Pause);
    }

    fn resume_writing(&mut self) {
        self.calls.push(Call::Resume);
    }
}

/// A client transport with a [`Recorder`] of `size` bytes, and the server's end of it.
async fn pair(recorder: impl FnOnce() -> Recorder) -> (Transport, Rc<RefCell<Recorder>>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = aioloop::spawn(async move { listener.accept().await.unwrap().0 });
    let (transport, proto) = create_connection(recorder, addr).await.unwrap();
    (transport, proto, accept.await.unwrap())
}

/// `ReceiveStuffProto`'s callback, given each update.
type OnBuf = Box<dyn FnMut(&[u8])>;

/// test_buffered_proto.py's `ReceiveStuffProto`: a 100-byte buffer, each update handed on.
struct ReceiveStuffProto {
    buffer: [u8; 100],
    on_buf: OnBuf,
    lost: Rc<RefCell<Option<Option<String>>>>,
}

impl BufferedProtocol for ReceiveStuffProto {
    fn get_buffer(&mut self, _sizehint: Option<usize>) -> &mut [u8] {
        &mut self.buffer
    }

    fn buffer_updated(&mut self, nbytes: usize) {
        (self.on_buf)(&self.buffer[..nbytes]);
    }

    fn connection_lost(&mut self, exc: Option<io::Error>) {
        *self.lost.borrow_mut() = Some(exc.map(|e| e.to_string()));
    }
}

#[test]
fn test_buffered_proto_create_connection() {
    let _serial = serial();
    aioloop::run(async {
        let noise: Rc<Vec<u8>> = Rc::new(b"12345678+".repeat(1024));
        let n = noise.clone();
        let srv = start_server(
            move |mut reader: StreamReader, writer: StreamWriter| {
                let noise = n.clone();
                async move {
                    writer.write(&noise);
                    reader.readexactly(1).await.unwrap();
                    writer.close();
                    let _ = writer.wait_closed().await;
                }
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let addr = srv.local_addr().unwrap();

        let client = async {
            let data: Rc<RefCell<Vec<u8>>> = Rc::default();
            let transport: Rc<RefCell<Option<Transport>>> = Rc::default();
            let lost: Rc<RefCell<Option<Option<String>>>> = Rc::default();
            let (d, t, l, expected) = (data.clone(), transport.clone(), lost.clone(), noise.clone());
            let (tr, _pr) = create_connection(
                move || ReceiveStuffProto {
                    buffer: [0; 100],
                    on_buf: Box::new(move |buf| {
                        d.borrow_mut().extend_from_slice(buf);
                        if *d.borrow() == *expected {
                            t.borrow().as_ref().unwrap().write(b"1").unwrap();
                        }
                    }),
                    lost: l,
                },
                addr,
            )
            .await
            .unwrap();
            *transport.borrow_mut() = Some(tr);
            until(|| lost.borrow().is_some()).await;
            assert_eq!(*lost.borrow(), Some(None));
            assert_eq!(*data.borrow(), *noise);
        };
        aioloop::wait_for(client, Duration::from_secs(5)).await.unwrap();
        srv.close();
        srv.wait_closed().await;
    });
}

/// With a 16-byte buffer, and CPython's setUp one of one byte: a read never writes past the
/// buffer given.
#[test]
fn test_read_ready() {
    let _serial = serial();
    aioloop::run(async {
        for size in [16, 1] {
            let (_transport, proto, peer) = pair(|| Recorder::new(size)).await;
            peer.write_all(b"0123456789").await.unwrap();
            until(|| proto.borrow().data.len() == 10).await;
            let p = proto.borrow();
            assert_eq!(p.data, b"0123456789");
            assert_eq!(p.calls[0], Call::Made);
            // asyncio's get_buffer(-1): no size hint.
            assert!(p.calls.iter().all(|c| !matches!(c, Call::GetBuffer(Some(_)))));
            // Each buffer_updated follows its get_buffer, and reports bytes written into it.
            for (i, call) in p.calls.iter().enumerate() {
                if let Call::Updated(n) = call {
                    assert!(*n >= 1 && *n <= size);
                    assert_eq!(p.calls[i - 1], Call::GetBuffer(None));
                }
            }
            if size == 1 {
                assert_eq!(p.updated(), 10);
            }
            assert!(p.lost().is_none());
        }
    });
}

/// A protocol that panics in `method` once the peer wrote `data` (and closed, if
/// `data` is empty): the connection's fatal error. Checks what every such case shares
/// (`connection_lost` gets the error naming the method, the transport is closing, the panic
/// is reported as the task's) and returns the protocol for the rest.
async fn panic_in(method: &'static str, data: &[u8]) -> Rc<RefCell<Recorder>> {
    let reported = exceptions();
    let (transport, proto, peer) = pair(|| Recorder {
        panic_in: Some(method),
        ..Recorder::new(16)
    })
    .await;
    if data.is_empty() {
        drop(peer);
    } else {
        peer.write_all(data).await.unwrap();
    }
    until(|| proto.borrow().lost().is_some()).await;
    let exc = proto
        .borrow()
        .lost()
        .unwrap()
        .expect("connection_lost got the error");
    assert!(exc.contains(method) && exc.contains("boom"), "{exc}");
    assert!(transport.is_closing());
    until(|| !reported.borrow().is_empty()).await; // the panic goes on, reported
    proto
}

#[test]
fn test_get_buffer_error() {
    let _serial = serial();
    aioloop::run(async {
        let proto = panic_in("get_buffer", b"x").await;
        let p = proto.borrow();
        assert!(p.calls.contains(&Call::GetBuffer(None)));
        assert_eq!(p.updated(), 0);
    });
}

#[test]
fn test_get_buffer_zerosized() {
    let _serial = serial();
    aioloop::run(async {
        let reported = exceptions();
        let (transport, proto, peer) = pair(|| Recorder::new(0)).await;
        peer.write_all(b"x").await.unwrap();
        until(|| proto.borrow().lost().is_some()).await;
        {
            let p = proto.borrow();
            assert_eq!(
                p.lost().unwrap().as_deref(),
                Some("get_buffer() returned an empty buffer")
            );
            assert!(p.calls.contains(&Call::GetBuffer(None)));
            assert_eq!(p.updated(), 0);
            assert!(transport.is_closing());
        }
        // A fatal error, not a panic: nothing for the exception handler.
        aioloop::sleep(Duration::from_millis(20)).await;
        assert!(reported.borrow().is_empty(), "{:?}", reported.borrow());
        // The peer sees the connection gone.
        let mut buf = [0; 8];
        assert!(matches!(peer.read(&mut buf).await, Ok(0) | Err(_)));
    });
}

#[test]
fn test_buffer_updated_error() {
    let _serial = serial();
    aioloop::run(async {
        let proto = panic_in("buffer_updated", b"0123456789").await;
        assert_eq!(proto.borrow().updated(), 1); // nothing read after the fatal error
    });
}

#[test]
fn test_read_eof_received_error() {
    let _serial = serial();
    aioloop::run(async {
        let proto = panic_in("eof_received", b"").await;
        assert!(proto.borrow().calls.contains(&Call::Eof));
    });
}

#[test]
fn test_read_ready_eof() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto, peer) = pair(|| Recorder::new(16)).await;
        peer.write_all(b"last").await.unwrap();
        drop(peer);
        until(|| proto.borrow().lost().is_some()).await;
        let p = proto.borrow();
        assert_eq!(p.data, b"last");
        assert_eq!(p.lost(), Some(None));
        // eof_received, then (it answered false) the close: connection_lost last.
        let eof = p.calls.iter().position(|c| *c == Call::Eof).unwrap();
        assert_eq!(p.calls.len(), eof + 2);
        assert!(transport.is_closing());
    });
}

#[test]
fn test_read_ready_eof_keep_open() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto, peer) = pair(|| Recorder {
            keep_open_on_eof: true,
            ..Recorder::new(16)
        })
        .await;
        peer.shutdown(std::net::Shutdown::Write).unwrap();
        until(|| proto.borrow().calls.contains(&Call::Eof)).await;
        aioloop::sleep(Duration::from_millis(20)).await;
        assert!(proto.borrow().lost().is_none());
        assert!(!transport.is_closing());
        // Still open for writing.
        transport.write(b"after eof").unwrap();
        transport.close();
        let mut got = Vec::new();
        let mut buf = [0; 64];
        loop {
            match peer.read(&mut buf).await.unwrap() {
                0 => break,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(got, b"after eof");
        until(|| proto.borrow().lost().is_some()).await;
        assert_eq!(proto.borrow().lost(), Some(None));
    });
}

#[test]
fn test_read_ready_conn_reset() {
    let _serial = serial();
    aioloop::run(async {
        let (_transport, proto, peer) = pair(|| Recorder::new(16)).await;
        peer.set_linger(Some(Duration::ZERO)).unwrap();
        drop(peer);
        until(|| proto.borrow().lost().is_some()).await;
        let exc = proto.borrow().lost().unwrap().expect("the reset");
        assert!(exc.to_lowercase().contains("reset"), "{exc}");
    });
}

#[test]
fn pause_resume_reading() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto, peer) = pair(|| Recorder::new(64)).await;
        transport.pause_reading();
        assert!(!transport.is_reading());
        peer.write_all(b"held").await.unwrap();
        aioloop::sleep(Duration::from_millis(50)).await;
        {
            let p = proto.borrow();
            assert_eq!(p.updated(), 0);
            assert!(p.data.is_empty());
        }
        transport.resume_reading();
        assert!(transport.is_reading());
        until(|| proto.borrow().data == b"held").await;
        // An EOF while paused waits for the resume too.
        transport.pause_reading();
        drop(peer);
        aioloop::sleep(Duration::from_millis(50)).await;
        assert!(!proto.borrow().calls.contains(&Call::Eof));
        transport.resume_reading();
        until(|| proto.borrow().lost().is_some()).await;
        assert!(proto.borrow().calls.contains(&Call::Eof));
    });
}

/// `pause_writing` / `resume_writing` reach a buffered protocol as a plain one's.
#[test]
fn flow_control_reaches_a_buffered_protocol() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto, peer) = pair(|| Recorder::new(16)).await;
        transport.set_write_buffer_limits(Some(4096), Some(1024)).unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        while transport.get_write_buffer_size() <= 4096 {
            transport.write(&chunk).unwrap();
        }
        assert!(proto.borrow().calls.contains(&Call::Pause));
        let reader = aioloop::spawn(async move {
            let mut buf = vec![0; 64 * 1024];
            while peer.read(&mut buf).await.unwrap() > 0 {}
        });
        until(|| proto.borrow().calls.contains(&Call::Resume)).await;
        transport.close();
        until(|| proto.borrow().lost().is_some()).await;
        reader.await.unwrap();
        let flow: Vec<_> = proto
            .borrow()
            .calls
            .iter()
            .filter(|c| matches!(c, Call::Pause | Call::Resume))
            .cloned()
            .collect();
        assert_eq!(flow, vec![Call::Pause, Call::Resume]);
    });
}

/// asyncio's `_read_ready__get_buffer` runs once the socket is readable: `get_buffer` is not
/// asked on the connection task's other wakes (here the many of a large write draining to a
/// peer that sends nothing), and once data comes each `get_buffer` has its `buffer_updated`.
#[test]
fn get_buffer_is_asked_only_when_the_socket_is_readable() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto, peer) = pair(|| Recorder::new(64 * 1024)).await;
        let get_buffers = |p: &Recorder| p.calls.iter().filter(|c| matches!(c, Call::GetBuffer(_))).count();
        let total = 8 << 20;
        transport.write(&vec![b'x'; total]).unwrap();
        assert!(transport.get_write_buffer_size() > 0, "the socket took it all");
        let mut got = vec![0; total];
        peer.read_exact(&mut got).await.unwrap();
        until(|| transport.get_write_buffer_size() == 0).await;
        assert_eq!(get_buffers(&proto.borrow()), 0, "nothing was readable");
        for i in 1..=10 {
            peer.write_all(b"chunk").await.unwrap();
            until(|| proto.borrow().data.len() == 5 * i).await;
        }
        {
            let p = proto.borrow();
            assert_eq!(get_buffers(&p), p.updated(), "{:?}", p.calls);
        }
        transport.close();
        until(|| proto.borrow().lost().is_some()).await;
    });
}

/// An echo server whose protocol reads into its own buffer.
struct Echo {
    buf: [u8; 32],
    transport: Option<Transport>,
}

impl BufferedProtocol for Echo {
    fn connection_made(&mut self, transport: Transport) {
        self.transport = Some(transport);
    }

    fn get_buffer(&mut self, _sizehint: Option<usize>) -> &mut [u8] {
        &mut self.buf
    }

    fn buffer_updated(&mut self, nbytes: usize) {
        self.transport
            .as_ref()
            .unwrap()
            .write(&self.buf[..nbytes])
            .unwrap();
    }
}

fn echo() -> Echo {
    Echo {
        buf: [0; 32],
        transport: None,
    }
}

/// Writes `message` on a client of `server`, an [`echo`] one; checks that its [`Recorder`] got
/// it back whole; then closes the client and the server.
async fn assert_echoed_then_close(
    server: &ProtocolServer,
    (transport, proto): (Transport, Rc<RefCell<Recorder>>),
    message: &[u8],
) {
    transport.write(message).unwrap();
    until(|| proto.borrow().data.len() == message.len()).await;
    assert_eq!(proto.borrow().data, message);
    transport.close();
    server.close();
    closed_in_10s(server.wait_closed()).await;
}

/// Every entry point takes a buffered protocol: create_server and create_connection (TCP),
/// create_unix_server and create_unix_connection, connect_accepted_socket.
#[test]
fn every_entry_point_takes_a_buffered_protocol() {
    let _serial = serial();
    aioloop::run(async {
        let message: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();

        let server = create_server(echo, "127.0.0.1:0").await.unwrap();
        let client = create_connection(|| Recorder::new(7), server.local_addr().unwrap())
            .await
            .unwrap();
        assert_echoed_then_close(&server, client, &message).await;

        let path = std::env::temp_dir().join(format!("aioloop-buffered-{}", std::process::id()));
        let server = create_unix_server(echo, &path).await.unwrap();
        let client = create_unix_connection(|| Recorder::new(5), &path).await.unwrap();
        assert_echoed_then_close(&server, client, &message).await;
        assert!(!path.exists());

        let (a, b) = UnixStream::pair().unwrap();
        let (_ta, _pa) = connect_accepted_socket(echo, a);
        let (tb, pb) = connect_accepted_socket(|| Recorder::new(3), b);
        tb.write(b"accepted").unwrap();
        until(|| pb.borrow().data == b"accepted").await;
        tb.close();
        until(|| pb.borrow().lost().is_some()).await;
    });
}
