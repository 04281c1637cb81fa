//! Sockets for the tokio network audits (tests/audit3_tokio_*.rs): a connected TCP pair, a
//! one-poll probe of a future, tokio's `write_until_pending` / `read_until_pending`, a temp dir,
//! and the bodies of the readiness tests that tcp_stream.rs and uds_stream.rs share.

// Each test file uses some of the macros.
#![allow(unused_macros, unused_imports)]

use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream};

/// The bound on every wait that a lost wakeup would turn into a hang.
pub const LIMIT: Duration = Duration::from_secs(10);

/// A connected pair on the loopback interface: `(client, server)`, as tokio's `create_pair`.
pub async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = aioloop::spawn(async move { TcpStream::connect(addr).await.unwrap() });
    let (server, _) = listener.accept().await.unwrap();
    (client.await.unwrap(), server)
}

/// Polls `fut` once, without letting the loop run: tokio-test's `task::spawn(..).poll()`.
pub async fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    let mut fut = Some(fut);
    poll_fn(|cx| Poll::Ready(fut.take().unwrap().poll(cx))).await
}

/// Whether `fut` is pending at its first poll (tokio's `assert_pending!`).
pub async fn pending_now(fut: impl Future) -> bool {
    poll_once(pin!(fut)).await.is_pending()
}

/// Awaits `fut` for at most [`LIMIT`]; a lost wakeup fails the test instead of hanging it.
pub async fn within<T>(fut: impl Future<Output = T>) -> T {
    aioloop::wait_for(fut, LIMIT)
        .await
        .expect("no wakeup within the limit")
}

/// tokio's `write_until_pending`: `try_write`s 1 MiB chunks until `WouldBlock`; how many bytes
/// went.
pub fn write_until_pending(try_write: impl Fn(&[u8]) -> io::Result<usize>) -> usize {
    let buf = vec![0u8; 1024 * 1024];
    let mut total = 0;
    loop {
        match try_write(&buf) {
            Ok(n) => total += n,
            Err(err) => {
                assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err:?}");
                return total;
            }
        }
    }
}

/// tokio's `read_until_pending`: `try_read`s until `WouldBlock`; how many bytes came.
pub fn read_until_pending(try_read: impl Fn(&mut [u8]) -> io::Result<usize>) -> usize {
    let mut buf = vec![0u8; 1024 * 1024];
    let mut total = 0;
    loop {
        match try_read(&mut buf) {
            Ok(n) => total += n,
            Err(err) => {
                assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err:?}");
                return total;
            }
        }
    }
}

/// A fresh directory under the system's temp dir, removed when dropped (tempfile's `TempDir`).
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// `aioloop-<name>-<pid>`, emptied first.
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("aioloop-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// A path inside the directory.
    pub fn join(&self, file: &str) -> std::path::PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits for `ready`, then tries `op`, until `op` does not meet `WouldBlock`: tokio's loops of
/// a readiness wait and a `try_*` call. Any other error panics.
pub async fn until_ready<T, R: Future<Output = io::Result<()>>>(
    mut ready: impl FnMut() -> R,
    mut op: impl FnMut() -> io::Result<T>,
) -> T {
    loop {
        ready().await.unwrap();
        match op() {
            Ok(done) => return done,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => panic!("{e:?}"),
        }
    }
}

/// The body of tokio's `try_read_write` (tcp_stream.rs, uds_stream.rs), non-vectored half, for
/// a connected `$client` and `$server` (TCP or Unix) and a chunk `$data`: a pending `readable`
/// is woken by the peer's write; `try_write` fills the socket while `writable` stays ready, then
/// `writable` is pending; the server drains every byte, in order, with `readable` and
/// `try_read`; once the client is dropped the server reads EOF (tokio's `is_read_closed`).
/// A short write ends the fill: it shows the buffer full (I2 in runtime/io/slots.rs), where
/// tokio writes until `WouldBlock`. Run it `unconstrained`: its hundreds of ready probes would
/// spend the coop budget.
macro_rules! try_read_write {
    ($client:ident, $server:ident, $data:expr) => {{
        use std::pin::pin;
        use support::sockets::{pending_now, poll_once, within};
        let data: &[u8] = $data;
        let mut written = data.to_vec();

        let mut readable = pin!($server.readable());
        assert!(poll_once(readable.as_mut()).await.is_pending());
        $client.writable().await.unwrap();
        assert_eq!($client.try_write(data).unwrap(), data.len());
        within(readable).await.unwrap();

        loop {
            assert!(!pending_now($client.writable()).await, "still writable");
            match $client.try_write(data) {
                Ok(n) if n < data.len() => {
                    written.extend(&data[..n]);
                    break;
                }
                Ok(n) => written.extend(&data[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("error = {e:?}"),
            }
        }
        assert!(pending_now($client.writable()).await, "write buffer full");

        let mut read = vec![0; written.len()];
        let mut i = 0;
        while i < read.len() {
            within($server.readable()).await.unwrap();
            match $server.try_read(&mut read[i..]) {
                Ok(0) => panic!("EOF after {i} of {} bytes", read.len()),
                Ok(n) => i += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => panic!("error = {e:?}"),
            }
        }
        assert_eq!(read, written);

        drop($client);
        loop {
            within($server.readable()).await.unwrap();
            match $server.try_read(&mut [0; 16]) {
                Ok(0) => break,
                Ok(n) => panic!("{n} bytes after the drained stream"),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => aioloop::yield_now().await,
                Err(e) => panic!("error = {e:?}"),
            }
        }
    }};
}
pub(crate) use try_read_write;

/// The body of tokio's `poll_read_ready` (tcp_stream.rs, uds_stream.rs), through `readable()`
/// polled once: not readable at first; readable once data came; not readable once a read met
/// `WouldBlock`; readable again when the peer goes away.
macro_rules! poll_read_ready {
    ($client:ident, $server:ident) => {{
        use support::sockets::{pending_now, read_until_pending, within};
        assert!(pending_now($server.readable()).await);

        $client.write_all(b"ping").await.unwrap();
        within($server.readable()).await.unwrap();

        let mut buf = [0u8; 4];
        $server.read_exact(&mut buf).await.unwrap();
        // tokio then asserts "still readable" (its readiness is cleared only by
        // `WouldBlock`). aioloop does not promise it: on epoll the readiness stays (the read
        // was not short), but on io_uring's completion form `readable` looks at the bytes the
        // stream holds, and there are none, so it waits. Either is allowed by `readable`'s
        // contract (a hint; `try_read` decides).
        read_until_pending(|buf| $server.try_read(buf));
        assert!(pending_now($server.readable()).await);

        drop($client);
        within($server.readable()).await.unwrap();
    }};
}
pub(crate) use poll_read_ready;

/// The body of tokio's `poll_write_ready` (tcp_stream.rs, uds_stream.rs), through `writable()`
/// polled once: writable at first; not writable once `try_write` met `WouldBlock`; writable
/// again when the peer goes away.
macro_rules! poll_write_ready {
    ($client:ident, $server:ident) => {{
        use support::sockets::{pending_now, within, write_until_pending};
        assert!(!pending_now($client.writable()).await);
        write_until_pending(|buf| $client.try_write(buf));
        assert!(pending_now($client.writable()).await);
        drop($server);
        within($client.writable()).await.unwrap();
    }};
}
pub(crate) use poll_write_ready;
