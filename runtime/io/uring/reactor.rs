//! [`UringReactor`]: the ring, one multishot poll per registration, the streams' multishot
//! receives and the buffer ring they fill, the streams' sends (runtime/io/uring/reactor_send.rs),
//! and the side `mio::Poll` for sources without a descriptor of their own (invariants U1-U8 in
//! the module above).

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, RawFd};
use std::task::Waker;
use std::time::{Duration, Instant};

use io_uring::{cqueue, squeue, types, IoUring};
use mio::{Events, Interest, Token};

use super::bufring::BufRing;
use super::busy;
use super::files::{FileTable, Update, FILES_BIT};
use super::ops::{self, File, RECV_BIT, REMOVE_DATA, SEND_BITS, SIDE_DATA};
use super::recv::{Arm, RecvStep, StreamRecv};
use super::send::StreamSend;
use crate::io::reactor::{PollWait, WAKER_TOKEN};
use crate::io::slots::{Direction, IoSlots, Ready, SlotId};
use crate::io::Source;

/// The most entries of one stream that go again on its descriptor after its install failed
/// (U12): its poll, a chain of receives (whose first fails, the rest being cancelled) or a
/// read watch, its send, and the ones armed again before the install's completion came.
const REFILE_LIMIT: u32 = 4 * RECV_CHAIN as u32;

/// The most single receives one arming chains (U9): sixteen buffers, the cap's 64 KiB in
/// 4 KiB buffers; one enter submits them all where one receive each took one.
const RECV_CHAIN: usize = 16;

