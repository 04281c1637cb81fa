//! The streams' reads in the completion form (U5-U7, U9 in runtime/io/uring/mod.rs): a
//! stream's receive armed into the buffer ring (single receives chained, or one multishot
//! receive with a total), the reads that copy out what it delivered, the read watch while
//! none runs, and the receive stopped for good.

use std::mem::MaybeUninit;
use std::task::Waker;
use std::time::{Duration, Instant};

use io_uring::squeue;

use super::super::bufring::{BufRing, BUF_SIZE};
use super::super::ops::{self, File, RECV_BIT};
use super::super::recv::{Arm, RecvStep, StreamRecv};
use super::{PollState, RecvForm, UringReactor};
use crate::io::reactor::PollWait;
use crate::io::slots::{Direction, IoSlots, SlotId};

impl UringReactor {
    /// Arms the receive of the stream at `key` (registered as `token` on `file`, its state able
    /// to arm) and queues its entries ([`arm_entries`]), all in the same submission: a chain of
    /// linked receives split across two would run as two chains at once, out of order (U9).
    pub(super) fn queue_recv(&mut self, key: usize, file: File, token: u64) {
        let Some(Some(recv)) = self.recvs.get_mut(key) else {
            return;
        };
        arm_entries(
            recv,
            file,
            token,
            self.recv_limit,
            self.recv_chained,
            &mut self.chain,
        );
        let chain = std::mem::take(&mut self.chain);
        while {
            let sq = self.ring.submission();
            sq.capacity() - sq.len() < chain.len()
        } {
            self.submit_now();
        }
        for entry in &chain {
            self.push(entry.clone());
        }
        self.chain = chain;
    }

    /// Gives back the buffers of key `key`'s receive; returns true if the receive is still in
    /// the kernel (its state stays until the final completion, U7).
    pub(super) fn release_recv(&mut self, key: usize) -> bool {
        let Some(Some(recv)) = self.recvs.get_mut(key) else {
            return false;
        };
        if let RecvForm::On(bufs) = &mut self.recv_form {
            recv.release(bufs);
        }
        if recv.in_kernel() {
            return true;
        }
        self.recvs[key] = None;
        false
    }

    /// True if streams read through receives into the buffer ring here (the probe allowed it
    /// and the kernel has not refused it since).
    pub(crate) fn recv_form(&self) -> bool {
        !self.recv_refused && !matches!(self.recv_form, RecvForm::Off)
    }

    /// A read of the stream `id` from what its receive delivered (see [`RecvStep`]); on
    /// `Wait` adds `waker` to its read direction's waiters.
    pub(crate) fn recv(
        &mut self,
        id: SlotId,
        dst: &mut [MaybeUninit<u8>],
        peek: bool,
        waker: Option<&Waker>,
        slots: &mut IoSlots,
        woken: &mut Vec<Waker>,
    ) -> RecvStep {
        let key = id.key() as usize;
        let token = id.token().0 as u64;
        let mut reaped = false;
        loop {
            let (RecvForm::On(bufs), Some(Some(recv))) = (&mut self.recv_form, self.recvs.get_mut(key))
            else {
                return RecvStep::Direct;
            };
            // The stream's own state (its token: a later registration under the key has its
            // own), so the read costs one lookup (U7: the state lives while the stream does).
            if !recv.is(token) {
                return RecvStep::Direct;
            }
            let step = recv.read(dst, peek, bufs);
            return match step {
                RecvStep::Done(Ok(_)) if !peek => {
                    if recv.rearm_due() {
                        return self.rearm_after_read(id, step, slots);
                    }
                    if recv.receiving() && !recv.has_data() {
                        // Drained while the receive runs: readable again at its next completion.
                        slots.clear(id, Direction::Read);
                    }
                    step
                }
                RecvStep::Wait if !reaped && self.completions_waiting() => {
                    // What the kernel completed since the last poll counts (an EOF right
                    // behind the bytes just read): take it in before waiting.
                    self.reap(slots, woken);
                    reaped = true;
                    continue;
                }
                RecvStep::Wait => match waker {
                    Some(waker) => {
                        slots.park_unready(id, Direction::Read, waker);
                        step
                    }
                    None => {
                        slots.clear(id, Direction::Read);
                        step
                    }
                },
                _ => step,
            };
        }
    }

    /// The reader brought a capped stream below half the cap (U9): its receive goes on, its
    /// bytes queued behind those still buffered.
    #[cold]
    fn rearm_after_read(&mut self, id: SlotId, step: RecvStep, slots: &mut IoSlots) -> RecvStep {
        self.arm_recv(id, slots);
        step
    }

    /// Arms a multishot receive for the stream `id`, whose last read showed its socket
    /// drained (nothing is buffered): from its submission on, the stream's bytes arrive in order in
    /// its [`StreamRecv`], and its reads must not call the socket (U5). Returns false where the
    /// completion form is off, the stream ended, or the ring has no free buffer (the read then
    /// waits for readiness as in the readiness form).
    pub(crate) fn arm_recv(&mut self, id: SlotId, slots: &mut IoSlots) -> bool {
        let key = id.key() as usize;
        let token = id.token().0 as u64;
        let Some(&PollState::Armed {
            token: armed, file, ..
        }) = self.polls.get(key)
        else {
            return false;
        };
        if armed != token || !self.ready_ring() {
            return false;
        }
        if self.recvs.len() <= key {
            self.recvs.resize_with(key + 1, || None);
        }
        let recv = self.recvs[key].get_or_insert_with(|| Box::new(StreamRecv::new(token)));
        if !recv.is(token) || !recv.can_arm() {
            return false;
        }
        if !recv.has_data() {
            slots.clear(id, Direction::Read);
        }
        self.queue_recv(key, file, token);
        // Submitted at once (one enter per arming, not per read): the kernel tries the receive
        // during the submission, so what the socket already holds (an EOF right behind the
        // bytes just read) is a completion the reader's next look takes in.
        self.submit_now();
        true
    }

