//! The flood of tests/io_uring_recv_cap.rs and io_uring_recv_cap_fallback.rs (issue 20, "a
//! per-stream cap on held receive buffers"): a peer floods a connection the application read
//! once and then leaves alone, another connection echoes meanwhile, and the flooded stream,
//! read at last, yields every byte in order.

use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aioloop::net::TcpListener;
use aioloop::IoDriverKind;

use super::{bytes_in_socket, bytes_taken_from, on_every_driver, pair, pattern, read_all, unsent_in_socket};

/// What the flooding peer sends in all.
pub const TOTAL: usize = 8 << 20;

/// The flooding peer, on its own thread with a standard socket: once `go` is set it writes
/// the pattern without blocking (counting in `written` exactly what the socket took) until
/// `go` is cleared, then the rest of the `TOTAL` bytes blocking, then closes.
fn flooder(addr: std::net::SocketAddr, written: Arc<AtomicUsize>, go: Arc<AtomicBool>, fd: Arc<AtomicUsize>) {
    let data = pattern(TOTAL);
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    fd.store(socket.as_raw_fd() as usize, Ordering::SeqCst);
    while !go.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    socket.set_nonblocking(true).unwrap();
    let mut sent = 0;
    while go.load(Ordering::SeqCst) && sent < TOTAL {
        match socket.write(&data[sent..(sent + 16 * 1024).min(TOTAL)]) {
            Ok(n) => {
                sent += n;
                written.store(sent, Ordering::SeqCst);
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(err) => panic!("flood: {err}"),
        }
    }
    while go.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1)); // all taken: the socket stays open
    }
    socket.set_nonblocking(false).unwrap();
    socket.write_all(&data[sent..]).unwrap();
}

/// On every driver: the stream holds at most `bound` received bytes (what its socket gave up:
/// none on epoll) while nobody reads it, another connection echoes meanwhile,
/// and once read the stream yields all [`TOTAL`] bytes, in order. The one read before the
/// flood asks for `first_read` bytes (a large one, 16 KiB or more, leaves a bulk receive's
/// end to the reader: U9, runtime/io/uring/recv.rs `DIRECT_MIN`).
pub fn flooded_unread_stream_holds_at_most(bound: usize, first_read: usize) {
    on_every_driver(|kind| async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (written, go, fd) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let peer = {
            let (written, go, fd) = (written.clone(), go.clone(), fd.clone());
            std::thread::spawn(move || flooder(addr, written, go, fd))
        };
        let (flooded, _) = listener.accept().await.unwrap();
        // One read arms the stream's receive; then nobody reads it.
        let mut first = vec![0u8; first_read];
        let idle = aioloop::wait_for(flooded.read(&mut first), Duration::from_millis(20)).await;
        assert!(idle.is_err(), "nothing was sent yet");
        go.store(true, Ordering::SeqCst);

        // Another connection echoes while the flood fills the sockets.
        let (server, client) = pair().await;
        let echo = aioloop::spawn(async move {
            let mut buf = [0u8; 64];
            loop {
                match server.read(&mut buf).await.unwrap() {
                    0 => return,
                    n => server.write_all(&buf[..n]).await.unwrap(),
                }
            }
        });
        let mut settled = 0;
        let mut last = usize::MAX;
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut round = 0u32;
        while settled < 20 && Instant::now() < deadline {
            let message = round.to_le_bytes();
            client.write_all(&message).await.unwrap();
            let mut back = [0u8; 4];
            client.read_exact(&mut back).await.unwrap();
            assert_eq!(back, message, "{kind}: the echo beside the flood");
            round += 1;
            aioloop::sleep(Duration::from_millis(10)).await;
            let now = written.load(Ordering::SeqCst);
            settled = if now == last { settled + 1 } else { 0 };
            last = now;
        }
        assert!(settled >= 20, "{kind}: the flood never filled the sockets");
        assert_eq!(last, written.load(Ordering::SeqCst), "{kind}: the flood settled");
        // What the loop holds: what the socket gave up (the application read nothing). Both
        // counts are the receiving socket's own, of one moment: exact (counting what the
        // sender's socket still queues counted the bytes it sent and the receiver had not
        // acknowledged yet in both sockets, and once in about thirty runs overflowed).
        let held = bytes_taken_from(&flooded) as usize;
        match kind {
            IoDriverKind::Epoll => assert_eq!(held, 0, "{kind}: nothing is read ahead on epoll"),
            _ => assert!(
                held <= bound,
                "{kind}: the unread stream holds {held} received bytes (sent {last}, \
                 {} in the receiving socket, {} unsent)",
                bytes_in_socket(&flooded),
                unsent_in_socket(fd.load(Ordering::SeqCst) as RawFd),
            ),
        }
        eprintln!("{kind}: held {held} of {last} sent");
        drop(client);
        echo.await.unwrap();

        go.store(false, Ordering::SeqCst);
        let (got, end) = read_all(&flooded).await;
        end.unwrap();
        assert_eq!(got.len(), TOTAL, "{kind}");
        assert!(
            got == pattern(TOTAL),
            "{kind}: the bytes came out of order or changed"
        );
        peer.join().unwrap();
    });
}