#[path = "reactor_send.rs"]
mod reactor_send;

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
    pub(crate) fn new(ring: IoUring, recv_form: bool) -> io::Result<Self> {
        let side = mio::Poll::new()?;
        let files = FileTable::new(ring.params());
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

    /// Arms the receive of the stream at `key` (registered as `token` on `file`, its state able
    /// to arm) and queues its entries ([`arm_entries`]), all in the same submission: a chain of
    /// linked receives split across two would run as two chains at once, out of order (U9).
    fn queue_recv(&mut self, key: usize, file: File, token: u64) {
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
    ) -> Option<[Option<Waker>; 2]> {
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

    /// Gives back the buffers of key `key`'s receive; returns true if the receive is still in
    /// the kernel (its state stays until the final completion, U7).
    fn release_recv(&mut self, key: usize) -> bool {
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
    /// `Wait` stores `waker` for its read direction and returns the waker it replaced.
    pub(crate) fn recv(
        &mut self,
        id: SlotId,
        dst: &mut [MaybeUninit<u8>],
        peek: bool,
        waker: Option<&Waker>,
        slots: &mut IoSlots,
        woken: &mut Vec<Waker>,
    ) -> (RecvStep, Option<Waker>) {
        let key = id.key() as usize;
        let token = id.token().0 as u64;
        let mut reaped = false;
        loop {
            let (RecvForm::On(bufs), Some(Some(recv))) = (&mut self.recv_form, self.recvs.get_mut(key))
            else {
                return (RecvStep::Direct, None);
            };
            // The stream's own state (its token: a later registration under the key has its
            // own), so the read costs one lookup (U7: the state lives while the stream does).
            if !recv.is(token) {
                return (RecvStep::Direct, None);
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
                    (step, None)
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
                        let old = slots.park_unready(id, Direction::Read, waker);
                        (step, old)
                    }
                    None => {
                        slots.clear(id, Direction::Read);
                        (step, None)
                    }
                },
                _ => (step, None),
            };
        }
    }

    /// The reader brought a capped stream below half the cap (U9): its receive goes on, its
    /// bytes queued behind those still buffered.
    #[cold]
    fn rearm_after_read(
        &mut self,
        id: SlotId,
        step: RecvStep,
        slots: &mut IoSlots,
    ) -> (RecvStep, Option<Waker>) {
        self.arm_recv(id, slots);
        (step, None)
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

impl UringReactor {
    /// The live or retiring slot key of `token`, if the token is its occupant's (U2).
    fn key_of(&self, token: u64) -> Option<usize> {
        let key = SlotId::from_token(Token(token as usize)).key() as usize;
        let found = self.polls.get(key).is_some_and(|s| s.token() == Some(token));
        debug_assert!(found, "aioloop: a completion for no registration (U2)");
        found.then_some(key)
    }

    /// Frees the retiring slot `key` once neither its poll nor its receive nor its send is in
    /// the kernel, and its index in the file table with it (U12).
    fn free_if_settled(&mut self, key: usize, io: &mut IoSlots) {
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
    fn complete(
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
    fn complete_recv(
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
    fn install_failed(&mut self, token: u64, fd: RawFd) {
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
    fn forget_fallen(&mut self, token: u64) {
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
    const BUF: u32 = super::bufring::BUF_SIZE as u32;
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
    use crate::io::uring::send::SendStep;

    /// U11 (issue 20, item 3): registrations queued without a poll in between, each of whose
    /// polls completes at once (pipes are writable), overflow the completion queue (1,024
    /// entries) of a ring of two submission entries; every push still goes through (a refused
    /// submission reaps and submits again, never spins) and no readiness is lost: the next
    /// poll reports every pipe writable, the overflowed completions included.
    #[test]
    fn issue20_an_overflowed_completion_queue_neither_spins_nor_loses_completions() {
        let Ok((ring, _)) = super::super::probe::probe(2, true) else {
            return eprintln!("io_uring unavailable here: skipped");
        };
        let mut reactor = UringReactor::new(ring, false).unwrap();
        let (mut io, mut woken) = (IoSlots::default(), Vec::new());
        let mut pipes = Vec::new();
        for _ in 0..1500 {
            let (mut sender, receiver) = mio::unix::pipe::new().unwrap();
            let id = io.insert();
            reactor
                .register(&mut sender, id, Interest::WRITABLE, false)
                .unwrap();
            pipes.push((id, sender, receiver));
        }
        let wait = PollWait::Until {
            deadline: 0,
            after: Duration::from_millis(100),
        };
        let mut events = 0;
        for _ in 0..10 {
            events += reactor.poll(wait, &mut io, &mut woken);
        }
        let writable = pipes
            .iter()
            .filter(|(id, ..)| io.is_ready(*id, Direction::Write))
            .count();
        assert_eq!(writable, pipes.len(), "{events} events");
        for (id, mut sender, _receiver) in pipes {
            reactor.deregister(&mut sender, id, &mut io);
        }
        for _ in 0..10 {
            reactor.poll(wait, &mut io, &mut woken);
        }
        assert_eq!(io.len(), 0, "every slot freed by its final completion");
    }

    /// U12 (issue 20): an install of a stream's index that fails leaves the index empty; the
    /// stream's poll, send and receive queued behind it in the same submission find it empty
    /// (`EBADF`) and did nothing: each goes again on the stream's descriptor, which the stream
    /// names from then on. No entry and no byte is lost either way.
    #[test]
    fn issue20_a_failed_install_falls_back_to_the_descriptor_and_loses_nothing() {
        use std::io::{Read, Write};
        let Ok((ring, _)) = super::super::probe::probe(16, true) else {
            return eprintln!("io_uring unavailable here: skipped");
        };
        let mut reactor = UringReactor::new(ring, true).unwrap();
        let (ours, mut theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        theirs.set_nonblocking(true).unwrap();
        let mut ours = mio::net::UnixStream::from_std(ours);
        let (mut io, mut woken) = (IoSlots::default(), Vec::new());
        let id = io.insert();
        let interest = Interest::READABLE | Interest::WRITABLE;
        super::super::files::spoil_next_install();
        reactor.register(&mut ours, id, interest, true).unwrap();
        let key = id.key() as usize;
        let PollState::Armed {
            file: File::Fixed(index),
            ..
        } = reactor.polls[key]
        else {
            return eprintln!("no file table (or no completion form) here: skipped");
        };
        let step = reactor.send(id, &[&b"hello"[..]], None, &mut io).unwrap().0;
        assert!(matches!(step, SendStep::Done(Ok(5))));
        reactor.start_sends();
        assert!(reactor.arm_recv(id, &mut io), "the receive is armed");
        theirs.write_all(b"world").unwrap();
        let (mut sent, mut received) = (Vec::new(), Vec::new());
        let wait = PollWait::Until {
            deadline: 0,
            after: Duration::from_millis(20),
        };
        for _ in 0..250 {
            if sent.len() == 5 && received.len() == 5 {
                break;
            }
            reactor.poll(wait, &mut io, &mut woken);
            let mut buf = [0; 16];
            if let Ok(n) = theirs.read(&mut buf) {
                sent.extend_from_slice(&buf[..n]);
            }
            let mut dst = [MaybeUninit::uninit(); 16];
            match reactor.recv(id, &mut dst, false, None, &mut io, &mut woken).0 {
                RecvStep::Done(Ok(n)) => {
                    // SAFETY: the read initialised the first `n` bytes of `dst`.
                    received.extend(dst[..n].iter().map(|b| unsafe { b.assume_init() }));
                }
                RecvStep::Wait => reactor.watch_read(id, &mut io),
                RecvStep::Done(Err(err)) => panic!("the read failed: {err}"),
                RecvStep::Direct | RecvStep::Socket => match (&ours).read(&mut buf) {
                    // As the streams do: the socket's own read, then the receive armed again.
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                    Err(_) => {
                        if !reactor.arm_recv(id, &mut io) {
                            reactor.watch_read(id, &mut io);
                        }
                    }
                },
            }
        }
        assert_eq!(sent, b"hello", "the send went again, on the descriptor");
        assert_eq!(received, b"world", "the receive went again, on the descriptor");
        assert!(
            matches!(
                reactor.polls[key],
                PollState::Armed {
                    file: File::Fd(_),
                    ..
                }
            ),
            "the poll armed again on the descriptor: {:?}",
            reactor.polls[key]
        );
        reactor.deregister(&mut ours, id, &mut io);
        for _ in 0..10 {
            reactor.poll(wait, &mut io, &mut woken);
        }
        assert_eq!(io.len(), 0, "the slot freed");
        // The index went back: the next stream takes it.
        let (next, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut next = mio::net::UnixStream::from_std(next);
        let id = io.insert();
        reactor.register(&mut next, id, interest, true).unwrap();
        assert_eq!(
            reactor.polls[id.key() as usize],
            PollState::Armed {
                token: id.token().0 as u64,
                file: File::Fixed(index),
                mask: ops::poll_mask(Interest::WRITABLE)
            }
        );
        reactor.deregister(&mut next, id, &mut io);
    }

    /// U2: a deregistered slot stays taken until its poll's final completion, and a poll that
    /// reports readiness wakes the waiting direction.
    #[test]
    fn a_slot_is_freed_only_after_its_final_completion() {
        let Ok((ring, _)) = super::super::probe::probe(8, true) else {
            return eprintln!("io_uring unavailable here: skipped");
        };
        let mut reactor = UringReactor::new(ring, false).unwrap();
        let (mut sender, mut receiver) = mio::unix::pipe::new().unwrap();
        let (mut io, mut woken) = (IoSlots::default(), Vec::new());
        let id = io.insert();
        reactor
            .register(&mut receiver, id, Interest::READABLE, false)
            .unwrap();
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
