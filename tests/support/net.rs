//! Sockets for the tokio network audits (tests/audit3_tokio_*.rs): a connected TCP pair, a
//! one-poll probe of a future, and tokio's `write_until_pending` / `read_until_pending`.

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
