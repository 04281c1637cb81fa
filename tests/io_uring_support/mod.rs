//! Helpers of the io_uring suites (tests/io_uring_recv.rs, tests/io_uring_send.rs): every
//! test runs its body on each driver the machine has, one test at a time.

#![allow(dead_code)] // each suite uses some of these

pub mod flood;

use std::os::fd::AsRawFd;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream};
use aioloop::{EventLoop, IoDriverKind};

/// The fd tests look at descriptor numbers (and the ring test wants the machine's sockets):
/// the tests run one at a time.
pub static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the lock: every test of these suites holds it.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every driver a loop can run here (io_uring with the completion form of reads and writes,
/// which these tests turn on with `Builder::io_uring_completion`).
pub fn drivers() -> Vec<IoDriverKind> {
    let mut kinds = vec![IoDriverKind::Epoll];
    if EventLoop::builder()
        .io_driver(IoDriverKind::IoUring)
        .build()
        .is_ok()
    {
        kinds.push(IoDriverKind::IoUring);
    }
    kinds
}

/// Runs `fut` on a loop of driver `kind` (the completion form on), failing after a minute.
pub fn run_on(kind: IoDriverKind, fut: impl std::future::Future<Output = ()>) {
    let lp = EventLoop::builder()
        .io_driver(kind)
        .io_uring_completion(true)
        .build()
        .unwrap();
    lp.run_until_complete(async move {
        aioloop::wait_for(fut, Duration::from_secs(60))
            .await
            .unwrap_or_else(|_| panic!("{kind}: the test hung"));
    });
}

/// Runs the test body `test(kind)` on every driver this machine has ([`drivers`], each loop
/// as [`run_on`] makes it), holding [`serial`]'s lock throughout.
pub fn on_every_driver<F, Fut>(test: F)
where
    F: Fn(IoDriverKind) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let _serial = serial();
    for kind in drivers() {
        run_on(kind, test(kind));
    }
}

/// How many received bytes wait in `stream`'s socket (`FIONREAD`), not yet taken by a read or
/// by the kernel's receive into the loop's buffers.
pub fn bytes_in_socket(stream: &TcpStream) -> libc::c_int {
    let mut in_socket: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which is valid for the call.
    let rc = unsafe { libc::ioctl(stream.as_raw_fd(), libc::FIONREAD, &mut in_socket) };
    assert_eq!(rc, 0, "FIONREAD: {}", std::io::Error::last_os_error());
    in_socket
}

/// How many bytes the TCP socket `fd` has received in order since it connected
/// (`tcpi_bytes_received` of `TCP_INFO`, Linux 4.1): those taken out of it (by reads, or by
/// the kernel's receives into the loop's buffers) plus those still in it (`FIONREAD`).
pub fn bytes_received(fd: std::os::fd::RawFd) -> u64 {
    // `struct tcp_info` (linux/tcp.h): `tcpi_bytes_received` is the `__u64` at byte 128.
    const AT: usize = 128;
    let mut info = [0u64; 32];
    let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `info`, valid for the call, and
    // stores the length it wrote in `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "TCP_INFO: {}", std::io::Error::last_os_error());
    assert!(
        len as usize >= AT + 8,
        "TCP_INFO without tcpi_bytes_received ({len} bytes)"
    );
    info[AT / 8]
}

/// How many received bytes `stream`'s socket gave up (to reads, or to the kernel's receives
/// into the loop's buffers): [`bytes_received`] less [`bytes_in_socket`], both of one moment
/// (taken again until no byte arrived between them; bytes taken out between them count, as
/// they should).
pub fn bytes_taken_from(stream: &TcpStream) -> u64 {
    loop {
        let before = bytes_received(stream.as_raw_fd());
        let in_socket = bytes_in_socket(stream) as u64;
        if bytes_received(stream.as_raw_fd()) == before {
            return before - in_socket;
        }
    }
}

/// How many bytes written to the socket `fd` the kernel has not yet delivered to its peer
/// (`SIOCOUTQ`).
pub fn unsent_in_socket(fd: std::os::fd::RawFd) -> usize {
    let mut queued: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one c_int through the pointer, valid for the call.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut queued) };
    assert_eq!(rc, 0, "SIOCOUTQ: {}", std::io::Error::last_os_error());
    queued as usize
}

/// A connected pair: (accepted, connected).
pub async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connect = aioloop::spawn(TcpStream::connect(addr));
    let (server, _) = listener.accept().await.unwrap();
    (server, connect.await.unwrap().unwrap())
}

/// `len` bytes of a pattern that shows reordering.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Reads `stream` to EOF (or its error), returning the bytes and how it ended.
pub async fn read_all(stream: &TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 7000];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => return (out, Ok(())),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(err) => return (out, Err(err)),
        }
    }
}

/// How many descriptors this process has open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count())
}

/// How many descriptors are open once the count fell to `before` or half a second passed
/// (the closing completions come within an iteration or two).
pub async fn fds_settle_to(before: usize) -> usize {
    for _ in 0..50 {
        if open_fds() <= before {
            break;
        }
        aioloop::sleep(Duration::from_millis(10)).await;
    }
    open_fds()
}

/// A bulk transfer read with reads of every kind in turn: large ones (64 KiB, and exactly
/// 16 KiB, the least that goes to the socket directly once a receive brought a bulk of bytes,
/// runtime/io/uring/recv.rs `DIRECT_MIN`), one byte less, small ones, peeks, `try_read`s, and
/// pauses that let the receive fill the stream to its cap between them, so the stream goes
/// from its received bytes to its socket and back many times. Every byte arrives once, in
/// order, then the end.
pub async fn mixed_reads_keep_order(kind: IoDriverKind) {
    let (server, client) = pair().await;
    let data = pattern(6 << 20);
    let sent = data.clone();
    let writer = aioloop::spawn(async move {
        let mut at = 0;
        let mut round = 0usize;
        while at < sent.len() {
            let end = (at + [256 * 1024, 100, 70_000, 4096][round % 4]).min(sent.len());
            client.write_all(&sent[at..end]).await.unwrap();
            at = end;
            round += 1;
            if round % 13 == 0 {
                client.flush().await.unwrap();
                aioloop::sleep(Duration::from_millis(1)).await;
            }
        }
        client.flush().await.unwrap();
    });
    let mut got = Vec::with_capacity(data.len());
    let mut buf = vec![0u8; 64 * 1024];
    let mut peeked = vec![0u8; 64 * 1024];
    let mut round = 0usize;
    loop {
        round += 1;
        let len = [65_536, 16_384, 16_383, 100, 65_536, 65_536, 1, 20_000][round % 8];
        if round % 29 == 0 {
            aioloop::sleep(Duration::from_millis(2)).await;
        }
        if round % 17 == 0 {
            let n = server.peek(&mut peeked[..len]).await.unwrap();
            let m = server.read(&mut buf[..n]).await.unwrap();
            assert_eq!(
                buf[..m],
                peeked[..m],
                "{kind}: a read after a peek saw other bytes"
            );
            got.extend_from_slice(&buf[..m]);
        }
        let n = if round % 11 == 0 {
            match server.try_read(&mut buf[..len]) {
                Ok(n) => n,
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(err) => panic!("{kind}: {err}"),
            }
        } else {
            server.read(&mut buf[..len]).await.unwrap()
        };
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        assert!(got.len() <= data.len(), "{kind}: more bytes than were sent");
    }
    writer.await.unwrap();
    assert_eq!(got.len(), data.len(), "{kind}: bytes lost");
    assert!(got == data, "{kind}: the bytes came out of order or changed");
}
