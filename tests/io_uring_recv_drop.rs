//! Issue 20, item 3 ("no loss, no leak, no use-after-free under cancellation"): streams dropped
//! while their receives are in the kernel, the peers still sending. On io_uring a stream's
//! receive is a multishot receive with a total (Linux 6.17) or, before 6.17 and with
//! `AIOLOOP_IO_URING_RECV_TOTAL=0`, a chain of linked single receives, whose later receives
//! find their descriptor by number only when the kernel starts them: a receive of a dropped
//! stream left in the kernel would read from whichever socket took the number next, or keep
//! the old socket open. Each round drops many streams mid-read, at once, then accepts new
//! connections right away (taking the freed descriptor numbers), and checks that no byte of
//! an old stream shows up in a new one, that the new streams lose nothing, that every old
//! peer sees its connection closed, and that no descriptor is left open. Runs on every driver
//! the machine has, with and without the multishot receive's total.

mod io_uring_support;

use std::io::{ErrorKind, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aioloop::net::TcpListener;
use aioloop::IoDriverKind;
use io_uring_support::{drivers, fds_settle_to, open_fds, read_all, run_on, serial};

/// Streams dropped in each round.
const OLD: usize = 24;
/// Connections accepted right after the drop in each round.
const NEW: usize = 24;
const ROUNDS: usize = 4;
/// What each new connection's peer sends.
const NEW_BYTES: usize = 128 * 1024;
/// The only byte the old peers send; the new peers' patterns never have it.
const OLD_BYTE: u8 = 0xFF;

/// The pattern a new peer whose port is `port` sends: bytes below 251, shifted by the port,
/// so a byte from another connection or out of order shows.
fn pattern_of(port: u16, len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i + usize::from(port)) % 251) as u8).collect()
}

/// An old peer: writes [`OLD_BYTE`]s without blocking until the connection fails (its stream
/// was dropped and closed); `Err` if it still takes bytes ten seconds after `dropped` was set.
/// A `flood`ing peer writes as fast as the socket takes them (its stream stops at its cap and
/// starts again as it is read); the others trickle (a few hundred bytes a millisecond, so
/// their streams' receives wait in the kernel, a chain of single receives part done).
fn old_peer(
    addr: std::net::SocketAddr,
    flood: bool,
    dropped: Arc<AtomicBool>,
) -> JoinHandle<Result<(), String>> {
    std::thread::spawn(move || {
        let mut socket = std::net::TcpStream::connect(addr).unwrap();
        socket.set_nonblocking(true).unwrap();
        let chunk = [OLD_BYTE; 8192];
        let len = if flood { chunk.len() } else { 300 };
        let mut since: Option<Instant> = None;
        loop {
            match socket.write(&chunk[..len]) {
                Ok(_) if flood => {}
                Ok(_) => std::thread::sleep(Duration::from_millis(1)),
                Err(err) if err.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(_) => return Ok(()), // reset or broken pipe: the socket closed
            }
            if dropped.load(Ordering::SeqCst) {
                if since.is_none() {
                    // A pause while the new connections take the freed descriptor numbers:
                    // a receive of the dropped stream left in the kernel completes after it,
                    // and the next one of its chain would find a new socket by the number.
                    std::thread::sleep(Duration::from_millis(30));
                }
                let since = *since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(10) {
                    return Err(
                        "an old connection still takes bytes 10 s after its stream was dropped".into(),
                    );
                }
            }
        }
    })
}

/// A new peer: sends its pattern ([`pattern_of`] its own port) after a pause, then its end.
fn new_peer(addr: std::net::SocketAddr) -> JoinHandle<Result<(), String>> {
    std::thread::spawn(move || {
        let mut socket = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
        let port = socket.local_addr().unwrap().port();
        // Once the old peers sent again (a receive of a dropped stream reading from this
        // socket by its number would take these bytes).
        std::thread::sleep(Duration::from_millis(60));
        socket
            .write_all(&pattern_of(port, NEW_BYTES))
            .map_err(|e| e.to_string())?;
        socket
            .shutdown(std::net::Shutdown::Write)
            .map_err(|e| e.to_string())
    })
}

/// Waits for a peer thread without blocking the loop (whose completions may be what it
/// waits for).
async fn join(peer: JoinHandle<Result<(), String>>) -> Result<(), String> {
    while !peer.is_finished() {
        aioloop::sleep(Duration::from_millis(5)).await;
    }
    peer.join().unwrap()
}