    /// Makes sure the stream `id` will be told of its bytes while its reader waits: arms its
    /// receive, or else (the ring is dry, or the stream ended) queues a one-shot poll for
    /// readability tagged as its receive (they are never in the kernel together). Nothing to
    /// do for a registration whose own poll reports readability, or while the receive or a
    /// watch runs, or bytes wait.
    pub(crate) fn watch_read(&mut self, id: SlotId, slots: &mut IoSlots) {
        let key = id.key() as usize;
        let token = id.token().0 as u64;
        let Some(&PollState::Armed {
            token: armed,
            file,
            mask,
        }) = self.polls.get(key)
        else {
            return;
        };
        if armed != token || mask & libc::POLLIN as u32 != 0 {
            return;
        }
        if !matches!(self.recvs.get(key), Some(Some(recv)) if !recv.in_kernel() && !recv.has_data()) {
            return;
        }
        if self.arm_recv(id, slots) {
            return;
        }
        if let Some(Some(recv)) = self.recvs.get_mut(key) {
            recv.watched();
            self.push(ops::read_watch(file, token));
        }
    }

    /// Stops the receive of the live stream `id` for good: cancels it and waits (five seconds
    /// at most) for its final completion (a single receive that completes first is not armed
    /// again), handling the other completions as a poll does. Returns how
    /// many received bytes were not read.
    pub(crate) fn stop_recv(&mut self, id: SlotId, io: &mut IoSlots, woken: &mut Vec<Waker>) -> usize {
        let key = id.key() as usize;
        let token = id.token().0 as u64;
        let in_kernel = |this: &Self| matches!(this.recvs.get(key), Some(Some(recv)) if recv.in_kernel());
        if self.polls.get(key).and_then(|s| s.token()) != Some(token) {
            return 0;
        }
        if let Some(Some(recv)) = self.recvs.get_mut(key) {
            if recv.is(token) {
                recv.stop();
            }
        }
        if in_kernel(self) {
            self.push(ops::cancel(token | RECV_BIT));
            let deadline = Instant::now() + Duration::from_secs(5);
            while in_kernel(self) && Instant::now() < deadline {
                let wait = PollWait::Until {
                    deadline: 0,
                    after: Duration::from_millis(50),
                };
                self.poll(wait, io, woken);
                if in_kernel(self) {
                    // A chain's next receive may have started after the cancellation found
                    // nothing to cancel (`ENOENT`): cancelled in its turn.
                    self.push(ops::cancel(token | RECV_BIT));
                }
            }
        }
        match self.recvs.get(key) {
            Some(Some(recv)) => recv.buffered(),
            _ => 0,
        }
    }

    /// True if the buffer ring is registered and has a free buffer; registers it first if the
    /// completion form has not been used yet (a refusal turns the form off).
    fn ready_ring(&mut self) -> bool {
        if self.recv_refused {
            return false;
        }
        if let RecvForm::Unused = self.recv_form {
            self.recv_form = match BufRing::new(&self.ring.submitter()) {
                Ok(bufs) => RecvForm::On(bufs),
                Err(_) => RecvForm::Off,
            };
        }
        matches!(&self.recv_form, RecvForm::On(bufs) if bufs.available() > 0)
    }
}

/// Records in `recv` that its receive is armed and puts its entries in `chain` (U9): where
/// the kernel takes a total (`total`, 6.17) and the room left under the cap is two buffers or
/// more, a multishot receive with that room less one buffer's overshoot as its total (the
/// kernel's last receive before the total may fill a whole buffer: measured 4,088 bytes past
/// it on 6.18); else single receives of at most one buffer each (`chained` of them at most,
/// and no more than the pieces left under the cap), linked so the kernel runs them in order,
/// their lengths adding up to at most the room left. Either way the stream stays within its
/// cap, to the byte.
fn arm_entries(
    recv: &mut StreamRecv,
    file: File,
    token: u64,
    total: bool,
    chained: usize,
    chain: &mut Vec<squeue::Entry>,
) {
    const BUF: u32 = BUF_SIZE as u32;
    chain.clear();
    let room = recv.room();
    if total && room >= 2 * BUF {
        recv.armed(Arm::Total, 1);
        chain.push(ops::recv_multi(file, token, room - (BUF - 1)));
        return;
    }
    let receives = (room.div_ceil(BUF) as usize)
        .min(recv.pieces_room())
        .min(chained)
        .max(1);
    let mut left = room;
    for i in 0..receives {
        let len = left.min(BUF);
        left -= len;
        let last = i + 1 == receives;
        // Only the first receive waits for readability first: the later ones run as the one
        // before completes, while the socket may still hold bytes.
        chain.push(ops::recv_once(file, token, len, i == 0 && recv.drained(), !last));
    }
    recv.armed(Arm::Once, receives as u16);
}
