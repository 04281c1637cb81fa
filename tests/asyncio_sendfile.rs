//! asyncio's sendfile (Lib/test/test_asyncio/test_sendfile.py, `SockSendfileMixin` and
//! `SendfileMixin`): `loop.sock_sendfile` as `TcpStream::sendfile` / `UnixStream::sendfile`,
//! `loop.sendfile(writer.transport, ...)` as `StreamWriter::sendfile`. Each test checks the
//! bytes the peer received, exactly, and the file's position after. Run on both io drivers
//! with `--features tls` for the TLS case.

use std::fs::File;
use std::io::{ErrorKind, Seek, SeekFrom, Write};
use std::os::fd::FromRawFd;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream, UnixStream};

#[cfg(feature = "tls")]
mod support;

/// test_sendfile.py's `DATA`: 128 KiB plus 16 bytes, not aligned to any chunk.
fn data() -> Vec<u8> {
    b"SendfileBaseData".repeat(1024 * 8 + 1)
}

/// An unlinked temporary file holding `bytes`, its position at 0.
fn file_with(bytes: &[u8]) -> File {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "aioloop-sendfile-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    file.write_all(bytes).unwrap();
    file.rewind().unwrap();
    file
}

fn position(mut file: &File) -> u64 {
    file.stream_position().unwrap()
}

/// test_sendfile.py's `BUF_SIZE`: small socket buffers, so that a send fills them.
const BUF_SIZE: usize = 4 * 1024;

/// A connected pair of TCP streams, the sender's send buffer and the receiver's receive
/// buffer reduced as `prepare_socksendfile` does.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    // On the listener, so the accepted socket has it from its handshake: set after it, a
    // smaller buffer than the window already offered makes the kernel stall the sender on
    // its 200 ms window probes.
    socket2::SockRef::from(&listener)
        .set_recv_buffer_size(BUF_SIZE)
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = aioloop::spawn(async move { listener.accept().await.unwrap().0 });
    let client = TcpStream::connect(addr).await.unwrap();
    let server = accept.await.unwrap();
    socket2::SockRef::from(&client)
        .set_send_buffer_size(BUF_SIZE)
        .unwrap();
    (client, server)
}

/// Reads `stream` to its end on a task: what the peer received.
fn receive_all<S>(stream: S) -> aioloop::Task<Vec<u8>>
where
    S: futures_io::AsyncRead + Unpin + 'static,
{
    aioloop::spawn(async move {
        use futures_util::AsyncReadExt;
        let mut stream = stream;
        let mut received = Vec::new();
        stream.read_to_end(&mut received).await.unwrap();
        received
    })
}

#[test]
fn test_sock_sendfile_success() {
    aioloop::run(async {
        let file = file_with(&data());
        let (client, server) = tcp_pair().await;
        let received = receive_all(server);
        let sent = client.sendfile(&file, 0, None).await.unwrap();
        drop(client);
        assert_eq!(sent, data().len() as u64);
        assert!(received.await.unwrap() == data());
        assert_eq!(position(&file), data().len() as u64);
    });
}

#[test]
fn test_sock_sendfile_with_offset_and_count() {
    aioloop::run(async {
        let file = file_with(&data());
        let (client, server) = tcp_pair().await;
        let received = receive_all(server);
        let sent = client.sendfile(&file, 1000, Some(2000)).await.unwrap();
        drop(client);
        assert_eq!(received.await.unwrap(), data()[1000..3000]);
        assert_eq!(position(&file), 3000);
        assert_eq!(sent, 2000);
    });
}

#[test]
fn test_sock_sendfile_zero_size() {
    aioloop::run(async {
        let file = file_with(b"");
        let (client, server) = tcp_pair().await;
        let received = receive_all(server);
        let sent = client.sendfile(&file, 0, None).await.unwrap();
        drop(client);
        assert_eq!(sent, 0);
        assert!(received.await.unwrap().is_empty());
        assert_eq!(position(&file), 0);
    });
}

