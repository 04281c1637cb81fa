//! [`UringReactor`]: the ring, one multishot poll per registration, and the side `mio::Poll`
//! for sources without a descriptor of their own (invariants U1-U4 in the module above).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::task::Waker;
use std::time::Duration;

use io_uring::{cqueue, squeue, types, IoUring};
use mio::{Events, Interest, Token};

use super::ops::{self, REMOVE_DATA, SIDE_DATA};
use crate::io::reactor::{PollWait, WAKER_TOKEN};
use crate::io::slots::{IoSlots, SlotId};
use crate::io::Source;

/// What the kernel has of one registration (by slot key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PollState {
    /// No registration under this key.
    Free,
    /// A multishot poll of `fd` for `mask` is in the kernel (or queued) under `token`.
    Armed { token: u64, fd: RawFd, mask: u32 },
    /// Deregistered; the poll's final completion has not arrived yet (U2).
    Retiring { token: u64 },
    /// The poll failed and was not armed again: nothing of it is in the kernel.
    Failed { token: u64 },
    /// Registered with the side `mio::Poll` (no descriptor of its own).
    Side { token: u64 },
}

impl PollState {
    fn token(self) -> Option<u64> {
        match self {
            PollState::Free => None,
            PollState::Armed { token, .. }
            | PollState::Retiring { token }
            | PollState::Failed { token }
            | PollState::Side { token } => Some(token),
        }
    }
}

/// The io_uring reactor.
pub(crate) struct UringReactor {
    ring: IoUring,
    /// Sources without a descriptor (the signal pipe) and the remote queue's `mio::Waker`;
    /// its own descriptor is polled on the ring under [`SIDE_DATA`].
    side: mio::Poll,
    side_events: Events,
    /// Per slot key, what the kernel has of that registration.
    polls: Vec<PollState>,
}

impl UringReactor {
    /// A reactor on `ring` (a ring [`probe`](super::probe::probe) accepted).
    pub(crate) fn new(ring: IoUring) -> io::Result<Self> {
        let side = mio::Poll::new()?;
        let mut reactor = UringReactor {
            ring,
            side,
            side_events: Events::with_capacity(64),
            polls: Vec::new(),
        };
        let side_fd = reactor.side.as_raw_fd();
        reactor.push(ops::poll_add(side_fd, libc::POLLIN as u32, SIDE_DATA));
        Ok(reactor)
    }

    /// The registry of the side poll: the remote queue's `mio::Waker` registers there.
    pub(crate) fn registry(&self) -> &mio::Registry {
        self.side.registry()
    }

    /// Queues `entry`, handing the queue to the kernel first if it is full.
    fn push(&mut self, entry: squeue::Entry) {
        loop {
            // SAFETY: U1: a poll entry points to no memory of ours, so nothing it names can
            // be freed or moved while the kernel holds it.
            if unsafe { self.ring.submission().push(&entry) }.is_ok() {
                return;
            }
            self.submit_now();
        }
    }

    /// Submits what is queued, now (U3). A refused submission panics as a failed poll does.
    fn submit_now(&mut self) {
        loop {
            match self.ring.submit() {
                Ok(_) => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                // The completion queue is full: the next poll drains it; what is queued
                // stays queued (and goes with the next enter).
                Err(err) if err.raw_os_error() == Some(libc::EBUSY) => return,
                Err(err) => panic!("aioloop: submitting to the io_uring failed: {err}"),
            }
        }
    }

    fn state_mut(&mut self, id: SlotId) -> &mut PollState {
        let key = id.key() as usize;
        if self.polls.len() <= key {
            self.polls.resize(key + 1, PollState::Free);
        }
        &mut self.polls[key]
    }

