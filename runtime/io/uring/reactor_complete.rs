//! The completions of the polls and receives (U2, U5, U7, U9, U12 in runtime/io/uring/mod.rs):
//! readiness recorded, received bytes queued, polls and receives armed again, retired slots
//! freed once their final completions came, and the fallback of a stream whose index in the
//! file table the kernel did not fill. (The sends' completions are in reactor_send.rs.)

use std::os::fd::RawFd;
use std::task::Waker;

use io_uring::cqueue;
use mio::Token;

use super::super::ops::{self, File, RECV_BIT};
use super::{PollState, RecvForm, UringReactor, RECV_CHAIN, REFILE_LIMIT};
use crate::io::slots::{IoSlots, Ready, SlotId};

impl UringReactor {
    /// The live or retiring slot key of `token`, if the token is its occupant's (U2).
    pub(super) fn key_of(&self, token: u64) -> Option<usize> {
        let key = SlotId::from_token(Token(token as usize)).key() as usize;
        let found = self.polls.get(key).is_some_and(|s| s.token() == Some(token));
        debug_assert!(found, "aioloop: a completion for no registration (U2)");
        found.then_some(key)
    }

    /// Frees the retiring slot `key` once neither its poll nor its receive nor its send is in
    /// the kernel, and its index in the file table with it (U12).
    pub(super) fn free_if_settled(&mut self, key: usize, io: &mut IoSlots) {
        let PollState::Retiring {
            token,
            poll: false,
            fixed,
        } = self.polls[key]
        else {
            return;
        };
        if matches!(self.recvs.get(key), Some(Some(recv)) if recv.in_kernel()) {
            return;
        }
        if matches!(self.sends.get(key), Some(Some(send)) if send.lingers()) {
            return;
        }
        self.polls[key] = PollState::Free;
        if let Some(slot) = self.recvs.get_mut(key) {
            *slot = None;
        }
        if let Some(slot) = self.sends.get_mut(key) {
            // U8: nothing of it is in the kernel; a lingering duplicate descriptor closes.
            *slot = None;
        }
        if let Some(index) = fixed {
            self.files.release(index);
        }
        self.forget_fallen(token);
        drop(io.remove(SlotId::from_token(Token(token as usize))));
    }

    /// Handles one completion of the poll tagged `token` (U2); returns 1 if it was an I/O
    /// event. While the stream's receive is in the kernel its read readiness comes from the
    /// receive alone.
    pub(super) fn complete(
        &mut self,
        io: &mut IoSlots,
        woken: &mut Vec<Waker>,
        token: u64,
        result: i32,
        more: bool,
    ) -> usize {
        let Some(key) = self.key_of(token) else {
            return 0;
        };
        let id = SlotId::from_token(Token(token as usize));
        match self.polls[key] {
            PollState::Armed { file, mask, .. } => {
                if result >= 0 {
                    let mut ready = ops::ready_from_mask(result as u32);
                    if matches!(self.recvs.get(key), Some(Some(recv)) if recv.receiving()) {
                        ready.read = false;
                        ready.read_closed = false;
                    }
                    io.dispatch(id.token(), ready, woken);
                    if !more {
                        // The kernel ended the multishot (its completion queue overflowed).
                        self.push(ops::poll_add(file, mask, token));
                    }
                } else if result == -libc::EBADF && self.refiled(key, token) {
                    // U12: it named an empty index and did nothing: armed again on the
                    // stream's descriptor.
                    if let PollState::Armed { file, .. } = self.polls[key] {
                        self.push(ops::poll_add(file, mask, token));
                    }
                } else {
                    // A failed poll ends it: nothing is left in the kernel.
                    self.polls[key] = PollState::Failed { token, file };
                    io.dispatch(id.token(), ops::ready_on_failure(), woken);
                }
                1
            }
            PollState::Retiring { fixed, .. } => {
                if !more {
                    self.polls[key] = PollState::Retiring {
                        token,
                        poll: false,
                        fixed,
                    };
                    self.free_if_settled(key, io);
                }
                0
            }
            PollState::Failed { .. } | PollState::Side { .. } | PollState::Free => 0,
        }
    }

