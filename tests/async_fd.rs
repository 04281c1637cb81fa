//! `aioloop::net::AsyncFd`, tokio's `AsyncFd`: ports of the cases of tokio's
//! tests/io_async_fd.rs that hold for a single-threaded loop (readiness after data, clearing
//! through `clear_ready` and through `try_io`'s `WouldBlock`, a guard dropped keeps the
//! readiness, writable until full, every waiter woken, `into_inner`), plus the registration
//! checks shared with `Loop::add_reader`, and tokio's `Interest`/`Ready` surface (`with_interest`,
//! `try_new`, `ready`, `clear_ready_matching`, the `_mut` guards, `async_io_mut`). Run under both io drivers
//! (`AIOLOOP_IO_DRIVER=epoll` / `io_uring`).

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::rc::Rc;

use aioloop::net::{AsyncFd, Interest, Ready};

mod support;
use support::sockets::{pending_now, poll_once, tcp_pair, within};

/// A connected pair of non-blocking Unix sockets.
fn socketpair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Reads until `WouldBlock` through `try_io`, as tokio's `drain` does; how many bytes came.
async fn drain(fd: &AsyncFd<UnixStream>) -> usize {
    let mut total = 0;
    let mut buf = [0; 4096];
    loop {
        let mut guard = fd.readable().await.unwrap();
        match guard.try_io(|fd| fd.get_ref().read(&mut buf)) {
            Ok(Ok(0)) => return total,
            Ok(Ok(n)) => total += n,
            Ok(Err(err)) => panic!("read failed: {err}"),
            Err(_would_block) => return total,
        }
    }
}

/// tokio's `initially_writable` and `reset_readable`: a new socket is writable and not
/// readable; data makes it readable; a read that meets `WouldBlock` through `try_io` clears
/// the readiness, so the next wait is for new data.
#[aioloop::test]
async fn test_readable_after_data_and_cleared_by_would_block() {
    let (a, mut b) = socketpair();
    let a = AsyncFd::new(a).unwrap();
    within(a.writable()).await.unwrap().retain_ready();
    assert!(pending_now(a.readable()).await, "nothing to read yet");

    let mut readable = pin!(a.readable());
    assert!(poll_once(readable.as_mut()).await.is_pending());
    b.write_all(b"hello").unwrap();
    let mut guard = within(readable).await.unwrap();
    let mut buf = [0; 16];
    let n = guard.try_io(|fd| fd.get_ref().read(&mut buf)).unwrap().unwrap();
    assert_eq!(&buf[..n], b"hello");
    // Still ready until an operation meets WouldBlock.
    let mut guard = within(a.readable()).await.unwrap();
    assert!(guard.try_io(|fd| fd.get_ref().read(&mut buf)).is_err());
    assert!(
        pending_now(a.readable()).await,
        "WouldBlock cleared the readiness"
    );

    b.write_all(b"more").unwrap();
    assert_eq!(within(drain(&a)).await, 4);
}

/// tokio's `clear_ready` semantics: `clear_ready` forgets the readiness even with data
/// unread (the edge was consumed: the next wait is for the next edge); dropping a guard, or
/// `retain_ready`, keeps it.
#[aioloop::test]
async fn test_clear_ready_waits_for_the_next_edge() {
    let (a, mut b) = socketpair();
    let a = AsyncFd::new(a).unwrap();
    b.write_all(b"1").unwrap();
    drop(within(a.readable()).await.unwrap());
    within(a.readable()).await.unwrap().retain_ready();
    let mut guard = within(a.readable()).await.unwrap();
    guard.clear_ready();
    assert!(
        pending_now(a.readable()).await,
        "cleared: waits although a byte is unread"
    );
    b.write_all(b"2").unwrap();
    assert_eq!(within(drain(&a)).await, 2);
}

