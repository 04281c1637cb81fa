//! Session 14: three gaps of aioloop's streams against asyncio, each ported from CPython's
//! Lib/test/test_asyncio (test_streams.py, test_server.py) or, where no upstream test exists,
//! from the asyncio code it mirrors (Lib/asyncio/streams.py, base_events.py), and named after
//! it:
//!
//! - `StreamWriter::drain()` raises the paired reader's error (asyncio's
//!   `self._reader.exception()`), and on a closing writer yields once before it raises
//!   `ConnectionResetError('Connection lost')` (asyncio's `await sleep(0)`).
//! - A Unix stream's writer reports its addresses (asyncio's `get_extra_info('peername')` /
//!   `('sockname')`: the path, or `''` for an unnamed socket).
//! - `Server::close_clients()` / `abort_clients()` (3.13), and `wait_closed` waiting for the
//!   server's connections (3.12).
//!
//! Run on both io drivers: `cargo test --test s14_asyncio_streams` and
//! `AIOLOOP_IO_DRIVER=io_uring cargo test --all-features --test s14_asyncio_streams`.

mod support;

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::time::Duration;

use aioloop::streams::{
    open_connection, open_unix_connection, start_server, start_unix_server, Server, StreamReader,
    StreamWriter,
};
use aioloop::{spawn, wait_for, yield_now};
use support::net::SocketDir;

const TIMEOUT: Duration = Duration::from_secs(10);

/// A peer in a thread that accepts one TCP connection, reads one byte (so that the reset
/// comes after the client's connect finished) and resets the connection (`SO_LINGER` 0, then
/// close: an RST); answers the address to connect to.
fn resetting_tcp_peer() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.read_exact(&mut [0; 1]).unwrap();
        socket2::SockRef::from(&conn)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(conn);
    });
    addr
}

/// Reads until the reader fails (the data before the failure, if any, is dropped); panics at
/// EOF.
async fn read_until_error(reader: &mut StreamReader) -> io::Error {
    loop {
        match reader.read(100).await {
            Ok(data) => assert!(!data.is_empty(), "EOF instead of an error"),
            Err(err) => return err,
        }
    }
}

fn assert_reset(err: &io::Error) {
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
}

// ---------------------------------------------------------------------------------------
// 1. drain() and the connection's loss
// ---------------------------------------------------------------------------------------

/// asyncio's `StreamWriter.drain` (streams.py): `if self._reader is not None: exc =
/// self._reader.exception(); if exc is not None: raise exc`. The peer resets the connection;
/// the reader sees `ConnectionResetError`; the writer of the same `open_connection` pair, with
/// nothing written, then raises it from `drain()` (its transport is lost: `is_closing()`).
#[aioloop::test]
async fn streams_drain_raises_reader_exception() {
    let (mut reader, writer) = open_connection(resetting_tcp_peer()).await.unwrap();
    writer.write(b"x");
    writer.drain().await.unwrap();
    let err = wait_for(read_until_error(&mut reader), TIMEOUT).await.unwrap();
    assert_reset(&err);
    assert_reset(&writer.drain().await.unwrap_err());
    assert!(writer.is_closing(), "a lost connection's writer is closing");
    writer.write(b"dropped");
    assert_eq!(writer.buffered(), 0);
    assert_reset(&writer.drain().await.unwrap_err());
}

/// The same on a `start_server` handler's pair: the client resets the connection, the handler's
/// reader sees it, and its writer's `drain()` raises it.
#[aioloop::test]
async fn streams_drain_raises_reader_exception_server_side() {
    let (tx, rx) = aioloop::sync::oneshot::channel();
    let tx = Rc::new(Cell::new(Some(tx)));
    let server = start_server(
        move |mut reader, writer| {
            let tx = tx.take();
            async move {
                let read = read_until_error(&mut reader).await;
                let drained = writer.drain().await.unwrap_err();
                let _ = tx
                    .unwrap()
                    .send((read.kind(), drained.kind(), writer.is_closing()));
            }
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.write_all(b"x").unwrap();
        socket2::SockRef::from(&conn)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    });
    let (read, drained, closing) = wait_for(rx, TIMEOUT).await.unwrap().unwrap();
    assert_eq!(read, io::ErrorKind::ConnectionReset);
    assert_eq!(drained, io::ErrorKind::ConnectionReset);
    assert!(closing);
    server.close();
}