    /// Handles one completion of the receive of the stream `token` (U5, U7): queues its bytes
    /// (or its end) and wakes the reader; a retiring stream's buffers go straight back to the
    /// ring. Returns 1 if it was an I/O event.
    pub(super) fn complete_recv(
        &mut self,
        io: &mut IoSlots,
        woken: &mut Vec<Waker>,
        token: u64,
        result: i32,
        flags: u32,
    ) -> usize {
        let Some(key) = self.key_of(token) else {
            return 0;
        };
        let retiring = matches!(self.polls[key], PollState::Retiring { .. });
        // U12: a receive (or read watch) that named an empty index received nothing; the
        // reader, woken, arms the next one on the stream's descriptor.
        let refiled = result == -libc::EBADF && !retiring && self.refiled(key, token);
        let (Some(Some(recv)), RecvForm::On(bufs)) = (self.recvs.get_mut(key), &mut self.recv_form) else {
            debug_assert!(false, "aioloop: a receive completion without its state (U7)");
            return 0;
        };
        let more = cqueue::more(flags);
        if retiring {
            recv.complete(result, flags, bufs);
            recv.release(bufs);
            if !more {
                self.free_if_settled(key, io);
            }
            return 0;
        }
        if refiled {
            recv.complete(-libc::ECANCELED, flags, bufs);
        } else if result == -libc::EINVAL && recv.receiving() && !recv.has_data() && recv.limited() {
            // A kernel without a multishot receive's total (before 6.17; before 6.0 without
            // multishot receives at all) refuses the entry: the streams receive with single
            // receives from now on (U9); the reader's next read arms this one again.
            self.recv_limit = false;
            recv.complete(-libc::ECANCELED, flags, bufs);
        } else if result == -libc::EINVAL && recv.receiving() && !recv.has_data() {
            // A kernel that refuses a single receive with buffer select too: this stream and
            // the later ones read as in the readiness form.
            recv.complete(-libc::ECANCELED, flags, bufs);
            self.recv_form_refused();
        } else {
            if result > 0 && !recv.limited() {
                // The kernel takes single receives with buffer select: they may be chained (no
                // longer than the submission queue, which takes a chain whole).
                self.recv_chained = RECV_CHAIN.min(self.ring.params().sq_entries() as usize);
            }
            let ready = recv.complete(result, flags, bufs);
            if recv.over_cap() {
                // U9: the stream holds its cap: the receive stops (what the kernel completes
                // before the cancellation still queues, in order) and the rest waits in the
                // socket. Submitted now, so the cancellation is behind us before any new
                // receive of this stream is armed under the same `user_data`. Sent again at
                // each completion that comes with the receive going on: a cancellation may find
                // nothing (`ENOENT`, seen on 6.18), and the receive, bounded in bytes by its
                // total, would pass the cap in pieces.
                recv.capped();
                self.push(ops::cancel(token | RECV_BIT));
                self.submit_now();
            } else if recv.rearm_due() {
                // The receive ended with bytes under the cap (a single receive, or a multishot
                // one at its total, U9): the next one is submitted as the reap ends (U4), its
                // bytes queueing behind these.
                if let Some(&PollState::Armed { file, .. }) = self.polls.get(key) {
                    self.queue_recv(key, file, token);
                    self.recv_rearmed = true;
                }
            }
            io.dispatch(Token(token as usize), ready, woken);
            return 1;
        }
        io.dispatch(
            Token(token as usize),
            Ready {
                read: true,
                ..Ready::default()
            },
            woken,
        );
        1
    }

    /// The install of the stream `token`'s index failed (U12): the stream names its
    /// descriptor `fd` from now on, and its entries that named the index go again.
    pub(super) fn install_failed(&mut self, token: u64, fd: RawFd) {
        let key = SlotId::from_token(Token(token as usize)).key() as usize;
        match self.polls.get_mut(key) {
            Some(PollState::Armed { token: t, file, .. } | PollState::Failed { token: t, file })
                if *t == token =>
            {
                *file = File::Fd(fd);
            }
            Some(PollState::Retiring { token: t, .. }) if *t == token => {}
            _ => return,
        }
        self.fallen.push((token, 0));
    }

    /// An entry of the stream `token` (slot `key`) failed with `EBADF`: true if it named the
    /// stream's index while that was empty (the install failed, its completion maybe not
    /// seen yet: an entry issued after the install finds the index filled unless it failed),
    /// so it did nothing and goes again on the descriptor the stream names from now on
    /// (U12). A stream on its descriptor from the start never meets `EBADF` on it: it
    /// closes its descriptor only after its slot was retired.
    pub(super) fn refiled(&mut self, key: usize, token: u64) -> bool {
        match self.polls.get_mut(key) {
            Some(PollState::Armed { token: t, file, .. } | PollState::Failed { token: t, file })
                if *t == token =>
            {
                if let File::Fixed(index) = *file {
                    if self.files.unconfirmed(index) {
                        *file = File::Fd(self.files.refused(index));
                        self.fallen.push((token, 1));
                        return true;
                    }
                }
            }
            Some(&mut PollState::Retiring {
                token: t,
                fixed: Some(index),
                ..
            }) if t == token && self.files.unconfirmed(index) => {
                self.fallen.push((token, 1));
                return true;
            }
            _ => {}
        }
        match self.fallen.iter_mut().find(|(t, _)| *t == token) {
            Some((_, redone)) if *redone < REFILE_LIMIT => {
                *redone += 1;
                true
            }
            _ => false,
        }
    }

    /// The stream `token` is gone: no entry of it is in the kernel any more.
    pub(super) fn forget_fallen(&mut self, token: u64) {
        if !self.fallen.is_empty() {
            self.fallen.retain(|&(t, _)| t != token);
        }
    }

    /// The kernel refused a multishot receive: no new receive is armed on this loop (the ring
    /// stays registered while receives may still complete).
    fn recv_form_refused(&mut self) {
        self.recv_refused = true;
    }
}