#[test]
fn test_sock_sendfile_mix_with_regular_send() {
    aioloop::run(async {
        let buf = b"mix_regular_send".repeat(4 * 1024); // 64 KiB
        let file = file_with(&data());
        let (client, server) = tcp_pair().await;
        let received = receive_all(server);
        client.write_all(&buf).await.unwrap();
        let sent = client.sendfile(&file, 0, None).await.unwrap();
        client.write_all(&buf).await.unwrap();
        client.flush().await.unwrap();
        drop(client);
        assert_eq!(sent, data().len() as u64);
        let expected = [&buf[..], &data(), &buf].concat();
        assert!(received.await.unwrap() == expected);
        assert_eq!(position(&file), data().len() as u64);
    });
}

/// A count past the file's end sends what there is (asyncio: `sendfile` returns 0 at the end).
#[test]
fn test_sock_sendfile_count_past_end() {
    aioloop::run(async {
        let file = file_with(&data());
        let (client, server) = tcp_pair().await;
        let received = receive_all(server);
        let start = data().len() as u64 - 100;
        let sent = client.sendfile(&file, start, Some(1_000_000)).await.unwrap();
        drop(client);
        assert_eq!(sent, 100);
        assert_eq!(received.await.unwrap(), data()[data().len() - 100..]);
        assert_eq!(position(&file), data().len() as u64);
    });
}

/// asyncio's `_check_sendfile_params`: "count must be a positive integer (got 0)"; nothing is
/// sent and the position stays.
#[test]
fn test_sock_sendfile_count_zero() {
    aioloop::run(async {
        let mut file = file_with(&data());
        file.seek(SeekFrom::Start(5)).unwrap();
        let (client, server) = tcp_pair().await;
        let received = receive_all(server);
        let err = client.sendfile(&file, 0, Some(0)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.to_string(), "count must be a positive integer (got 0)");
        drop(client);
        assert!(received.await.unwrap().is_empty());
        assert_eq!(position(&file), 5);
    });
}

