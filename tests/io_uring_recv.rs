//! Issue 20, item 5 (and item 3): the completion form of stream reads on the io_uring driver
//! (a multishot receive per stream into the loop's buffer ring) keeps the streams' behaviour:
//! no byte lost to a cancelled read, a dropped stream closes at once, a ring run dry neither
//! loses bytes nor hangs, EOF and a peer's reset come after the data. Each test runs on every
//! driver this machine has (epoll always, io_uring in the completion form, which these tests
//! turn on, where the build and kernel allow), so the two forms are held to the same answers.

mod io_uring_support;

use std::os::fd::AsRawFd;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream};
use aioloop::IoDriverKind;
use io_uring_support::{bytes_in_socket, on_every_driver, pair, pattern, read_all};

/// Arms the stream's receive on io_uring: a read that finds nothing, cancelled by its timeout.
async fn cancelled_read(stream: &TcpStream) {
    let mut one = [0u8; 1];
    let res = aioloop::wait_for(stream.read(&mut one), Duration::from_millis(20)).await;
    assert!(res.is_err(), "nothing was sent yet: {res:?}");
}

/// A read dropped while it waits, with the kernel receiving a 64 KiB burst into the stream's
/// buffers, loses nothing: the bytes wait for the next read, in order.
#[test]
fn item5_a_cancelled_read_keeps_its_bytes() {
    on_every_driver(|kind| async move {
        let (server, client) = pair().await;
        cancelled_read(&server).await;
        let data = pattern(64 * 1024);
        client.write_all(&data).await.unwrap();
        // The kernel fills the buffers while reads are started and dropped.
        let mut got = Vec::new();
        let mut one = [0u8; 1];
        let n = aioloop::wait_for(server.read(&mut one), Duration::from_secs(5))
            .await
            .unwrap()
            .unwrap();
        got.extend_from_slice(&one[..n]);
        for _ in 0..50 {
            let mut buf = [0u8; 100];
            // A zero timeout: the read is polled at most once, then dropped.
            if let Ok(Ok(n)) = aioloop::wait_for(server.read(&mut buf), Duration::ZERO).await {
                got.extend_from_slice(&buf[..n]);
            }
            cancelled_or_not(&server).await;
        }
        client.shutdown(std::net::Shutdown::Write).unwrap();
        let (rest, end) = read_all(&server).await;
        end.unwrap();
        got.extend_from_slice(&rest);
        assert_eq!(got.len(), data.len(), "{kind}");
        assert!(got == data, "{kind}: the bytes came out of order or changed");
    });
}

/// A read raced against a short timer, whichever wins (its bytes are kept either way).
async fn cancelled_or_not(stream: &TcpStream) {
    let mut buf = [0u8; 0];
    let _ = aioloop::wait_for(stream.read(&mut buf), Duration::from_micros(1)).await;
}

/// On io_uring the kernel receives ahead of the reads: bytes the peer sent leave the socket
/// (`FIONREAD` says 0) and are still read in full; on epoll they wait in the socket.
#[test]
fn item5_the_kernel_receives_ahead_of_the_reads_on_io_uring() {
    on_every_driver(|kind| async move {
        let (server, client) = pair().await;
        cancelled_read(&server).await;
        client.write_all(b"ahead").await.unwrap();
        aioloop::sleep(Duration::from_millis(50)).await;
        let in_socket = bytes_in_socket(&server);
        match kind {
            IoDriverKind::IoUring => assert_eq!(in_socket, 0, "received ahead"),
            _ => assert_eq!(in_socket, 5, "waiting in the socket"),
        }
        let mut buf = [0u8; 16];
        assert_eq!(server.peek(&mut buf).await.unwrap(), 5, "{kind}: peek sees them");
        server.readable().await.unwrap();
        assert_eq!(server.try_read(&mut buf).unwrap(), 5, "{kind}");
        assert_eq!(&buf[..5], b"ahead");
        let err = server.try_read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock, "{kind}");
    });
}

