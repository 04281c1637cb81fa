//! asyncio's pipe transports (`aioloop::protocols::{connect_read_pipe, connect_write_pipe}`),
//! porting CPython's test_asyncio/test_events.py (`test_read_pipe`, `test_read_pty_output`,
//! `test_write_pipe`, `test_write_pipe_disconnect_on_close`, `test_write_pty`, `test_bidirectional_pty`, with the
//! `MyReadPipeProto` / `MyWritePipeProto` state machines) and test_unix_events.py's
//! `UnixReadPipeTransportTests` and `UnixWritePipeTransportTests`, through real pipes,
//! socket pairs and ptys where CPython's mock `os.read` / `os.write`.
//!
//! The test's own end of a pipe is a non-blocking `File`, polled in `until` loops (a blocking
//! read would stall the loop the transport runs on).

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;
use std::time::Duration;

use aioloop::protocols::{
    connect_read_pipe, connect_write_pipe, BufferedProtocol, Protocol, SocketAddress, Transport,
};

mod support;
use support::protocols::{serial, until};

/// `pipe(2)`: the read end, the write end.
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
    let rc = unsafe { libc::pipe(fds.as_mut_ptr()) };
    assert_eq!(rc, 0, "{}", io::Error::last_os_error());
    // SAFETY: pipe(2) succeeded: both are open descriptors that nothing else owns.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// `openpty(3)`: the master, the slave.
fn openpty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: the two out-pointers are valid; the name, termios and winsize may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "{}", io::Error::last_os_error());
    // SAFETY: openpty succeeded: both are open descriptors that nothing else owns.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// The test's end of a pipe, non-blocking.
fn test_end(fd: OwnedFd) -> File {
    // SAFETY: fcntl on a descriptor this function owns; no pointers.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        assert!(flags >= 0);
        assert_eq!(
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK),
            0
        );
    }
    File::from(fd)
}

