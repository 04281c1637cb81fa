//! asyncio's `loop.add_reader` / `remove_reader` / `add_writer` / `remove_writer` on
//! `aioloop::Loop`: ports of test_events.py's `test_reader_callback` / `test_writer_callback`
//! and of test_selector_events.py's `test_add_reader*` / `test_remove_reader*` /
//! `test_add_writer*` (there against a mocked selector, here against real socket pairs),
//! plus the level-triggered behaviour asyncio's selectors give and aioloop emulates over its
//! edge-triggered reactor. Run under both io drivers (`AIOLOOP_IO_DRIVER=epoll` / `io_uring`).

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use aioloop::get_running_loop;

mod support;
use support::protocols::until;
use support::sockets::tcp_pair;
use support::{yields, Drops};

/// A connected pair of non-blocking Unix sockets `(r, w)`, shared so callbacks can use them.
fn socketpair() -> (Rc<UnixStream>, Rc<UnixStream>) {
    let (r, w) = UnixStream::pair().unwrap();
    r.set_nonblocking(true).unwrap();
    w.set_nonblocking(true).unwrap();
    (Rc::new(r), Rc::new(w))
}

/// A counter and a callback that bumps it.
fn counter() -> (Rc<Cell<usize>>, impl FnMut() + 'static) {
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    (count, move || c.set(c.get() + 1))
}

/// Reads whatever `sock` holds (it is non-blocking).
fn drain(sock: &UnixStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match (&*sock).read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return out,
            Err(err) => panic!("read failed: {err}"),
        }
    }
}

/// Asserts the callback counted by `calls` is called once per iteration: 15 to 20 calls in
/// 20 iterations (it may start late in the first).
async fn assert_called_per_iteration(calls: &Cell<usize>) {
    let before = calls.get();
    yields(20).await;
    let during = calls.get() - before;
    assert!(
        (15..=20).contains(&during),
        "one call per iteration: {during} in 20 iterations"
    );
}

/// Asserts the callback counted by `calls` is not called (once a call already queued ran)
/// in 20 iterations and 20 ms; returns the count.
async fn assert_not_called(calls: &Cell<usize>, why: &str) -> usize {
    yields(3).await;
    let settled = calls.get();
    yields(20).await;
    aioloop::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(calls.get(), settled, "{why}");
    settled
}

/// test_events.py `test_reader_callback`: the reader gets the bytes as they come, and removes
/// itself at EOF (`remove_reader` answering true).
#[aioloop::test]
async fn test_reader_callback() {
    let lp = get_running_loop();
    let (r, w) = socketpair();
    let fd = r.as_raw_fd();
    let bytes_read = Rc::new(RefCell::new(Vec::new()));
    let removed = Rc::new(Cell::new(false));
    let (sock, got, done, handle) = (r.clone(), bytes_read.clone(), removed.clone(), lp.clone());
    lp.add_reader(fd, move || {
        let mut buf = [0; 1024];
        match (&*sock).read(&mut buf) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {} // spurious readiness
            Err(err) => panic!("{err}"),
            Ok(0) => {
                assert!(handle.remove_reader(fd));
                done.set(true);
            }
            Ok(n) => got.borrow_mut().extend_from_slice(&buf[..n]),
        }
    })
    .unwrap();
    (&*w).write_all(b"abc").unwrap();
    until(|| bytes_read.borrow().len() >= 3).await;
    (&*w).write_all(b"def").unwrap();
    until(|| bytes_read.borrow().len() >= 6).await;
    drop(w);
    until(|| removed.get()).await;
    assert_eq!(*bytes_read.borrow(), b"abcdef");
    assert!(!lp.remove_reader(fd), "it removed itself");
}

/// asyncio's selectors are level-triggered: a reader that leaves the data unread is called
/// again in every iteration, once per iteration; once it drains the socket it is not called
/// until more data comes.
#[aioloop::test]
async fn test_reader_called_once_per_iteration_while_data_is_unread() {
    let lp = get_running_loop();
    let (r, w) = socketpair();
    let (calls, bump) = counter();
    lp.add_reader(r.as_raw_fd(), bump).unwrap();
    (&*w).write_all(b"x").unwrap();
    until(|| calls.get() > 0).await;
    assert_called_per_iteration(&calls).await;

    // Drained: no more calls, however many iterations run.
    assert_eq!(drain(&r), b"x");
    let settled = assert_not_called(&calls, "not called while nothing is readable").await;

    // New data is a new edge: called again.
    (&*w).write_all(b"y").unwrap();
    until(|| calls.get() > settled).await;
    assert!(lp.remove_reader(r.as_raw_fd()));
}