/// The read end of a pipe holding `bytes` (written by a thread, then closed).
fn pipe_with(bytes: Vec<u8>) -> (File, std::thread::JoinHandle<()>) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe(2)` writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just made and are owned by nothing else.
    let (read, mut write) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    let writer = std::thread::spawn(move || write.write_all(&bytes).unwrap());
    (read, writer)
}

/// Not a regular file (a pipe): asyncio's native path raises `SendfileNotAvailableError` and
/// the fallback sends it, read in chunks.
#[test]
fn test_sock_sendfile_not_regular_file_fallback() {
    aioloop::run(async {
        let (pipe, writer) = pipe_with(data());
        let (client, server) = tcp_pair().await;
        let received = receive_all(server);
        let sent = client.sendfile(&pipe, 0, None).await.unwrap();
        client.flush().await.unwrap();
        drop(client);
        writer.join().unwrap();
        assert_eq!(sent, data().len() as u64);
        assert!(received.await.unwrap() == data());
    });
}

/// The fallback with a count: it stops there, the rest stays in the pipe.
#[test]
fn test_sock_sendfile_not_regular_file_count() {
    aioloop::run(async {
        let (pipe, writer) = pipe_with(data()[..3000].to_vec());
        let (client, server) = tcp_pair().await;
        let received = receive_all(server);
        let sent = client.sendfile(&pipe, 0, Some(1000)).await.unwrap();
        client.flush().await.unwrap();
        drop(client);
        assert_eq!(sent, 1000);
        assert_eq!(received.await.unwrap(), data()[..1000]);
        let mut rest = Vec::new();
        std::io::Read::read_to_end(&mut &pipe, &mut rest).unwrap();
        writer.join().unwrap();
        assert_eq!(rest, data()[1000..3000]);
    });
}

/// `fallback=False` (test_sendfile_force_unsupported_native's socket form): a file the native
/// path cannot send is `Unsupported` (asyncio's `SendfileNotAvailableError`), nothing sent.
#[test]
fn test_sock_sendfile_no_fallback_not_regular_file() {
    aioloop::run(async {
        let (pipe, writer) = pipe_with(b"pipe bytes".to_vec());
        let (client, server) = tcp_pair().await;
        let received = receive_all(server);
        let err = client.sendfile_with(&pipe, 0, None, false).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        drop(client);
        assert!(received.await.unwrap().is_empty());
        let mut rest = Vec::new();
        std::io::Read::read_to_end(&mut &pipe, &mut rest).unwrap();
        writer.join().unwrap();
        assert_eq!(rest, b"pipe bytes");
    });
}

/// On Linux a regular file goes through `sendfile(2)` itself: `fallback=False` sends it.
#[cfg(target_os = "linux")]
#[test]
fn test_sock_sendfile_native_no_fallback() {
    aioloop::run(async {
        let file = file_with(&data());
        let (client, server) = tcp_pair().await;
        let received = receive_all(server);
        let sent = client.sendfile_with(&file, 10, None, false).await.unwrap();
        drop(client);
        assert_eq!(sent, data().len() as u64 - 10);
        assert!(received.await.unwrap() == data()[10..]);
        assert_eq!(position(&file), data().len() as u64);
    });
}

/// A Unix stream sends a file the same way.
#[test]
fn test_sock_sendfile_unix_stream() {
    aioloop::run(async {
        let file = file_with(&data());
        let (a, b) = UnixStream::pair().unwrap();
        let received = receive_all(b);
        a.write_all(b"head").await.unwrap();
        let sent = a.sendfile(&file, 16, None).await.unwrap();
        a.write_all(b"tail").await.unwrap();
        a.flush().await.unwrap();
        drop(a);
        assert_eq!(sent, data().len() as u64 - 16);
        let expected = [&b"head"[..], &data()[16..], b"tail"].concat();
        assert!(received.await.unwrap() == expected);
        assert_eq!(position(&file), data().len() as u64);
    });
}

/// A call dropped before it completes leaves the file's position right after the bytes the
/// socket took: sending again from there delivers the file exactly once.
#[test]
fn test_sock_sendfile_cancelled_keeps_position() {
    aioloop::run(async {
        let big = b"0123456789abcdef".repeat(32 * 1024); // 512 KiB
        let file = file_with(&big);
        let (client, server) = tcp_pair().await;
        // Nobody reads yet: the socket's buffers fill and the call waits until dropped.
        let first = aioloop::wait_for(client.sendfile(&file, 0, None), Duration::from_millis(100)).await;
        assert!(
            first.is_err(),
            "512 KiB went through 4 KiB buffers with nobody reading"
        );
        let taken = position(&file);
        assert!(taken < big.len() as u64);
        let received = receive_all(server);
        let sent = client.sendfile(&file, taken, None).await.unwrap();
        client.flush().await.unwrap();
        drop(client);
        assert_eq!(taken + sent, big.len() as u64);
        assert!(received.await.unwrap() == big);
        assert_eq!(position(&file), big.len() as u64);
    });
}

// SendfileMixin: `loop.sendfile(writer.transport, file, ...)` as `StreamWriter::sendfile`.

/// A stream writer connected to a peer whose bytes `receive_all` collects.
async fn writer_pair() -> (aioloop::streams::StreamWriter, aioloop::Task<Vec<u8>>) {
    let (writer, server) = writer_and_peer().await;
    socket2::SockRef::from(&server)
        .set_recv_buffer_size(BUF_SIZE)
        .unwrap();
    (writer, receive_all(server))
}

/// A stream writer and its peer's stream.
async fn writer_and_peer() -> (aioloop::streams::StreamWriter, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = aioloop::spawn(async move { listener.accept().await.unwrap().0 });
    let (_reader, writer) = aioloop::streams::open_connection(addr).await.unwrap();
    let server = accept.await.unwrap();
    (writer, server)
}

#[test]
fn test_sendfile() {
    aioloop::run(async {
        let file = file_with(&data());
        let (writer, received) = writer_pair().await;
        let sent = writer.sendfile(&file, 0, None).await.unwrap();
        writer.close();
        writer.wait_closed().await.unwrap();
        assert_eq!(sent, data().len() as u64);
        assert!(received.await.unwrap() == data());
        assert_eq!(position(&file), data().len() as u64);
    });
}

/// A pipe goes through the fallback (asyncio's test forces the native path's
/// `SendfileNotAvailableError`; a pipe meets it for real).
#[test]
fn test_sendfile_force_fallback() {
    aioloop::run(async {
        let (pipe, feeder) = pipe_with(data());
        let (writer, received) = writer_pair().await;
        let sent = writer.sendfile(&pipe, 0, None).await.unwrap();
        writer.close();
        writer.wait_closed().await.unwrap();
        feeder.join().unwrap();
        assert_eq!(sent, data().len() as u64);
        assert!(received.await.unwrap() == data());
    });
}

#[test]
fn test_sendfile_force_unsupported_native() {
    aioloop::run(async {
        let (pipe, feeder) = pipe_with(b"unsent".to_vec());
        let (writer, received) = writer_pair().await;
        let err = writer.sendfile_with(&pipe, 0, None, false).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        writer.close();
        writer.wait_closed().await.unwrap();
        assert!(received.await.unwrap().is_empty());
        let mut rest = Vec::new();
        std::io::Read::read_to_end(&mut &pipe, &mut rest).unwrap();
        feeder.join().unwrap();
        assert_eq!(rest, b"unsent");
    });
}

#[test]
fn test_sendfile_for_closing_transp() {
    aioloop::run(async {
        let file = file_with(&data());
        let (writer, received) = writer_pair().await;
        writer.close();
        let err = writer.sendfile(&file, 0, None).await.unwrap_err();
        assert!(err.to_string().contains("is closing"), "{err}");
        writer.wait_closed().await.unwrap();
        assert!(received.await.unwrap().is_empty());
        assert_eq!(position(&file), 0);
    });
}

#[test]
fn test_sendfile_pre_and_post_data() {
    aioloop::run(async {
        let prefix = b"PREFIX__".repeat(1024); // 8 KiB
        let suffix = b"--SUFFIX".repeat(1024); // 8 KiB
        let file = file_with(&data());
        let (writer, received) = writer_pair().await;
        writer.write(&prefix);
        let sent = writer.sendfile(&file, 0, None).await.unwrap();
        writer.write(&suffix);
        writer.close();
        writer.wait_closed().await.unwrap();
        assert_eq!(sent, data().len() as u64);
        let expected = [&prefix[..], &data(), &suffix].concat();
        assert!(received.await.unwrap() == expected);
        assert_eq!(position(&file), data().len() as u64);
    });
}

#[test]
fn test_sendfile_partial() {
    aioloop::run(async {
        let file = file_with(&data());
        let (writer, received) = writer_pair().await;
        let sent = writer.sendfile(&file, 1000, Some(100)).await.unwrap();
        writer.close();
        writer.wait_closed().await.unwrap();
        assert_eq!(sent, 100);
        assert_eq!(received.await.unwrap(), data()[1000..1100]);
        assert_eq!(position(&file), 1100);
    });
}

/// A write by another task while the file is being sent (asyncio's transport raises "unable
/// to write; sendfile is in progress"; the stream writer buffers it): it goes after the file.
#[test]
#[allow(clippy::async_yields_async)] // the task hands back the peer's receiving task
fn test_sendfile_write_during_sendfile_goes_after() {
    aioloop::run(async {
        // 16 MiB: more than the socket buffers hold while the peer does not read (at most
        // 4 MiB of send buffer here, and the receive window it started with).
        let big = b"0123456789abcdef".repeat(1024 * 1024);
        let file = file_with(&big);
        let (writer, server) = writer_and_peer().await;
        let writer = std::rc::Rc::new(writer);
        let other = writer.clone();
        // The peer reads only after the write: the send cannot end before it.
        let meanwhile = aioloop::spawn(async move {
            aioloop::sleep(Duration::from_millis(20)).await;
            other.write(b"written meanwhile");
            receive_all(server)
        });
        let sent = writer.sendfile(&file, 0, None).await.unwrap();
        let received = meanwhile.await.unwrap();
        writer.close();
        writer.wait_closed().await.unwrap();
        assert_eq!(sent, big.len() as u64);
        let expected = [&big[..], b"written meanwhile"].concat();
        assert!(received.await.unwrap() == expected);
    });
}

/// SSL transports take the fallback: the file's chunks go through the TLS session.
#[cfg(feature = "tls")]
mod tls {
    use super::*;
    use crate::support;

    /// A TLS writer whose server collects what it reads to the end.
    async fn tls_writer() -> (
        aioloop::streams::Server,
        aioloop::streams::StreamWriter,
        aioloop::Future<Vec<u8>>,
    ) {
        let pki = support::tls::pki();
        let done = aioloop::Future::new();
        let got = done.clone();
        let (server, _reader, writer) = support::tls::serve_and_connect(&pki, move |mut reader, writer| {
            let got = got.clone();
            async move {
                let all = reader.read_to_eof().await.unwrap();
                let _ = got.set_result(all);
                writer.close();
            }
        })
        .await;
        (server, writer, done)
    }

    #[test]
    fn test_sendfile_ssl() {
        aioloop::run(async {
            let file = file_with(&data());
            let (server, writer, received) = tls_writer().await;
            let sent = writer.sendfile(&file, 0, None).await.unwrap();
            writer.close();
            writer.wait_closed().await.unwrap();
            assert_eq!(sent, data().len() as u64);
            assert!(received.await.unwrap() == data());
            assert_eq!(position(&file), data().len() as u64);
            server.close();
        });
    }

    #[test]
    fn test_sendfile_ssl_pre_and_post_data() {
        aioloop::run(async {
            let prefix = b"zxcvbnm".repeat(1024);
            let suffix = b"0987654321".repeat(1024);
            let file = file_with(&data());
            let (server, writer, received) = tls_writer().await;
            writer.write(&prefix);
            let sent = writer.sendfile(&file, 0, None).await.unwrap();
            writer.write(&suffix);
            writer.close();
            writer.wait_closed().await.unwrap();
            assert_eq!(sent, data().len() as u64);
            let expected = [&prefix[..], &data(), &suffix].concat();
            assert!(received.await.unwrap() == expected);
            assert_eq!(position(&file), data().len() as u64);
            server.close();
        });
    }

    #[test]
    fn test_sendfile_ssl_partial() {
        aioloop::run(async {
            let file = file_with(&data());
            let (server, writer, received) = tls_writer().await;
            let sent = writer.sendfile(&file, 1000, Some(100)).await.unwrap();
            writer.close();
            writer.wait_closed().await.unwrap();
            assert_eq!(sent, 100);
            assert_eq!(received.await.unwrap(), data()[1000..1100]);
            assert_eq!(position(&file), 1100);
            server.close();
        });
    }

    /// `fallback=False` over TLS: asyncio's SSL transport has no native path.
    #[test]
    fn test_sendfile_ssl_no_fallback() {
        aioloop::run(async {
            let file = file_with(&data());
            let (server, writer, received) = tls_writer().await;
            let err = writer.sendfile_with(&file, 0, None, false).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported);
            writer.close();
            writer.wait_closed().await.unwrap();
            assert!(received.await.unwrap().is_empty());
            assert_eq!(position(&file), 0);
            server.close();
        });
    }
}

/// `loop.sendfile(transport, ...)` on a protocol transport: `aioloop::protocols::sendfile`.
mod protocols {
    use super::*;
    use aioloop::protocols::{create_connection, sendfile, sendfile_with, Protocol, Transport};

    /// The client's protocol: receives nothing in these tests.
    struct Quiet;
    impl Protocol for Quiet {}

    /// A protocol transport connected to a peer whose bytes `receive_all` collects.
    async fn transport_pair() -> (Transport, aioloop::Task<Vec<u8>>) {
        let (transport, server) = transport_and_peer().await;
        socket2::SockRef::from(&server)
            .set_recv_buffer_size(BUF_SIZE)
            .unwrap();
        (transport, receive_all(server))
    }

    /// A protocol transport and its peer's stream.
    async fn transport_and_peer() -> (Transport, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = aioloop::spawn(async move { listener.accept().await.unwrap().0 });
        let (transport, _) = create_connection(|| Quiet, addr).await.unwrap();
        let server = accept.await.unwrap();
        (transport, server)
    }

    #[test]
    fn test_sendfile() {
        aioloop::run(async {
            let file = file_with(&data());
            let (transport, received) = transport_pair().await;
            assert!(transport.is_reading());
            let sent = sendfile(&transport, &file, 0, None).await.unwrap();
            assert!(transport.is_reading(), "reading resumed after the call");
            transport.close();
            assert_eq!(sent, data().len() as u64);
            assert!(received.await.unwrap() == data());
            assert_eq!(position(&file), data().len() as u64);
        });
    }

    #[test]
    fn test_sendfile_force_fallback() {
        aioloop::run(async {
            let (pipe, feeder) = pipe_with(data());
            let (transport, received) = transport_pair().await;
            let sent = sendfile(&transport, &pipe, 0, None).await.unwrap();
            transport.close();
            feeder.join().unwrap();
            assert_eq!(sent, data().len() as u64);
            assert!(received.await.unwrap() == data());
        });
    }

    #[test]
    fn test_sendfile_force_unsupported_native() {
        aioloop::run(async {
            let (pipe, feeder) = pipe_with(b"unsent".to_vec());
            let (transport, received) = transport_pair().await;
            let err = sendfile_with(&transport, &pipe, 0, None, false)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported);
            assert!(transport.is_reading());
            transport.close();
            assert!(received.await.unwrap().is_empty());
            let mut rest = Vec::new();
            std::io::Read::read_to_end(&mut &pipe, &mut rest).unwrap();
            feeder.join().unwrap();
            assert_eq!(rest, b"unsent");
        });
    }

    /// asyncio's test uses a datagram transport; a pipe transport has no sendfile either.
    #[test]
    fn test_sendfile_not_supported() {
        aioloop::run(async {
            let file = file_with(&data());
            let mut fds = [0; 2];
            // SAFETY: `fds` has room for the two descriptors `pipe(2)` writes.
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
            // SAFETY: both descriptors were just made and are owned by nothing else.
            let (read_end, write_end) = unsafe {
                (
                    std::os::fd::OwnedFd::from_raw_fd(fds[0]),
                    std::os::fd::OwnedFd::from_raw_fd(fds[1]),
                )
            };
            let (transport, _) = aioloop::protocols::connect_write_pipe(|| Quiet, write_end).unwrap();
            let err = sendfile(&transport, &file, 0, None).await.unwrap_err();
            assert!(err.to_string().contains("not supported"), "{err}");
            assert_eq!(position(&file), 0);
            transport.close();
            drop(read_end);
        });
    }

    #[test]
    fn test_sendfile_for_closing_transp() {
        aioloop::run(async {
            let file = file_with(&data());
            let (transport, received) = transport_pair().await;
            transport.close();
            let err = sendfile(&transport, &file, 0, None).await.unwrap_err();
            assert!(err.to_string().contains("is closing"), "{err}");
            assert!(received.await.unwrap().is_empty());
            assert_eq!(position(&file), 0);
        });
    }

    #[test]
    fn test_sendfile_pre_and_post_data() {
        aioloop::run(async {
            let prefix = b"PREFIX__".repeat(1024 * 16); // 128 KiB: buffered past the socket
            let suffix = b"--SUFFIX".repeat(1024); // 8 KiB
            let file = file_with(&data());
            let (transport, received) = transport_pair().await;
            transport.write(&prefix).unwrap();
            let sent = sendfile(&transport, &file, 0, None).await.unwrap();
            transport.write(&suffix).unwrap();
            transport.close();
            assert_eq!(sent, data().len() as u64);
            let expected = [&prefix[..], &data(), &suffix].concat();
            assert!(received.await.unwrap() == expected);
            assert_eq!(position(&file), data().len() as u64);
        });
    }

    #[test]
    fn test_sendfile_partial() {
        aioloop::run(async {
            let file = file_with(&data());
            let (transport, received) = transport_pair().await;
            let sent = sendfile(&transport, &file, 1000, Some(100)).await.unwrap();
            transport.close();
            assert_eq!(sent, 100);
            assert_eq!(received.await.unwrap(), data()[1000..1100]);
            assert_eq!(position(&file), 1100);
        });
    }

    /// asyncio's transport raises "unable to write; sendfile is in progress" while the native
    /// path sends; reading is paused meanwhile.
    #[cfg(target_os = "linux")]
    #[test]
    fn test_sendfile_write_during_native_is_refused() {
        aioloop::run(async {
            // 16 MiB: more than the socket buffers hold while the peer does not read (at most
            // 4 MiB of send buffer here, and the receive window it started with).
            let big = b"0123456789abcdef".repeat(1024 * 1024);
            let file = file_with(&big);
            let (transport, server) = transport_and_peer().await;
            let other = transport.clone();
            // The peer reads only after the write was tried: the send cannot end before.
            let meanwhile = aioloop::spawn(async move {
                aioloop::sleep(Duration::from_millis(20)).await;
                let tried = (other.is_reading(), other.write(b"refused").unwrap_err().kind());
                (tried, receive_all(server))
            });
            let sent = sendfile(&transport, &file, 0, None).await.unwrap();
            let (tried, received) = meanwhile.await.unwrap();
            assert_eq!(tried, (false, ErrorKind::ResourceBusy));
            assert!(transport.is_reading());
            transport.close();
            assert_eq!(sent, big.len() as u64);
            assert!(received.await.unwrap() == big);
        });
    }
}

/// A TLS protocol transport takes the fallback, with the protocol's flow control.
#[cfg(feature = "tls")]
mod protocols_tls {
    use super::*;
    use crate::support;
    use aioloop::protocols::{create_connection_tls, sendfile, sendfile_with, Protocol};

    struct Quiet;
    impl Protocol for Quiet {}

    async fn tls_transport() -> (
        aioloop::streams::Server,
        aioloop::protocols::Transport,
        aioloop::Future<Vec<u8>>,
    ) {
        let pki = support::tls::pki();
        let done = aioloop::Future::new();
        let got = done.clone();
        let server = support::tls::start_loopback_server(
            move |mut reader, writer| {
                let got = got.clone();
                async move {
                    let all = reader.read_to_eof().await.unwrap();
                    let _ = got.set_result(all);
                    writer.close();
                }
            },
            pki.server_tls(),
        )
        .await;
        let (transport, _) = create_connection_tls(|| Quiet, server.local_addr().unwrap(), &pki.client_tls())
            .await
            .unwrap();
        // A small buffer: the fallback waits for the protocol's flow control.
        transport.set_write_buffer_limits(Some(BUF_SIZE), None).unwrap();
        (server, transport, done)
    }

    #[test]
    fn test_sendfile_ssl_pre_and_post_data() {
        aioloop::run(async {
            let prefix = b"zxcvbnm".repeat(1024);
            let suffix = b"0987654321".repeat(1024);
            let file = file_with(&data());
            let (server, transport, received) = tls_transport().await;
            transport.write(&prefix).unwrap();
            let sent = sendfile(&transport, &file, 0, None).await.unwrap();
            transport.write(&suffix).unwrap();
            transport.close();
            assert_eq!(sent, data().len() as u64);
            let expected = [&prefix[..], &data(), &suffix].concat();
            assert!(received.await.unwrap() == expected);
            assert_eq!(position(&file), data().len() as u64);
            server.close();
        });
    }

    #[test]
    fn test_sendfile_ssl_partial() {
        aioloop::run(async {
            let file = file_with(&data());
            let (server, transport, received) = tls_transport().await;
            let sent = sendfile(&transport, &file, 1000, Some(100)).await.unwrap();
            transport.close();
            assert_eq!(sent, 100);
            assert_eq!(received.await.unwrap(), data()[1000..1100]);
            assert_eq!(position(&file), 1100);
            server.close();
        });
    }

    #[test]
    fn test_sendfile_ssl_no_fallback() {
        aioloop::run(async {
            let file = file_with(&data());
            let (server, transport, received) = tls_transport().await;
            let err = sendfile_with(&transport, &file, 0, None, false)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported);
            transport.close();
            assert!(received.await.unwrap().is_empty());
            assert_eq!(position(&file), 0);
            server.close();
        });
    }
}