/// Reads what `file` has into `data` without waiting; true at EOF or on an error (EIO).
fn read_some(mut file: &File, data: &mut Vec<u8>) -> bool {
    let mut buf = [0; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// test_events.py's `MyReadPipeProto`: INITIAL -> CONNECTED -> EOF -> CLOSED, `nbytes`; plus
/// what a test wants to look at.
#[derive(Default)]
struct MyReadPipeProto {
    state: Vec<&'static str>,
    nbytes: usize,
    data: Vec<u8>,
    transport: Option<Transport>,
    lost: Option<Option<io::ErrorKind>>,
    /// What `eof_received` answers (a read pipe closes whatever it is).
    keep_open_on_eof: bool,
}

impl MyReadPipeProto {
    fn new() -> Self {
        MyReadPipeProto {
            state: vec!["INITIAL"],
            ..MyReadPipeProto::default()
        }
    }

    fn done(&self) -> bool {
        self.lost.is_some()
    }
}

impl Protocol for MyReadPipeProto {
    fn connection_made(&mut self, transport: Transport) {
        assert_eq!(self.state, ["INITIAL"]);
        self.state.push("CONNECTED");
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        assert_eq!(self.state, ["INITIAL", "CONNECTED"]);
        self.nbytes += data.len();
        self.data.extend_from_slice(data);
    }

    fn eof_received(&mut self) -> bool {
        assert_eq!(self.state, ["INITIAL", "CONNECTED"]);
        self.state.push("EOF");
        self.keep_open_on_eof
    }

    fn connection_lost(&mut self, exc: Option<io::Error>) {
        if !self.state.contains(&"EOF") {
            self.state.push("EOF"); // it is okay if EOF is missed
        }
        assert_eq!(self.state, ["INITIAL", "CONNECTED", "EOF"]);
        self.state.push("CLOSED");
        self.lost = Some(exc.map(|e| e.kind()));
    }
}

/// test_events.py's `MyWritePipeProto` (a `BaseProtocol`: INITIAL -> CONNECTED -> CLOSED),
/// recording the flow-control calls too.
struct MyWritePipeProto {
    state: &'static str,
    lost: Option<Option<io::ErrorKind>>,
    flow: Vec<&'static str>,
}

impl MyWritePipeProto {
    fn new() -> Self {
        MyWritePipeProto {
            state: "INITIAL",
            lost: None,
            flow: Vec::new(),
        }
    }
}

impl Protocol for MyWritePipeProto {
    fn connection_made(&mut self, _transport: Transport) {
        assert_eq!(self.state, "INITIAL");
        self.state = "CONNECTED";
    }

    fn connection_lost(&mut self, exc: Option<io::Error>) {
        assert_eq!(self.state, "CONNECTED");
        self.state = "CLOSED";
        self.lost = Some(exc.map(|e| e.kind()));
    }

    fn pause_writing(&mut self) {
        self.flow.push("pause");
    }

    fn resume_writing(&mut self) {
        self.flow.push("resume");
    }
}

type ReadPipe = (Transport, Rc<RefCell<MyReadPipeProto>>);
type WritePipe = (Transport, Rc<RefCell<MyWritePipeProto>>);

fn read_pipe(fd: OwnedFd) -> ReadPipe {
    connect_read_pipe(MyReadPipeProto::new, fd).unwrap()
}

fn write_pipe(fd: OwnedFd) -> WritePipe {
    connect_write_pipe(MyWritePipeProto::new, fd).unwrap()
}

#[test]
fn test_read_pipe() {
    let _serial = serial();
    aioloop::run(async {
        let (rpipe, wpipe) = pipe();
        let (transport, proto) = read_pipe(rpipe);
        assert_eq!(proto.borrow().state, ["INITIAL", "CONNECTED"]);
        let fd = |t: &Transport| match t.get_extra_info("pipe") {
            Some(SocketAddress::Pipe(fd)) => fd,
            other => panic!("{other:?}"),
        };
        assert_eq!(fd(&transport), fd(proto.borrow().transport.as_ref().unwrap()));
        let mut w = File::from(wpipe);
        w.write_all(b"1").unwrap();
        until(|| proto.borrow().nbytes >= 1).await;
        assert_eq!(proto.borrow().nbytes, 1);
        w.write_all(b"2345").unwrap();
        until(|| proto.borrow().nbytes >= 5).await;
        assert_eq!(proto.borrow().state, ["INITIAL", "CONNECTED"]);
        assert_eq!(proto.borrow().data, b"12345");
        drop(w);
        until(|| proto.borrow().done()).await;
        assert_eq!(proto.borrow().state, ["INITIAL", "CONNECTED", "EOF", "CLOSED"]);
        assert_eq!(proto.borrow().lost, Some(None));
        // extra info is available
        assert!(matches!(
            transport.get_extra_info("pipe"),
            Some(SocketAddress::Pipe(_))
        ));
        assert!(transport.get_extra_info("peername").is_none());
    });
}

#[test]
fn test_read_pty_output() {
    let _serial = serial();
    aioloop::run(async {
        let (master, slave) = openpty();
        let (transport, proto) = read_pipe(master);
        assert_eq!(proto.borrow().state, ["INITIAL", "CONNECTED"]);
        assert_eq!(proto.borrow().nbytes, 0);
        let mut slave = File::from(slave);
        slave.write_all(b"1").unwrap();
        until(|| proto.borrow().nbytes >= 1).await;
        assert_eq!(proto.borrow().nbytes, 1);
        slave.write_all(b"2345").unwrap();
        until(|| proto.borrow().nbytes >= 5).await;
        assert_eq!(proto.borrow().state, ["INITIAL", "CONNECTED"]);
        assert_eq!(proto.borrow().nbytes, 5);
        // On Linux the master reads EIO once the slave is closed: the transport's read error.
        drop(slave);
        until(|| proto.borrow().done()).await;
        assert_eq!(proto.borrow().state, ["INITIAL", "CONNECTED", "EOF", "CLOSED"]);
        assert!(transport.get_extra_info("pipe").is_some());
    });
}

/// UnixReadPipeTransportTests: test_ctor, test__read_ready, test__read_ready_blocked,
/// test_close, test_close_already_closing, test__call_connection_lost (the pipe is closed
/// after `connection_lost`: the writer meets EPIPE).
#[test]
fn read_pipe_transport_read_ready_and_close() {
    let _serial = serial();
    aioloop::run(async {
        let (rpipe, wpipe) = pipe();
        let (transport, proto) = read_pipe(rpipe);
        assert!(transport.is_reading());
        assert!(!transport.is_closing());
        aioloop::sleep(Duration::from_millis(20)).await; // nothing to read: nothing called
        assert_eq!(proto.borrow().nbytes, 0);
        let mut w = File::from(wpipe);
        w.write_all(b"data").unwrap();
        until(|| proto.borrow().data == b"data").await;

        transport.close();
        assert!(transport.is_closing());
        assert!(!transport.is_reading());
        assert!(!proto.borrow().done()); // connection_lost comes from the transport's task
        transport.close(); // closing again: nothing
        until(|| proto.borrow().done()).await;
        assert_eq!(proto.borrow().lost, Some(None));
        // The read end is closed.
        let err = w.write_all(b"more").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    });
}

/// test__read_ready_eof: EOF calls eof_received, then connection_lost(None); a read pipe
/// closes even if eof_received answers true (asyncio ignores the answer for pipes).
#[test]
fn test_read_pipe_eof_closes_whatever_eof_received_answers() {
    let _serial = serial();
    aioloop::run(async {
        for keep_open in [false, true] {
            let (rpipe, wpipe) = pipe();
            let (transport, proto) = connect_read_pipe(
                || MyReadPipeProto {
                    keep_open_on_eof: keep_open,
                    ..MyReadPipeProto::new()
                },
                rpipe,
            )
            .unwrap();
            drop(wpipe);
            until(|| proto.borrow().done()).await;
            assert_eq!(proto.borrow().state, ["INITIAL", "CONNECTED", "EOF", "CLOSED"]);
            assert_eq!(proto.borrow().lost, Some(None));
            assert!(transport.is_closing());
        }
    });
}

/// test_pause_reading / test_resume_reading, with asyncio 3.12's is_reading.
#[test]
fn read_pipe_pause_resume_reading() {
    let _serial = serial();
    aioloop::run(async {
        let (rpipe, wpipe) = pipe();
        let (transport, proto) = read_pipe(rpipe);
        transport.pause_reading();
        assert!(!transport.is_reading());
        let mut w = File::from(wpipe);
        w.write_all(b"held").unwrap();
        drop(w); // the EOF waits too
        aioloop::sleep(Duration::from_millis(50)).await;
        assert_eq!(proto.borrow().nbytes, 0);
        assert_eq!(proto.borrow().state, ["INITIAL", "CONNECTED"]);
        transport.resume_reading();
        assert!(transport.is_reading());
        until(|| proto.borrow().done()).await;
        assert_eq!(proto.borrow().data, b"held");
    });
}

/// A read pipe's transport does not write; can_write_eof is false.
#[test]
fn read_pipe_transport_does_not_write() {
    let _serial = serial();
    aioloop::run(async {
        let (rpipe, _wpipe) = pipe();
        let (transport, proto) = read_pipe(rpipe);
        let err = transport.write(b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(!transport.can_write_eof());
        assert!(!transport.is_closing()); // the mistake did not close it
        transport.abort();
        until(|| proto.borrow().done()).await;
        assert_eq!(proto.borrow().lost, Some(None));
    });
}

/// A `BufferedProtocol` reads a pipe into its own buffer.
#[test]
fn read_pipe_with_a_buffered_protocol() {
    #[derive(Default)]
    struct Into8 {
        buf: [u8; 8],
        got: Vec<u8>,
        lost: bool,
    }
    impl BufferedProtocol for Into8 {
        fn get_buffer(&mut self, _sizehint: Option<usize>) -> &mut [u8] {
            &mut self.buf
        }
        fn buffer_updated(&mut self, nbytes: usize) {
            assert!(nbytes <= 8);
            self.got.extend_from_slice(&self.buf[..nbytes]);
        }
        fn connection_lost(&mut self, _exc: Option<io::Error>) {
            self.lost = true;
        }
    }
    let _serial = serial();
    aioloop::run(async {
        let (rpipe, wpipe) = pipe();
        let (_transport, proto) = connect_read_pipe(Into8::default, rpipe).unwrap();
        let message = pattern(1000);
        let mut w = File::from(wpipe);
        w.write_all(&message).unwrap();
        drop(w);
        until(|| proto.borrow().lost).await;
        assert_eq!(proto.borrow().got, message);
    });
}

/// asyncio's ValueError 'Pipe transport is for pipes/sockets/character devices only.'.
#[test]
fn a_regular_file_is_not_a_pipe() {
    let _serial = serial();
    aioloop::run(async {
        let path = std::env::temp_dir().join(format!("aioloop-pipes-{}", std::process::id()));
        let file = File::create(&path).unwrap();
        let fds = open_fds();
        let Err(err) = connect_write_pipe(MyWritePipeProto::new, file) else {
            panic!("a regular file made a write pipe transport");
        };
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            "Pipe transport is for pipes/sockets/character devices only."
        );
        let Err(err) = connect_read_pipe(MyReadPipeProto::new, File::open(&path).unwrap()) else {
            panic!("a regular file made a read pipe transport");
        };
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(open_fds(), fds - 1, "the refused descriptors are closed");
        let _ = std::fs::remove_file(&path);
    });
}

#[test]
fn test_write_pipe() {
    let _serial = serial();
    aioloop::run(async {
        let (rpipe, wpipe) = pipe();
        let (transport, proto) = write_pipe(wpipe);
        assert_eq!(proto.borrow().state, "CONNECTED");
        let r = test_end(rpipe);
        transport.write(b"1").unwrap();
        let mut data = Vec::new();
        until(|| {
            read_some(&r, &mut data);
            !data.is_empty()
        })
        .await;
        assert_eq!(data, b"1");
        transport.write(b"2345").unwrap();
        until(|| {
            read_some(&r, &mut data);
            data.len() >= 5
        })
        .await;
        assert_eq!(data, b"12345");
        assert_eq!(proto.borrow().state, "CONNECTED");
        drop(r);
        // extra info is available
        assert!(matches!(
            transport.get_extra_info("pipe"),
            Some(SocketAddress::Pipe(_))
        ));
        // close connection
        transport.close();
        until(|| proto.borrow().state == "CLOSED").await;
    });
}

#[test]
fn test_write_pipe_disconnect_on_close() {
    let _serial = serial();
    aioloop::run(async {
        let (rsock, wsock) = std::os::unix::net::UnixStream::pair().unwrap();
        rsock.set_nonblocking(true).unwrap();
        let (transport, proto) = write_pipe(wsock.into());
        assert_eq!(proto.borrow().state, "CONNECTED");
        transport.write(b"1").unwrap();
        let mut data = [0; 1024];
        let mut got = Vec::new();
        until(|| {
            if let Ok(n) = (&rsock).read(&mut data) {
                got.extend_from_slice(&data[..n]);
            }
            !got.is_empty()
        })
        .await;
        assert_eq!(got, b"1");
        drop(rsock);
        until(|| proto.borrow().state == "CLOSED").await;
        assert_eq!(proto.borrow().lost, Some(None)); // nothing was buffered
        assert!(transport.is_closing());
    });
}

#[test]
fn test_write_pty() {
    let _serial = serial();
    aioloop::run(async {
        let (master, slave) = openpty();
        raw(&slave);
        let (transport, proto) = write_pipe(slave);
        assert_eq!(proto.borrow().state, "CONNECTED");
        let master = test_end(master);
        transport.write(b"1").unwrap();
        let mut data = Vec::new();
        until(|| {
            read_some(&master, &mut data);
            !data.is_empty()
        })
        .await;
        assert_eq!(data, b"1");
        transport.write(b"2345").unwrap();
        until(|| {
            read_some(&master, &mut data);
            data.len() >= 5
        })
        .await;
        assert_eq!(data, b"12345");
        assert_eq!(proto.borrow().state, "CONNECTED");
        drop(master);
        assert!(transport.get_extra_info("pipe").is_some());
        transport.close();
        until(|| proto.borrow().state == "CLOSED").await;
    });
}

/// A pty slave in raw mode: the bytes go through as they are (no echo, no line discipline).
fn raw(slave: &OwnedFd) {
    // SAFETY: a termios filled by tcgetattr, on a descriptor the caller owns.
    unsafe {
        let mut tio: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(slave.as_raw_fd(), &mut tio), 0);
        libc::cfmakeraw(&mut tio);
        assert_eq!(libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &tio), 0);
    }
}

