//! Reads and the readiness they clear. A read that shows the socket drained (a short read)
//! clears the read readiness, and the reader then waits for the next edge: if the readiness
//! were cleared while data still waited, the reader would hang (edge-triggered epoll reports
//! only new arrivals). Each test runs under a generous `wait_for`, so a lost wakeup fails it
//! instead of hanging the suite. `try_read` and `try_write` follow the same rule as `read` and
//! `write`.

use std::future::{poll_fn, Future};
use std::io::{ErrorKind, Write};
use std::net::SocketAddr;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream, UnixStream};
use aioloop::wait_for;

const LIMIT: Duration = Duration::from_secs(10);

/// A connected pair on loopback: (the accepted side, the connecting side).
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let client = aioloop::spawn(async move { TcpStream::connect(addr).await.unwrap() });
    let (server, _) = listener.accept().await.unwrap();
    let client = client.await.unwrap();
    client.set_nodelay(true).unwrap();
    (server, client)
}

/// Whether `fut` is pending at its first poll. No loop iteration runs during the check, so the
/// answer reflects the reactor's readiness as the last operation left it.
async fn pending_now(fut: impl Future) -> bool {
    let mut fut = pin!(fut);
    poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_pending())).await
}

/// The byte at `index` of the test stream (a pattern with no short period).
fn byte_at(index: usize) -> u8 {
    (index * 7 % 251) as u8
}

#[test]
fn data_sent_in_several_segments_reaches_one_read_exact() {
    aioloop::run(async {
        let (reader, writer) = pair().await;
        let writes = aioloop::spawn(async move {
            for chunk in 0..10 {
                writer.write_all(&[chunk; 10]).await.unwrap();
                aioloop::sleep(Duration::from_millis(2)).await;
            }
            writer
        });
        let mut got = [0; 100];
        wait_for(reader.read_exact(&mut got), LIMIT)
            .await
            .unwrap()
            .unwrap();
        for (chunk, bytes) in got.chunks(10).enumerate() {
            assert!(
                bytes.iter().all(|&b| b == chunk as u8),
                "segment {chunk}: {bytes:?}"
            );
        }
        drop(writes.await.unwrap());
    });
}

#[test]
fn small_reads_take_everything_queued_and_later_data_wakes_the_reader() {
    aioloop::run(async {
        let (reader, writer) = pair().await;
        let first: Vec<u8> = (0..1000).map(byte_at).collect();
        writer.write_all(&first).await.unwrap();
        // Let all of it arrive, so that the reads below each leave data queued.
        aioloop::sleep(Duration::from_millis(20)).await;
        let mut got = Vec::new();
        while got.len() < 960 {
            let mut buf = [0; 64];
            wait_for(reader.read_exact(&mut buf), LIMIT)
                .await
                .unwrap()
                .unwrap();
            got.extend_from_slice(&buf);
        }
        // 40 bytes queued: a read of exactly that size fills its buffer and drains the socket.
        let mut rest = [0; 40];
        wait_for(reader.read_exact(&mut rest), LIMIT)
            .await
            .unwrap()
            .unwrap();
        got.extend_from_slice(&rest);
        assert!(got == first, "the bytes differ");
        // Nothing is queued now; the next read must wait, then wake for the next arrival.
        let late = aioloop::spawn(async move {
            aioloop::sleep(Duration::from_millis(20)).await;
            writer.write_all(b"late").await.unwrap();
            writer
        });
        let mut buf = [0; 4];
        wait_for(reader.read_exact(&mut buf), LIMIT)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf, b"late");
        drop(late.await.unwrap());
    });
}

#[test]
fn eof_after_data_is_seen_whatever_the_buffer_size() {
    for size in [1, 5, 10, 11, 4096] {
        aioloop::run(async move {
            let (reader, writer) = pair().await;
            writer.write_all(b"0123456789").await.unwrap();
            drop(writer);
            aioloop::sleep(Duration::from_millis(10)).await;
            let mut got = Vec::new();
            let mut buf = vec![0; size];
            loop {
                match wait_for(reader.read(&mut buf), LIMIT).await.unwrap().unwrap() {
                    0 => break,
                    n => got.extend_from_slice(&buf[..n]),
                }
            }
            assert_eq!(got, b"0123456789", "buffer of {size}");
        });
    }
}