    /// Registers `source` for `interest` under `id`: a multishot poll on its descriptor,
    /// queued for the next enter (U4); a source without one goes to the side poll.
    pub(crate) fn register(
        &mut self,
        source: &mut impl Source,
        id: SlotId,
        interest: Interest,
    ) -> io::Result<()> {
        let token = id.token().0 as u64;
        match source.raw_fd() {
            Some(fd) => {
                let mask = ops::poll_mask(interest);
                *self.state_mut(id) = PollState::Armed { token, fd, mask };
                self.push(ops::poll_add(fd, mask, token));
            }
            None => {
                self.side.registry().register(source, id.token(), interest)?;
                *self.state_mut(id) = PollState::Side { token };
            }
        }
        Ok(())
    }

    /// Deregisters `id`: removes its poll and retires its slot until the final completion
    /// (U2, U3), or frees the slot at once where the kernel holds nothing of it. Returns the
    /// slot's wakers for the caller to drop outside its borrow; `None` if `id` is not
    /// registered (idempotent).
    pub(crate) fn deregister(
        &mut self,
        source: &mut impl mio::event::Source,
        id: SlotId,
        slots: &mut IoSlots,
    ) -> Option<[Option<Waker>; 2]> {
        let token = id.token().0 as u64;
        let state = self.state_mut(id);
        if state.token() != Some(token) {
            return None;
        }
        match *state {
            PollState::Armed { .. } => {
                *state = PollState::Retiring { token };
                let wakers = slots.retire(id);
                self.push(ops::poll_cancel(token));
                self.submit_now();
                wakers
            }
            PollState::Failed { .. } => {
                *state = PollState::Free;
                slots.remove(id)
            }
            PollState::Side { .. } => {
                *state = PollState::Free;
                let _ = self.side.registry().deregister(source);
                slots.remove(id)
            }
            PollState::Retiring { .. } | PollState::Free => None,
        }
    }

    /// Submits what is queued and waits as `wait` allows, in one `io_uring_enter` (U4).
    fn enter(&mut self, wait: PollWait) {
        let result = match wait {
            PollWait::Zero => {
                let mut sq = self.ring.submission();
                if sq.is_empty() && !sq.cq_overflow() && !sq.taskrun() {
                    return;
                }
                sq.sync();
                drop(sq);
                self.ring.submit()
            }
            PollWait::Forever => self.ring.submit_and_wait(1),
            PollWait::Until { after, .. } => {
                let timeout = timespec(after);
                let args = types::SubmitArgs::new().timespec(&timeout);
                // The kernel copies the timeout during the call (U1).
                self.ring.submitter().submit_with_args(1, &args)
            }
        };
        match result {
            Ok(_) => {}
            Err(err) if matches!(err.raw_os_error(), Some(libc::ETIME | libc::EINTR | libc::EBUSY)) => {}
            Err(err) => panic!("aioloop: waiting on the io_uring failed: {err}"),
        }
    }

    /// Waits for completions as `wait` allows and records each poll's readiness in `io`,
    /// pushing the wakers it releases onto `woken`; arms again the polls the kernel ended and
    /// frees the retired slots whose final completion came (U2). Returns the number of I/O
    /// events.
    ///
    /// # Panics
    /// If the kernel refuses the enter for a reason other than a timeout, a signal or a full
    /// completion queue: the loop cannot go on without its poller.
    pub(crate) fn poll(&mut self, wait: PollWait, io: &mut IoSlots, woken: &mut Vec<Waker>) -> usize {
        self.enter(wait);
        let mut io_events = 0;
        let mut side_ready = false;
        let mut rearm = Vec::new();
        for cqe in self.ring.completion() {
            let (data, result, more) = (cqe.user_data(), cqe.result(), cqueue::more(cqe.flags()));
            match data {
                REMOVE_DATA => {}
                SIDE_DATA => {
                    side_ready |= result >= 0;
                    if !more {
                        rearm.push(ops::poll_add(
                            self.side.as_raw_fd(),
                            libc::POLLIN as u32,
                            SIDE_DATA,
                        ));
                    }
                }
                token => {
                    io_events += complete(&mut self.polls, io, woken, &mut rearm, token, result, more);
                }
            }
        }
        for entry in rearm {
            self.push(entry);
        }
        if side_ready {
            io_events += self.poll_side(io, woken);
        }
        io_events
    }