/// A read pipe transport and a write pipe transport on the same pty slave (two descriptors of
/// it), the test at the master.
#[test]
fn test_bidirectional_pty() {
    let _serial = serial();
    aioloop::run(async {
        let (master, read_slave) = openpty();
        raw(&read_slave);
        let write_slave = read_slave.try_clone().unwrap();
        let (read_transport, read_proto) = read_pipe(read_slave);
        assert_eq!(read_proto.borrow().state, ["INITIAL", "CONNECTED"]);
        let (write_transport, write_proto) = write_pipe(write_slave);
        assert_eq!(write_proto.borrow().state, "CONNECTED");
        let master = test_end(master);
        let mut data = Vec::new();

        write_transport.write(b"1").unwrap();
        until(|| {
            read_some(&master, &mut data);
            !data.is_empty()
        })
        .await;
        assert_eq!(data, b"1");
        (&master).write_all(b"a").unwrap();
        until(|| read_proto.borrow().nbytes >= 1).await;
        write_transport.write(b"2345").unwrap();
        until(|| {
            read_some(&master, &mut data);
            data.len() >= 5
        })
        .await;
        assert_eq!(data, b"12345");
        (&master).write_all(b"bcde").unwrap();
        until(|| read_proto.borrow().nbytes >= 5).await;
        assert_eq!(read_proto.borrow().data, b"abcde");
        assert_eq!(read_proto.borrow().state, ["INITIAL", "CONNECTED"]);
        assert_eq!(write_proto.borrow().state, "CONNECTED");

        drop(master);
        read_transport.close();
        until(|| read_proto.borrow().done()).await;
        assert_eq!(
            read_proto.borrow().state,
            ["INITIAL", "CONNECTED", "EOF", "CLOSED"]
        );
        write_transport.close();
        until(|| write_proto.borrow().state == "CLOSED").await;
    });
}

