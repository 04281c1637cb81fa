//! Stream reads ([`TcpStream`](crate::net::TcpStream), [`UnixStream`](crate::net::UnixStream),
//! their halves and trait impls) on either form of the io driver:
//!
//! - the readiness form (epoll, and io_uring without receives): the socket's own `read` once
//!   the stream is readable ([`PollEvented::poll_read`]);
//! - the completion form (io_uring): a multishot receive per stream fills buffers of the loop's
//!   ring ahead of the reads, which copy from them (runtime/io/uring/mod.rs, U5-U7). A
//!   stream's first read arms its receive; from then on its bytes arrive in order through it:
//!   reads, `peek`, `try_read` and readiness (`readable`) see the received bytes first, then
//!   the end (EOF or the error) the kernel reported after them. When the receive stops (the
//!   ring ran out of buffers) the stream reads from its socket again, and a read that finds it
//!   drained arms the receive anew, so no read waits for buffers held by other streams. A
//!   bulk reader (large reads, a receive that brought a bulk of bytes) reads its socket
//!   directly too, once the received bytes are read, until it finds it drained (U9).

use std::io::{self, Read};
#[cfg(all(feature = "io-uring", target_os = "linux"))]
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::task::{Context, Poll};

use super::evented::PollEvented;

impl<E> PollEvented<E>
where
    E: mio::event::Source + AsRawFd,
    for<'a> &'a E: Read,
{
    /// Reads from a stream: [`PollEvented::poll_read`], or the completion form on io_uring.
    /// Always inlined, and the completion form never: the epoll path stays the code it was
    /// (`poll_read` inlined into the caller) plus one flag test.
    #[inline(always)]
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        // Nothing to read into: `Ok(0)` at once, as `read(2)` and the completion form give it,
        // rather than waiting for data the read could not take.
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        if self.recv_form() {
            return self.poll_recv_into(cx, as_uninit(buf), false);
        }
        self.poll_read(cx, buf)
    }

    /// Reads into possibly uninitialised memory (hyper's read buffers: no zeroing first): one
    /// `read(2)` once the stream is readable, or the completion form on io_uring.
    #[cfg(feature = "hyper")]
    pub(crate) fn poll_recv_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        if self.recv_form() {
            return self.poll_recv_into(cx, buf, false);
        }
        let len = buf.len();
        self.poll_transfer(cx, super::Direction::Read, len, |source| {
            // SAFETY: `buf` is valid for writes of `len` bytes (it is a live `&mut` slice), and
            // `read(2)` writes at most `len` bytes into it; initialised or not does not matter
            // to a write.
            let n = unsafe { libc::read(source.as_raw_fd(), buf.as_mut_ptr().cast(), len) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        })
    }

    /// Reads from a stream without waiting: [`PollEvented::try_read`], or the completion form.
    #[inline(always)]
    pub(crate) fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(all(feature = "io-uring", target_os = "linux"))]
        if self.recv_form() {
            return self.try_recv_uring(as_uninit(buf));
        }
        self.try_read(buf)
    }
}