/// Dropping a stream whose receive is in the kernel closes its descriptor at once, and the
/// socket with it (the peer reads EOF at once): the cancellation ran before the close
/// (issue 20 item 3; monoio#318).
#[test]
fn item5_a_dropped_stream_with_a_receive_in_flight_closes_at_once() {
    on_every_driver(|kind| async move {
        for _ in 0..20 {
            let (server, client) = pair().await;
            cancelled_read(&server).await;
            client.write_all(b"unread").await.unwrap();
            aioloop::sleep(Duration::from_millis(2)).await;
            let fd = server.as_raw_fd();
            drop(server);
            // SAFETY: F_GETFD only asks whether `fd` is open.
            let open = unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1;
            assert!(!open, "{kind}: the descriptor is closed at drop");
            let mut buf = [0u8; 8];
            let end = aioloop::wait_for(client.read(&mut buf), Duration::from_secs(5))
                .await
                .unwrap_or_else(|_| panic!("{kind}: the peer saw no close"));
            // The unread bytes make the close a reset; either way the socket is gone.
            assert!(matches!(end, Ok(0) | Err(_)), "{kind}: {end:?}");
        }
    });
}

/// More bytes in flight than the ring has buffers (200 streams x 64 KiB against 4 MiB of
/// buffers): the receives that find the ring dry stop, their streams read from the socket,
/// and every byte arrives, in order, without a hang.
#[test]
fn item5_many_connections_exhausting_the_buffer_ring_lose_nothing() {
    on_every_driver(|kind| async move {
        const CONNS: usize = 200;
        const LEN: usize = 64 * 1024;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut readers = Vec::new();
        let mut clients = Vec::new();
        for _ in 0..CONNS {
            let connect = aioloop::spawn(TcpStream::connect(addr));
            let (server, _) = listener.accept().await.unwrap();
            clients.push(connect.await.unwrap().unwrap());
            readers.push(aioloop::spawn(async move {
                let mut first = [0u8; 1];
                let n = server.read(&mut first).await.unwrap();
                // Wait while the peers send, so the receives fill the ring.
                aioloop::sleep(Duration::from_millis(300)).await;
                let (rest, end) = read_all(&server).await;
                ([&first[..n], &rest[..]].concat(), end)
            }));
        }
        let data = std::rc::Rc::new(pattern(LEN));
        let writers: Vec<_> = clients
            .into_iter()
            .map(|client| {
                let data = data.clone();
                aioloop::spawn(async move {
                    client.write_all(&data).await.unwrap();
                    client.shutdown(std::net::Shutdown::Write).unwrap();
                    client
                })
            })
            .collect();
        for reader in readers {
            let (got, end) = reader.await.unwrap();
            end.unwrap();
            assert_eq!(got.len(), LEN, "{kind}");
            assert!(got == *data, "{kind}: bytes changed");
        }
        for writer in writers {
            drop(writer.await.unwrap());
        }
    });
}

/// EOF comes after the data, and stays.
#[test]
fn item5_eof_after_data() {
    on_every_driver(|kind| async move {
        let (server, client) = pair().await;
        cancelled_read(&server).await;
        client.write_all(b"last words").await.unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        let (got, end) = read_all(&server).await;
        end.unwrap();
        assert_eq!(got, b"last words", "{kind}");
        let mut buf = [0u8; 4];
        assert_eq!(server.read(&mut buf).await.unwrap(), 0, "{kind}: EOF stays");
        assert_eq!(server.try_read(&mut buf).unwrap(), 0, "{kind}");
    });
}

/// A peer's reset comes after the data it sent before: the bytes, then `ConnectionReset`.
#[test]
fn item5_peer_reset_after_data() {
    on_every_driver(|kind| async move {
        let (server, client) = pair().await;
        cancelled_read(&server).await;
        client.write_all(b"before the reset").await.unwrap();
        aioloop::sleep(Duration::from_millis(20)).await;
        client.set_linger(Some(Duration::ZERO)).unwrap();
        drop(client);
        aioloop::sleep(Duration::from_millis(20)).await;
        let (got, end) = read_all(&server).await;
        assert_eq!(got, b"before the reset", "{kind}");
        let err = end.expect_err("a reset");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{kind}");
    });
}