/// Fills `transport`'s pipe until some of `chunk` stays buffered; returns all it wrote.
async fn fill(transport: &Transport) -> Vec<u8> {
    let mut written = Vec::new();
    // Let the loop learn that the pipe is writable (the first writes then go out at once).
    aioloop::sleep(Duration::from_millis(5)).await;
    let mut i = 0;
    while transport.get_write_buffer_size() == 0 {
        let chunk = pattern(16 * 1024 + i);
        transport.write(&chunk).unwrap();
        written.extend_from_slice(&chunk);
        i += 1;
    }
    written
}

/// UnixWritePipeTransportTests: test_can_write_eof, test_write, test_write_no_data,
/// test_write_partial / test_write_again / test_write_buffer (what the pipe does not take is
/// buffered, in order, after what is buffered already), test__write_ready (the buffer
/// drains as the reader reads), test__write_ready_closing and test_close (close flushes, then
/// connection_lost(None) and the pipe closes: the reader reads everything, then EOF).
#[test]
fn write_pipe_transport_buffers_and_close_flushes() {
    let _serial = serial();
    aioloop::run(async {
        let (rpipe, wpipe) = pipe();
        let (transport, proto) = write_pipe(wpipe);
        assert!(transport.can_write_eof());
        assert!(!transport.is_reading());
        transport.write(b"").unwrap();
        assert_eq!(transport.get_write_buffer_size(), 0);
        let mut expected = fill(&transport).await;
        assert!(transport.get_write_buffer_size() > 0);
        transport.write(b"after").unwrap(); // behind the buffer
        expected.extend_from_slice(b"after");
        transport.close();
        assert!(transport.is_closing());
        assert!(proto.borrow().lost.is_none()); // the buffer goes first
        let r = test_end(rpipe);
        let mut data = Vec::new();
        until(|| read_some(&r, &mut data)).await; // until EOF: the transport closed the pipe
        assert_eq!(data.len(), expected.len());
        assert!(data == expected);
        until(|| proto.borrow().state == "CLOSED").await;
        assert_eq!(proto.borrow().lost, Some(None));
        assert_eq!(transport.get_write_buffer_size(), 0);
    });
}

