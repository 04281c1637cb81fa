//! The streams' sends in the completion form (U8 in runtime/io/uring/mod.rs): writes copy
//! into the stream's [`StreamSend`], the reactor hands the buffers to the kernel in the enter
//! that ends the iteration, and each completion wakes the stream's writer (room again, a flush
//! done, an error to report).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use mio::Token;

use super::super::ops::{self, File, SEND_BITS};
use super::super::send::{SendStep, StreamSend};
use super::{PollState, UringReactor};
use crate::io::reactor::PollWait;
use crate::io::slots::{Direction, IoSlots, Ready, SlotId};

impl UringReactor {
    /// True if streams write through sends here (the completion form).
    pub(crate) fn send_form(&self) -> bool {
        self.send_form
    }

    /// The send state of the live stream `id`, if it writes in the completion form.
    fn live_send(&mut self, id: SlotId) -> Option<&mut StreamSend> {
        let key = id.key() as usize;
        let token = id.token().0 as u64;
        match self.polls.get(key) {
            Some(PollState::Armed { token: t, .. } | PollState::Failed { token: t, .. }) if *t == token => {}
            _ => return None,
        }
        self.sends.get_mut(key)?.as_deref_mut()
    }

    /// A write of `bufs` (in order) to the stream `id`: copies what fits into its send buffer
    /// and lists the stream for a send at the next enter. On `Full` stores `waker` for the
    /// write direction and returns the waker it replaced. `None` if `id` does not write in
    /// the completion form.
    pub(crate) fn send<B: std::ops::Deref<Target = [u8]>>(
        &mut self,
        id: SlotId,
        bufs: &[B],
        waker: Option<&Waker>,
        slots: &mut IoSlots,
    ) -> Option<SendStep> {
        let send = self.live_send(id)?;
        let step = send.write(bufs);
        match step {
            SendStep::Done(Ok(n)) if n > 0 => {
                if send.mark_queued() {
                    self.send_queue.push(id.token().0 as u64);
                }
                Some(step)
            }
            SendStep::Full => {
                if let Some(waker) = waker {
                    slots.park(id, Direction::Write, waker);
                }
                Some(step)
            }
            SendStep::Done(_) => Some(step),
        }
    }

    /// Ready once everything written to the stream `id` was sent (or a send failed: its
    /// error); else adds `waker` to the write direction's waiters.
    /// `None` if `id` does not write in the completion form.
    pub(crate) fn flush(
        &mut self,
        id: SlotId,
        waker: &Waker,
        slots: &mut IoSlots,
    ) -> Option<Poll<io::Result<()>>> {
        let send = self.live_send(id)?;
        if send.settled() {
            return Some(Poll::Ready(send.error().map_or(Ok(()), Err)));
        }
        slots.park(id, Direction::Write, waker);
        Some(Poll::Pending)
    }

    /// Ready if a write to the stream `id` would take bytes now (or report its error); else
    /// adds `waker` to the write direction's waiters. `None` if `id` does not write in the
    /// completion form.
    pub(crate) fn poll_write_room(
        &mut self,
        id: SlotId,
        waker: &Waker,
        slots: &mut IoSlots,
    ) -> Option<Poll<()>> {
        let send = self.live_send(id)?;
        if !matches!(send.write::<&[u8]>(&[]), SendStep::Done(Ok(_)))
            || send.unsent() < super::super::send::CAPACITY
        {
            return Some(Poll::Ready(()));
        }
        slots.park(id, Direction::Write, waker);
        Some(Poll::Pending)
    }

    /// Drops what the stream `id` took and did not hand to the kernel yet, and fails its later
    /// writes with `BrokenPipe` (an abort; a send in the kernel keeps its bytes, U8). Wakes
    /// the tasks waiting to write or flush, unless a send's completion is still to come and
    /// will. `None` if `id` does not write in the completion form.
    pub(crate) fn abandon_send(
        &mut self,
        id: SlotId,
        io: &mut IoSlots,
        woken: &mut Vec<Waker>,
    ) -> Option<()> {
        let send = self.live_send(id)?;
        send.abandon();
        if !send.in_kernel() {
            let ready = Ready {
                write: true,
                ..Ready::default()
            };
            io.dispatch(id.token(), ready, woken);
        }
        Some(())
    }

