//! Issue 20, "a per-stream cap on held receive buffers": on the io_uring driver's completion
//! form a stream whose reader does not read stops its multishot receive at a cap (64 KiB), so
//! a peer flooding a connection nobody reads neither takes the loop's buffer ring from the
//! other streams nor holds unbounded memory; the bytes beyond wait in the socket, and once the
//! stream is read every byte arrives, in order, across each stop and restart of the receive.
//! Runs on every driver the machine has (epoll holds nothing: the same answers).

mod io_uring_support;

use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aioloop::net::TcpListener;
use io_uring_support::{bytes_in_socket, on_every_driver, pair, pattern, read_all, unsent_in_socket};

/// What the flooding peer sends in all.
const TOTAL: usize = 8 << 20;
/// The most received bytes the unread stream may hold: the 64 KiB cap plus the one buffer
/// the receive that reaches it fills (without the cap it takes the whole 4 MiB ring). Before
/// Linux 6.17 (no total for a multishot receive) the cap is only checked as the loop looks,
/// and one burst of the kernel may fill the ring first: there nothing tighter is promised.
fn held_bound() -> usize {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut version = release
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|v| v.parse::<u32>().ok());
    match (version.next().unwrap_or(0), version.next().unwrap_or(0)) {
        v if v >= (6, 17) => 64 * 1024 + 2 * 4096,
        _ => 4 << 20,
    }
}

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

/// A peer floods a connection the application read once and then leaves alone: the stream
/// holds at most its cap (the sender's count minus what waits in either socket), another
/// connection echoes meanwhile, and the flooded stream, read at last, yields every byte in
/// order.
#[test]
fn issue20_a_flooded_unread_stream_holds_its_cap_and_loses_nothing() {
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
        let mut one = [0u8; 1];
        let idle = aioloop::wait_for(flooded.read(&mut one), Duration::from_millis(20)).await;
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
        let peer_fd = fd.load(Ordering::SeqCst) as RawFd;
        let in_sockets = unsent_in_socket(peer_fd) + bytes_in_socket(&flooded) as usize;
        assert_eq!(last, written.load(Ordering::SeqCst), "{kind}: the flood settled");
        let held = last - in_sockets;
        assert!(
            held <= held_bound(),
            "{kind}: the unread stream holds {held} received bytes (sent {last}, \
             {in_sockets} in the sockets)"
        );
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