/// test_selector_events.py `test_remove_reader` and `test_remove_reader_unknown`: removing
/// answers whether there was a reader; a removed reader is never called again, data or not.
#[aioloop::test]
async fn test_remove_reader() {
    let lp = get_running_loop();
    let (r, w) = socketpair();
    let fd = r.as_raw_fd();
    assert!(!lp.remove_reader(fd), "nothing registered yet");
    let (calls, bump) = counter();
    lp.add_reader(fd, bump).unwrap();
    (&*w).write_all(b"unread").unwrap();
    until(|| calls.get() > 0).await;
    assert!(lp.remove_reader(fd));
    assert_not_called(&calls, "not called after remove_reader").await;
    assert!(!lp.remove_reader(fd));
    assert!(!lp.remove_writer(fd));
}

/// A call already queued when the reader is removed does not run (asyncio cancels its
/// handle): the reader removes itself in its first call and is called exactly once, though
/// the data stays unread.
#[aioloop::test]
async fn test_remove_reader_from_its_callback() {
    let lp = get_running_loop();
    let (r, w) = socketpair();
    let fd = r.as_raw_fd();
    let calls = Rc::new(Cell::new(0));
    let (c, handle) = (calls.clone(), lp.clone());
    lp.add_reader(fd, move || {
        c.set(c.get() + 1);
        assert!(handle.remove_reader(fd));
    })
    .unwrap();
    (&*w).write_all(b"unread").unwrap();
    until(|| calls.get() > 0).await;
    yields(10).await;
    assert_eq!(calls.get(), 1);
}

/// A reader that removes and adds itself again in each call (asyncio code does that to
/// swap callbacks) is still called once per iteration: the call queued for the removed one
/// does not run besides the new one's. (A writer keeps the descriptor's watch alive
/// meanwhile, so the reader comes back to the same watch.)
#[aioloop::test]
async fn test_reader_readding_itself_is_called_once_per_iteration() {
    fn readd(lp: aioloop::Loop, fd: std::os::fd::RawFd, calls: Rc<Cell<usize>>) {
        let handle = lp.clone();
        lp.add_reader(fd, move || {
            calls.set(calls.get() + 1);
            assert!(handle.remove_reader(fd));
            readd(handle.clone(), fd, calls.clone());
        })
        .unwrap();
    }
    let lp = get_running_loop();
    let (r, w) = socketpair();
    let calls = Rc::new(Cell::new(0));
    lp.add_writer(r.as_raw_fd(), || {}).unwrap();
    readd(lp.clone(), r.as_raw_fd(), calls.clone());
    (&*w).write_all(b"unread").unwrap();
    until(|| calls.get() > 0).await;
    assert_called_per_iteration(&calls).await;
    assert!(lp.remove_reader(r.as_raw_fd()));
    assert!(lp.remove_writer(r.as_raw_fd()));
}

/// test_events.py `test_writer_callback`: the writer is called while the socket is
/// writable; `remove_writer` answers true, then false.
#[aioloop::test]
async fn test_writer_callback() {
    let lp = get_running_loop();
    let (r, w) = socketpair();
    let data = vec![b'x'; 1024];
    let written = Rc::new(Cell::new(false));
    let (sock, payload, done) = (w.clone(), data.clone(), written.clone());
    lp.add_writer(w.as_raw_fd(), move || {
        if !done.get() {
            (&*sock).write_all(&payload).unwrap();
            done.set(true);
        }
    })
    .unwrap();
    until(|| written.get()).await;
    assert!(lp.remove_writer(w.as_raw_fd()));
    assert!(!lp.remove_writer(w.as_raw_fd()));
    drop(w);
    assert_eq!(drain(&r), data);
}

/// Level-triggered writing: the writer is called once per iteration while the socket has
/// room; once it filled the buffer it is not called, until the peer reads and makes room.
#[aioloop::test]
async fn test_writer_called_while_writable_and_again_once_there_is_room() {
    let lp = get_running_loop();
    let (r, w) = socketpair();
    let (calls, bump) = counter();
    lp.add_writer(w.as_raw_fd(), bump).unwrap();
    until(|| calls.get() > 0).await;
    let before = calls.get();
    yields(20).await;
    let during = calls.get() - before;
    assert!(
        (15..=20).contains(&during),
        "one call per iteration: {during} in 20"
    );

    // Fill the socket's buffer from outside the callback: no more calls.
    while (&*w).write(&[0; 65536]).is_ok() {}
    yields(3).await;
    let full = calls.get();
    yields(20).await;
    aioloop::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(calls.get(), full, "not called while the buffer is full");

    // The peer reads: room again, a new edge.
    assert!(!drain(&r).is_empty());
    until(|| calls.get() > full).await;
    assert!(lp.remove_writer(w.as_raw_fd()));
}

