//! [`PollEvented`]: a mio source that owns its registration; dropping it deregisters the
//! source, then closes it.
//!
//! **I4.** A source is deregistered before it is closed, in `PollEvented::drop`; the io
//! driver's count of sources follows registrations, so a loop without sockets skips
//! `epoll_wait` in busy iterations. A registration holds its io driver alive: a socket that
//! outlives its loop still deregisters from a valid poller, whose descriptor closes with the
//! last of them.

use std::future::poll_fn;
use std::io::{self, IoSlice, Read, Write};
use std::task::{Context, Poll};

use super::interest::{Interest, Ready};
use super::registration::Registration;
use super::slots::Direction;
use crate::task::coop;

/// A registered mio source.
pub(crate) struct PollEvented<E: mio::event::Source> {
    io: Option<E>,
    registration: Registration,
}

impl<E: mio::event::Source> PollEvented<E> {
    /// Registers `io` with the running loop.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub(crate) fn new(mut io: E, what: &str) -> io::Result<Self>
    where
        E: super::Source,
    {
        let registration = Registration::new(&mut io, what)?;
        Ok(PollEvented {
            io: Some(io),
            registration,
        })
    }

    /// Registers the TCP or Unix stream `io` with the running loop (its reads may take the
    /// io_uring driver's completion form).
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub(crate) fn new_stream(mut io: E, what: &str) -> io::Result<Self>
    where
        E: super::Source,
    {
        let registration = Registration::new_as(&mut io, what, true)?;
        Ok(PollEvented {
            io: Some(io),
            registration,
        })
    }

    /// The source.
    pub(crate) fn get_ref(&self) -> &E {
        self.io
            .as_ref()
            .expect("a PollEvented holds its source until dropped")
    }

    /// The source's registration (the stream reads of runtime/io/stream_read.rs).
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub(crate) fn registration(&self) -> &Registration {
        &self.registration
    }

    /// Deregisters the source and hands it back, open.
    pub(crate) fn into_inner(mut self) -> E {
        let mut io = self
            .io
            .take()
            .expect("a PollEvented holds its source until dropped");
        self.registration.deregister(&mut io);
        io
    }

    /// Runs `op` on the source once `dir` is ready, retrying after `WouldBlock`.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.get_ref();
        coop::poll_coop(cx, |cx| self.registration.poll_io(cx, dir, || op(io)))
    }

    /// The future form of [`PollEvented::poll_io`].
    pub(crate) async fn async_io<R>(
        &self,
        dir: Direction,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        poll_fn(|cx| self.poll_io(cx, dir, &mut op)).await
    }

    /// Runs `op` once, without waiting.
    pub(crate) fn try_io<R>(&self, dir: Direction, op: impl FnOnce(&E) -> io::Result<R>) -> io::Result<R> {
        let io = self.get_ref();
        self.registration.try_io(dir, || op(io))
    }

    /// Polls `dir`'s readiness without an operation: ready if the OS reported it since the
    /// last `WouldBlock` (a pipe transport's write end learns that its reader closed from read
    /// readiness, runtime/protocols/pipe.rs).
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<()> {
        self.registration.poll_ready(cx, dir)
    }

    /// Waits until `dir` is ready.
    pub(crate) async fn ready(&self, dir: Direction) {
        if dir == Direction::Read {
            self.watch_read();
        }
        poll_fn(|cx| coop::poll_coop(cx, |cx| self.registration.poll_ready(cx, dir))).await
    }

    /// Polls read readiness without reading, as [`ready`](PollEvented::ready) waits for it:
    /// ready if bytes, the end or an error may wait (a read may still find them gone). A
    /// protocol transport asks it before it asks a `BufferedProtocol` for a buffer.
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.watch_read();
        self.registration.poll_ready(cx, Direction::Read)
    }

    /// A stream in the io_uring completion form learns of its bytes through its receive: arms
    /// it (or its watch) before a wait for read readiness. Nothing on other forms.
    fn watch_read(&self) {
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        if self.registration.recv_form() {
            self.registration.watch_read();
        }
    }

    /// Waits until a write would take bytes: the socket is writable, or (a stream in the
    /// io_uring completion form) its send buffer has room. Not the readiness a connect waits
    /// for: that is the socket's ([`PollEvented::ready`]).
    pub(crate) async fn ready_to_write(&self) {
        poll_fn(|cx| coop::poll_coop(cx, |cx| self.poll_write_room_or_ready(cx))).await
    }

    /// Ready once a write would take bytes (see [`PollEvented::ready_to_write`]).
    fn poll_write_room_or_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        if self.registration.send_form() {
            if let Some(polled) = self.poll_write_room(cx) {
                return polled;
            }
        }
        self.registration.poll_ready(cx, Direction::Write)
    }

    /// Polls `interest`'s directions as [`ready`](PollEvented::ready) (reads) and
    /// [`ready_to_write`](PollEvented::ready_to_write) (writes) wait for them: what is ready,
    /// a closed state with its direction, or `Pending` with the waker stored in each. tokio's
    /// `TcpStream::ready`.
    pub(crate) fn poll_ready_set(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<Ready> {
        coop::poll_coop(cx, |cx| {
            let closed = Ready::from_bits(self.registration.ready_bits());
            let mut found = Ready::EMPTY;
            if interest.is_readable() && self.poll_read_ready(cx).is_ready() {
                found |= Ready::READABLE | (closed & Ready::READ_CLOSED);
            }
            if interest.is_writable() && self.poll_write_room_or_ready(cx).is_ready() {
                found |= Ready::WRITABLE | (closed & Ready::WRITE_CLOSED);
            }
            match found.is_empty() {
                true => Poll::Pending,
                false => Poll::Ready(found),
            }
        })
    }
}