/// The same on an `open_unix_connection` pair: a Unix peer that closes with data it did not
/// read resets the connection (`ECONNRESET` on the reader).
#[aioloop::test]
async fn streams_drain_raises_reader_exception_unix() {
    let dir = SocketDir::new("s14-drain-unix");
    let listener = std::os::unix::net::UnixListener::bind(dir.path()).unwrap();
    let peer = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut byte = [0; 1];
        conn.read_exact(&mut byte).unwrap(); // the first byte: the second stays unread
        drop(conn);
    });
    let (mut reader, writer) = open_unix_connection(dir.path()).await.unwrap();
    writer.write(b"ab");
    writer.drain().await.unwrap();
    let err = wait_for(read_until_error(&mut reader), TIMEOUT).await.unwrap();
    assert_reset(&err);
    assert_reset(&writer.drain().await.unwrap_err());
    peer.join().unwrap();
}

/// asyncio's `drain()` on a closing transport: `await sleep(0)` (so that `connection_lost`
/// runs: without it a `write(); drain()` loop would never give up the loop), then
/// `ConnectionResetError('Connection lost')`. Another ready task runs during that `drain()`.
#[aioloop::test]
async fn streams_drain_yields_once_when_closing() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (_reader, writer) = open_connection(listener.local_addr().unwrap()).await.unwrap();
    let _peer = listener.accept().unwrap();
    writer.close();
    let ran = Rc::new(Cell::new(false));
    let task = spawn({
        let ran = ran.clone();
        async move { ran.set(true) }
    });
    let err = writer.drain().await.unwrap_err();
    assert_reset(&err);
    assert!(err.to_string().contains("Connection lost"), "{err}");
    assert!(ran.get(), "drain() on a closing writer yields to the loop once");
    task.await.unwrap();
}

/// asyncio's `drain()` on a writer closed with data still buffered: the transport is closing
/// but its connection is not lost until the buffer went out, so `_drain_helper` waits while
/// the buffer is above its high-water mark (and returns), where aioloop raised
/// `ConnectionReset` at once. Here 8 MiB wait for a peer that reads them all after the close.
#[aioloop::test]
async fn streams_drain_after_close_waits_while_the_buffer_flushes() {
    const TOTAL: usize = 8 << 20;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (_reader, writer) = open_connection(listener.local_addr().unwrap()).await.unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    writer.write(&vec![7; TOTAL]);
    writer.close();
    assert!(writer.buffered() > 0, "more than the socket takes at once");
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        peer.read_to_end(&mut all).unwrap();
        all.len()
    });
    wait_for(writer.drain(), TIMEOUT)
        .await
        .unwrap()
        .expect("a closing writer still flushing drains as an open one");
    wait_for(writer.wait_closed(), TIMEOUT).await.unwrap().unwrap();
    assert_eq!(reader.join().unwrap(), TOTAL, "every byte, then EOF");
    assert_reset(&writer.drain().await.unwrap_err());
}

/// CPython `test_drain_raises` (bpo-25441) with the peer resetting the connection while the
/// client writes and drains in a loop, and reads in another task (asyncio's transport reads
/// all the time): the loop ends with the connection's error, from the write side or the
/// reader's, instead of writing forever.
#[aioloop::test]
async fn test_drain_raises() {
    let (mut reader, writer) = open_connection(resetting_tcp_peer()).await.unwrap();
    let reading = spawn(async move { reader.read(100).await.map(|_| ()) });
    let err = wait_for(
        async {
            loop {
                writer.write(b"foo\n");
                if let Err(err) = writer.drain().await {
                    return err;
                }
            }
        },
        TIMEOUT,
    )
    .await
    .expect("drain never failed");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe
        ),
        "{err}"
    );
    let _ = reading.await;
}

// ---------------------------------------------------------------------------------------
// 2. A Unix stream's addresses
// ---------------------------------------------------------------------------------------

/// asyncio's `get_extra_info('peername')` / `('sockname')` on Unix streams (the
/// `_SelectorSocketTransport` takes them from `getpeername` / `getsockname`): on the client of
/// `open_unix_connection` the peer is the server's path and the socket is unnamed (`''`); on
/// the `start_unix_server` handler's side the socket is the path and the peer unnamed. The TCP
/// accessors answer `None` for a Unix stream.
#[aioloop::test]
async fn unix_stream_writer_peername_sockname() {
    let dir = SocketDir::new("s14-unix-addrs");
    let path = dir.path();
    let (tx, rx) = aioloop::sync::oneshot::channel();
    let tx = Rc::new(Cell::new(Some(tx)));
    let server = start_unix_server(
        move |_reader, writer| {
            let tx = tx.take();
            async move {
                let _ = tx.unwrap().send((
                    writer.peer_unix_addr(),
                    writer.local_unix_addr(),
                    writer.peer_addr(),
                    writer.local_addr(),
                ));
            }
        },
        &path,
    )
    .await
    .unwrap();
    let (_reader, writer) = open_unix_connection(&path).await.unwrap();
    let peer = writer.peer_unix_addr().expect("a Unix stream has a peer address");
    assert_eq!(peer.as_pathname(), Some(path.as_path()));
    let local = writer
        .local_unix_addr()
        .expect("a Unix stream has a local address");
    assert!(local.is_unnamed(), "{local:?}");
    assert_eq!((writer.peer_addr(), writer.local_addr()), (None, None));

    let (peer, local, tcp_peer, tcp_local) = wait_for(rx, TIMEOUT).await.unwrap().unwrap();
    assert!(peer.unwrap().is_unnamed());
    assert_eq!(local.unwrap().as_pathname(), Some(path.as_path()));
    assert_eq!((tcp_peer, tcp_local), (None, None));
    server.close();
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
}