#[test]
fn split_halves_read_what_another_thread_writes_in_odd_sizes() {
    // Real concurrency: a blocking writer on its own thread, so data arrives at any moment
    // relative to the reads (between a read and the clearing of its readiness, too).
    const TOTAL: usize = 2_000_000;
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let writer = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream.set_nodelay(true).unwrap();
            let data: Vec<u8> = (0..TOTAL).map(byte_at).collect();
            let (mut sent, mut size) = (0, 1);
            while sent < TOTAL {
                let end = (sent + size).min(TOTAL);
                stream.write_all(&data[sent..end]).unwrap();
                sent = end;
                size = size * 3 % 1021 + 1;
                if size % 17 == 0 {
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
        });
        let (stream, _) = listener.accept().await.unwrap();
        let (mut read, write) = stream.into_split();
        let (mut got, mut size) = (0, 1);
        let mut buf = vec![0; 1024];
        while got < TOTAL {
            let want = size.min(TOTAL - got);
            let chunk = &mut buf[..want];
            // Alternate exact reads (which fill their buffer) and plain reads (often short).
            let n = if size % 2 == 0 {
                wait_for(read.read_exact(chunk), LIMIT).await.unwrap().unwrap();
                want
            } else {
                wait_for(read.read(chunk), LIMIT).await.unwrap().unwrap()
            };
            assert!(n > 0, "early EOF after {got} bytes");
            for (i, &b) in chunk[..n].iter().enumerate() {
                assert_eq!(b, byte_at(got + i), "byte {}", got + i);
            }
            got += n;
            size = size * 5 % 1019 + 1;
        }
        let mut end = [0; 1];
        assert_eq!(wait_for(read.read(&mut end), LIMIT).await.unwrap().unwrap(), 0);
        writer.join().unwrap();
        drop(read.reunite(write).unwrap());
    });
}

#[test]
fn unix_stream_full_reads_then_a_wait() {
    aioloop::run(async {
        let (reader, writer) = UnixStream::pair().unwrap();
        for round in 0..50u8 {
            writer.write_all(&[round; 32]).await.unwrap();
            let mut buf = [0; 16];
            wait_for(reader.read_exact(&mut buf), LIMIT)
                .await
                .unwrap()
                .unwrap();
            wait_for(reader.read_exact(&mut buf), LIMIT)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(buf, [round; 16]);
        }
        drop(writer);
        let mut buf = [0; 16];
        assert_eq!(wait_for(reader.read(&mut buf), LIMIT).await.unwrap().unwrap(), 0);
    });
}

#[test]
fn a_short_try_read_clears_the_readiness_as_a_short_read_does() {
    aioloop::run(async {
        let (reader, writer) = pair().await;
        writer.write_all(b"hello").await.unwrap();
        wait_for(reader.readable(), LIMIT).await.unwrap().unwrap();
        let mut buf = [0; 64];
        assert_eq!(reader.try_read(&mut buf).unwrap(), 5);
        assert!(
            pending_now(reader.readable()).await,
            "a short try_read drained the socket: readable must wait for new data"
        );
        assert_eq!(
            reader.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // The next arrival is a new edge: it wakes the reader.
        writer.write_all(b"more").await.unwrap();
        wait_for(reader.readable(), LIMIT).await.unwrap().unwrap();
        // A full try_read keeps the readiness: data may still be queued, and it is.
        let mut small = [0; 2];
        assert_eq!(reader.try_read(&mut small).unwrap(), 2);
        assert!(!pending_now(reader.readable()).await);
        assert_eq!(reader.try_read(&mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"re");
    });
}

#[test]
fn a_short_try_write_clears_the_readiness_as_a_short_write_does() {
    aioloop::run(async {
        let (reader, writer) = pair().await;
        wait_for(writer.writable(), LIMIT).await.unwrap().unwrap();
        let chunk = vec![0u8; 1 << 20];
        let mut sink = vec![0u8; 1 << 16];
        // Nobody reads, so the socket buffer fills and some try_write comes up short.
        loop {
            match writer.try_write(&chunk) {
                Ok(n) if n < chunk.len() => break,
                Ok(_) => continue,
                // The buffer filled exactly at a full write: make room and try again.
                Err(err) if err.kind() == ErrorKind::WouldBlock => {
                    wait_for(reader.read(&mut sink), LIMIT).await.unwrap().unwrap();
                    wait_for(writer.writable(), LIMIT).await.unwrap().unwrap();
                }
                Err(err) => panic!("try_write: {err}"),
            }
        }
        assert!(
            pending_now(writer.writable()).await,
            "a short try_write filled the socket buffer: writable must wait for room"
        );
        assert_eq!(
            writer.try_write(&chunk).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    });
}
