//! [`Registration`]: one I/O source's entry in its loop's reactor, and the readiness loop that
//! every socket operation runs through.

use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::driver::IoDriver;
use super::slots::{Direction, SlotId};
use super::Source;

/// A source registered with a loop's io driver. It does not own the source: the owner
/// ([`PollEvented`](super::evented::PollEvented)) deregisters it before closing it.
pub(crate) struct Registration {
    driver: Rc<IoDriver>,
    id: SlotId,
}

impl Registration {
    /// Registers `source` with the running loop for both directions.
    ///
    /// # Panics
    /// If no loop is running on this thread; `what` names the caller in the message.
    #[track_caller]
    pub(crate) fn new(source: &mut impl Source, what: &str) -> io::Result<Self> {
        Self::new_as(source, what, false)
    }

    /// [`Registration::new`] for a TCP or Unix stream (`stream`), whose reads may take the
    /// io_uring driver's completion form (runtime/io/stream_read.rs).
    #[track_caller]
    pub(crate) fn new_as(source: &mut impl Source, what: &str, stream: bool) -> io::Result<Self> {
        let driver = IoDriver::current(what);
        assert_open(&driver, what);
        let id = driver.register(source, mio::Interest::READABLE | mio::Interest::WRITABLE, stream)?;
        Ok(Registration { driver, id })
    }

    /// Registers `source` with `driver` for `interest` as holding the descriptor number
    /// `claim` (another than its own when the source is a duplicate: I6 in
    /// runtime/io/driver.rs). The loop need not be running.
    ///
    /// # Errors
    /// `AlreadyExists` if a registration of that loop holds `claim`; the OS error.
    ///
    /// # Panics
    /// If the loop is closed; `what` names the caller in the message.
    #[track_caller]
    pub(crate) fn claiming(
        driver: Rc<IoDriver>,
        source: &mut impl Source,
        interest: mio::Interest,
        claim: std::os::fd::RawFd,
        what: &str,
    ) -> io::Result<Self> {
        assert_open(&driver, what);
        let id = driver.register_claiming(source, interest, claim)?;
        Ok(Registration { driver, id })
    }

    /// Ready if the OS reported `dir` ready since the last `WouldBlock`; otherwise adds the
    /// context's waker to `dir`'s waiters (all of them are woken by the next edge: I5 in
    /// runtime/io/slots.rs).
    ///
    /// # Panics
    /// If the waker would have to be stored while another loop (or none) runs on this thread:
    /// a socket belongs to the loop that created it and would never be woken elsewhere.
    #[inline]
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<()> {
        if self.driver.poll_ready(self.id, dir, cx.waker()) {
            return Poll::Ready(());
        }
        self.assert_on_own_loop();
        Poll::Pending
    }

    /// Panics unless this registration's loop runs on this thread: called before an
    /// operation returns `Pending` with its waker stored (see [`Registration::poll_ready`]).
    #[track_caller]
    #[cold]
    #[inline(never)]
    pub(crate) fn assert_on_own_loop(&self) {
        assert!(
            !self.driver.is_closed(),
            "aioloop: a socket, pipe or child process was polled after its event loop was closed \
             (asyncio raises 'Event loop is closed'): it can never be woken"
        );
        assert!(
            IoDriver::is_current(&self.driver),
            "aioloop: a socket, pipe or child process was polled outside the event loop that \
             created it (each belongs to its loop: create it inside the loop that uses it)"
        );
    }

    /// Forgets `dir`'s readiness: the last operation met `WouldBlock` or drained the buffer.
    pub(crate) fn clear_readiness(&self, dir: Direction) {
        self.driver.clear(self.id, dir);
    }

    /// The readiness bits the reactor knows (runtime/io/slots.rs; registers no waker).
    pub(crate) fn ready_bits(&self) -> u8 {
        self.driver.ready_bits(self.id)
    }

    /// True if `dir` is ready as far as the reactor knows (registers no waker).
    pub(crate) fn is_ready(&self, dir: Direction) -> bool {
        self.driver.is_ready(self.id, dir)
    }

    /// Runs `op` once `dir` is ready; on `WouldBlock` clears the readiness and waits again.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            if self.poll_ready(cx, dir).is_pending() {
                return Poll::Pending;
            }
            match op() {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(dir),
                result => return Poll::Ready(result),
            }
        }
    }

    /// Runs `op` without waiting: `WouldBlock` if `dir` is not ready (or `op` says so, which
    /// clears the readiness).
    pub(crate) fn try_io<R>(&self, dir: Direction, op: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        if !self.is_ready(dir) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let result = op();
        if matches!(&result, Err(err) if err.kind() == io::ErrorKind::WouldBlock) {
            self.clear_readiness(dir);
        }
        result
    }

    /// True if the stream reads of this source go through the io_uring driver's receives.
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    #[inline]
    pub(crate) fn recv_form(&self) -> bool {
        self.driver.recv_form()
    }

    /// A read from what the stream's receive delivered; `Wait` stores the context's waker
    /// (see [`IoDriver::recv`]).
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub(crate) fn recv(
        &self,
        dst: &mut [std::mem::MaybeUninit<u8>],
        peek: bool,
        cx: Option<&mut Context<'_>>,
    ) -> crate::io::uring::recv::RecvStep {
        let waiting = cx.is_some();
        let step = self.driver.recv(self.id, dst, peek, cx.map(|cx| cx.waker()));
        if waiting && matches!(step, crate::io::uring::recv::RecvStep::Wait) {
            self.assert_on_own_loop();
        }
        step
    }

    /// True if the stream writes of this source go through the io_uring driver's sends.
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    #[inline]
    pub(crate) fn send_form(&self) -> bool {
        self.driver.send_form()
    }

    /// Runs `f` on the io_uring reactor with this registration's id (see
    /// [`IoDriver::with_uring`]); `None` on epoll or where `f` finds nothing of it.
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub(crate) fn with_uring<R>(
        &self,
        f: impl FnOnce(
            &mut crate::io::uring::UringReactor,
            SlotId,
            &mut super::slots::IoSlots,
            &mut Vec<std::task::Waker>,
        ) -> Option<R>,
    ) -> Option<R> {
        self.driver
            .with_uring(|reactor, io, woken| f(reactor, self.id, io, woken))
    }

    /// Makes sure the stream's read readiness will be reported: arms its receive, or else
    /// watches its socket for readability (see `UringReactor::watch_read`).
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub(crate) fn watch_read(&self) {
        self.driver.watch_read(self.id)
    }

    /// Arms the stream's receive after a read met `WouldBlock`; false if it was not armed.
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub(crate) fn arm_recv(&self) -> bool {
        self.driver.arm_recv(self.id)
    }

    /// Stops the stream's receive and waits for its final completion; returns how many bytes
    /// it had received that were not read.
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub(crate) fn stop_recv(&self) -> usize {
        self.driver.stop_recv(self.id)
    }

    /// Removes the source from the reactor. Call once, before the source is closed.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source) {
        self.driver.deregister(source, self.id);
    }
}

/// Panics if `driver`'s loop is closed: nothing registers with it any more.
#[track_caller]
fn assert_open(driver: &IoDriver, what: &str) {
    assert!(
        !driver.is_closed(),
        "aioloop: {what} on a closed event loop (asyncio raises 'Event loop is closed')"
    );
}
