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
