//! Audit against CPython's Lib/test/test_asyncio/test_streams.py (the `StreamWriter` side) and
//! Lib/test/test_asyncio/test_server.py (`Server`): write / writelines / drain with flow
//! control, drain after the connection is gone, close / is_closing / wait_closed, the
//! addresses (`get_extra_info`), and the server's close / serve_forever / wait_closed. Each test
//! is named after the CPython test it ports, or says which part of asyncio it checks.
//! Divergences on purpose are in docs/asyncio.md.

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream};
use aioloop::streams::{open_connection, start_server, start_unix_server, StreamReader, StreamWriter};
use aioloop::{spawn, yield_now, TaskError};

/// A connection whose far end the test drives by hand (asyncio's tests use a thread or
/// `run_test_server` for it).
async fn pair() -> (StreamReader, StreamWriter, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connect = spawn(open_connection(addr));
    let (peer, _) = listener.accept().await.unwrap();
    let (reader, writer) = connect.await.unwrap().unwrap();
    (reader, writer, peer)
}

/// Reads from `peer` until `total` bytes came (or EOF); returns how many came.
async fn read_exactly(peer: &TcpStream, total: usize) -> usize {
    let mut buf = vec![0; 256 * 1024];
    let mut got = 0;
    while got < total {
        let n = peer.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        got += n;
    }
    got
}

/// Reads everything `peer` gets until EOF, 64 bytes at a time.
async fn read_to_eof(peer: &TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0; 64];
    loop {
        let n = peer.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// Writes `chunk`s until the writer holds more than its high-water mark (the kernel's buffers
/// are full and the peer does not read); returns how many bytes were written.
fn fill(writer: &StreamWriter, high: usize) -> usize {
    let chunk = vec![b'x'; 1 << 20];
    let mut written = 0;
    while writer.buffered() <= high {
        writer.write(&chunk);
        written += chunk.len();
        assert!(written < 1 << 30, "the writer never buffered anything");
    }
    written
}

/// CPython `test_wait_closed_on_close`: `is_closing()` is false until `close()`, true right
/// after it, and `wait_closed()` then returns.
#[aioloop::test]
async fn test_wait_closed_on_close() {
    let (_reader, writer, peer) = pair().await;
    writer.write(b"GET / HTTP/1.0\r\n\r\n");
    assert!(!writer.is_closing());
    writer.close();
    assert!(writer.is_closing());
    writer.wait_closed().await.unwrap();
    // The buffered request was sent before the write side was shut down.
    assert_eq!(read_to_eof(&peer).await, b"GET / HTTP/1.0\r\n\r\n");
}

/// CPython `test_async_writer_api_exception_after_close`: once the writer is closed, a `write`
/// is dropped and `drain()` raises `ConnectionResetError`, so a `write(); drain()` loop stops.
#[aioloop::test]
async fn test_async_writer_api_exception_after_close() {
    let (_reader, writer, _peer) = pair().await;
    writer.write(b"GET / HTTP/1.0\r\n\r\n");
    writer.drain().await.unwrap();
    writer.close();
    writer.write(b"data");
    let err = writer.drain().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
    // `wait_closed` itself reports a clean close.
    writer.wait_closed().await.unwrap();
    assert_eq!(
        writer.drain().await.unwrap_err().kind(),
        io::ErrorKind::ConnectionReset
    );
}

/// CPython `test_drain_raises` (bpo-25441): the server closes the connection; a client writing
/// and draining in a loop gets `ConnectionResetError` / `BrokenPipeError` instead of looping
/// forever.
#[aioloop::test]
async fn test_drain_raises() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (client, _) = listener.accept().unwrap();
        drop(client);
    });
    let (_reader, writer) = open_connection(addr).await.unwrap();
    let err = aioloop::wait_for(
        async {
            for _ in 0..10_000_000 {
                writer.write(b"foo\n");
                if let Err(err) = writer.drain().await {
                    return err;
                }
            }
            panic!("drain never failed");
        },
        Duration::from_secs(10),
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
    assert!(
        writer.is_closing(),
        "a failed writer is closing, as a lost transport"
    );
    server.join().unwrap();
}

