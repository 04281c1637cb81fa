//! [`StreamSend`]: one stream's send state in the completion form: the bytes written and not
//! yet handed to the kernel, the bytes the kernel's `IORING_OP_SEND` is reading, the error a
//! send reported and a write shutdown waiting for the sends (invariant U8 in the module above).
//!
//! Writes copy into `pending` and return at once; the reactor hands `pending` to the kernel
//! at the end of the iteration (it becomes `inflight`, and `pending` starts empty again), so
//! the writes of one iteration go out in one send. A short send is sent on from where it
//! stopped; a failed one drops what is buffered and is reported by the next write or flush.

use std::io;
use std::ops::Deref;
use std::os::fd::{OwnedFd, RawFd};

/// Bytes a stream may have written and not yet sent (`inflight` plus `pending`): a write
/// finding no room waits for a send to complete.
pub(crate) const CAPACITY: usize = 256 * 1024;

/// One stream's send state.
#[derive(Debug)]
pub(crate) struct StreamSend {
    /// The descriptor the sends go to: the stream's own, or `linger`'s once it was dropped.
    fd: RawFd,
    /// A duplicate of the stream's descriptor that a dropped stream's last sends go to; it is
    /// closed (the socket with it) once they completed (U8).
    linger: Option<OwnedFd>,
    /// The bytes of the send in the kernel (from `sent` on), or of the one to send next after
    /// a short send. U8: while `in_kernel`, neither written, moved nor freed.
    inflight: Vec<u8>,
    /// How much of `inflight` the kernel has sent.
    sent: usize,
    /// A send reading `inflight` is in the kernel (or queued for the next enter).
    in_kernel: bool,
    /// Bytes written after `inflight` was handed out; ours.
    pending: Vec<u8>,
    /// Listed for a send at the next enter.
    queued: bool,
    /// What a send failed with (an errno), reported by every later write and flush.
    error: Option<i32>,
    /// The write side is to be shut down once everything was sent.
    shutdown: bool,
    /// The write side was shut down.
    shut: bool,
}

/// What a write found.
#[derive(Debug)]
pub(crate) enum SendStep {
    /// Bytes taken into the send buffer (`Ok(0)` only for an empty write), or the error a
    /// send or the shutdown reported.
    Done(io::Result<usize>),
    /// The buffer is full: wait for a send to complete.
    Full,
}

impl StreamSend {
    /// The send state of the stream on `fd`.
    pub(crate) fn new(fd: RawFd) -> Self {
        StreamSend {
            fd,
            linger: None,
            inflight: Vec::new(),
            sent: 0,
            in_kernel: false,
            pending: Vec::new(),
            queued: false,
            error: None,
            shutdown: false,
            shut: false,
        }
    }

    /// The descriptor the sends go to.
    pub(crate) fn fd(&self) -> RawFd {
        self.fd
    }

    /// True if a send is in the kernel (its buffer must live, U8).
    pub(crate) fn in_kernel(&self) -> bool {
        self.in_kernel
    }

    /// Bytes written and not yet sent.
    pub(crate) fn unsent(&self) -> usize {
        self.inflight.len() - self.sent + self.pending.len()
    }

    /// True if nothing is left to send or in the kernel, or a send failed: a flush is done.
    pub(crate) fn settled(&self) -> bool {
        !self.in_kernel && (self.unsent() == 0 || self.error.is_some())
    }

    /// The error a send reported, if any.
    pub(crate) fn error(&self) -> Option<io::Error> {
        self.error.map(io::Error::from_raw_os_error)
    }