/// tokio's `reset_writable`: writes until the buffer is full meet `WouldBlock`, which clears
/// the write readiness; once the peer reads, the socket is writable again.
#[aioloop::test]
async fn test_writable_until_full_then_again_after_the_peer_reads() {
    let (a, b) = socketpair();
    let a = AsyncFd::new(a).unwrap();
    let b = AsyncFd::new(b).unwrap();
    let chunk = vec![0u8; 65536];
    loop {
        let mut guard = within(a.writable()).await.unwrap();
        if guard.try_io(|fd| fd.get_ref().write(&chunk)).is_err() {
            break;
        }
    }
    assert!(pending_now(a.writable()).await, "full: waits for room");
    let mut writable = pin!(a.writable());
    assert!(poll_once(writable.as_mut()).await.is_pending());
    assert!(within(drain(&b)).await > 0);
    within(writable).await.unwrap().retain_ready();
}

/// tokio's `multiple_waiters`: every task waiting for a direction is woken by its edge.
#[aioloop::test]
async fn test_every_waiter_is_woken() {
    let (a, mut b) = socketpair();
    let a = Rc::new(AsyncFd::new(a).unwrap());
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let a = a.clone();
            aioloop::spawn(async move {
                a.readable().await.unwrap().retain_ready();
            })
        })
        .collect();
    aioloop::yield_now().await;
    b.write_all(b"x").unwrap();
    for waiter in waiters {
        within(waiter).await.unwrap();
    }
}

/// tokio's `async_io`: waits, runs the operation, and waits again after `WouldBlock`.
#[aioloop::test]
async fn test_async_io_retries_after_would_block() {
    let (a, mut b) = socketpair();
    let a = AsyncFd::new(a).unwrap();
    let writer = aioloop::spawn(async move {
        aioloop::sleep(std::time::Duration::from_millis(5)).await;
        b.write_all(b"late").unwrap();
        b
    });
    let mut buf = [0; 16];
    let n = within(a.async_io(Interest::READABLE, |sock| (&*sock).read(&mut buf)))
        .await
        .unwrap();
    assert_eq!(&buf[..n], b"late");
    drop(writer.await.unwrap());
    // The peer closed: read closed is final, never cleared, as the end of file stays visible.
    let n = within(a.async_io(Interest::READABLE, |sock| (&*sock).read(&mut buf)))
        .await
        .unwrap();
    assert_eq!(n, 0);
    let mut guard = within(a.readable()).await.unwrap();
    guard.clear_ready();
    within(a.readable()).await.unwrap().retain_ready();
}

/// `into_inner` deregisters and hands the object back open: it can be registered again.
#[aioloop::test]
async fn test_into_inner_deregisters() {
    let (a, mut b) = socketpair();
    let fd = a.as_raw_fd();
    let a = AsyncFd::new(a).unwrap();
    assert_eq!(a.as_raw_fd(), fd);
    let a = a.into_inner();
    let a = AsyncFd::new(a).expect("registered again after into_inner");
    b.write_all(b"x").unwrap();
    assert_eq!(within(drain(&a)).await, 1);
}

/// A descriptor the loop drives already (an aioloop `TcpStream`'s, another `AsyncFd`'s, an
/// `add_reader` watch's) is refused with `AlreadyExists` on both io drivers, and so is the
/// reverse; a regular file with `PermissionDenied` (epoll's `EPERM`, also under io_uring).
#[aioloop::test]
async fn test_a_registered_descriptor_is_refused() {
    let (client, _server) = tcp_pair().await;
    let err = AsyncFd::new(client.as_raw_fd()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);

    let (a, _b) = socketpair();
    let first = AsyncFd::new(a.as_raw_fd()).unwrap();
    let err = AsyncFd::new(a.as_raw_fd()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    let lp = aioloop::get_running_loop();
    let err = lp.add_reader(a.as_raw_fd(), || {}).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    drop(first);

    lp.add_writer(a.as_raw_fd(), || {}).unwrap();
    let err = AsyncFd::new(a.as_raw_fd()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert!(lp.remove_writer(a.as_raw_fd()));
    drop(AsyncFd::new(a.as_raw_fd()).expect("free again once the watch is removed"));

    let file = std::fs::File::open("Cargo.toml").unwrap();
    let err = AsyncFd::new(file).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
}

/// An `AsyncFd` belongs to its loop: waiting on it under another loop panics with a clear
/// message instead of waiting for ever.
#[test]
fn test_polled_under_another_loop_panics() {
    let (a, _b) = socketpair();
    let first = aioloop::EventLoop::new().unwrap();
    let fd = first.run_until_complete(async move { AsyncFd::new(a).unwrap() });
    let second = aioloop::EventLoop::new().unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        second.run_until_complete(async { fd.readable().await.unwrap().retain_ready() })
    }))
    .expect_err("polled under another loop");
    let panicked: &(dyn std::any::Any + Send) = &*panicked;
    let message = match panicked.downcast_ref::<String>() {
        Some(message) => message.as_str(),
        None => panicked.downcast_ref::<&str>().copied().unwrap_or_default(),
    };
    assert!(
        message.contains("outside the event loop that created it"),
        "{message}"
    );
}