impl<E> PollEvented<E>
where
    E: mio::event::Source,
    for<'a> &'a E: Read,
{
    /// Reads from a stream. A short read means the socket's buffer is drained: the readiness
    /// is cleared then, saving the `WouldBlock` syscall the next read would meet (the next
    /// arrival of data is a new edge).
    pub(crate) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.poll_transfer(cx, Direction::Read, len, |mut io| io.read(buf))
    }

    /// Reads without waiting, clearing the readiness after a short read as
    /// [`PollEvented::poll_read`] does.
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len();
        self.try_transfer(Direction::Read, len, |mut io| io.read(buf))
    }
}

impl<E> PollEvented<E>
where
    E: mio::event::Source,
    for<'a> &'a E: Write,
{
    /// Writes to a stream; a short write means the socket's buffer is full (readiness cleared).
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_transfer(cx, Direction::Write, buf.len(), |mut io| io.write(buf))
    }

    /// Writes without waiting, clearing the readiness after a short write as
    /// [`PollEvented::poll_write`] does.
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_transfer(Direction::Write, buf.len(), |mut io| io.write(buf))
    }

    /// Writes several buffers with one syscall.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|buf| buf.len()).sum();
        self.poll_transfer(cx, Direction::Write, len, |mut io| io.write_vectored(bufs))
    }
}

impl<E: mio::event::Source> PollEvented<E> {
    /// [`PollEvented::poll_io`] for an operation that moves up to `len` bytes, clearing `dir`'s
    /// readiness after a short transfer (see [`PollEvented::clear_if_short`]).
    pub(crate) fn poll_transfer(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        len: usize,
        op: impl FnMut(&E) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let result = self.poll_io(cx, dir, op);
        if let Poll::Ready(result) = &result {
            self.clear_if_short(dir, result, len);
        }
        result
    }

    /// [`PollEvented::try_io`] for an operation that moves up to `len` bytes, clearing as
    /// [`PollEvented::poll_transfer`] does.
    fn try_transfer(
        &self,
        dir: Direction,
        len: usize,
        op: impl FnOnce(&E) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let result = self.try_io(dir, op);
        self.clear_if_short(dir, &result, len);
        result
    }

    /// Clears `dir`'s readiness after an operation that moved some but not all of `len` bytes:
    /// the socket's buffer is drained (read) or full (write). An empty result (EOF, or an
    /// empty buffer) clears nothing.
    fn clear_if_short(&self, dir: Direction, result: &io::Result<usize>, len: usize) {
        if let Ok(n) = *result {
            if n > 0 && n < len {
                self.registration.clear_readiness(dir);
            }
        }
    }
}

impl<E: mio::event::Source> Drop for PollEvented<E> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            self.registration.deregister(&mut io);
        }
    }
}

impl<E: mio::event::Source + std::fmt::Debug> std::fmt::Debug for PollEvented<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.io.fmt(f)
    }
}
