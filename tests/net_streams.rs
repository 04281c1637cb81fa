//! asyncio's streams API: open_connection / start_server, the reader's errors, the writer's
//! back-pressure.

use std::io;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream};
use aioloop::streams::{
    open_connection, open_unix_connection, start_server, start_unix_server, StreamError, StreamReader,
};

mod support;

use support::streams::echo_until_eof;

#[test]
fn echo_lines_through_a_server() {
    aioloop::run(async {
        let server = start_server(
            |mut reader, writer| async move {
                echo_until_eof(&mut reader, &writer).await;
                writer.close();
                writer.wait_closed().await.unwrap();
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let clients: Vec<_> = (0..10)
            .map(|c| {
                aioloop::spawn(async move {
                    let (mut reader, writer) = open_connection(addr).await.unwrap();
                    assert_eq!(writer.peer_addr(), Some(addr));
                    for i in 0..50 {
                        let line = format!("client {c} line {i}\n");
                        writer.write(line.as_bytes());
                        writer.drain().await.unwrap();
                        assert_eq!(reader.readline().await.unwrap(), line.as_bytes());
                    }
                    writer.close();
                    writer.wait_closed().await.unwrap();
                    assert_eq!(reader.read(100).await.unwrap(), b"");
                    assert!(reader.at_eof());
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
        assert!(server.is_serving());
        server.close();
        server.serve_forever().await; // returns at once: closed
        server.wait_closed().await;
        assert!(!server.is_serving());
        let refused = TcpStream::connect(addr).await;
        assert!(refused.is_err(), "the listening socket is closed");
    });
}

/// A connected pair through plain sockets: the test drives one end by hand.
async fn pair() -> (StreamReader, aioloop::streams::StreamWriter, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connect = aioloop::spawn(open_connection(addr));
    let (peer, _) = listener.accept().await.unwrap();
    let (reader, writer) = connect.await.unwrap().unwrap();
    (reader, writer, peer)
}

#[test]
fn readexactly_at_eof_gives_the_partial_data() {
    aioloop::run(async {
        let (mut reader, _writer, peer) = pair().await;
        peer.write_all(b"0123456789").await.unwrap();
        assert_eq!(reader.readexactly(4).await.unwrap(), b"0123");
        peer.shutdown(std::net::Shutdown::Write).unwrap();
        match reader.readexactly(100).await {
            Err(StreamError::IncompleteRead(err)) => {
                assert_eq!(err.partial, b"456789");
                assert_eq!(err.expected, Some(100));
                assert_eq!(err.to_string(), "6 bytes read on a total of 100 expected bytes");
            }
            other => panic!("expected IncompleteRead, got {other:?}"),
        }
        assert!(reader.at_eof());
    });
}

#[test]
fn readexactly_after_a_peer_reset_gives_the_error_and_keeps_the_partial_data() {
    aioloop::run(async {
        let (mut reader, _writer, peer) = pair().await;
        peer.write_all(b"partial").await.unwrap();
        let reset = aioloop::spawn(async move {
            aioloop::sleep(Duration::from_millis(20)).await;
            peer.set_linger(Some(Duration::ZERO)).unwrap();
            drop(peer); // SO_LINGER 0: close sends RST
        });
        match reader.readexactly(100).await {
            Err(StreamError::Io(err)) => assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}"),
            other => panic!("expected ConnectionReset, got {other:?}"),
        }
        assert_eq!(reader.buffer(), b"partial", "asyncio keeps the bytes read so far");
        reset.await.unwrap();
    });
}

#[test]
fn readuntil_past_the_limit_keeps_the_data() {
    aioloop::run(async {
        let (mut reader, _writer, peer) = pair().await;
        reader.set_limit(64);
        let long = vec![b'a'; 200];
        peer.write_all(&long).await.unwrap();
        peer.write_all(b"\n").await.unwrap();
        match reader.readuntil(b"\n").await {
            Err(StreamError::LimitOverrun(err)) => assert!(err.consumed > 64, "{err:?}"),
            other => panic!("expected LimitOverrun, got {other:?}"),
        }
        assert!(!reader.buffer().is_empty(), "the data stays in the buffer");
        // All of it can still be read.
        let mut got = Vec::new();
        while got.len() < 201 {
            got.extend(reader.read(1000).await.unwrap());
        }
        assert_eq!(&got[..200], &long[..]);
        assert_eq!(got[200], b'\n');
        // Within the limit (a separator found early), readuntil works.
        peer.write_all(b"k=v;rest").await.unwrap();
        assert_eq!(reader.readuntil(b";").await.unwrap(), b"k=v;");
        assert_eq!(reader.readexactly(4).await.unwrap(), b"rest");
        // Multi-byte separator split across reads.
        peer.write_all(b"head\r").await.unwrap();
        let tail = aioloop::spawn(async move {
            aioloop::sleep(Duration::from_millis(5)).await;
            peer.write_all(b"\nbody").await.unwrap();
            peer
        });
        assert_eq!(reader.readuntil(b"\r\n").await.unwrap(), b"head\r\n");
        let peer = tail.await.unwrap();
        drop(peer);
        match reader.readuntil(b"\r\n").await {
            Err(StreamError::IncompleteRead(err)) => {
                assert_eq!(err.partial, b"body");
                assert_eq!(err.expected, None);
            }
            other => panic!("expected IncompleteRead, got {other:?}"),
        }
    });
}

#[test]
fn readline_past_the_limit_discards_like_asyncio() {
    aioloop::run(async {
        let (mut reader, _writer, peer) = pair().await;
        reader.set_limit(16);
        peer.write_all(&[b'x'; 40]).await.unwrap();
        peer.write_all(b"\nnext\n").await.unwrap();
        aioloop::sleep(Duration::from_millis(5)).await;
        assert!(matches!(
            reader.readline().await,
            Err(StreamError::LimitOverrun(_))
        ));
        // asyncio drops the overlong data; the stream goes on with what follows.
        let mut line = reader.readline().await;
        while let Err(StreamError::LimitOverrun(_)) = line {
            line = reader.readline().await;
        }
        assert_eq!(line.unwrap(), b"next\n");
    });
}

#[test]
fn drain_blocks_while_the_peer_does_not_read() {
    aioloop::run(async {
        let (_reader, writer, peer) = pair().await;
        writer.set_write_buffer_limits(64 * 1024, 16 * 1024);
        let chunk = vec![7u8; 64 * 1024];
        let mut written = 0usize;
        // Fill the kernel's buffers and then ours: drain must end up blocking.
        let blocked = loop {
            writer.write(&chunk);
            written += chunk.len();
            if aioloop::wait_for(writer.drain(), Duration::from_millis(50))
                .await
                .is_err()
            {
                break true;
            }
            if written > 256 * 1024 * 1024 {
                break false;
            }
        };
        assert!(blocked, "drain never blocked after {written} bytes");
        // Blocked with our buffer above the low-water mark, or (io_uring's completion form)
        // with the stream's own send buffer holding what the kernel did not take.
        let io_uring = aioloop::get_running_loop().io_driver() == aioloop::IoDriverKind::IoUring;
        assert!(writer.buffered() > 16 * 1024 || io_uring);
        // The peer starts reading: drain resumes.
        let reader = aioloop::spawn(async move {
            let mut buf = vec![0; 256 * 1024];
            let mut total = 0;
            while total < written {
                let n = peer.read(&mut buf).await.unwrap();
                assert!(n > 0);
                total += n;
            }
            total
        });
        aioloop::wait_for(writer.drain(), Duration::from_secs(10))
            .await
            .expect("drain did not resume once the peer read")
            .unwrap();
        assert!(writer.buffered() <= 16 * 1024);
        writer.close();
        writer.wait_closed().await.unwrap();
        assert_eq!(reader.await.unwrap(), written);
    });
}

#[test]
fn drain_reports_a_reset_peer() {
    aioloop::run(async {
        let (_reader, writer, peer) = pair().await;
        peer.set_linger(Some(Duration::ZERO)).unwrap();
        drop(peer);
        aioloop::sleep(Duration::from_millis(10)).await;
        let mut result = Ok(());
        for _ in 0..100 {
            writer.write(&[0; 4096]);
            result = writer.drain().await;
            if result.is_err() {
                break;
            }
            aioloop::sleep(Duration::from_millis(1)).await;
        }
        let err = result.unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{err}"
        );
        assert!(writer.is_closing());
    });
}

#[test]
fn unix_streams() {
    let dir = std::env::temp_dir().join(format!("aioloop-streams-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s.sock");
    aioloop::run(async {
        let server = start_unix_server(
            |mut reader, writer| async move {
                let data = reader.readexactly(5).await.unwrap();
                writer.write(&data);
                writer.close();
            },
            &path,
        )
        .await
        .unwrap();
        assert!(server.local_addr().is_err());
        let (mut reader, writer) = open_unix_connection(&path).await.unwrap();
        writer.write(b"hello");
        assert_eq!(reader.read_to_eof().await.unwrap(), b"hello");
        server.close();
        server.wait_closed().await;
    });
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 16 item 3, CPython test_streams `test_at_eof`, over a real socket: `at_eof()` turns
/// true once the peer has closed and the buffer is empty, without a further read call.
#[test]
fn at_eof() {
    aioloop::run(async {
        let (mut reader, _writer, peer) = pair().await;
        assert!(!reader.at_eof());
        peer.write_all(b"some data\n").await.unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"some data\n");
        assert!(!reader.at_eof(), "the peer is still open");
        peer.write_all(b"last\n").await.unwrap();
        peer.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"last\n");
        assert!(reader.at_eof(), "the EOF came with the line");

        // The same after read and readexactly empty the buffer.
        for method in ["read", "readexactly"] {
            let (mut reader, _writer, peer) = pair().await;
            peer.write_all(b"xy").await.unwrap();
            peer.shutdown(std::net::Shutdown::Write).unwrap();
            let got = match method {
                "read" => reader.read(2).await.unwrap(),
                _ => reader.readexactly(2).await.unwrap(),
            };
            assert_eq!(got, b"xy");
            assert!(reader.at_eof(), "{method}");
        }
    });
}

/// Issue 16 item 4, CPython test_streams `test_readuntil_limit_found_sep`, over a real socket:
/// after a `LimitOverrun` ("separator not found"), a retry reads the socket again and sees the
/// separator that arrived since ("separator found", still over the limit).
#[test]
fn readuntil_limit_found_sep() {
    aioloop::run(async {
        let (mut reader, _writer, peer) = pair().await;
        reader.set_limit(3);
        peer.write_all(b"some dataAA").await.unwrap();
        match reader.readuntil(b"AAA").await {
            Err(StreamError::LimitOverrun(err)) => assert!(!err.separator_found, "{err:?}"),
            other => panic!("expected LimitOverrun, got {other:?}"),
        }
        assert_eq!(reader.buffer(), b"some dataAA");

        peer.write_all(b"A").await.unwrap();
        // A retry loop, as a user would write it: it must not spin on stale data.
        let retry = async {
            loop {
                match reader.readuntil(b"AAA").await {
                    Err(StreamError::LimitOverrun(err)) if !err.separator_found => {
                        aioloop::sleep(Duration::from_millis(1)).await
                    }
                    other => break other,
                }
            }
        };
        let got = aioloop::wait_for(retry, Duration::from_secs(10))
            .await
            .expect("a retry sees the new data");
        match got {
            Err(StreamError::LimitOverrun(err)) => {
                assert!(err.separator_found, "{err:?}");
                assert_eq!(err.consumed, 9);
            }
            other => panic!("expected LimitOverrun (found), got {other:?}"),
        }
        assert_eq!(reader.buffer(), b"some dataAAA");

        // readline has no such trap: it discards the overlong data, then reads on.
        match reader.readline().await {
            Err(StreamError::LimitOverrun(_)) => assert!(reader.buffer().is_empty()),
            other => panic!("expected LimitOverrun, got {other:?}"),
        }
        peer.write_all(b"ok\n").await.unwrap();
        assert_eq!(reader.readline().await.unwrap(), b"ok\n");
        // Nor read: it returns what is buffered, else waits for the socket.
        peer.write_all(b"more").await.unwrap();
        assert_eq!(reader.read(100).await.unwrap(), b"more");
    });
}
