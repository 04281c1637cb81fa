//! asyncio's `loop.add_reader` / `remove_reader` / `add_writer` / `remove_writer` on [`Loop`].

use std::io;
use std::os::fd::RawFd;

use super::watch;
use crate::event_loop::Loop;
use crate::io::Direction;

impl Loop {
    /// Calls `callback` on this loop whenever `fd` is readable: asyncio's
    /// `loop.add_reader(fd, callback)`. Level-triggered, as asyncio's: the callback is called
    /// once per loop iteration for as long as the descriptor stays readable (a callback that
    /// leaves data unread is called again in the next iteration), also at end of file, on a
    /// hang-up or an error. A second `add_reader` for the same descriptor replaces the
    /// callback (a call of the old one already queued does not run); a reader and a writer
    /// ([`add_writer`](Loop::add_writer)) of one descriptor coexist. The callback runs on
    /// the loop's thread as a `call_soon` callback: a panic goes to the exception handler and
    /// the reader stays. The loop need not be running.
    ///
    /// `fd` is a descriptor number (`sock.as_raw_fd()`, asyncio's `fileno()`): the caller
    /// keeps ownership and must keep it open until [`remove_reader`](Loop::remove_reader)
    /// (and `remove_writer`), as asyncio asks. The watch holds a duplicate of it (close-on-exec): a
    /// descriptor closed while watched stays open underneath (a socket's peer sees no
    /// close), and the callback goes on being called as that file is ready, until the watch
    /// is removed or the loop closes; a number reused meanwhile by another file is watched
    /// anew by the next `add_reader`. Nothing is undefined and nothing hangs.
    ///
    /// The watch is no task (it is not in [`all_tasks`](crate::all_tasks), and cancelling
    /// tasks leaves it alone): closing the loop, or removing it, drops it. A number closed
    /// while watched makes the next `add_*` for it fail with `EBADF`, dropping the old watch.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::io::{Read, Write};
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// use std::rc::Rc;
    ///
    /// aioloop::run(async {
    ///     let lp = aioloop::get_running_loop();
    ///     let (r, mut w) = UnixStream::pair().unwrap();
    ///     r.set_nonblocking(true).unwrap();
    ///     let r = Rc::new(r);
    ///     let got = Rc::new(RefCell::new(Vec::new()));
    ///     let (reader, sink) = (r.clone(), got.clone());
    ///     lp.add_reader(r.as_raw_fd(), move || {
    ///         let mut buf = [0; 64];
    ///         if let Ok(n) = (&*reader).read(&mut buf) {
    ///             sink.borrow_mut().extend_from_slice(&buf[..n]);
    ///         }
    ///     })
    ///     .unwrap();
    ///     w.write_all(b"hello").unwrap();
    ///     while got.borrow().len() < 5 {
    ///         aioloop::yield_now().await;
    ///     }
    ///     assert!(lp.remove_reader(r.as_raw_fd()));
    ///     assert_eq!(*got.borrow(), b"hello");
    /// });
    /// ```
    ///
    /// # Errors
    /// `AlreadyExists` if this loop has the descriptor registered already for a socket, pipe
    /// or child process of its own, or an [`AsyncFd`](crate::net::AsyncFd) (asyncio's
    /// `RuntimeError('File descriptor N is used by transport')`); `EBADF` for a number that is
    /// not open; `PermissionDenied` for a regular file or a directory (asyncio's
    /// `PermissionError` from epoll).
    ///
    /// # Panics
    /// If the loop is closed.
    #[track_caller]
    pub fn add_reader(&self, fd: RawFd, callback: impl FnMut() + 'static) -> io::Result<()> {
        watch::add(&self.core, fd, Direction::Read, callback, "Loop::add_reader")
    }

    /// Stops calling the reader of `fd`: asyncio's `loop.remove_reader(fd)`. Returns whether
    /// there was one. A call of it already queued does not run. Once the descriptor has
    /// neither reader nor writer, it is deregistered at once: the caller may close it.
    ///
    /// ```
    /// aioloop::run(async {
    ///     let lp = aioloop::get_running_loop();
    ///     assert!(!lp.remove_reader(0), "nothing watches stdin");
    /// });
    /// ```
    pub fn remove_reader(&self, fd: RawFd) -> bool {
        watch::remove(&self.core, fd, Direction::Read)
    }

    /// Calls `callback` on this loop whenever `fd` is writable: asyncio's
    /// `loop.add_writer(fd, callback)`. As [`add_reader`](Loop::add_reader) for writing: the
    /// callback is called once per iteration for as long as the descriptor has room (or is
    /// hung up or in error), so remove it once there is nothing left to write.
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::io::Write;
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// use std::rc::Rc;
    ///
    /// aioloop::run(async {
    ///     let lp = aioloop::get_running_loop();
    ///     let (_r, w) = UnixStream::pair().unwrap();
    ///     w.set_nonblocking(true).unwrap();
    ///     let w = Rc::new(w);
    ///     let sent = Rc::new(Cell::new(false));
    ///     let (writer, done, fd) = (w.clone(), sent.clone(), w.as_raw_fd());
    ///     let handle = lp.clone();
    ///     lp.add_writer(fd, move || {
    ///         (&*writer).write_all(b"data").unwrap();
    ///         done.set(true);
    ///         handle.remove_writer(fd);
    ///     })
    ///     .unwrap();
    ///     while !sent.get() {
    ///         aioloop::yield_now().await;
    ///     }
    ///     assert!(!lp.remove_writer(fd), "the callback removed itself");
    /// });
    /// ```
    ///
    /// # Errors
    /// As [`add_reader`](Loop::add_reader).
    ///
    /// # Panics
    /// If the loop is closed.
    #[track_caller]
    pub fn add_writer(&self, fd: RawFd, callback: impl FnMut() + 'static) -> io::Result<()> {
        watch::add(&self.core, fd, Direction::Write, callback, "Loop::add_writer")
    }

    /// Stops calling the writer of `fd`: asyncio's `loop.remove_writer(fd)`. Returns whether
    /// there was one; as [`remove_reader`](Loop::remove_reader) otherwise.
    ///
    /// ```
    /// aioloop::run(async {
    ///     assert!(!aioloop::get_running_loop().remove_writer(1));
    /// });
    /// ```
    pub fn remove_writer(&self, fd: RawFd) -> bool {
        watch::remove(&self.core, fd, Direction::Write)
    }
}