/// tokio's `reset_writable`: writes until `WouldBlock` clear the writable state, so the next
/// wait is for the peer to read; it ends once the peer drained the buffer.
#[aioloop::test]
async fn reset_writable() {
    let (a, b) = socketpair();
    let a = AsyncFd::new(a).unwrap();
    let mut guard = within(a.writable()).await.unwrap();
    while guard.try_io(|fd| fd.get_ref().write(&[0; 512])).is_ok() {}
    let mut writable = pin!(a.writable());
    assert!(
        poll_once(writable.as_mut()).await.is_pending(),
        "full: not writable"
    );
    let b = AsyncFd::new(b).unwrap();
    assert!(within(drain(&b)).await > 0);
    within(writable).await.unwrap().retain_ready();
}

/// tokio's `try_io`: an operation that does not meet `WouldBlock` keeps the readiness; one
/// that does clears it, and new data wakes the wait again.
#[aioloop::test]
async fn try_io() {
    let (a, mut b) = socketpair();
    b.write_all(b"0").unwrap();
    let a = AsyncFd::new(a).unwrap();
    let mut guard = within(a.readable()).await.unwrap();
    a.get_ref().read_exact(&mut [0]).unwrap();
    let _ = guard.try_io(|_| Ok(()));
    within(a.readable()).await.unwrap().retain_ready(); // still readable
    let _ = guard.try_io(|_| io::Result::<()>::Err(io::ErrorKind::WouldBlock.into()));
    let mut readable = pin!(a.readable());
    assert!(poll_once(readable.as_mut()).await.is_pending(), "cleared");
    b.write_all(b"0").unwrap();
    within(readable).await.unwrap().retain_ready();
}