/// One round: `OLD` streams read for a while (their receives armed again and again, the peers
/// flooding), then dropped at once mid-read; `NEW` connections accepted at once after, whose
/// bytes must all arrive, in order, with no byte of an old stream among them. Returns how
/// many new streams got a descriptor number an old one had.
async fn round(kind: IoDriverKind, listener: &TcpListener) -> usize {
    let addr = listener.local_addr().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let old_peers: Vec<_> = (0..OLD)
        .map(|i| old_peer(addr, i % 3 == 0, dropped.clone()))
        .collect();
    let mut readers = Vec::new();
    let mut old_fds: Vec<RawFd> = Vec::new();
    for _ in 0..OLD {
        let (stream, _) = listener.accept().await.unwrap();
        old_fds.push(stream.as_raw_fd());
        readers.push(aioloop::spawn(async move {
            let mut buf = vec![0u8; 3000];
            let reads = async {
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => panic!("an old peer never ends"),
                        Ok(n) => assert!(buf[..n].iter().all(|&b| b == OLD_BYTE)),
                    }
                }
            };
            // The read in progress is dropped, then the stream, its receive in the kernel.
            let _ = aioloop::wait_for(reads, Duration::from_millis(40)).await;
            drop(stream);
        }));
    }
    for reader in readers {
        reader.await.unwrap();
    }
    dropped.store(true, Ordering::SeqCst);

    let new_peers: Vec<_> = (0..NEW).map(|_| new_peer(addr)).collect();
    let mut checks = Vec::new();
    let mut reused = 0;
    for _ in 0..NEW {
        let (stream, from) = listener.accept().await.unwrap();
        reused += usize::from(old_fds.contains(&stream.as_raw_fd()));
        checks.push(aioloop::spawn(async move {
            let (got, end) = read_all(&stream).await;
            end.unwrap();
            let stolen = got.iter().filter(|&&b| b == OLD_BYTE).count();
            assert_eq!(stolen, 0, "{kind}: bytes of a dropped stream in a new one");
            assert_eq!(got.len(), NEW_BYTES, "{kind}: a new stream lost bytes");
            assert!(
                got == pattern_of(from.port(), NEW_BYTES),
                "{kind}: a new stream's bytes out of order or changed"
            );
        }));
    }
    for check in checks {
        check.await.unwrap();
    }
    for peer in new_peers {
        join(peer).await.unwrap();
    }
    for peer in old_peers {
        join(peer).await.unwrap_or_else(|err| panic!("{kind}: {err}"));
    }
    reused
}

/// Rounds of [`round`] on every driver, with the descriptor count back where it started.
fn dropped_streams_with_receives_in_flight(total: bool) {
    let _serial = serial();
    let outside = std::env::var_os("AIOLOOP_IO_URING_RECV_TOTAL");
    if total {
        std::env::remove_var("AIOLOOP_IO_URING_RECV_TOTAL");
    } else {
        std::env::set_var("AIOLOOP_IO_URING_RECV_TOTAL", "0");
    }
    for kind in drivers() {
        run_on(kind, async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let before = open_fds();
            let mut reused = 0;
            for _ in 0..ROUNDS {
                reused += round(kind, &listener).await;
            }
            let after = fds_settle_to(before).await;
            assert_eq!(after, before, "{kind}: descriptors left open");
            eprintln!("{kind}: {reused} new streams took an old stream's descriptor number");
        });
    }
    match outside {
        Some(value) => std::env::set_var("AIOLOOP_IO_URING_RECV_TOTAL", value),
        None => std::env::remove_var("AIOLOOP_IO_URING_RECV_TOTAL"),
    }
}

/// Chains of single receives (kernels before 6.17; `AIOLOOP_IO_URING_RECV_TOTAL=0`): streams
/// dropped mid-chain lose no byte of the streams after them, and close.
#[test]
fn issue20_streams_dropped_mid_chain_close_and_leak_no_byte_into_new_ones() {
    dropped_streams_with_receives_in_flight(false);
}

/// The same with the multishot receive's total where the kernel has it (6.17).
#[test]
fn issue20_streams_dropped_mid_receive_close_and_leak_no_byte_into_new_ones() {
    dropped_streams_with_receives_in_flight(true);
}
