//! [`UringReactor`]: the ring, one multishot poll per registration, the streams' receives and
//! the buffer ring they fill (runtime/io/uring/reactor_recv.rs), the streams' sends
//! (reactor_send.rs), the completions' handling (reactor_complete.rs), and the side
//! `mio::Poll` for sources without a descriptor of their own (invariants U1-U12 in the module
//! above).

use std::io;
use std::os::fd::AsRawFd;
use std::task::Waker;
use std::time::{Duration, Instant};

use io_uring::{cqueue, squeue, types, IoUring};
use mio::{Events, Interest, Token};

use super::bufring::BufRing;
use super::busy;
use super::files::{FileTable, Update, FILES_BIT};
use super::ops::{self, File, RECV_BIT, REMOVE_DATA, SEND_BITS, SIDE_DATA};
use super::recv::StreamRecv;
use super::send::StreamSend;
use crate::io::reactor::{PollWait, WAKER_TOKEN};
use crate::io::slots::{IoSlots, SlotId};
use crate::io::Source;
use crate::waker_slot::WakerSet;

/// The most entries of one stream that go again on its descriptor after its install failed
/// (U12): its poll, a chain of receives (whose first fails, the rest being cancelled) or a
/// read watch, its send, and the ones armed again before the install's completion came.
const REFILE_LIMIT: u32 = 4 * RECV_CHAIN as u32;

/// The most single receives one arming chains (U9): sixteen buffers, the cap's 64 KiB in
/// 4 KiB buffers; one enter submits them all where one receive each took one.
const RECV_CHAIN: usize = 16;

#[path = "reactor_complete.rs"]
mod reactor_complete;
#[path = "reactor_recv.rs"]
mod reactor_recv;
#[path = "reactor_send.rs"]
mod reactor_send;
#[cfg(test)]
#[path = "reactor_tests.rs"]
mod tests;

/// What the kernel has of one registration (by slot key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PollState {
    /// No registration under this key.
    Free,
    /// A multishot poll of `file` for `mask` is in the kernel (or queued) under `token`.
    Armed { token: u64, file: File, mask: u32 },
    /// Deregistered; the final completion of its poll (if `poll`), of its receive (if its
    /// [`StreamRecv`] is still in the kernel) or of its sends (its [`StreamSend`] lingers) has
    /// not arrived yet (U2, U7, U8). `fixed`: its index in the file table, emptied and still
    /// taken until then (U12).
    Retiring {
        token: u64,
        poll: bool,
        fixed: Option<u32>,
    },
    /// The poll failed and was not armed again: nothing of it is in the kernel; the stream's
    /// receives and sends still act on `file`.
    Failed { token: u64, file: File },
    /// Registered with the side `mio::Poll` (no descriptor of its own).
    Side { token: u64 },
}