    /// Copies what fits of `bufs` (in order) into the send buffer. Returns `Done(Ok(n))` with
    /// the bytes taken, `Full` if none fit, or the failure.
    pub(crate) fn write<B: Deref<Target = [u8]>>(&mut self, bufs: &[B]) -> SendStep {
        if let Some(err) = self.error() {
            return SendStep::Done(Err(err));
        }
        if self.shutdown {
            return SendStep::Done(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let total: usize = bufs.iter().map(|buf| buf.len()).sum();
        if total == 0 {
            return SendStep::Done(Ok(0));
        }
        let mut room = CAPACITY.saturating_sub(self.unsent());
        if room == 0 {
            return SendStep::Full;
        }
        let mut taken = 0;
        for buf in bufs {
            let take = buf.len().min(room);
            self.pending.extend_from_slice(&buf[..take]);
            taken += take;
            room -= take;
            if room == 0 {
                break;
            }
        }
        SendStep::Done(Ok(taken))
    }

    /// Records that the stream is listed for a send at the next enter; false if it already
    /// was, or has nothing to send, or a send is in the kernel (its completion lists it).
    pub(crate) fn mark_queued(&mut self) -> bool {
        if self.queued || self.in_kernel || self.unsent() == 0 || self.error.is_some() {
            return false;
        }
        self.queued = true;
        true
    }

    /// The bytes to hand to the kernel now, as a pointer and a length, or `None` if there is
    /// nothing to send; the send is then in the kernel until [`StreamSend::complete`].
    ///
    /// U8: the bytes are `inflight`'s, which is neither written, moved nor freed until the
    /// completion (a short send's rest first; else `pending` becomes `inflight`).
    pub(crate) fn start(&mut self) -> Option<(*const u8, u32)> {
        self.queued = false;
        if self.in_kernel || self.error.is_some() {
            return None;
        }
        if self.sent == self.inflight.len() {
            self.inflight.clear();
            self.sent = 0;
            std::mem::swap(&mut self.inflight, &mut self.pending);
        }
        let rest = &self.inflight[self.sent..];
        if rest.is_empty() {
            return None;
        }
        self.in_kernel = true;
        let len = u32::try_from(rest.len()).unwrap_or(u32::MAX);
        Some((rest.as_ptr(), len))
    }

    /// Records the completion of the send in the kernel: `result` bytes sent, or an errno.
    /// Returns true if more is left to send (the stream is to be listed again).
    pub(crate) fn complete(&mut self, result: i32) -> bool {
        debug_assert!(self.in_kernel, "aioloop: a send completed twice (U8)");
        self.in_kernel = false;
        if result < 0 {
            // A cancelled send (the loop is going away) reports nothing to a writer.
            if result != -libc::ECANCELED {
                self.error = Some(-result);
            } else if self.error.is_none() {
                self.error = Some(libc::EPIPE);
            }
            self.inflight.clear();
            self.pending.clear();
            self.sent = 0;
            return false;
        }
        self.sent += result as usize;
        if self.sent >= self.inflight.len() {
            self.inflight.clear();
            self.sent = 0;
        }
        self.unsent() > 0
    }

    /// Records that the send in the kernel did nothing (it named an index of the file table
    /// that held no file, U12): its bytes stay where they are, to go again.
    pub(crate) fn refused(&mut self) {
        debug_assert!(self.in_kernel, "aioloop: a send completed twice (U8)");
        self.in_kernel = false;
    }

    /// Asks for the write side to be shut down once everything was sent; true if it is to be
    /// done now (nothing is left).
    pub(crate) fn shut_after_sends(&mut self) -> bool {
        self.shutdown = true;
        self.settled()
    }

    /// True if a write shutdown waits for the sends and they are done now.
    pub(crate) fn shutdown_due(&self) -> bool {
        self.shutdown && !self.shut && self.settled() && self.error.is_none()
    }

    /// Records that the write side was shut down.
    pub(crate) fn shut_done(&mut self) {
        self.shut = true;
    }

    /// The stream is dropped with bytes still to send: its sends go on to `linger`, a
    /// duplicate of its descriptor, which closes with this state (U8).
    pub(crate) fn linger(&mut self, dup: OwnedFd) {
        use std::os::fd::AsRawFd;
        self.fd = dup.as_raw_fd();
        self.linger = Some(dup);
    }

    /// True if a dropped stream's state still has a send in the kernel or bytes to send.
    pub(crate) fn lingers(&self) -> bool {
        self.in_kernel || (self.linger.is_some() && !self.settled())
    }

    /// Drops what was not handed to the kernel (the loop is going away).
    pub(crate) fn abandon(&mut self) {
        self.pending.clear();
        if !self.in_kernel {
            self.inflight.clear();
            self.sent = 0;
        }
        self.queued = false;
        self.error.get_or_insert(libc::EPIPE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `len` bytes at `ptr` that `start` handed to the (here imaginary) kernel.
    fn in_kernel(ptr: *const u8, len: usize) -> Vec<u8> {
        // SAFETY: U8: the bytes `start` handed out stay put and alive until the completion,
        // which the tests record only after reading them.
        unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec()
    }

    fn taken(step: SendStep) -> usize {
        match step {
            SendStep::Done(Ok(n)) => n,
            other => panic!("{other:?}"),
        }
    }

    /// Writes gather in `pending` and go out in one send; a short send is sent on from where
    /// it stopped; the bytes handed out never move while the send is in the kernel (U8).
    #[test]
    fn writes_gather_and_a_short_send_goes_on() {
        let mut send = StreamSend::new(-1);
        assert_eq!(taken(send.write(&[&b"abc"[..]])), 3);
        assert_eq!(taken(send.write(&[&b"de"[..], &b"f"[..]])), 3);
        assert!(send.mark_queued() && !send.mark_queued(), "listed once");
        let (ptr, len) = send.start().unwrap();
        assert_eq!(len, 6);
        assert_eq!(in_kernel(ptr, 6), &b"abcdef"[..]);
        assert_eq!(
            taken(send.write(&[&b"gh"[..]])),
            2,
            "writes go on while a send runs"
        );
        assert_eq!(in_kernel(ptr, 6), &b"abcdef"[..]);
        assert!(!send.mark_queued(), "the completion lists it");
        assert!(send.complete(4), "two bytes and `gh` left");
        let (ptr, len) = send.start().unwrap();
        assert_eq!(in_kernel(ptr, len as usize), &b"ef"[..]);
        assert!(send.complete(2));
        let (ptr, len) = send.start().unwrap();
        assert_eq!(in_kernel(ptr, len as usize), &b"gh"[..]);
        assert!(!send.complete(2));
        assert!(send.settled() && send.unsent() == 0);
        assert!(send.start().is_none());
    }

    /// A full buffer takes nothing; a failed send is reported by every later write, and the
    /// shutdown waits for the sends.
    #[test]
    fn a_full_buffer_waits_and_an_error_sticks() {
        let mut send = StreamSend::new(-1);
        let big = vec![7u8; CAPACITY + 10];
        assert_eq!(taken(send.write(&[&big[..]])), CAPACITY);
        assert!(matches!(send.write(&[&b"x"[..]]), SendStep::Full));
        send.mark_queued();
        send.start().unwrap();
        assert!(!send.shut_after_sends(), "bytes in the kernel");
        assert!(!send.complete(CAPACITY as i32));
        assert!(send.shutdown_due());
        match send.write(&[&b"late"[..]]) {
            SendStep::Done(Err(err)) => assert_eq!(err.kind(), io::ErrorKind::BrokenPipe),
            other => panic!("{other:?}"),
        }

        let mut send = StreamSend::new(-1);
        taken(send.write(&[&b"lost"[..]]));
        send.mark_queued();
        send.start().unwrap();
        assert!(!send.complete(-libc::ECONNRESET));
        assert!(send.settled() && send.unsent() == 0);
        for _ in 0..2 {
            match send.write(&[&b"again"[..]]) {
                SendStep::Done(Err(err)) => assert_eq!(err.kind(), io::ErrorKind::ConnectionReset),
                other => panic!("{other:?}"),
            }
        }
    }
}
