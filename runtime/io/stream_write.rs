//! Stream writes ([`TcpStream`](crate::net::TcpStream), [`UnixStream`](crate::net::UnixStream),
//! their write halves and trait impls) on either form of the io driver:
//!
//! - the readiness form (epoll, and io_uring without the completion form): the socket's own
//!   `write` once the stream is writable ([`PollEvented::poll_write`]); a flush has nothing to
//!   wait for;
//! - the completion form (io_uring, with the receives): a write copies into the stream's send
//!   buffer and returns at once; the reactor hands the buffer to the kernel (`IORING_OP_SEND`)
//!   in the enter that ends the iteration, so the writes of one iteration cost no system call
//!   of their own (runtime/io/uring/mod.rs, U8). A full buffer makes the write wait for a send
//!   to complete; a send's error is reported by the next write or flush; a flush waits until
//!   everything was sent; a write shutdown waits for the sends before it; a dropped stream's
//!   last bytes are still sent, its socket closed after them.

use std::io::{self, IoSlice, Write};
use std::net::Shutdown;
#[cfg(all(feature = "io-uring", target_os = "linux"))]
use std::ops::Deref;
use std::task::{Context, Poll};

use super::evented::PollEvented;

impl<E> PollEvented<E>
where
    E: mio::event::Source,
    for<'a> &'a E: Write,
{
    /// Writes to a stream: [`PollEvented::poll_write`], or the completion form on io_uring.
    /// Always inlined, and the completion form never: the epoll path stays the code it was
    /// plus one flag test.
    #[inline(always)]
    pub(crate) fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        if self.send_form() {
            return self.poll_send_uring(cx, &[buf]);
        }
        self.poll_write(cx, buf)
    }

    /// Writes several buffers: one `writev`, or one copy into the send buffer.
    #[inline(always)]
    pub(crate) fn poll_send_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        if self.send_form() {
            return self.poll_send_uring(cx, bufs);
        }
        self.poll_write_vectored(cx, bufs)
    }

    /// Writes without waiting: [`PollEvented::try_write`], or a copy into the send buffer
    /// (`WouldBlock` if it is full).
    #[inline(always)]
    pub(crate) fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        if self.send_form() {
            let mut cx = Context::from_waker(std::task::Waker::noop());
            return match self.send_step(&mut cx, &[buf], false) {
                Poll::Ready(result) => result,
                Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
            };
        }
        self.try_write(buf)
    }

    /// Waits until everything written was sent (the completion form; the readiness form has
    /// nothing buffered), reporting a send's error.
    #[inline(always)]
    pub(crate) fn poll_flush_send(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        if self.send_form() {
            return self.poll_flush_uring(cx);
        }
        let _ = cx;
        Poll::Ready(Ok(()))
    }

    /// Shuts down `how` with `direct` (the socket's `shutdown(2)`); in the completion form the
    /// write side goes down only once everything written was sent (at once if nothing is
    /// left), and later writes fail with `BrokenPipe`.
    pub(crate) fn shutdown_send(
        &self,
        how: Shutdown,
        direct: impl FnOnce(Shutdown) -> io::Result<()>,
    ) -> io::Result<()> {
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        if self.send_form() && how != Shutdown::Read {
            let registration = self.registration();
            let write = registration.with_uring(|reactor, id, _, _| reactor.shutdown_write(id));
            if let Some(write) = write {
                if how == Shutdown::Both {
                    direct(Shutdown::Read)?;
                }
                return write;
            }
        }
        direct(how)
    }

    /// Drops what the stream took and did not send yet, then shuts both directions down at
    /// once with `direct`: an abort. In the completion form a send already in the kernel
    /// keeps its bytes until its completion (U8), which the shutdown hastens; the rest of the
    /// send buffer is dropped, and later writes fail with `BrokenPipe`.
    pub(crate) fn abort_send(&self, direct: impl FnOnce(Shutdown) -> io::Result<()>) -> io::Result<()> {
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        if self.send_form() {
            self.registration()
                .with_uring(|reactor, id, io, woken| reactor.abandon_send(id, io, woken));
        }
        direct(Shutdown::Both)
    }
}

/// The completion form.
#[cfg(all(feature = "io-uring", target_os = "linux"))]
impl<E: mio::event::Source> PollEvented<E> {
    /// True if this stream's writes take the completion form.
    #[inline]
    pub(crate) fn send_form(&self) -> bool {
        self.registration().send_form()
    }

    /// [`PollEvented::poll_send`] in the completion form.
    #[inline(never)]
    fn poll_send_uring<B: Deref<Target = [u8]>>(
        &self,
        cx: &mut Context<'_>,
        bufs: &[B],
    ) -> Poll<io::Result<usize>> {
        crate::task::coop::poll_coop(cx, |cx| self.send_step(cx, bufs, true))
    }

    /// One write of `bufs` into the send buffer; on a full buffer the write waker is stored
    /// if `wait`.
    fn send_step<B: Deref<Target = [u8]>>(
        &self,
        cx: &mut Context<'_>,
        bufs: &[B],
        wait: bool,
    ) -> Poll<io::Result<usize>> {
        use super::uring::send::SendStep;
        let registration = self.registration();
        let waker = wait.then(|| cx.waker());
        let step = registration.with_uring(|reactor, id, io, _| reactor.send(id, bufs, waker, io));
        match step {
            Some(SendStep::Done(result)) => Poll::Ready(result),
            Some(SendStep::Full) => {
                if wait {
                    registration.assert_on_own_loop();
                }
                Poll::Pending
            }
            None => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    /// [`PollEvented::poll_flush_send`] in the completion form.
    #[inline(never)]
    fn poll_flush_uring(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let registration = self.registration();
        let polled = registration.with_uring(|reactor, id, io, _| reactor.flush(id, cx.waker(), io));
        match polled {
            Some(Poll::Pending) => {
                registration.assert_on_own_loop();
                Poll::Pending
            }
            Some(ready) => ready,
            None => Poll::Ready(Ok(())),
        }
    }

    /// Ready once a write would take bytes (the completion form's writability); `None` if
    /// this source does not write in the completion form.
    pub(crate) fn poll_write_room(&self, cx: &mut Context<'_>) -> Option<Poll<()>> {
        let registration = self.registration();
        let polled =
            registration.with_uring(|reactor, id, io, _| reactor.poll_write_room(id, cx.waker(), io))?;
        if polled.is_pending() {
            registration.assert_on_own_loop();
        }
        Some(polled)
    }

    /// Waits until everything written was sent (five seconds at most), before the stream is
    /// handed out as a standard one.
    ///
    /// # Errors
    /// A send's error, or `TimedOut` if the peer did not take the bytes in time.
    pub(crate) fn stop_send(&self) -> io::Result<()> {
        self.registration()
            .with_uring(|reactor, id, io, woken| reactor.stop_send(id, io, woken))
            .unwrap_or(Ok(()))
    }
}