/// test_write_eof / test_write_eof_pending: a write pipe's write_eof is its close (no
/// connection_lost while the buffer is pending); writes once closing are ignored, not sent
/// (a socket's transport would send them).
#[test]
fn write_pipe_write_eof_is_close_and_writes_once_closing_are_ignored() {
    let _serial = serial();
    aioloop::run(async {
        let (rpipe, wpipe) = pipe();
        let (transport, proto) = write_pipe(wpipe);
        let expected = fill(&transport).await;
        transport.write_eof().unwrap();
        assert!(transport.is_closing());
        transport.write(b"ignored").unwrap();
        aioloop::sleep(Duration::from_millis(20)).await;
        assert!(proto.borrow().lost.is_none()); // pending: the pipe is full
        let r = test_end(rpipe);
        let mut data = Vec::new();
        until(|| read_some(&r, &mut data)).await;
        assert!(
            data == expected,
            "{} bytes, {} expected",
            data.len(),
            expected.len()
        );
        until(|| proto.borrow().lost.is_some()).await;
        assert_eq!(proto.borrow().lost, Some(None));

        // With nothing buffered, write_eof closes at once.
        let (_rpipe, wpipe) = pipe();
        let (transport, proto) = write_pipe(wpipe);
        transport.write_eof().unwrap();
        assert!(transport.is_closing());
        until(|| proto.borrow().lost.is_some()).await;
        assert_eq!(proto.borrow().lost, Some(None));
    });
}

