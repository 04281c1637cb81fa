//! Issue 20, item 2 (the send side) and item 3: the completion form of stream writes on the
//! io_uring driver (writes copied into a per-stream send buffer, sent by `IORING_OP_SEND` at
//! the end of the iteration) keeps the streams' behaviour: order, back-pressure, a flush that
//! waits for the sends, a shutdown after the buffered bytes, a peer's reset reported by a later
//! write, and a dropped stream whose last bytes still go out before its socket closes. Each
//! test runs on every driver this machine has (epoll always, io_uring in the completion form
//! where the build and kernel allow), so the two forms are held to the same answers.

mod io_uring_support;

use std::cell::Cell;
use std::io::ErrorKind;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use io_uring_support::{
    bytes_in_socket, fds_settle_to, on_every_driver, open_fds, pair, pattern, read_all, unsent_in_socket,
};

/// One read, or 0 bytes if none came within 50 ms (the caller then looks at its writer).
async fn read_some(stream: &aioloop::net::TcpStream, buf: &mut [u8]) -> usize {
    match aioloop::wait_for(stream.read(buf), Duration::from_millis(50)).await {
        Ok(n) => n.unwrap(),
        Err(_) => 0,
    }
}

/// Many small writes of varying sizes, none awaited by a read, arrive whole and in order.
#[test]
fn send_many_small_writes_keep_their_order() {
    on_every_driver(|kind| async move {
        let (server, client) = pair().await;
        let data = pattern(300_000);
        let reader = aioloop::spawn(async move { read_all(&server).await });
        let mut at = 0;
        let mut size = 1;
        while at < data.len() {
            let end = (at + size).min(data.len());
            client.write_all(&data[at..end]).await.unwrap();
            at = end;
            size = size % 97 + 1;
        }
        client.shutdown(Shutdown::Write).unwrap();
        let (got, end) = reader.await.unwrap();
        end.unwrap();
        assert_eq!(got.len(), data.len(), "{kind}");
        assert!(got == data, "{kind}: bytes reordered or changed");
    });
}

/// A write of 32 MiB to a peer that does not read waits (the send buffer is bounded: it does
/// not swallow the whole write), and completes, intact, once the peer reads.
#[test]
fn send_a_large_write_waits_for_the_peer() {
    on_every_driver(|kind| async move {
        const LEN: usize = 32 << 20;
        let (server, client) = pair().await;
        let data = Rc::new(pattern(LEN));
        let sent = data.clone();
        let writer = aioloop::spawn(async move {
            client.write_all(&sent).await.unwrap();
            client.flush().await.unwrap();
            client
        });
        aioloop::sleep(Duration::from_millis(200)).await;
        assert!(
            !writer.is_done(),
            "{kind}: 32 MiB taken with no reader: no back-pressure"
        );
        let mut got = Vec::with_capacity(LEN);
        let mut buf = vec![0u8; 64 * 1024];
        while got.len() < LEN {
            let n = server.read(&mut buf).await.unwrap();
            assert_ne!(n, 0, "{kind}: EOF before the end");
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got == *data, "{kind}: bytes changed");
        drop(writer.await.unwrap());
    });
}

/// `flush` returns only once the bytes written went out: with the peer not reading it waits
/// (the socket buffers are full); once it returned, the bytes are in the peer's socket, where a
/// blocking read (which keeps the loop from running) finds them.
#[test]
fn send_flush_waits_for_the_sends() {
    on_every_driver(|kind| async move {
        let (server, client) = pair().await;
        let client = Rc::new(client);
        let flushed = Rc::new(Cell::new(false));
        let (c, f) = (client.clone(), flushed.clone());
        let writer = aioloop::spawn(async move {
            c.write_all(&pattern(16 << 20)).await.unwrap();
            c.flush().await.unwrap();
            f.set(true);
        });
        aioloop::sleep(Duration::from_millis(200)).await;
        assert!(!flushed.get(), "{kind}: flushed with the peer's socket full");
        let mut left = 16 << 20;
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            left -= server.read(&mut buf).await.unwrap();
        }
        writer.await.unwrap();
        assert!(flushed.get(), "{kind}");

        // Flushed means sent: a blocking read finds the bytes with the loop stopped.
        let (std_server, client) = {
            let (server, client) = pair().await;
            (server.into_std().unwrap(), client)
        };
        client.write_all(b"out already").await.unwrap();
        client.flush().await.unwrap();
        std_server.set_nonblocking(false).unwrap();
        std_server.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut got = [0u8; 11];
        std::io::Read::read_exact(&mut &std_server, &mut got)
            .unwrap_or_else(|err| panic!("{kind}: not sent by the flush: {err}"));
        assert_eq!(&got, b"out already");
    });
}