/// test_selector_events.py `test_add_reader_existing`: a second add_reader for the same
/// descriptor replaces the callback; the first is never called again (and is dropped).
#[aioloop::test]
async fn test_add_reader_existing() {
    let lp = get_running_loop();
    let (r, w) = socketpair();
    let fd = r.as_raw_fd();
    let drops = Drops::new();
    let (first, mut bump_first) = counter();
    let guard = drops.guard();
    lp.add_reader(fd, move || {
        let _keep = &guard;
        bump_first();
    })
    .unwrap();
    (&*w).write_all(b"unread").unwrap();
    until(|| first.get() > 0).await;
    let (second, bump_second) = counter();
    lp.add_reader(fd, bump_second).unwrap();
    assert_eq!(drops.count(), 1, "the replaced callback is dropped at once");
    let first_calls = first.get();
    until(|| second.get() >= 5).await;
    assert_eq!(
        first.get(),
        first_calls,
        "the replaced callback is never called again"
    );
    assert!(lp.remove_reader(fd));
    assert!(!lp.remove_reader(fd), "one reader per descriptor");
}

/// test_selector_events.py `test_add_reader_existing_writer`, `test_remove_reader_read_write`
/// and `test_remove_writer_read_write`: a reader and a writer of one descriptor coexist (one
/// registration with the reactor); removing one leaves the other.
#[aioloop::test]
async fn test_reader_and_writer_on_one_descriptor() {
    let lp = get_running_loop();
    let (r, w) = socketpair();
    let fd = r.as_raw_fd();
    let (reads, read_bump) = counter();
    let (writes, write_bump) = counter();
    let tasks = aioloop::all_tasks().len();
    lp.add_writer(fd, write_bump).unwrap();
    lp.add_reader(fd, read_bump).unwrap();
    assert_eq!(
        aioloop::all_tasks().len(),
        tasks,
        "watches are no tasks, as asyncio's readers"
    );
    (&*w).write_all(b"unread").unwrap();
    until(|| reads.get() >= 3 && writes.get() >= 3).await;

    assert!(lp.remove_reader(fd));
    let reads_then = reads.get();
    let writes_then = writes.get();
    yields(10).await;
    assert_eq!(reads.get(), reads_then, "the reader is gone");
    assert!(writes.get() >= writes_then + 8, "the writer stays");

    lp.add_reader(fd, move || {}).unwrap();
    assert!(lp.remove_writer(fd));
    assert!(!lp.remove_writer(fd));
    assert!(lp.remove_reader(fd));
}

/// asyncio's `_ensure_fd_no_transport`: a descriptor this loop already drives (here an
/// aioloop `TcpStream`'s) is refused with a clear error, on both io drivers (epoll's `EEXIST`;
/// io_uring would take a second poll without complaint). Nothing is left registered.
#[aioloop::test]
async fn test_add_reader_of_a_transport_descriptor_is_refused() {
    let lp = get_running_loop();
    let (client, _server) = tcp_pair().await;
    let fd = client.as_raw_fd();
    for result in [lp.add_reader(fd, || {}), lp.add_writer(fd, || {})] {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        let message = err.to_string();
        assert!(
            message.contains(&format!("file descriptor {fd} is already registered")),
            "{message}"
        );
        assert!(
            message.contains("EEXIST") && message.contains("is used by transport"),
            "{message}"
        );
    }
    assert!(!lp.remove_reader(fd));
    assert!(!lp.remove_writer(fd));
    // The stream still works.
    client.write_all(b"ok").await.unwrap();
}

/// A panic in a reader goes to the loop's exception handler, as a callback's does; the
/// loop goes on and the reader stays registered (asyncio's `Handle._run`).
#[aioloop::test]
async fn test_panic_in_reader_reaches_the_exception_handler() {
    let lp = get_running_loop();
    type Reports = Rc<RefCell<Vec<(String, Option<String>)>>>;
    let reports: Reports = Rc::default();
    let sink = reports.clone();
    lp.set_exception_handler(move |ctx| {
        sink.borrow_mut()
            .push((ctx.message().to_owned(), ctx.panic_message().map(str::to_owned)))
    });
    let (r, w) = socketpair();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    lp.add_reader(r.as_raw_fd(), move || {
        c.set(c.get() + 1);
        if c.get() == 1 {
            panic!("reader boom");
        }
    })
    .unwrap();
    (&*w).write_all(b"unread").unwrap();
    until(|| calls.get() >= 3).await;
    assert_eq!(
        *reports.borrow(),
        [("Exception in callback".to_owned(), Some("reader boom".to_owned()))]
    );
    assert!(lp.remove_reader(r.as_raw_fd()));
}