impl PollState {
    fn token(self) -> Option<u64> {
        match self {
            PollState::Free => None,
            PollState::Armed { token, .. }
            | PollState::Retiring { token, .. }
            | PollState::Failed { token, .. }
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
    /// Per slot key, the receive state of a stream in the completion form (`None` for other
    /// registrations and for streams whose reads never armed a receive).
    recvs: Vec<Option<Box<StreamRecv>>>,
    /// The completion form of stream reads: whether it may be used, and its buffer ring
    /// (registered at the first receive).
    recv_form: RecvForm,
    /// Completions taken from the queue, handled after its borrow ends.
    cqes: Vec<(u64, i32, u32)>,
    /// Completions taken from the queue by a submission the kernel refused for want of room
    /// (U11), older than those still in the queue: the next reap handles them first.
    stashed: Vec<(u64, i32, u32)>,
    /// The kernel refused a multishot receive: no new one is armed.
    recv_refused: bool,
    /// Receives are armed with the room left under the stream's cap as their total (U9);
    /// cleared when the kernel refuses such a receive (before 6.17).
    recv_limit: bool,
    /// A completion taken in armed its stream's receive again (U9): submitted as the reap
    /// ends.
    recv_rearmed: bool,
    /// How many single receives one arming may chain (U9): 1 until a single receive with
    /// buffer select completed with bytes (a kernel refusing it would refuse each receive
    /// of a chain), then [`RECV_CHAIN`] (or the submission queue's size if smaller).
    recv_chained: usize,
    /// The entries of the receive being armed (kept for its allocation).
    chain: Vec<squeue::Entry>,
    /// Streams write through sends from their send buffers (the completion form).
    send_form: bool,
    /// Per slot key, the send state of a stream in the completion form (U8).
    sends: Vec<Option<Box<StreamSend>>>,
    /// Tokens of the streams with bytes to hand to the kernel at the next enter.
    send_queue: Vec<u64>,
    /// The ring's table of registered files, where streams take an index (U12).
    files: FileTable,
    /// The streams whose index the kernel did not fill (its install failed, U12), by token,
    /// with how many of their entries went again: their entries that named the index fail
    /// with `EBADF` having done nothing, and go again on their descriptors (at most
    /// [`REFILE_LIMIT`] of them, so an `EBADF` of the descriptor itself, which no stream that
    /// owns its descriptor meets, is an error and never a loop). Almost always empty; a
    /// token leaves with its slot.
    fallen: Vec<(u64, u32)>,
}

/// Whether streams read through receives into the buffer ring.
enum RecvForm {
    /// No (the probe refused it, or the kernel refused the buffer ring or the receive).
    Off,
    /// Yes; the buffer ring is registered at the first receive.
    Unused,
    /// Yes, with the registered ring.
    On(BufRing),
}

impl UringReactor {
    /// A reactor on `ring` (a ring [`probe`](super::probe::probe) accepted); `recv_form` if
    /// the probe found what the completion form needs (multishot receives and sends).
    ///
    /// # Errors
    /// The OS refusing the side poll, or a bad `AIOLOOP_IO_URING_FILES` ([`FileTable::new`]).
    pub(crate) fn new(ring: IoUring, recv_form: bool) -> io::Result<Self> {
        let side = mio::Poll::new()?;
        let files = FileTable::new(ring.params())?;
        let mut reactor = UringReactor {
            ring,
            side,
            side_events: Events::with_capacity(64),
            polls: Vec::new(),
            recvs: Vec::new(),
            recv_form: if recv_form {
                RecvForm::Unused
            } else {
                RecvForm::Off
            },
            cqes: Vec::new(),
            stashed: Vec::new(),
            recv_refused: false,
            recv_limit: super::probe::recv_total_wanted(),
            recv_rearmed: false,
            recv_chained: 1,
            chain: Vec::with_capacity(RECV_CHAIN),
            send_form: recv_form,
            sends: Vec::new(),
            send_queue: Vec::new(),
            files,
            fallen: Vec::new(),
        };
        let side_fd = reactor.side.as_raw_fd();
        reactor.push(ops::poll_add(File::Fd(side_fd), libc::POLLIN as u32, SIDE_DATA));
        Ok(reactor)
    }

    /// The registry of the side poll: the remote queue's `mio::Waker` registers there.
    pub(crate) fn registry(&self) -> &mio::Registry {
        self.side.registry()
    }

    /// Queues `entry`, handing the queue to the kernel first if it is full.
    fn push(&mut self, entry: squeue::Entry) {
        loop {
            // SAFETY: U1: no entry points to memory of ours but a send's (a receive's buffers
            // are the ring's, which outlives every receive, U6), and a send's bytes stay put
            // and alive until its completion (U8), so nothing an entry names can be freed or
            // moved while the kernel holds it.
            if unsafe { self.ring.submission().push(&entry) }.is_ok() {
                return;
            }
            self.submit_now();
        }
    }

    /// Submits what is queued, now (U3). Refused for a full completion queue (`EBUSY`), it
    /// takes the completions waiting there into [`UringReactor::stashed`] (the next reap
    /// handles them first, in order) and submits again (U11).
    ///
    /// # Panics
    /// If the kernel refuses the submission for another reason, or keeps refusing with no
    /// completion left to reap ([`busy::BUSY_LIMIT`] times): the loop cannot go on without
    /// its poller.
    fn submit_now(&mut self) {
        if let Err(err) = busy::submit_retrying(self, |this| this.ring.submit(), Self::stash_completions) {
            panic!("aioloop: submitting to the io_uring failed: {err}");
        }
    }

    /// Takes the completions waiting in the completion queue into `stashed` (U11); returns
    /// how many.
    fn stash_completions(&mut self) -> usize {
        take_completions(&mut self.ring, &mut self.stashed)
    }

    fn state_mut(&mut self, id: SlotId) -> &mut PollState {
        let key = id.key() as usize;
        if self.polls.len() <= key {
            self.polls.resize(key + 1, PollState::Free);
        }
        &mut self.polls[key]
    }

    /// Registers `source` for `interest` under `id`: a multishot poll on its descriptor,
    /// queued for the next enter (U4); a source without one goes to the side poll. A `stream`
    /// in the completion form is polled for writability only: its reads learn of bytes through
    /// its receive (or, while none runs, a read watch: [`UringReactor::watch_read`]), so an
    /// arrival costs one completion, not two. A stream in the completion form takes an index
    /// in the ring's file table, if one is free, for all its entries (U12).
    pub(crate) fn register(
        &mut self,
        source: &mut impl Source,
        id: SlotId,
        interest: Interest,
        stream: bool,
    ) -> io::Result<()> {
        let token = id.token().0 as u64;
        match source.raw_fd() {
            Some(fd) => {
                let by_recv = stream && self.recv_form();
                let mask = ops::poll_mask(if by_recv { Interest::WRITABLE } else { interest });
                let fixed = if by_recv || (stream && self.send_form) {
                    self.files.insert(&self.ring.submitter(), fd, token)
                } else {
                    None
                };
                let file = match fixed {
                    Some((index, install)) => {
                        // U12: queued ahead of every entry that names the index; the kernel
                        // issues a submission's entries in order and fills the index as it
                        // issues the install.
                        self.push(install);
                        File::Fixed(index)
                    }
                    None => File::Fd(fd),
                };
                *self.state_mut(id) = PollState::Armed { token, file, mask };
                let key = id.key() as usize;
                if by_recv {
                    if self.recvs.len() <= key {
                        self.recvs.resize_with(key + 1, || None);
                    }
                    self.recvs[key] = Some(Box::new(StreamRecv::new(token)));
                }
                if stream && self.send_form {
                    if self.sends.len() <= key {
                        self.sends.resize_with(key + 1, || None);
                    }
                    self.sends[key] = Some(Box::new(StreamSend::new(fd)));
                }
                self.push(ops::poll_add(file, mask, token));
            }
            None => {
                self.side.registry().register(source, id.token(), interest)?;
                *self.state_mut(id) = PollState::Side { token };
            }
        }
        Ok(())
    }

    /// Deregisters `id`: cancels its poll and its receive and retires its slot until their
    /// final completions (U2, U3, U7), or frees the slot at once where the kernel holds nothing
    /// of it; bytes received and not read go with it (their buffers go back to the ring).
    /// Returns the slot's wakers for the caller to drop outside its borrow; `None` if `id` is
    /// not registered (idempotent).
    pub(crate) fn deregister(
        &mut self,
        source: &mut impl mio::event::Source,
        id: SlotId,
        slots: &mut IoSlots,
    ) -> Option<[WakerSet; 2]> {
        let token = id.token().0 as u64;
        let key = id.key() as usize;
        let state = *self.state_mut(id);
        if state.token() != Some(token) {
            return None;
        }
        let (poll, file) = match state {
            PollState::Armed { file, .. } => (true, file),
            PollState::Failed { file, .. } => (false, file),
            PollState::Side { .. } => {
                self.polls[key] = PollState::Free;
                let _ = self.side.registry().deregister(source);
                return slots.remove(id);
            }
            PollState::Retiring { .. } | PollState::Free => return None,
        };
        let recv = self.release_recv(key);
        let send = self.linger_send(key);
        if poll {
            self.push(ops::cancel(token));
        }
        if recv {
            self.push(ops::cancel(token | RECV_BIT));
        }
        let fixed = match file {
            File::Fixed(index) => Some(index),
            File::Fd(_) => None,
        };
        if let Some(index) = fixed {
            // U12: right behind the cancellations, in the submission below (the requests they
            // find keep the file they resolved); the index is freed with the slot.
            let removal = self.files.remove(index);
            self.push(removal);
        }
        if poll || recv || send {
            self.polls[key] = PollState::Retiring { token, poll, fixed };
            let wakers = slots.retire(id);
            self.submit_now();
            wakers
        } else {
            self.polls[key] = PollState::Free;
            self.forget_fallen(token);
            if let Some(index) = fixed {
                // U12: nothing of the stream is in the kernel; the removal goes in now.
                self.submit_now();
                self.files.release(index);
            }
            slots.remove(id)
        }
    }

    /// Submits what is queued and waits as `wait` allows, in one `io_uring_enter` (U4): the
    /// streams' sends of this iteration first.
    fn enter(&mut self, wait: PollWait) {
        if !self.send_queue.is_empty() {
            self.start_sends();
        }
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
        // Completions stashed by a refused submission (U11) are events already: no waiting.
        self.enter(if self.stashed.is_empty() {
            wait
        } else {
            PollWait::Zero
        });
        self.reap(io, woken)
    }

    /// True if completions wait to be handled (in the queue, or stashed: U11).
    fn completions_waiting(&mut self) -> bool {
        !self.stashed.is_empty() || !self.ring.completion().is_empty()
    }

    /// Handles the completions already in the queue (no system call): records readiness,
    /// queues received bytes, arms again the polls the kernel ended and frees the retired
    /// slots whose final completions came (U2, U7). Returns the number of I/O events.
    fn reap(&mut self, io: &mut IoSlots, woken: &mut Vec<Waker>) -> usize {
        let mut io_events = 0;
        let mut side_ready = false;
        // Until no submission made while handling them stashed more (U11).
        loop {
            let mut cqes = std::mem::take(&mut self.cqes);
            cqes.append(&mut self.stashed);
            take_completions(&mut self.ring, &mut cqes);
            if cqes.is_empty() {
                self.cqes = cqes;
                break;
            }
            self.handle(&cqes, io, woken, &mut io_events, &mut side_ready);
            cqes.clear();
            self.cqes = cqes;
            if self.stashed.is_empty() {
                break;
            }
        }
        if std::mem::take(&mut self.recv_rearmed) {
            // The receives armed again go to the kernel now, in one submission, as a read arms
            // one (U4): what the sockets hold already (an EOF right behind the bytes just
            // taken in) is a completion before their readers look again.
            self.submit_now();
        }
        if side_ready {
            io_events += self.poll_side(io, woken);
        }
        io_events
    }

    /// Handles the completions `cqes`, in order (see [`UringReactor::reap`]).
    fn handle(
        &mut self,
        cqes: &[(u64, i32, u32)],
        io: &mut IoSlots,
        woken: &mut Vec<Waker>,
        io_events: &mut usize,
        side_ready: &mut bool,
    ) {
        for &(data, result, flags) in cqes {
            let more = cqueue::more(flags);
            match data {
                REMOVE_DATA => {}
                SIDE_DATA => {
                    *side_ready |= result >= 0;
                    if !more {
                        self.push(ops::poll_add(
                            File::Fd(self.side.as_raw_fd()),
                            libc::POLLIN as u32,
                            SIDE_DATA,
                        ));
                    }
                }
                data if data & SEND_BITS == SEND_BITS => {
                    *io_events += self.complete_send(io, woken, data & !SEND_BITS, result);
                }
                data if data & RECV_BIT != 0 => {
                    *io_events += self.complete_recv(io, woken, data & !RECV_BIT, result, flags);
                }
                data if data & FILES_BIT != 0 => match self.files.complete(data, result) {
                    Update::Done => {}
                    Update::Queue(entry) => self.push(entry),
                    Update::InstallFailed { token, fd } => self.install_failed(token, fd),
                },
                token => *io_events += self.complete(io, woken, token, result, more),
            }
        }
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

/// Moves the completions waiting in `ring`'s completion queue to the end of `into`, in order,
/// as (user data, result, flags); returns how many.
fn take_completions(ring: &mut IoUring, into: &mut Vec<(u64, i32, u32)>) -> usize {
    let before = into.len();
    into.extend(
        ring.completion()
            .map(|cqe| (cqe.user_data(), cqe.result(), cqe.flags())),
    );
    into.len() - before
}

impl Drop for UringReactor {
    /// U6: the buffer ring is unregistered (and its memory freed) only once no receive that
    /// may select from it is in the kernel: every receive still there is cancelled and its
    /// final completion awaited (a few milliseconds at most; after five seconds the memory is
    /// leaked instead, never freed under the kernel).
    fn drop(&mut self) {
        self.settle_sends();
        let RecvForm::On(_) = self.recv_form else {
            return;
        };
        let in_kernel = |recvs: &[Option<Box<StreamRecv>>]| -> Vec<u64> {
            let mut tokens = Vec::new();
            for (key, recv) in recvs.iter().enumerate() {
                if matches!(recv, Some(recv) if recv.in_kernel()) {
                    tokens.push(key as u64);
                }
            }
            tokens
        };
        for key in in_kernel(&self.recvs) {
            if let Some(token) = self.polls[key as usize].token() {
                if let PollState::Armed { .. } | PollState::Failed { .. } = self.polls[key as usize] {
                    self.push(ops::cancel(token | RECV_BIT));
                }
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !in_kernel(&self.recvs).is_empty() && Instant::now() < deadline {
            let timeout = timespec(Duration::from_millis(50));
            let args = types::SubmitArgs::new().timespec(&timeout);
            let _ = self.ring.submitter().submit_with_args(1, &args);
            // The stashed completions (U11) first, then the queue's, in order.
            self.stash_completions();
            let RecvForm::On(bufs) = &mut self.recv_form else {
                return;
            };
            for (data, result, flags) in self.stashed.drain(..) {
                if data & RECV_BIT == 0 || data == REMOVE_DATA || data == SIDE_DATA {
                    continue;
                }
                let key = SlotId::from_token(Token((data & !RECV_BIT) as usize)).key() as usize;
                if let Some(Some(recv)) = self.recvs.get_mut(key) {
                    recv.complete(result, flags, bufs);
                    recv.release(bufs);
                }
            }
        }
        if in_kernel(&self.recvs).is_empty() {
            if let RecvForm::On(bufs) = &mut self.recv_form {
                bufs.unregister(&self.ring.submitter());
            }
        }
    }
}

/// A wait's timeout in the kernel's form.
fn timespec(after: Duration) -> types::Timespec {
    types::Timespec::new()
        .sec(after.as_secs())
        .nsec(after.subsec_nanos())
}