/// A write shutdown right after buffered writes comes after them: the peer reads every byte,
/// then EOF; a write after the shutdown fails.
#[test]
fn send_shutdown_after_buffered_writes_delivers_them_then_eof() {
    on_every_driver(|kind| async move {
        let (server, client) = pair().await;
        let data = pattern(1 << 20);
        let reader = aioloop::spawn(async move { read_all(&server).await });
        for chunk in data.chunks(10_000) {
            client.write_all(chunk).await.unwrap();
        }
        client.shutdown(Shutdown::Write).unwrap();
        let err = client.write_all(b"late").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{kind}");
        let (got, end) = reader.await.unwrap();
        end.unwrap();
        assert_eq!(got.len(), data.len(), "{kind}");
        assert!(got == data, "{kind}: bytes changed");
    });
}

/// A peer's reset is reported by a later write (or flush): `ConnectionReset` or `BrokenPipe`,
/// never swallowed.
#[test]
fn send_peer_reset_is_reported_by_a_later_write() {
    on_every_driver(|kind| async move {
        let (server, client) = pair().await;
        server.set_linger(Some(Duration::ZERO)).unwrap();
        drop(server);
        aioloop::sleep(Duration::from_millis(20)).await;
        let mut failed = None;
        for _ in 0..100 {
            let res = match client.write_all(b"anyone there?").await {
                Ok(()) => client.flush().await,
                err => err,
            };
            if let Err(err) = res {
                failed = Some(err);
                break;
            }
            aioloop::sleep(Duration::from_millis(5)).await;
        }
        let err = failed.unwrap_or_else(|| panic!("{kind}: the reset was never reported"));
        assert!(
            matches!(err.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
            "{kind}: {err}"
        );
    });
}

/// A stream dropped with 8 MiB written and not yet sent (its peer not reading) loses nothing:
/// the peer reads every byte, then EOF, and no descriptor is left behind once the sends
/// completed (on io_uring a duplicate of the stream's descriptor carries the last sends and
/// closes after them).
#[test]
fn send_a_dropped_stream_sends_its_last_bytes_then_closes() {
    on_every_driver(|kind| async move {
        const LEN: usize = 8 << 20;
        let before = open_fds();
        let (server, client) = pair().await;
        let data = Rc::new(pattern(LEN));
        let sent = data.clone();
        let writer = aioloop::spawn(async move {
            client.write_all(&sent).await.unwrap();
            drop(client);
        });
        aioloop::sleep(Duration::from_millis(100)).await;
        let mut buf = [0u8; 1];
        let early = aioloop::wait_for(server.peek(&mut buf), Duration::from_millis(50)).await;
        assert!(
            matches!(early, Ok(Ok(1))),
            "{kind}: no EOF before the bytes: {early:?}"
        );
        let (got, end) = read_all(&server).await;
        end.unwrap();
        writer.await.unwrap();
        assert_eq!(got.len(), LEN, "{kind}: bytes lost with the dropped stream");
        assert!(got == *data, "{kind}: bytes changed");
        drop(server);
        assert_eq!(fds_settle_to(before).await, before, "{kind}: a descriptor leaked");
    });
}

/// A dropped stream whose sends are in the kernel keeps its socket open until they complete
/// (the peer sees no EOF while bytes are still to come), then closes it: the descriptor count
/// drops back once the peer took the bytes.
#[test]
fn send_the_socket_closes_once_the_sends_complete() {
    on_every_driver(|kind| async move {
        let before = open_fds();
        let (server, client) = pair().await;
        let writer = aioloop::spawn(async move {
            client.write_all(&pattern(8 << 20)).await.unwrap();
            client
        });
        aioloop::sleep(Duration::from_millis(100)).await;
        // The peer reads a little so the writer can finish, not all.
        let mut buf = vec![0u8; 1 << 20];
        let mut got = 0;
        while !writer.is_done() {
            got += read_some(&server, &mut buf).await;
        }
        drop(writer.await.unwrap());
        let held = open_fds();
        let (rest, end) = read_all(&server).await;
        end.unwrap();
        assert_eq!(got + rest.len(), 8 << 20, "{kind}");
        drop(server);
        let now = fds_settle_to(before).await;
        assert_eq!(now, before, "{kind}: the socket stayed open (held {held})");
    });
}

/// `try_write` takes what fits and then says `WouldBlock`; `writable` then waits until the
/// peer has read (room again), and a `try_write` after it takes bytes.
#[test]
fn send_try_write_and_writable() {
    on_every_driver(|kind| async move {
        let (server, client) = pair().await;
        let chunk = pattern(64 * 1024);
        // Fill until writes block and stay blocked (the socket buffers full as well).
        let mut taken = 0usize;
        let mut stuck = false;
        for _ in 0..1000 {
            loop {
                match client.try_write(&chunk) {
                    Ok(n) => taken += n,
                    Err(err) if err.kind() == ErrorKind::WouldBlock => break,
                    Err(err) => panic!("{kind}: {err}"),
                }
                assert!(taken < 1 << 30, "{kind}: try_write never said WouldBlock");
            }
            let waited = aioloop::wait_for(client.writable(), Duration::from_millis(100)).await;
            if waited.is_err() {
                stuck = true;
                break;
            }
        }
        assert!(
            stuck,
            "{kind}: always writable with the peer not reading ({taken} bytes taken)"
        );
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = 0;
        let room = aioloop::spawn(async move {
            client.writable().await.unwrap();
            let n = client.try_write(b"more").unwrap();
            (n, client)
        });
        while !room.is_done() {
            got += read_some(&server, &mut buf).await;
        }
        let (n, client) = room.await.unwrap();
        assert!(n > 0, "{kind}");
        client.shutdown(Shutdown::Write).unwrap();
        let (rest, end) = read_all(&server).await;
        end.unwrap();
        assert_eq!(got + rest.len(), taken + n, "{kind}");
    });
}

/// Issue 20, "`StreamWriter::drain` sees the stream's own send buffer": a `drain` that
/// returns leaves at most the high-water mark (64 KiB) of what was written outside the kernel,
/// whichever buffer held it (on io_uring's completion form the stream's send buffer takes
/// 200 KiB at once: `drain` waits for the kernel to take them). The peer does not read (its
/// socket keeps what arrives), then reads everything, in order.
#[test]
fn issue20_drain_waits_for_the_streams_send_buffer() {
    const HIGH: usize = 64 * 1024;
    on_every_driver(|kind| async move {
        let (server, client) = pair().await;
        let fd = client.as_raw_fd();
        let (_read, write) = client.into_split();
        let writer = aioloop::streams::StreamWriter::new(write, None);
        let data = pattern(200 * 1024);
        writer.write(&data);
        let drained = aioloop::wait_for(writer.drain(), Duration::from_millis(300)).await;
        if let Ok(result) = drained {
            result.unwrap();
            let in_kernel = unsent_in_socket(fd) + bytes_in_socket(&server) as usize;
            assert!(
                in_kernel + HIGH >= data.len(),
                "{kind}: drain returned with {} of {} bytes outside the kernel",
                data.len() - in_kernel,
                data.len()
            );
        }
        let reader = aioloop::spawn(async move { read_all(&server).await });
        aioloop::wait_for(writer.drain(), Duration::from_secs(10))
            .await
            .expect("drain did not resume once the peer read")
            .unwrap();
        writer.close();
        writer.wait_closed().await.unwrap();
        let (got, end) = reader.await.unwrap();
        end.unwrap();
        assert!(got == data, "{kind}: the bytes came out of order or changed");
    });
}