/// Closing the loop drops the watches: their callbacks are dropped and their duplicates of
/// the descriptor closed, with nothing reported (not even in debug mode, which reports the
/// tasks a close destroys: a watch is none). The loop need not have run for add_reader to
/// work.
#[test]
fn test_closing_the_loop_drops_the_watches() {
    let drops = Drops::new();
    let (r, w) = socketpair();
    let calls = Rc::new(Cell::new(0));
    let reports = Rc::new(RefCell::new(Vec::new()));
    let sink = reports.clone();
    let event_loop = aioloop::EventLoop::builder()
        .debug(true)
        .exception_handler(move |ctx| sink.borrow_mut().push(ctx.to_string()))
        .build()
        .unwrap();
    let (guard, c) = (drops.guard(), calls.clone());
    event_loop
        .add_reader(r.as_raw_fd(), move || {
            let _keep = &guard;
            c.set(c.get() + 1);
        })
        .unwrap();
    let guard = drops.guard();
    event_loop
        .add_writer(r.as_raw_fd(), move || {
            let _keep = &guard;
        })
        .unwrap();
    (&*w).write_all(b"unread").unwrap();
    event_loop.run_until_complete(until(|| calls.get() >= 2));
    drop(event_loop);
    assert_eq!(drops.count(), 2, "both callbacks dropped with the loop");
    assert!(reports.borrow().is_empty(), "{:?}", reports.borrow());
    // The watch's duplicate is closed too: closing the caller's descriptor closes the
    // socket, and its peer reads the end of the stream (a reset: data was left unread),
    // where an open socket would have it wait.
    drop(r);
    let mut buf = [0; 16];
    match (&*w).read(&mut buf) {
        Ok(0) => {}
        Err(err) if err.kind() == io::ErrorKind::ConnectionReset => {}
        other => panic!("the socket is still open: {other:?}"),
    }
}

/// What cannot be watched is refused with the OS's answer: a number that is not open
/// (`EBADF`), a regular file (`EPERM` from epoll, asyncio's `PermissionError`; refused the
/// same way under io_uring).
#[aioloop::test]
async fn test_add_reader_of_a_bad_descriptor_fails() {
    let lp = get_running_loop();
    let err = lp.add_reader(-1, || {}).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EBADF));
    let file = std::fs::File::open("Cargo.toml").unwrap();
    let err = lp.add_writer(file.as_raw_fd(), || {}).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    assert!(!lp.remove_writer(file.as_raw_fd()));
}

/// The caller keeps its descriptor: a watch holds a duplicate. After remove_reader the
/// caller's socket is untouched (open, readable by it); a number closed while watched and
/// reused by another socket is watched anew by the next add_reader, which watches the new
/// socket and not the old one.
#[aioloop::test]
async fn test_the_caller_keeps_its_descriptor() {
    let lp = get_running_loop();
    let (r, w) = socketpair();
    let fd = r.as_raw_fd();
    lp.add_reader(fd, || {}).unwrap();
    assert!(lp.remove_reader(fd));
    (&*w).write_all(b"still mine").unwrap();
    assert_eq!(drain(&r), b"still mine");

    // Closed while watched: the watch goes on (on its duplicate), harmlessly.
    let (old_calls, old_bump) = counter();
    lp.add_reader(fd, old_bump).unwrap();
    (&*w).write_all(b"x").unwrap();
    until(|| old_calls.get() > 0).await;
    // The number closed and reused by another socket, in one step (`dup2`), so that no other
    // test thread can take it in between: `r` now owns the number of the new socket.
    let (r2, w2) = socketpair();
    // SAFETY: both numbers are open; `dup2` closes `fd` (whose owner, `r`, then owns the new
    // socket's duplicate there) and touches no other descriptor.
    assert_eq!(unsafe { libc::dup2(r2.as_raw_fd(), fd) }, fd);
    drop(r2);
    let (new_calls, new_bump) = counter();
    lp.add_reader(fd, new_bump).unwrap();
    let old_then = old_calls.get();
    yields(10).await;
    assert_eq!(new_calls.get(), 0, "the new socket has no data");
    assert_eq!(old_calls.get(), old_then, "the old watch was replaced");
    (&*w2).write_all(b"new").unwrap();
    until(|| new_calls.get() > 0).await;
    assert!(lp.remove_reader(fd));
    assert_eq!(drain(&r), b"new", "the caller's number reads the new socket");
}