    /// Drains the side poll (its descriptor reported readiness) into `io`.
    fn poll_side(&mut self, io: &mut IoSlots, woken: &mut Vec<Waker>) -> usize {
        if self
            .side
            .poll(&mut self.side_events, Some(Duration::ZERO))
            .is_err()
        {
            return 0;
        }
        let mut io_events = 0;
        for event in self.side_events.iter() {
            if event.token() != WAKER_TOKEN {
                io_events += 1;
                io.dispatch(event.token(), crate::io::slots::Ready::from_event(event), woken);
            }
        }
        io_events
    }
}

/// Handles one completion of the poll tagged `token` (U2); returns 1 if it was an I/O event.
fn complete(
    polls: &mut [PollState],
    io: &mut IoSlots,
    woken: &mut Vec<Waker>,
    rearm: &mut Vec<squeue::Entry>,
    token: u64,
    result: i32,
    more: bool,
) -> usize {
    let id = SlotId::from_token(Token(token as usize));
    let Some(state) = polls
        .get_mut(id.key() as usize)
        .filter(|s| s.token() == Some(token))
    else {
        debug_assert!(false, "aioloop: a completion for no registration (U2)");
        return 0;
    };
    match *state {
        PollState::Armed { fd, mask, .. } => {
            if result >= 0 {
                io.dispatch(id.token(), ops::ready_from_mask(result as u32), woken);
                if !more {
                    // The kernel ended the multishot (its completion queue overflowed).
                    rearm.push(ops::poll_add(fd, mask, token));
                }
                1
            } else {
                // A failed poll ends it: nothing is left in the kernel.
                *state = PollState::Failed { token };
                io.dispatch(id.token(), ops::ready_on_failure(), woken);
                1
            }
        }
        PollState::Retiring { .. } => {
            if !more {
                *state = PollState::Free;
                drop(io.remove(id));
            }
            0
        }
        PollState::Failed { .. } | PollState::Side { .. } | PollState::Free => 0,
    }
}

/// A wait's timeout in the kernel's form.
fn timespec(after: Duration) -> types::Timespec {
    types::Timespec::new()
        .sec(after.as_secs())
        .nsec(after.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::slots::Direction;

    /// U2: a deregistered slot stays taken until its poll's final completion, and a poll that
    /// reports readiness wakes the waiting direction.
    #[test]
    fn a_slot_is_freed_only_after_its_final_completion() {
        let Ok(ring) = super::super::probe::probe(8) else {
            return eprintln!("io_uring unavailable here: skipped");
        };
        let mut reactor = UringReactor::new(ring).unwrap();
        let (mut sender, mut receiver) = mio::unix::pipe::new().unwrap();
        let (mut io, mut woken) = (IoSlots::default(), Vec::new());
        let id = io.insert();
        reactor.register(&mut receiver, id, Interest::READABLE).unwrap();
        assert!(!io.poll_ready(id, Direction::Read, Waker::noop()).0);
        std::io::Write::write_all(&mut sender, b"x").unwrap();
        let wait = PollWait::Until {
            deadline: 0,
            after: Duration::from_secs(5),
        };
        assert_eq!(reactor.poll(wait, &mut io, &mut woken), 1);
        assert_eq!(woken.len(), 1, "the read waker");
        assert!(io.is_ready(id, Direction::Read));

        assert!(reactor.deregister(&mut receiver, id, &mut io).is_some());
        assert!(
            reactor.deregister(&mut receiver, id, &mut io).is_none(),
            "idempotent"
        );
        assert_eq!(
            io.len(),
            1,
            "retired, not freed: the kernel may still complete the poll"
        );
        reactor.poll(wait, &mut io, &mut woken);
        assert_eq!(io.len(), 0, "freed by the final completion");
        assert_eq!(
            io.insert(),
            SlotId::from_token(Token(1 << 32)),
            "key 0 reused, next generation"
        );
    }
}