/// `into_std` stops the receive: the standard stream reads what the peer sends next, and
/// bytes received ahead and not read are an error, not a silent loss.
#[test]
fn item5_into_std_after_reads() {
    on_every_driver(|kind| async move {
        let (server, client) = pair().await;
        cancelled_read(&server).await;
        let std_stream = server.into_std().unwrap();
        client.write_all(b"to std").await.unwrap();
        // Sent by the time the flush returns (the completion form sends at the end of
        // the iteration; the blocking read below would keep the loop from getting there).
        client.flush().await.unwrap();
        std_stream.set_nonblocking(false).unwrap();
        let mut buf = [0u8; 6];
        std::io::Read::read_exact(&mut &std_stream, &mut buf).unwrap();
        assert_eq!(&buf, b"to std", "{kind}");

        let (server, client) = pair().await;
        cancelled_read(&server).await;
        client.write_all(b"unread").await.unwrap();
        aioloop::sleep(Duration::from_millis(20)).await;
        match (kind, server.into_std()) {
            (IoDriverKind::IoUring, Err(err)) => {
                assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}")
            }
            (IoDriverKind::IoUring, Ok(_)) => panic!("bytes received ahead were dropped"),
            (_, res) => drop(res.unwrap()),
        }
    });
}

/// The completion form can be turned off: `io_uring_completion(false)` (or
/// `AIOLOOP_IO_URING_COMPLETION=0`) keeps the readiness form on io_uring (the bytes wait in the
/// socket).
#[cfg(all(feature = "io-uring", target_os = "linux"))]
#[test]
fn item5_the_completion_form_can_be_turned_off() {
    let _serial = io_uring_support::serial();
    if !io_uring_support::drivers().contains(&IoDriverKind::IoUring) {
        return eprintln!("io_uring unavailable here: skipped");
    }
    let lp = aioloop::EventLoop::builder()
        .io_driver(IoDriverKind::IoUring)
        .io_uring_completion(false)
        .build();
    lp.unwrap().run_until_complete(async {
        let (server, client) = pair().await;
        cancelled_read(&server).await;
        client.write_all(b"stays").await.unwrap();
        aioloop::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            bytes_in_socket(&server),
            5,
            "the readiness form leaves the bytes in the socket"
        );
        let mut buf = [0u8; 8];
        assert_eq!(server.read(&mut buf).await.unwrap(), 5);
    });
}

/// One stream holding every buffer of the ring (8 MiB sent to it, none read) does not stop
/// another from reading: with the ring dry, the other's reader waits on a read watch of its
/// socket and reads it directly; then the first reads its 8 MiB intact.
#[test]
fn item5_a_stream_reads_while_another_holds_every_buffer() {
    on_every_driver(|kind| async move {
        const HOG: usize = 8 << 20;
        let (hog, hog_peer) = pair().await;
        cancelled_read(&hog).await;
        let data = std::rc::Rc::new(pattern(HOG));
        let sent = data.clone();
        let writer = aioloop::spawn(async move {
            hog_peer.write_all(&sent).await.unwrap();
            hog_peer.shutdown(std::net::Shutdown::Write).unwrap();
            hog_peer
        });
        // The kernel receives into the hog's buffers until the ring is dry.
        aioloop::sleep(Duration::from_millis(200)).await;
        // A stream whose first read finds the ring dry (and one whose receive ran dry).
        let (other, other_peer) = pair().await;
        let mut buf = [0u8; 16];
        let read = aioloop::spawn(async move {
            let n = other.read(&mut buf).await.unwrap();
            (buf[..n].to_vec(), other)
        });
        aioloop::sleep(Duration::from_millis(20)).await;
        other_peer.write_all(b"ping").await.unwrap();
        let (got, _other) = aioloop::wait_for(read, Duration::from_secs(10))
            .await
            .unwrap_or_else(|_| panic!("{kind}: the read waited for the hog's buffers"))
            .unwrap();
        assert_eq!(got, b"ping", "{kind}");
        let (all, end) = read_all(&hog).await;
        end.unwrap();
        assert_eq!(all.len(), HOG, "{kind}");
        assert!(all == *data, "{kind}: bytes changed");
        drop(writer.await.unwrap());
    });
}

/// Large reads of a bulk transfer go to the socket directly once a receive brought a bulk of
/// bytes (U9, runtime/io/uring/recv.rs `DIRECT_MIN`), small ones, peeks and `try_read`s
/// through the receive: mixed, with pauses that let the stream fill to its cap, every byte
/// arrives once and in order (tests/io_uring_recv_cap_fallback.rs: the same on single
/// receives).
#[test]
fn issue20_large_reads_straight_from_the_socket_keep_order_and_lose_nothing() {
    on_every_driver(io_uring_support::mixed_reads_keep_order);
}