/// The same in Linux's abstract namespace (a path starting with a NUL byte, as
/// `UnixListener::bind` takes it): asyncio's peername / sockname are then the name as bytes,
/// NUL first; here `as_abstract_name()` is the name.
#[cfg(target_os = "linux")]
#[aioloop::test]
async fn unix_stream_writer_peername_sockname_abstract() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("aioloop-s14-abstract-{}", std::process::id());
    let path = format!("\0{name}");
    let (tx, rx) = aioloop::sync::oneshot::channel();
    let tx = Rc::new(Cell::new(Some(tx)));
    let server = start_unix_server(
        move |_reader, writer| {
            let tx = tx.take();
            async move {
                let _ = tx
                    .unwrap()
                    .send((writer.peer_unix_addr(), writer.local_unix_addr()));
            }
        },
        &path,
    )
    .await
    .unwrap();
    let (_reader, writer) = open_unix_connection(&path).await.unwrap();
    let peer = writer.peer_unix_addr().unwrap();
    assert_eq!(peer.as_abstract_name(), Some(name.as_bytes()));
    assert_eq!(peer.as_pathname(), None);
    assert!(writer.local_unix_addr().unwrap().is_unnamed());

    let (peer, local) = wait_for(rx, TIMEOUT).await.unwrap().unwrap();
    assert!(peer.unwrap().is_unnamed());
    assert_eq!(local.unwrap().as_abstract_name(), Some(name.as_bytes()));
    server.close();
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
}