/// test_abort: the buffer is dropped, connection_lost(None); the reader gets less than was
/// written, then EOF.
#[test]
fn write_pipe_abort_drops_the_buffer() {
    let _serial = serial();
    aioloop::run(async {
        let (rpipe, wpipe) = pipe();
        let (transport, proto) = write_pipe(wpipe);
        let written = fill(&transport).await;
        transport.abort();
        assert!(transport.is_closing());
        assert_eq!(transport.get_write_buffer_size(), 0);
        until(|| proto.borrow().lost.is_some()).await;
        assert_eq!(proto.borrow().lost, Some(None));
        let r = test_end(rpipe);
        let mut data = Vec::new();
        until(|| read_some(&r, &mut data)).await;
        assert!(data.len() < written.len());
        assert!(written.starts_with(&data));
    });
}

/// test__read_ready (the reader closed its end, nothing buffered: connection_lost(None)) and
/// test_write_close (writes after that are ignored).
#[test]
fn write_pipe_reader_closing_with_nothing_buffered() {
    let _serial = serial();
    aioloop::run(async {
        let (rpipe, wpipe) = pipe();
        let (transport, proto) = write_pipe(wpipe);
        aioloop::sleep(Duration::from_millis(5)).await;
        drop(rpipe);
        until(|| proto.borrow().lost.is_some()).await;
        assert_eq!(proto.borrow().lost, Some(None));
        assert!(transport.is_closing());
        transport.write(b"data").unwrap();
        transport.write(b"data").unwrap();
        assert_eq!(transport.get_write_buffer_size(), 0);
    });
}

/// The reader closes its end while data is buffered: connection_lost(BrokenPipe) (asyncio's
/// `_read_ready` with a buffer, or test__write_ready_err's EPIPE).
#[test]
fn write_pipe_reader_closing_with_data_buffered() {
    let _serial = serial();
    aioloop::run(async {
        let (rpipe, wpipe) = pipe();
        let (transport, proto) = write_pipe(wpipe);
        fill(&transport).await;
        drop(rpipe);
        until(|| proto.borrow().lost.is_some()).await;
        assert_eq!(proto.borrow().lost, Some(Some(io::ErrorKind::BrokenPipe)));
        assert_eq!(transport.get_write_buffer_size(), 0);
    });
}