    /// Shuts the write side of the stream `id` down once everything written was sent (at
    /// once if nothing is left); later writes fail with `BrokenPipe`. `None` if `id` does not
    /// write in the completion form.
    pub(crate) fn shutdown_write(&mut self, id: SlotId) -> Option<io::Result<()>> {
        let send = self.live_send(id)?;
        if !send.shut_after_sends() {
            return Some(Ok(()));
        }
        let fd = send.fd();
        send.shut_done();
        Some(shutdown_write(fd))
    }

    /// Waits (five seconds at most) until everything written to the live stream `id` was
    /// sent, handling the other completions as a poll does: before the stream is handed out
    /// as a standard one. `None` if `id` does not write in the completion form.
    pub(crate) fn stop_send(
        &mut self,
        id: SlotId,
        io: &mut IoSlots,
        woken: &mut Vec<Waker>,
    ) -> Option<io::Result<()>> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.live_send(id)?.settled() && Instant::now() < deadline {
            let wait = PollWait::Until {
                deadline: 0,
                after: Duration::from_millis(50),
            };
            self.poll(wait, io, woken);
        }
        let send = self.live_send(id)?;
        if let Some(err) = send.error() {
            return Some(Err(err));
        }
        if !send.settled() {
            return Some(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "aioloop: into_std on a stream whose written bytes the peer did not take within \
                 five seconds",
            )));
        }
        Some(Ok(()))
    }

    /// Hands the listed streams' buffers to the kernel (their sends go with this enter).
    pub(super) fn start_sends(&mut self) {
        let mut queue = std::mem::take(&mut self.send_queue);
        for &token in &queue {
            let key = SlotId::from_token(Token(token as usize)).key() as usize;
            let live =
                match self.polls.get(key) {
                    Some(
                        &(PollState::Armed { token: t, file, .. } | PollState::Failed { token: t, file }),
                    ) if t == token => Some(file),
                    Some(&PollState::Retiring { token: t, .. }) if t == token => None,
                    _ => continue,
                };
            let Some(Some(send)) = self.sends.get_mut(key) else {
                continue;
            };
            if let Some((buf, len)) = send.start() {
                // A dropped stream's sends go to its lingering duplicate, never to its index
                // in the file table (U8, U12).
                let file = live.unwrap_or(File::Fd(send.fd()));
                // U8: `buf` is the state's `inflight` bytes, which stay put until this send's
                // completion (the state, boxed, outlives it even if the stream is dropped).
                self.push(ops::send(file, buf, len, token));
            }
        }
        queue.clear();
        if self.send_queue.is_empty() {
            self.send_queue = queue;
        }
    }

    /// Handles the completion of the send of the stream `token` (U8): lists it again if
    /// bytes are left, shuts its write side down if that waited for the sends, and wakes its
    /// writer; a dropped stream's slot is freed (and its duplicate descriptor closed) once its
    /// last send completed. Returns 1 if it was an I/O event.
    pub(super) fn complete_send(
        &mut self,
        io: &mut IoSlots,
        woken: &mut Vec<Waker>,
        token: u64,
        result: i32,
    ) -> usize {
        let Some(key) = self.key_of(token) else {
            return 0;
        };
        if !matches!(self.sends.get(key), Some(Some(_))) {
            debug_assert!(false, "aioloop: a send completion without its state (U8)");
            return 0;
        }
        if result == -libc::EBADF && self.refiled(key, token) {
            // U12: it named an empty index and sent nothing: it goes again, on the stream's
            // descriptor (or its lingering duplicate), its bytes in place (U8).
            if let Some(Some(send)) = self.sends.get_mut(key) {
                send.refused();
                if send.mark_queued() {
                    self.send_queue.push(token);
                }
            }
            return 0;
        }
        let Some(Some(send)) = self.sends.get_mut(key) else {
            return 0;
        };
        if send.complete(result) && send.mark_queued() {
            self.send_queue.push(token);
        }
        if send.shutdown_due() {
            let fd = send.fd();
            send.shut_done();
            // Its error has no caller to go to: the shutdown was already reported done.
            let _ = shutdown_write(fd);
        }
        if let PollState::Retiring { .. } = self.polls[key] {
            if !send.lingers() {
                self.free_if_settled(key, io);
            }
            return 0;
        }
        let ready = Ready {
            write: true,
            ..Ready::default()
        };
        io.dispatch(Token(token as usize), ready, woken);
        1
    }

    /// The stream of key `key` is being dropped: if bytes are left to send, its sends go on
    /// to a duplicate of its descriptor, closed once they are done (U8). Returns true if its
    /// send state must outlive the stream (a send in the kernel, or bytes left).
    pub(super) fn linger_send(&mut self, key: usize) -> bool {
        let Some(Some(send)) = self.sends.get_mut(key) else {
            return false;
        };
        if send.settled() {
            self.sends[key] = None;
            return false;
        }
        // SAFETY: U8/U3: `fcntl(F_DUPFD_CLOEXEC)` touches no memory of ours, and the descriptor
        // is open: the stream is being dropped and closes it only after this call
        // (runtime/io/evented.rs I4).
        let dup = unsafe { libc::fcntl(send.fd(), libc::F_DUPFD_CLOEXEC, 0) };
        if dup >= 0 {
            // SAFETY: U8: `dup` is a new descriptor nothing else owns; the state closes it once
            // its last send completed.
            send.linger(unsafe { OwnedFd::from_raw_fd(dup) });
            if send.mark_queued() {
                let token = self.polls[key].token().expect("a live stream has a token");
                self.send_queue.push(token);
            }
        } else {
            send.abandon();
        }
        send.lingers()
    }

    /// The reactor is going away: gives the streams' sends a moment to go out (a tenth of a
    /// second without progress, five seconds in all), then cancels those still in the kernel
    /// and waits for their completions (U8: a state whose completion never comes is leaked,
    /// its buffer never freed under the kernel).
    pub(super) fn settle_sends(&mut self) {
        if self.sends.iter().all(Option::is_none) {
            return;
        }
        let (mut io, mut woken) = (IoSlots::default(), Vec::new());
        let unsent = |this: &Self| -> usize {
            this.sends
                .iter()
                .flatten()
                .filter(|send| !send.settled())
                .map(|send| send.unsent().max(1))
                .sum()
        };
        let start = Instant::now();
        let (mut last, mut progress) = (unsent(self), Instant::now());
        let wait = PollWait::Until {
            deadline: 0,
            after: Duration::from_millis(20),
        };
        while last > 0
            && progress.elapsed() < Duration::from_millis(100)
            && start.elapsed() < Duration::from_secs(5)
        {
            self.poll(wait, &mut io, &mut woken);
            let now = unsent(self);
            if now < last {
                (last, progress) = (now, Instant::now());
            }
        }
        let in_kernel: Vec<u64> = (0..self.sends.len())
            .filter(|&key| matches!(&self.sends[key], Some(send) if send.in_kernel()))
            .filter_map(|key| self.polls[key].token())
            .collect();
        for send in self.sends.iter_mut().flatten() {
            send.abandon();
        }
        for token in in_kernel {
            self.push(ops::cancel(token | SEND_BITS));
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let any_in_kernel = |this: &Self| this.sends.iter().flatten().any(|send| send.in_kernel());
        while any_in_kernel(self) && Instant::now() < deadline {
            self.poll(wait, &mut io, &mut woken);
        }
        for send in std::mem::take(&mut self.sends).into_iter().flatten() {
            if send.in_kernel() {
                // U8: the kernel may still read its buffer.
                std::mem::forget(send);
            }
        }
        drop(woken);
    }
}

/// `shutdown(fd, SHUT_WR)`.
fn shutdown_write(fd: std::os::fd::RawFd) -> io::Result<()> {
    // SAFETY: U8: `shutdown(2)` takes a descriptor number and touches no memory of ours; the
    // descriptor is the live stream's or its lingering duplicate, open while its state lives.
    if unsafe { libc::shutdown(fd, libc::SHUT_WR) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