/// A TCP stream's writer has no Unix addresses, and its TCP ones are the connection's.
#[aioloop::test]
async fn tcp_stream_writer_has_no_unix_addresses() {
    let server = start_server(|_, _| async {}, "127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let (_reader, writer) = open_connection(addr).await.unwrap();
    assert_eq!(writer.peer_addr(), Some(addr));
    assert_eq!(writer.local_addr().unwrap().ip(), addr.ip());
    assert!(writer.peer_unix_addr().is_none());
    assert!(writer.local_unix_addr().is_none());
    server.close();
}

// ---------------------------------------------------------------------------------------
// 3. Server.close_clients(), abort_clients(), and wait_closed waiting for connections
// ---------------------------------------------------------------------------------------

/// The handler of test_server.py's `test_close_clients` and `test_wait_closed_basic`:
/// `try: await rd.read() finally: wr.close(); await wr.wait_closed()`.
async fn read_then_close(mut reader: StreamReader, writer: StreamWriter) {
    let _ = reader.read_to_eof().await;
    writer.close();
    let _ = writer.wait_closed().await;
}

/// CPython `test_close_clients` (test_server.py, 3.13): a handler blocked reading; the server
/// is closed, then `close_clients()` closes the connection under it: the handler's reader
/// reads EOF, the handler returns, and `wait_closed()` (waiting since before) returns. The
/// client reads EOF too.
#[aioloop::test]
async fn test_close_clients() {
    let server = start_server(read_then_close, "127.0.0.1:0").await.unwrap();
    let connect = open_connection(server.local_addr().unwrap());
    close_clients_under_a_reading_handler(server, connect).await;
}

/// `test_close_clients` on a Unix server.
#[aioloop::test]
async fn test_close_clients_unix() {
    let dir = SocketDir::new("s14-close-clients");
    let server = start_unix_server(read_then_close, dir.path()).await.unwrap();
    close_clients_under_a_reading_handler(server, open_unix_connection(dir.path())).await;
}

/// The body of `test_close_clients`, for a server whose handler reads to EOF and the
/// connection `connect` makes to it.
async fn close_clients_under_a_reading_handler(
    server: Server,
    connect: impl std::future::Future<Output = io::Result<(StreamReader, StreamWriter)>>,
) {
    let server = Rc::new(server);
    let (mut reader, _writer) = connect.await.unwrap();
    let task = spawn({
        let server = server.clone();
        async move { server.wait_closed().await }
    });
    yield_now().await;
    assert!(!task.is_done());
    server.close();
    server.close_clients();
    wait_for(task, TIMEOUT).await.unwrap().unwrap();
    assert_eq!(
        wait_for(reader.read_to_eof(), TIMEOUT).await.unwrap().unwrap(),
        b""
    );
}

/// asyncio's `close_clients()` is `transport.close()` on each client: what the transport
/// buffered is still sent, then the connection ends. A handler that wrote more than the
/// socket takes at once and waits reading: the client still gets every byte, then EOF.
#[aioloop::test]
async fn close_clients_flushes_buffered_data() {
    const TOTAL: usize = 8 << 20;
    let (tx, rx) = aioloop::sync::oneshot::channel();
    let tx = Rc::new(Cell::new(Some(tx)));
    let server = start_server(
        move |mut reader, writer| {
            let tx = tx.take();
            async move {
                writer.write(&vec![b'x'; TOTAL]);
                let _ = tx.unwrap().send(writer.buffered());
                let _ = reader.read_to_eof().await;
            }
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let (mut reader, _writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    let buffered = wait_for(rx, TIMEOUT).await.unwrap().unwrap();
    assert!(
        buffered > 0,
        "the writer buffered nothing: the test checks nothing"
    );
    server.close();
    server.close_clients();
    let got = wait_for(reader.read_to_eof(), TIMEOUT).await.unwrap().unwrap();
    assert_eq!(got.len(), TOTAL);
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
}

/// A TCP server whose handler hands its writer out to the test, then runs `rest` with it and
/// returns; and a client connected to it. Answers the server, the client's pair and the
/// handler's writer.
async fn server_handing_out_its_writer<F, Fut>(
    rest: F,
) -> (Rc<Server>, StreamReader, StreamWriter, Rc<StreamWriter>)
where
    F: Fn(Rc<StreamWriter>) -> Fut + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let (tx, rx) = aioloop::sync::oneshot::channel();
    let tx = Cell::new(Some(tx));
    let server = start_server(
        move |_reader, writer| {
            let writer = Rc::new(writer);
            if let Some(tx) = tx.take() {
                let _ = tx.send(writer.clone());
            }
            rest(writer)
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let (reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    let s_writer = wait_for(rx, TIMEOUT).await.unwrap().unwrap();
    (Rc::new(server), reader, writer, s_writer)
}

/// CPython `test_abort_clients` (test_server.py, 3.13): the handler waits in
/// `wr.wait_closed()` while its writer holds data the client does not read; the server is
/// closed, then `abort_clients()` drops the data and closes the connection at once:
/// `wr.wait_closed()` returns, the handler returns, `wait_closed()` returns. The writer's
/// buffer is empty, its `drain()` raises `ConnectionReset`, and the client reads EOF before
/// all the bytes written.
#[aioloop::test]
async fn test_abort_clients() {
    let (server, mut c_reader, _c_writer, s_writer) = server_handing_out_its_writer(|writer| async move {
        writer.wait_closed().await.unwrap();
    })
    .await;
    let chunk = vec![b'a'; 1 << 20];
    let mut written = 0;
    while s_writer.buffered() == 0 {
        s_writer.write(&chunk);
        written += chunk.len();
        assert!(written < 1 << 30, "the writer never buffered anything");
    }
    let task = spawn({
        let server = server.clone();
        async move { server.wait_closed().await }
    });
    yield_now().await;
    assert!(!task.is_done());
    server.close();
    server.abort_clients();
    assert_eq!(s_writer.buffered(), 0, "abort drops the buffer at once");
    wait_for(task, TIMEOUT).await.unwrap().unwrap();
    assert!(s_writer.is_closing());
    s_writer.wait_closed().await.unwrap();
    assert_reset(&s_writer.drain().await.unwrap_err());
    let got = wait_for(c_reader.read_to_eof(), TIMEOUT).await.unwrap().unwrap();
    assert!(got.len() < written, "{} of {written} bytes came", got.len());
}

/// asyncio 3.12.1's `Server.wait_closed()` waits until the server is closed "and all
/// connections are dropped": a connection is attached until its transport is lost, whatever
/// its handler does. A handler that hands its writer to another task and returns leaves the
/// connection open: `wait_closed()` waits until that writer is closed.
#[aioloop::test]
async fn test_wait_closed_waits_for_connections() {
    let (server, mut reader, _writer, s_writer) = server_handing_out_its_writer(|_| async {}).await;
    server.close();
    let task = spawn({
        let server = server.clone();
        async move { server.wait_closed().await }
    });
    for _ in 0..10 {
        yield_now().await;
    }
    aioloop::sleep(Duration::from_millis(20)).await;
    assert!(!task.is_done(), "the connection's writer is still open");
    s_writer.write(b"last");
    s_writer.close();
    wait_for(task, TIMEOUT).await.unwrap().unwrap();
    assert_eq!(
        wait_for(reader.read_to_eof(), TIMEOUT).await.unwrap().unwrap(),
        b"last"
    );
}