/// tokio's `drop_closes` and `reregister`: dropping the `AsyncFd` drops (closes) the inner
/// object; `into_inner` does not; an object whose drop does not close keeps the peer open.
#[aioloop::test]
async fn drop_closes() {
    let (a, mut b) = socketpair();
    let a = AsyncFd::new(a).unwrap();
    assert_eq!(b.read(&mut [0]).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    drop(a);
    assert_eq!(b.read(&mut [0]).unwrap(), 0, "the peer sees the close");

    let (a, mut b) = socketpair();
    let a = AsyncFd::new(a).unwrap().into_inner();
    assert_eq!(b.read(&mut [0]).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    drop(AsyncFd::new(a).expect("reregister"));

    let (a, mut b) = socketpair();
    let shared = Rc::new(a);
    drop(AsyncFd::new(RcFd(shared.clone())).unwrap());
    assert_eq!(b.read(&mut [0]).unwrap_err().kind(), io::ErrorKind::WouldBlock);
}

/// tokio's `ArcFd`: a descriptor whose owner is shared.
struct RcFd(Rc<UnixStream>);

impl AsRawFd for RcFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

/// `ready(Interest)` waits for either direction and says which it found; clearing only the
/// writable part (`clear_ready_matching`) keeps the read readiness.
#[aioloop::test]
async fn test_ready_reports_what_it_found_and_clears_only_what_is_asked() {
    let (a, mut b) = socketpair();
    let a = AsyncFd::new(a).unwrap();
    let both = Interest::READABLE | Interest::WRITABLE;
    let guard = within(a.ready(both)).await.unwrap();
    assert!(guard.ready().is_writable() && !guard.ready().is_readable());
    drop(guard);

    b.write_all(b"x").unwrap();
    // `ready` answers with what the reactor knows at once (writable): wait for the data's
    // edge first, then both are found.
    within(a.readable()).await.unwrap().retain_ready();
    let mut guard = within(a.ready(both)).await.unwrap();
    assert!(guard.ready().is_readable() && guard.ready().is_writable());
    guard.clear_ready_matching(Ready::WRITABLE);
    assert_eq!(guard.ready(), Ready::READABLE);
    drop(guard);
    assert!(pending_now(a.writable()).await, "writable cleared");
    let guard = within(a.ready(both)).await.unwrap();
    assert_eq!(guard.ready(), Ready::READABLE, "readable kept");
    drop(guard);

    // The peer's close is final: clearing never takes it away.
    assert_eq!(within(drain(&a)).await, 1); // read to WouldBlock: readable cleared
    drop(b);
    let mut guard = within(a.readable()).await.unwrap();
    assert!(guard.ready().is_read_closed());
    guard.clear_ready();
    let guard = within(a.readable()).await.unwrap();
    assert!(guard.ready().is_read_closed() && guard.ready().is_readable());
}

/// `with_interest`: a descriptor registered for reading only; waiting for writability on it
/// is a clear panic, not a wait for ever.
#[test]
fn test_with_interest_refuses_a_wait_it_cannot_answer() {
    let (a, mut b) = socketpair();
    let lp = aioloop::EventLoop::new().unwrap();
    let fd = lp.run_until_complete(async move {
        let a = AsyncFd::with_interest(a, Interest::READABLE).unwrap();
        b.write_all(b"x").unwrap();
        let guard = within(a.readable()).await.unwrap();
        assert_eq!(guard.ready(), Ready::READABLE);
        drop(guard);
        (a, b)
    });
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lp.run_until_complete(async { fd.0.writable().await.unwrap().retain_ready() })
    }))
    .expect_err("a wait for a direction not registered");
    let message = panicked.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("registered for READABLE only"), "{message}");
}

/// `try_new` gives the object back with the error, so a caller can fall back to blocking I/O.
#[aioloop::test]
async fn test_try_new_gives_the_object_back() {
    let file = std::fs::File::open("Cargo.toml").unwrap();
    let fd = file.as_raw_fd();
    let error = AsyncFd::try_new(file).unwrap_err();
    let message = error.to_string();
    let (mut file, cause) = error.into_parts();
    assert_eq!(message, cause.to_string(), "displayed as its cause");
    assert_eq!(cause.kind(), io::ErrorKind::PermissionDenied);
    assert_eq!(file.as_raw_fd(), fd);
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    assert!(text.contains("[package]"), "the file is still open and usable");
    let io_error: io::Error = AsyncFd::try_with_interest(file, Interest::WRITABLE)
        .unwrap_err()
        .into();
    assert_eq!(io_error.kind(), io::ErrorKind::PermissionDenied);
}

/// The `_mut` forms: `readable_mut`'s guard runs an operation that needs `&mut`, and
/// `async_io_mut` retries it after `WouldBlock`.
#[aioloop::test]
async fn test_mut_guards_and_async_io_mut() {
    let (a, mut b) = socketpair();
    let mut a = AsyncFd::new(a).unwrap();
    b.write_all(b"one").unwrap();
    let mut buf = [0; 16];
    let mut guard = within(a.readable_mut()).await.unwrap();
    let n = guard.try_io(|fd| fd.get_mut().read(&mut buf)).unwrap().unwrap();
    assert_eq!(&buf[..n], b"one");
    assert!(
        guard.try_io(|fd| fd.get_mut().read(&mut buf)).is_err(),
        "WouldBlock clears"
    );
    drop(guard);
    let writer = aioloop::spawn(async move {
        aioloop::sleep(std::time::Duration::from_millis(5)).await;
        b.write_all(b"two").unwrap();
        b
    });
    let n = within(a.async_io_mut(Interest::READABLE, |sock| sock.read(&mut buf)))
        .await
        .unwrap();
    assert_eq!(&buf[..n], b"two");
    drop(writer.await.unwrap());
    let mut guard = within(a.writable_mut()).await.unwrap();
    assert!(guard.ready().is_writable());
    guard.get_inner_mut().set_nonblocking(true).unwrap();
}