/// test_write_err: a write that fails (EPIPE: the reader is gone, and the transport has not
/// noticed yet) is the transport's fatal error, connection_lost gets it; later writes are
/// ignored.
#[test]
fn write_pipe_write_error_is_fatal() {
    let _serial = serial();
    aioloop::run(async {
        let (rpipe, wpipe) = pipe();
        let (transport, proto) = write_pipe(wpipe);
        aioloop::sleep(Duration::from_millis(5)).await; // the pipe is known writable
        drop(rpipe);
        transport.write(b"data").unwrap(); // at once: EPIPE
        assert!(transport.is_closing());
        assert_eq!(transport.get_write_buffer_size(), 0);
        until(|| proto.borrow().lost.is_some()).await;
        assert_eq!(proto.borrow().lost, Some(Some(io::ErrorKind::BrokenPipe)));
        transport.write(b"data").unwrap();
    });
}

/// set_write_buffer_limits with pause_writing / resume_writing, as a socket's transport.
#[test]
fn write_pipe_flow_control() {
    let _serial = serial();
    aioloop::run(async {
        let (rpipe, wpipe) = pipe();
        let (transport, proto) = write_pipe(wpipe);
        transport.set_write_buffer_limits(Some(4096), Some(1024)).unwrap();
        let written = {
            let mut written = fill(&transport).await;
            while transport.get_write_buffer_size() <= 4096 {
                let chunk = pattern(8192);
                transport.write(&chunk).unwrap();
                written.extend_from_slice(&chunk);
            }
            written
        };
        assert_eq!(proto.borrow().flow, ["pause"]);
        let r = test_end(rpipe);
        let mut data = Vec::new();
        until(|| {
            read_some(&r, &mut data);
            data.len() == written.len()
        })
        .await;
        assert_eq!(proto.borrow().flow, ["pause", "resume"]);
        assert!(data == written);
        transport.close();
        until(|| proto.borrow().lost.is_some()).await;
    });
}

/// A child's standard streams through the pipe transports (`into_owned_fd`).
#[test]
fn a_childs_pipes_under_pipe_transports() {
    let _serial = serial();
    aioloop::run(async {
        let mut child = aioloop::process::Command::new("cat")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap().into_owned_fd().unwrap();
        let stdout = child.stdout.take().unwrap().into_owned_fd().unwrap();
        let (reader, out) = read_pipe(stdout);
        let (writer, _in) = write_pipe(stdin);
        let message = pattern(200 * 1024); // more than a pipe holds: buffered, then drained
        writer.write(&message).unwrap();
        writer.close();
        until(|| out.borrow().done()).await;
        assert!(out.borrow().data == message);
        assert_eq!(out.borrow().state, ["INITIAL", "CONNECTED", "EOF", "CLOSED"]);
        assert!(reader.is_closing());
        assert!(child.wait().await.unwrap().success());
    });
}

/// Closing, aborting or losing either kind of pipe transport closes its descriptor.
#[test]
fn pipe_transports_leave_no_descriptor_behind() {
    let _serial = serial();
    aioloop::run(async {
        let before = open_fds();
        for round in 0..3 {
            let (rpipe, wpipe) = pipe();
            let (rt, rp) = read_pipe(rpipe);
            let (wt, wp) = write_pipe(wpipe);
            wt.write(b"x").unwrap();
            until(|| rp.borrow().nbytes == 1).await;
            match round {
                0 => {
                    rt.close();
                    wt.close();
                }
                1 => {
                    rt.abort();
                    wt.abort();
                }
                _ => wt.close(), // the read pipe sees EOF and closes itself
            }
            until(|| rp.borrow().done() && wp.borrow().lost.is_some()).await;
        }
        aioloop::sleep(Duration::from_millis(10)).await;
        assert_eq!(open_fds(), before);
    });
}