/// The completion form.
#[cfg(all(feature = "io-uring", target_os = "linux"))]
impl<E> PollEvented<E>
where
    E: mio::event::Source + AsRawFd,
{
    /// True if this stream's reads take the completion form (io_uring with receives).
    #[inline]
    pub(crate) fn recv_form(&self) -> bool {
        self.registration().recv_form()
    }

    /// Reads (or peeks) into `dst` in the completion form: the received bytes first; with none
    /// buffered and no receive in the kernel, the socket itself (at once for a large read when
    /// the socket holds more, else once readable), arming the receive when the read shows the
    /// socket drained.
    #[inline(never)]
    pub(crate) fn poll_recv_into(
        &self,
        cx: &mut Context<'_>,
        dst: &mut [MaybeUninit<u8>],
        peek: bool,
    ) -> Poll<io::Result<usize>> {
        use super::uring::recv::RecvStep;
        use super::Direction;
        let registration = self.registration();
        crate::task::coop::poll_coop(cx, |cx| loop {
            match registration.recv(dst, peek, Some(cx)) {
                RecvStep::Done(result) => return Poll::Ready(result),
                RecvStep::Wait => return Poll::Pending,
                // Nothing buffered, no receive in the kernel: arm one if the ring can take it
                // (whatever the socket holds then arrives through it, in order).
                RecvStep::Direct if registration.arm_recv() => continue,
                RecvStep::Direct => {}
                // A large read, the socket holding more: straight into `dst` (U9).
                RecvStep::Socket => match self.sys_recv(dst, peek) {
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                        // Drained after all: the receive takes over, or (the ring has no
                        // buffer) readiness as below.
                        registration.clear_readiness(Direction::Read);
                        if registration.arm_recv() {
                            continue;
                        }
                    }
                    result => return Poll::Ready(result),
                },
            }
            if registration.poll_ready(cx, Direction::Read).is_pending() {
                registration.watch_read();
                return Poll::Pending;
            }
            match self.sys_recv(dst, peek) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    registration.clear_readiness(Direction::Read);
                    registration.arm_recv();
                }
                result => return Poll::Ready(result),
            }
        })
    }

    /// [`PollEvented::try_recv`] in the completion form.
    #[inline(never)]
    fn try_recv_uring(&self, dst: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        use super::uring::recv::RecvStep;
        use super::Direction;
        let registration = self.registration();
        let mut step = registration.recv(dst, false, None);
        if matches!(step, RecvStep::Direct) && registration.arm_recv() {
            step = registration.recv(dst, false, None);
        }
        match step {
            RecvStep::Done(result) => result,
            RecvStep::Wait => Err(io::ErrorKind::WouldBlock.into()),
            RecvStep::Direct if !registration.is_ready(Direction::Read) => {
                registration.watch_read();
                Err(io::ErrorKind::WouldBlock.into())
            }
            RecvStep::Direct | RecvStep::Socket => {
                let result = self.sys_recv(dst, false);
                if matches!(&result, Err(err) if err.kind() == io::ErrorKind::WouldBlock) {
                    registration.clear_readiness(Direction::Read);
                    registration.arm_recv();
                }
                result
            }
        }
    }

    /// One `recv(2)` (`MSG_PEEK` if `peek`) on the socket. A short read (the socket drained)
    /// clears the read readiness and arms the receive, as `WouldBlock` does.
    fn sys_recv(&self, dst: &mut [MaybeUninit<u8>], peek: bool) -> io::Result<usize> {
        let flags = if peek { libc::MSG_PEEK } else { 0 };
        let fd = self.get_ref().as_raw_fd();
        // SAFETY: `dst` is valid for writes of `dst.len()` bytes (a live unique slice), and
        // `recv(2)` writes at most that many; initialised or not does not matter to a write.
        let n = unsafe { libc::recv(fd, dst.as_mut_ptr().cast(), dst.len(), flags) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        if !peek && n > 0 && n < dst.len() {
            let registration = self.registration();
            registration.clear_readiness(super::Direction::Read);
            registration.arm_recv();
        }
        Ok(n)
    }

    /// Peeks into `buf` in the completion form: the received bytes, not consumed.
    pub(crate) async fn peek_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let dst = as_uninit(buf);
        std::future::poll_fn(|cx| self.poll_recv_into(cx, dst, true)).await
    }

    /// Stops the stream's receive and waits for its final completion (so the kernel reads the
    /// socket no more), before the stream is handed out as a standard one.
    ///
    /// # Errors
    /// `InvalidData` if bytes were received ahead and not read: they cannot go back into the
    /// socket (they are dropped with the stream).
    pub(crate) fn stop_recv(&self) -> io::Result<()> {
        match self.registration().stop_recv() {
            0 => Ok(()),
            n => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "aioloop: into_std on a stream with {n} bytes received ahead by the io_uring \
                     driver and not read (read them first); they are dropped with the stream"
                ),
            )),
        }
    }
}

/// `buf` as a slice of possibly uninitialised bytes (the completion form copies into it).
#[cfg(all(feature = "io-uring", target_os = "linux"))]
fn as_uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`; the slice is only written with
    // initialised bytes (copies and `recv(2)`), never de-initialised.
    unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) }
}