/// CPython `test_multiple_drain` (gh-74116): several `drain()` calls waiting on one paused
/// writer all return once it resumes.
#[aioloop::test]
async fn test_multiple_drain() {
    let (_reader, writer, peer) = pair().await;
    writer.set_write_buffer_limits(64 * 1024, 16 * 1024);
    let written = fill(&writer, 64 * 1024);
    let writer = Rc::new(writer);
    let drained = Rc::new(Cell::new(0));
    let drainers: Vec<_> = (0..10)
        .map(|_| {
            let (writer, drained) = (writer.clone(), drained.clone());
            spawn(async move {
                writer.drain().await.unwrap();
                drained.set(drained.get() + 1);
            })
        })
        .collect();
    for _ in 0..3 {
        yield_now().await;
    }
    assert_eq!(drained.get(), 0, "drain returned while the writer was paused");
    let reader = spawn(async move { read_exactly(&peer, written).await });
    for drainer in drainers {
        aioloop::wait_for(drainer, Duration::from_secs(10))
            .await
            .expect("a drain did not return once the writer resumed")
            .unwrap();
    }
    assert_eq!(drained.get(), 10);
    assert!(writer.buffered() <= 16 * 1024);
    writer.close();
    assert_eq!(reader.await.unwrap(), written);
}

/// asyncio's `StreamWriter.writelines(data)`: the buffers go out in order, as one write of
/// their concatenation; with a paused writer they are buffered behind what waits already.
#[aioloop::test]
async fn writelines_sends_the_buffers_in_order() {
    let (_reader, writer, peer) = pair().await;
    writer.writelines([&b"line 1\n"[..], b"", b"line 2\n", b"line 3\n"]);
    writer.close();
    writer.wait_closed().await.unwrap();
    assert_eq!(read_to_eof(&peer).await, b"line 1\nline 2\nline 3\n");
}

/// asyncio's `writer.get_extra_info('peername')` and `get_extra_info('sockname')`, on both
/// ends of a `start_server` connection.
#[aioloop::test]
async fn get_extra_info_peername_and_sockname() {
    let seen = Rc::new(Cell::new(None));
    let record = seen.clone();
    let server = start_server(
        move |_reader, writer| {
            record.set(Some((writer.peer_addr(), writer.local_addr())));
            async {}
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();
    let (_reader, writer) = open_connection(addr).await.unwrap();
    assert_eq!(writer.peer_addr(), Some(addr));
    let client = writer.local_addr().expect("sockname");
    assert_eq!(client.ip(), addr.ip());
    while seen.get().is_none() {
        yield_now().await;
    }
    assert_eq!(seen.get(), Some((Some(client), Some(addr))));
    server.close();
}

/// CPython `test_eof_feed_when_closing_writer` (bpo-35065), on purpose not as asyncio: there
/// `writer.close()` closes the whole transport, so the reader is at EOF at once. aioloop's
/// writer owns only the write half: `close()` shuts the write side down (asyncio's
/// `write_eof()`), and the reader goes on reading what the peer sends until the peer closes
/// (docs/asyncio.md).
#[aioloop::test]
async fn test_eof_feed_when_closing_writer() {
    let (mut reader, writer, peer) = pair().await;
    writer.close();
    writer.wait_closed().await.unwrap();
    assert!(!reader.at_eof());
    let mut buf = [0; 8];
    assert_eq!(peer.read(&mut buf).await.unwrap(), 0, "the peer reads EOF");
    peer.write_all(b"after").await.unwrap();
    assert_eq!(reader.read(100).await.unwrap(), b"after");
    drop(peer);
    assert_eq!(reader.read(100).await.unwrap(), b"");
    assert!(reader.at_eof());
}

/// CPython `test_start_server_1`: a task awaiting `serve_forever()` that is cancelled closes
/// the server (asyncio's `serve_forever` closes it and waits for `wait_closed` before it
/// re-raises `CancelledError`). asyncio then raises `RuntimeError('... is closed')` from a
/// second `serve_forever`; aioloop's returns at once (docs/asyncio.md).
#[aioloop::test]
async fn test_start_server_1() {
    let server = Rc::new(
        start_server(
            |mut reader, writer| async move {
                let _ = reader.readline().await;
                writer.write(b"1");
                writer.close();
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap(),
    );
    let addr = server.local_addr().unwrap();
    let main_task = {
        let server = server.clone();
        spawn(async move { server.serve_forever().await })
    };
    let (mut reader, writer) = open_connection(addr).await.unwrap();
    writer.write(&[b'1'; 5 * 1024]);
    writer.write(b"\n");
    assert_eq!(reader.read_to_eof().await.unwrap(), b"1");
    assert!(server.is_serving());
    main_task.cancel();
    assert!(matches!(main_task.await, Err(TaskError::Cancelled)));
    assert!(!server.is_serving(), "cancelling serve_forever closes the server");
    aioloop::wait_for(server.wait_closed(), Duration::from_secs(10))
        .await
        .expect("the server closed");
    let refused = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5));
    assert_eq!(
        refused.map(drop).map_err(|err| err.kind()),
        Err(io::ErrorKind::ConnectionRefused)
    );
    server.serve_forever().await; // closed: returns at once
}

/// asyncio 3.12's `Server.close()`: "The server is closed asynchronously... Existing
/// connections are left open." An accepted connection keeps working after `close()`, and
/// `wait_closed()` waits for it.
#[aioloop::test]
async fn server_close_leaves_established_connections_open() {
    let server = start_server(
        |mut reader, writer| async move {
            while let Ok(line) = reader.readline().await {
                if line.is_empty() {
                    break;
                }
                writer.write(&line);
                if writer.drain().await.is_err() {
                    break;
                }
            }
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let (mut reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    writer.write(b"before\n");
    assert_eq!(reader.readline().await.unwrap(), b"before\n");
    server.close();
    for _ in 0..3 {
        yield_now().await;
    }
    writer.write(b"after\n");
    assert_eq!(reader.readline().await.unwrap(), b"after\n");
    let closed = aioloop::wait_for(server.wait_closed(), Duration::from_millis(20)).await;
    assert!(
        closed.is_err(),
        "wait_closed returned while a connection was open"
    );
    writer.close();
    aioloop::wait_for(server.wait_closed(), Duration::from_secs(10))
        .await
        .expect("wait_closed returned once the connection ended");
}

/// CPython `test_wait_closed_race` (a 3.12.0 regression): the server and the last connection
/// closed in the same iteration; `wait_closed()` still returns.
#[aioloop::test]
async fn test_wait_closed_race() {
    let server = Rc::new(
        start_server(
            |mut reader, writer| async move {
                let _ = reader.read_to_eof().await;
                writer.close();
                let _ = writer.wait_closed().await;
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap(),
    );
    let waiter = {
        let server = server.clone();
        spawn(async move { server.wait_closed().await })
    };
    yield_now().await;
    assert!(!waiter.is_done());
    let (_reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    let writer = Rc::new(writer);
    {
        let server = server.clone();
        aioloop::call_soon(move || server.close());
    }
    {
        let writer = writer.clone();
        aioloop::call_soon(move || writer.close());
    }
    aioloop::wait_for(server.wait_closed(), Duration::from_secs(10))
        .await
        .expect("wait_closed returned");
    waiter.await.unwrap();
}

/// CPython `test_unix_server_addr_cleanup` (3.13): closing a Unix server removes its socket
/// file.
#[aioloop::test]
async fn test_unix_server_addr_cleanup() {
    let dir = std::env::temp_dir().join(format!("aioloop-audit-writer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s.sock");
    let server = start_unix_server(|_reader, _writer| async {}, &path)
        .await
        .unwrap();
    assert!(path.exists());
    server.close();
    server.wait_closed().await;
    let exists = path.exists();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!exists, "the socket file is still there");
}
