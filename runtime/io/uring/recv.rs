//! [`StreamRecv`]: one stream's receive state in the completion form: whether its receive
//! (multishot, or a single one, [`Arm`]) is in the kernel, the buffers the kernel filled and we have not read yet (in
//! order), and the end (EOF or an error) the kernel reported after them (U5-U7 in the module
//! above).
//!
//! A stream holds at most [`CAP_BYTES`] received bytes in [`CAP_PIECES`] pieces before its
//! receive is stopped (U9): a reader that does not read (or a peer flooding a connection
//! nobody reads) would otherwise take every buffer of the loop's ring from the other streams.
//! The receive is armed again once the reader brought the stream below half the cap.
//!
//! How the cap is kept depends on the kernel ([`Arm`]): from Linux 6.17 the multishot
//! receive is armed with a total, and the kernel ends it there (its last receive may pass
//! the total by up to one buffer less a byte: measured 4,088 bytes past it on 6.18, so the
//! total is the room left less that); before, a multishot receive has no end of its own and
//! one burst between two looks of the loop brings any number of buffers (measured: 36
//! buffers, 144 KiB, more than twice the cap, into a stream that held nothing), so the
//! stream receives with single receives instead, chained (one submission for up to sixteen
//! buffers, not one each). A single receive reads at most its length, and the lengths of a
//! chain add up to at most the room left; the next receive is armed as the last one ends
//! under the cap (a multishot one at its total, or a chain), so a stream never holds more
//! than its cap.
//!
//! A bulk reader skips the ring: a receive that brought [`DIRECT_MIN`] bytes or more (or ended
//! with the socket holding more) to a stream whose reads ask for that much is not armed again;
//! once the held bytes are read, the large reads go to the socket directly
//! ([`RecvStep::Socket`]: one `recv(2)` into the reader's buffer per read, where the ring costs
//! a completion and a copy per 4 KiB buffer, measured 40 % slower in docs/benchmarks-net.md),
//! until the socket is drained and the receive takes over again.

use std::collections::VecDeque;
use std::io;
use std::mem::MaybeUninit;

use super::bufring::{copy_to, BufRing};
use crate::io::slots::Ready;

/// The received bytes a stream may hold before its receive is stopped (asyncio's default
/// `StreamReader` limit): the bytes beyond stay in the socket, whose own buffer makes the peer
/// wait (U9).
pub(crate) const CAP_BYTES: usize = 64 * 1024;
/// The pieces (each pins at most one buffer of the ring) a stream may hold before its receive
/// is stopped: bounds the buffers a stream of small messages holds on a kernel that fills one
/// buffer per receive (U9).
pub(crate) const CAP_PIECES: usize = 64;
/// The smallest read that goes to the socket directly, into the reader's own buffer, when the
/// stream holds nothing, no receive is in the kernel and the last completion said the socket
/// holds more (U9): one `recv(2)` of up to the reader's length, as the readiness form reads,
/// instead of a completion and a copy per ring buffer.
pub(crate) const DIRECT_MIN: usize = 16 * 1024;

/// How a stream's receive is armed (U9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Arm {
    /// A multishot receive the kernel ends at a total, the room left under the cap less one
    /// buffer's overshoot (6.17); cancelled if the stream reaches its cap in pieces first.
    #[default]
    Total,
    /// Single receives of at most one buffer each, their lengths adding up to at most the
    /// room left under the cap, linked into one chain the kernel runs in order (kernels
    /// without the total): the next chain is armed as the last of them completes, while the
    /// stream is under its cap.
    Once,
}

/// What a read of a stream in the completion form found.
#[derive(Debug)]
pub(crate) enum RecvStep {
    /// Bytes copied from the received buffers, or the end the kernel reported after them.
    Done(io::Result<usize>),
    /// Nothing received yet and the receive is armed: wait (the read waker is stored).
    Wait,
    /// No receive in the kernel and nothing buffered: the socket's own `read` is in order.
    Direct,
    /// As `Direct`, and the socket holds more (the last completion said so) and the read is
    /// large ([`DIRECT_MIN`]): the socket's own `read` at once, into the reader's buffer; the
    /// receive is armed again when one finds the socket drained (U9).
    Socket,
}

/// A filled buffer, or what is left of it: bytes `start..end` of buffer `bid`.
#[derive(Clone, Copy, Debug)]
struct Chunk {
    bid: u16,
    start: u32,
    end: u32,
}

/// How the received bytes end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Eof,
    Error(i32),
}

/// One stream's receive state.
#[derive(Debug, Default)]
pub(crate) struct StreamRecv {
    /// The token of the registration it belongs to.
    token: u64,
    /// Its receive (or its read watch) is in the kernel (or queued for the next
    /// enter): the kernel may select buffers for it until its final completion (U7).
    in_kernel: bool,
    /// What is in the kernel is a one-shot poll for readability, not the receive.
    watching: bool,
    /// Filled buffers not read yet, oldest first; each is held by us (U5).
    queue: VecDeque<Chunk>,
    /// The end reported after the queued bytes.
    end: Option<End>,
    /// The end was read, or the stream leaves the loop ([`StreamRecv::stop`]): from now on
    /// reads go to the socket, the receive is never armed again.
    finished: bool,
    /// Bytes in `queue`.
    held: usize,
    /// How the receive in the kernel (or the last one) was armed (U9).
    arm: Arm,
    /// The receives of the last arming whose final completion has not come yet (a chain of
    /// single receives, or one multishot receive).
    pending: u16,
    /// A receive of the last arming completed with bytes.
    got: bool,
    /// The receive stopped with bytes held (the cap cancelled it, the kernel ended it at its
    /// total, or a single receive completed, U9): armed again once the reader brought the
    /// stream below half the cap, or at once if it ended under the cap (`going_on`).
    capped: bool,
    /// The receive ended with bytes and left the stream under its cap: the next one is due at
    /// once (U9).
    going_on: bool,
    /// A cancellation for the cap was sent and no completion of the receive came since: one
    /// that comes with the receive going on is followed by another cancellation (the first
    /// may have found nothing, `ENOENT`, and the receive would run on past the cap in
    /// pieces, U9).
    cancelling: bool,
    /// The last completion said the socket held more (`IORING_CQE_F_SOCK_NONEMPTY`).
    nonempty: bool,
    /// The last read (not a peek) asked for [`DIRECT_MIN`] bytes or more.
    large: bool,
    /// Bytes the receives of the last arming brought.
    brought: usize,
    /// The receive ended under the cap, the reader reads large, and the socket holds more or
    /// the receive brought [`DIRECT_MIN`] bytes or more (a bulk transfer): it is left to the
    /// reader, whose reads go to the socket once the held bytes are read
    /// ([`RecvStep::Socket`], U9), instead of being armed again at once.
    deferred: bool,
}

impl StreamRecv {
    /// The state of the stream registered under `token`.
    pub(crate) fn new(token: u64) -> Self {
        StreamRecv {
            token,
            ..StreamRecv::default()
        }
    }

    /// True if this is the state of the registration `token`.
    #[inline]
    pub(crate) fn is(&self, token: u64) -> bool {
        self.token == token
    }

    /// True if the receive (or the read watch) is in the kernel.
    pub(crate) fn in_kernel(&self) -> bool {
        self.in_kernel
    }

    /// True if a receive may be armed: none is in the kernel, the end was not reached, and
    /// nothing is buffered (or, after a receive stopped with bytes, less than half the cap, or
    /// the receive ended under the cap: the bytes it receives queue behind those, U9).
    pub(crate) fn can_arm(&self) -> bool {
        !self.in_kernel
            && !self.finished
            && self.end.is_none()
            && (self.queue.is_empty() || (self.capped && (self.going_on || self.below_half_cap())))
    }

    /// Records that `receives` receives armed as `arm` were queued for the kernel (U9): one
    /// multishot receive, or a chain of single ones; the receive is in the kernel until the
    /// final completion of each.
    pub(crate) fn armed(&mut self, arm: Arm, receives: u16) {
        debug_assert!(self.can_arm() && receives > 0);
        debug_assert!(arm == Arm::Once || receives == 1);
        self.in_kernel = true;
        self.capped = false;
        self.going_on = false;
        self.cancelling = false;
        self.deferred = false;
        self.brought = 0;
        self.got = false;
        self.pending = receives;
        self.arm = arm;
    }

    /// True if the receive in the kernel was armed with a total (a kernel before 6.17 refuses
    /// it with `EINVAL`).
    pub(crate) fn limited(&self) -> bool {
        self.arm == Arm::Total
    }

    /// True if the receive runs and the stream holds the cap or more (U9), and no
    /// cancellation was sent since its last completion: the caller cancels the receive and
    /// records it with [`StreamRecv::capped`]. Once per completion: a receive still going on
    /// after its cancellation (which may have found nothing) is cancelled again.
    pub(crate) fn over_cap(&self) -> bool {
        self.receiving() && !self.cancelling && (self.held >= CAP_BYTES || self.queue.len() >= CAP_PIECES)
    }

    /// Records that the receive was cancelled for the cap (U9).
    pub(crate) fn capped(&mut self) {
        self.capped = true;
        self.cancelling = true;
    }

    /// True if a receive stopped with bytes held (the cap cancelled it, the kernel ended it at
    /// its total, or a single receive completed), its final completion came, and the stream
    /// may take more: the reader brought it below half the cap, or the receive ended under
    /// the cap. The receive is due again (U9).
    /// Not while the receive is left to a large reader (`deferred`, U9).
    pub(crate) fn rearm_due(&self) -> bool {
        self.capped && !self.deferred && !self.in_kernel && self.can_arm()
    }

    /// The bytes the stream may still receive under its cap: a single receive's length, and
    /// what a multishot receive's total is made from (U9). Not 0 while a receive may be armed.
    pub(crate) fn room(&self) -> u32 {
        CAP_BYTES.saturating_sub(self.held).max(1) as u32
    }

    /// The pieces the stream may still take under its cap: the most single receives one
    /// chain may have (each fills at most one piece, U9). Not 0 while a receive may be armed.
    pub(crate) fn pieces_room(&self) -> usize {
        CAP_PIECES.saturating_sub(self.queue.len()).max(1)
    }

    fn below_half_cap(&self) -> bool {
        self.held < CAP_BYTES / 2 && self.queue.len() < CAP_PIECES / 2
    }

    fn below_cap(&self) -> bool {
        self.held < CAP_BYTES && self.queue.len() < CAP_PIECES
    }

    /// True unless the last completion said the socket held more: a single receive armed
    /// now waits for readability first instead of trying the socket.
    pub(crate) fn drained(&self) -> bool {
        !self.nonempty
    }

    /// Records that the receive is being stopped for good (the stream leaves the loop): it
    /// is never armed again, not even by a single receive that completes with bytes before
    /// its cancellation (which would have nothing left to cancel).
    pub(crate) fn stop(&mut self) {
        self.finished = true;
    }

    /// Records that a one-shot poll for readability was queued (tagged as the receive).
    pub(crate) fn watched(&mut self) {
        debug_assert!(!self.in_kernel);
        self.in_kernel = true;
        self.watching = true;
    }

    /// True if the receive itself (not a read watch) is in the kernel: the stream's read
    /// readiness is the receive's.
    pub(crate) fn receiving(&self) -> bool {
        self.in_kernel && !self.watching
    }

    /// True if bytes or an end wait to be read.
    pub(crate) fn has_data(&self) -> bool {
        !self.queue.is_empty() || self.end.is_some()
    }

    /// Records a completion of the receive: `result` bytes in buffer `bid`, the end (0, an
    /// error), or the kernel stopping it (`ENOBUFS`, `ECANCELED`: also a receive of a chain
    /// whose earlier receive failed, which received nothing); `more` false for its final
    /// completion (the receive is over with the last one of its chain); `flags` its flags (whether the kernel keeps the buffer for more pieces).
    /// Returns the readiness to dispatch to the stream's slot: its reader is woken for bytes,
    /// an end, and when the receive stopped (its next read goes to the socket).
    pub(crate) fn complete(&mut self, result: i32, flags: u32, bufs: &mut BufRing) -> Ready {
        let (bid, more) = (
            io_uring::cqueue::buffer_select(flags),
            io_uring::cqueue::more(flags),
        );
        if self.watching {
            // The read watch fired (or failed): the reader tries its socket again.
            self.watching = false;
            self.in_kernel = false;
            return Ready {
                read: true,
                ..Ready::default()
            };
        }
        self.nonempty = io_uring::cqueue::sock_nonempty(flags);
        // A completion since the cancellation: if the receive goes on, `over_cap` says so.
        self.cancelling = false;
        let mut over = false;
        if !more {
            self.got |= result > 0;
            self.pending = self.pending.saturating_sub(1);
            if self.pending == 0 {
                over = true;
                self.in_kernel = false;
                // Ended with bytes (single receives, a multishot one at its total, U9, or at
                // a full completion queue): armed again as `rearm_due` says.
                self.capped |= self.got;
            }
        }
        let len = result.max(0) as u32;
        match (result, bid) {
            (n, Some(bid)) if n > 0 => {
                let start = bufs.took(bid, len, io_uring::cqueue::buffer_more(flags));
                self.held += len as usize;
                self.brought += len as usize;
                self.queue.push_back(Chunk {
                    bid,
                    start,
                    end: start + len,
                });
            }
            (n, None) if n > 0 => debug_assert!(false, "aioloop: a receive without its buffer"),
            (n, bid) => {
                if let Some(bid) = bid {
                    bufs.took(bid, 0, io_uring::cqueue::buffer_more(flags));
                }
                match -n {
                    0 => self.end = Some(End::Eof),
                    libc::ENOBUFS | libc::ECANCELED => {}
                    errno => self.end = Some(End::Error(errno)),
                }
            }
        }
        // A receive (a chain) that ended with bytes under the cap: the next one is due at once,
        // unless the reader reads large and the socket holds more or the receive brought much:
        // its reads take the socket's bytes directly once the held ones are read (U9).
        self.going_on = over && self.got && self.below_cap();
        if over && self.got && self.large && (self.nonempty || self.brought >= DIRECT_MIN) {
            self.going_on = false;
            self.deferred = true;
        }
        Ready {
            read: true,
            read_closed: self.end == Some(End::Eof),
            ..Ready::default()
        }
    }

    /// Reads into `dst` from the received bytes (without consuming them if `peek`), giving back
    /// each buffer read to its end; then the end, once; else `Wait` or `Direct`.
    pub(crate) fn read(&mut self, dst: &mut [MaybeUninit<u8>], peek: bool, bufs: &mut BufRing) -> RecvStep {
        if dst.is_empty() {
            return RecvStep::Done(Ok(0));
        }
        if !peek {
            self.large = dst.len() >= DIRECT_MIN;
        }
        let mut copied = 0;
        let mut index = 0;
        while copied < dst.len() {
            let Some(chunk) = self.queue.get_mut(index) else {
                break;
            };
            let len = (chunk.end - chunk.start) as usize;
            let take = len.min(dst.len() - copied);
            copy_to(
                &mut dst[copied..],
                bufs.bytes(chunk.bid, chunk.start as usize, take),
            );
            copied += take;
            if !peek {
                self.held -= take;
            }
            if peek {
                index += 1;
            } else if take == len {
                let bid = chunk.bid;
                self.queue.pop_front();
                bufs.release(bid);
            } else {
                chunk.start += take as u32;
            }
        }
        if copied > 0 {
            return RecvStep::Done(Ok(copied));
        }
        if let Some(end) = self.end {
            if !peek {
                self.end = None;
                self.finished = true;
            }
            return RecvStep::Done(match end {
                End::Eof => Ok(0),
                End::Error(errno) => Err(io::Error::from_raw_os_error(errno)),
            });
        }
        if self.receiving() {
            RecvStep::Wait
        } else if self.large && !peek && (self.nonempty || self.deferred) && !self.in_kernel && !self.finished
        {
            // U9: nothing held, no receive in the kernel: the socket's bytes are next, in order.
            RecvStep::Socket
        } else {
            RecvStep::Direct
        }
    }

    /// How many received bytes wait to be read.
    pub(crate) fn buffered(&self) -> usize {
        self.held
    }

    /// Gives back every buffered chunk (the stream is gone: its unread bytes go with it);
    /// returns how many bytes there were.
    pub(crate) fn release(&mut self, bufs: &mut BufRing) -> usize {
        let mut bytes = 0;
        for chunk in self.queue.drain(..) {
            bytes += (chunk.end - chunk.start) as usize;
            bufs.release(chunk.bid);
        }
        self.held = 0;
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::super::bufring::BUF_SIZE;
    use super::*;

    /// A ring and a registered buffer ring, if the kernel has both (else the test says it
    /// is skipped).
    fn ring() -> Option<(io_uring::IoUring, BufRing)> {
        let rings = super::super::probe::probe(8, true).ok().and_then(|(ring, _)| {
            let bufs = BufRing::new(&ring.submitter()).ok()?;
            Some((ring, bufs))
        });
        if rings.is_none() {
            eprintln!("io_uring or buffer rings unavailable here: skipped");
        }
        rings
    }

    /// [`ring`] and a stream's receive armed with a total, as most tests start.
    fn armed() -> Option<(io_uring::IoUring, BufRing, StreamRecv)> {
        let (ring, bufs) = ring()?;
        let mut recv = StreamRecv::default();
        recv.armed(Arm::Total, 1);
        Some((ring, bufs, recv))
    }

    /// A receive completion's flags: the buffer it names, `more` (`IORING_CQE_F_MORE`: the
    /// receive goes on) and `buf_more` (`IORING_CQE_F_BUF_MORE`: the kernel keeps the buffer
    /// for more pieces), as linux/io_uring.h lays them out.
    fn cqe(bid: Option<u16>, more: bool, buf_more: bool) -> u32 {
        let mut flags = 0;
        if let Some(bid) = bid {
            flags |= 1 | (u32::from(bid) << 16);
        }
        if more {
            flags |= 2;
        }
        if buf_more {
            flags |= 16;
        }
        flags
    }

    fn read(recv: &mut StreamRecv, len: usize, peek: bool, bufs: &mut BufRing) -> RecvStep {
        let mut dst = vec![MaybeUninit::new(0u8); len];
        recv.read(&mut dst, peek, bufs)
    }

    /// U5: a buffer a completion named is ours until read to its end (or released), then the
    /// ring's again; peeks consume nothing; the end comes after the bytes, once.
    #[test]
    fn buffers_go_back_once_read_and_the_end_follows_the_bytes() {
        let Some((ring, mut bufs, mut recv)) = armed() else {
            return;
        };
        assert!(matches!(read(&mut recv, 4, false, &mut bufs), RecvStep::Wait));
        let ready = recv.complete(6, cqe(Some(3), true, false), &mut bufs);
        assert!(ready.read && !ready.read_closed);
        recv.complete(2, cqe(Some(7), true, false), &mut bufs);
        assert_eq!((bufs.held(), recv.buffered()), (2, 8));
        assert!(matches!(
            read(&mut recv, 100, true, &mut bufs),
            RecvStep::Done(Ok(8))
        ));
        assert_eq!(bufs.held(), 2, "a peek gives nothing back");
        assert!(matches!(
            read(&mut recv, 4, false, &mut bufs),
            RecvStep::Done(Ok(4))
        ));
        assert_eq!(bufs.held(), 2, "half of the first buffer is left");
        assert!(matches!(
            read(&mut recv, 3, false, &mut bufs),
            RecvStep::Done(Ok(3))
        ));
        assert_eq!((bufs.held(), recv.buffered()), (1, 1));
        let ready = recv.complete(0, cqe(None, false, false), &mut bufs);
        assert!(ready.read_closed && !recv.in_kernel());
        assert!(matches!(
            read(&mut recv, 4, false, &mut bufs),
            RecvStep::Done(Ok(1))
        ));
        assert_eq!(bufs.held(), 0);
        assert!(matches!(
            read(&mut recv, 4, false, &mut bufs),
            RecvStep::Done(Ok(0))
        ));
        assert!(
            matches!(read(&mut recv, 4, false, &mut bufs), RecvStep::Direct),
            "then the socket"
        );
        assert!(!recv.can_arm(), "never armed again after the end");
        bufs.unregister(&ring.submitter());
    }

    /// U9: a stream stops its receive at the cap (in pieces or in bytes), keeps what the
    /// kernel completes before the cancellation, in order, and is due again once read below
    /// half the cap; its accounting follows reads and releases.
    #[test]
    fn the_cap_stops_the_receive_and_half_of_it_rearms() {
        let Some((ring, mut bufs, mut recv)) = armed() else {
            return;
        };
        for bid in 0..CAP_PIECES as u16 - 1 {
            recv.complete(100, cqe(Some(bid), true, false), &mut bufs);
            assert!(!recv.over_cap());
        }
        recv.complete(100, cqe(Some(63), true, false), &mut bufs);
        assert!(recv.over_cap(), "the cap in pieces");
        recv.capped();
        assert!(!recv.over_cap(), "cancelled once");
        recv.complete(100, cqe(Some(64), true, false), &mut bufs);
        // The 6.17 loose end: a cancellation that found nothing (`ENOENT`) left the receive
        // running past the cap in pieces; one completing after it is cancelled again.
        assert!(
            recv.over_cap(),
            "still going on after the cancellation: cancelled again"
        );
        recv.capped();
        recv.complete(-libc::ECANCELED, cqe(None, false, false), &mut bufs);
        assert!(!recv.in_kernel() && !recv.rearm_due(), "still at the cap");
        assert_eq!(recv.buffered(), 6500, "a completion before the cancellation kept");
        assert!(!recv.over_cap(), "over: nothing to cancel");
        assert!(matches!(
            read(&mut recv, 3300, false, &mut bufs),
            RecvStep::Done(Ok(3300))
        ));
        assert!(!recv.rearm_due(), "32 pieces left");
        assert!(matches!(
            read(&mut recv, 100, false, &mut bufs),
            RecvStep::Done(Ok(100))
        ));
        assert!(recv.rearm_due() && recv.can_arm(), "below half the cap");
        recv.armed(Arm::Total, 1);
        assert!(!recv.rearm_due());
        assert!(matches!(
            read(&mut recv, 10_000, false, &mut bufs),
            RecvStep::Done(Ok(3100))
        ));
        assert_eq!((recv.buffered(), bufs.held()), (0, 0));

        for bid in 100..100 + (CAP_BYTES / BUF_SIZE) as u16 {
            assert!(!recv.over_cap());
            recv.complete(BUF_SIZE as i32, cqe(Some(bid), true, false), &mut bufs);
        }
        assert!(recv.over_cap(), "the cap in bytes");
        assert_eq!(recv.release(&mut bufs), CAP_BYTES);
        assert_eq!((recv.buffered(), bufs.held()), (0, 0));
        bufs.unregister(&ring.submitter());
    }

    /// U9 on a kernel without the multishot total: single receives (chains of one here),
    /// each of at most the room left, follow one another until the stream holds its cap exactly (in bytes or in
    /// pieces), and start again once the reader brought it below half the cap.
    #[test]
    fn single_receives_stop_exactly_at_the_cap() {
        let Some((ring, mut bufs)) = ring() else {
            return;
        };
        let mut recv = StreamRecv::default();
        let full = BUF_SIZE as i32;
        for bid in 0..(CAP_BYTES / BUF_SIZE) as u16 {
            assert!(recv.can_arm(), "under the cap");
            assert_eq!(recv.room() as usize, CAP_BYTES - recv.buffered());
            recv.armed(Arm::Once, 1);
            assert!(!recv.rearm_due(), "one receive at a time");
            recv.complete(full - 1, cqe(Some(bid), false, false), &mut bufs);
            assert!(!recv.over_cap(), "a single receive is never cancelled");
        }
        assert!(recv.rearm_due() && recv.room() == 16, "16 bytes of room left");
        recv.armed(Arm::Once, 1);
        recv.complete(16, cqe(Some(99), false, false), &mut bufs);
        assert_eq!(recv.buffered(), CAP_BYTES, "exactly the cap");
        assert!(!recv.rearm_due() && !recv.can_arm(), "at the cap");
        assert!(matches!(
            read(&mut recv, CAP_BYTES / 2, false, &mut bufs),
            RecvStep::Done(Ok(n)) if n == CAP_BYTES / 2
        ));
        assert!(!recv.rearm_due(), "at half the cap");
        assert!(matches!(
            read(&mut recv, 1, false, &mut bufs),
            RecvStep::Done(Ok(1))
        ));
        assert!(recv.rearm_due(), "below half the cap");
        assert_eq!(recv.release(&mut bufs), CAP_BYTES / 2 - 1);

        for bid in 0..CAP_PIECES as u16 {
            assert!(recv.can_arm(), "under the cap in pieces");
            recv.armed(Arm::Once, 1);
            recv.complete(10, cqe(Some(bid), false, false), &mut bufs);
        }
        assert!(!recv.can_arm(), "the cap in pieces");
        recv.release(&mut bufs);

        recv.armed(Arm::Once, 1);
        recv.stop();
        recv.complete(10, cqe(Some(0), false, false), &mut bufs);
        assert!(
            !recv.rearm_due(),
            "stopped: bytes before the cancellation arm nothing"
        );
        recv.release(&mut bufs);
        assert_eq!(bufs.held(), 0);
        bufs.unregister(&ring.submitter());
    }

    /// U9 before 6.17: a chain of single receives is in the kernel until the last of them
    /// completed; bytes queue in the order the receives ran, a receive cancelled with the
    /// chain (`ECANCELED`) received nothing and is no error, and the next chain is due at
    /// once if the chain brought bytes and left the stream under its cap.
    #[test]
    fn a_chain_of_single_receives_is_over_with_its_last_receive() {
        let Some((ring, mut bufs)) = ring() else {
            return;
        };
        let mut recv = StreamRecv::default();
        recv.armed(Arm::Once, 4);
        recv.complete(100, cqe(Some(0), false, true), &mut bufs);
        recv.complete(50, cqe(Some(0), false, false), &mut bufs);
        assert!(
            recv.in_kernel() && !recv.rearm_due(),
            "two receives of the chain left"
        );
        recv.complete(-libc::ECANCELED, cqe(None, false, false), &mut bufs);
        assert!(recv.in_kernel(), "one left");
        let ready = recv.complete(-libc::ECANCELED, cqe(None, false, false), &mut bufs);
        assert!(
            ready.read && !ready.read_closed,
            "no end: the cancelled received nothing"
        );
        assert!(
            !recv.in_kernel() && recv.rearm_due(),
            "over, with bytes, under the cap"
        );
        assert_eq!(recv.buffered(), 150);
        assert!(matches!(
            read(&mut recv, 1000, false, &mut bufs),
            RecvStep::Done(Ok(150))
        ));
        assert!(matches!(read(&mut recv, 10, false, &mut bufs), RecvStep::Direct));

        recv.armed(Arm::Once, 2);
        recv.complete(-libc::ECANCELED, cqe(None, false, false), &mut bufs);
        recv.complete(-libc::ECANCELED, cqe(None, false, false), &mut bufs);
        assert!(
            !recv.in_kernel() && !recv.rearm_due(),
            "a chain without bytes arms nothing"
        );
        assert!(recv.can_arm(), "the next read arms it");
        assert_eq!((recv.pieces_room(), recv.room()), (CAP_PIECES, CAP_BYTES as u32));
        assert_eq!(bufs.held(), 0);
        bufs.unregister(&ring.submitter());
    }

    /// U9 from 6.17: a multishot receive the kernel ended at its total with the stream under
    /// its cap is followed at once (by single receives of the room left, the reactor
    /// decides); one that ended at the cap waits for the reader to bring it below half.
    #[test]
    fn a_receive_ended_at_its_total_under_the_cap_goes_on() {
        let Some((ring, mut bufs, mut recv)) = armed() else {
            return;
        };
        let full = BUF_SIZE as i32;
        for bid in 0..14 {
            recv.complete(full, cqe(Some(bid), true, false), &mut bufs);
        }
        recv.complete(full, cqe(Some(14), false, false), &mut bufs);
        assert!(recv.rearm_due(), "ended at its total, 4 KiB under the cap");
        assert_eq!(recv.room() as usize, BUF_SIZE);
        recv.armed(Arm::Once, 1);
        recv.complete(full, cqe(Some(15), false, false), &mut bufs);
        assert_eq!(recv.buffered(), CAP_BYTES);
        assert!(!recv.rearm_due(), "at the cap");
        recv.release(&mut bufs);
        bufs.unregister(&ring.submitter());
    }

    /// U9 and [`DIRECT_MIN`]: a receive that brought a bulk of bytes to a large reader is not
    /// armed again when it ends: the reader reads what it holds, then the socket directly
    /// (`Socket`); a small read arms the receive as before (`Direct`), and so does a receive
    /// of a few bytes with the socket drained.
    #[test]
    fn a_bulk_receive_to_a_large_reader_leaves_the_socket_to_it() {
        let Some((ring, mut bufs, mut recv)) = armed() else {
            return;
        };
        let full = BUF_SIZE as i32;
        assert!(matches!(
            read(&mut recv, DIRECT_MIN, false, &mut bufs),
            RecvStep::Wait
        ));
        for bid in 0..7 {
            recv.complete(full, cqe(Some(bid), true, false), &mut bufs);
        }
        recv.complete(full, cqe(Some(7), false, false), &mut bufs);
        assert!(!recv.in_kernel() && !recv.rearm_due(), "left to the reader");
        assert!(matches!(
            read(&mut recv, DIRECT_MIN, false, &mut bufs),
            RecvStep::Done(Ok(DIRECT_MIN))
        ));
        assert!(matches!(
            read(&mut recv, 64 * 1024, true, &mut bufs),
            RecvStep::Done(Ok(n)) if n == DIRECT_MIN
        ));
        assert!(matches!(
            read(&mut recv, 64 * 1024, false, &mut bufs),
            RecvStep::Done(Ok(n)) if n == DIRECT_MIN
        ));
        assert!(
            matches!(read(&mut recv, DIRECT_MIN, true, &mut bufs), RecvStep::Direct),
            "a peek never reads the socket"
        );
        assert!(matches!(
            read(&mut recv, DIRECT_MIN, false, &mut bufs),
            RecvStep::Socket
        ));
        assert!(
            matches!(
                read(&mut recv, DIRECT_MIN - 1, false, &mut bufs),
                RecvStep::Direct
            ),
            "a small read arms the receive"
        );
        assert!(recv.can_arm());
        recv.armed(Arm::Total, 1);
        assert!(matches!(
            read(&mut recv, DIRECT_MIN, false, &mut bufs),
            RecvStep::Wait
        ));
        recv.complete(100, cqe(Some(8), false, false), &mut bufs);
        assert!(
            recv.rearm_due(),
            "a few bytes, the socket drained: armed again at once"
        );
        assert_eq!(recv.release(&mut bufs), 100);
        assert_eq!(bufs.held(), 0);
        bufs.unregister(&ring.submitter());
    }

    /// A receive the ring ran dry for stops without an end: the stream reads its socket until
    /// it is armed again; a released stream gives every buffer back.
    #[test]
    fn a_dry_ring_stops_the_receive_without_an_end() {
        let Some((ring, mut bufs, mut recv)) = armed() else {
            return;
        };
        recv.complete(10, cqe(Some(0), true, false), &mut bufs);
        recv.complete(-libc::ENOBUFS, cqe(None, false, false), &mut bufs);
        assert!(!recv.in_kernel() && !recv.can_arm(), "bytes still buffered");
        assert_eq!(recv.release(&mut bufs), 10);
        assert_eq!(bufs.held(), 0);
        assert!(recv.can_arm());
        assert!(matches!(read(&mut recv, 4, false, &mut bufs), RecvStep::Direct));
        recv.armed(Arm::Total, 1);
        recv.complete(-libc::ECONNRESET, cqe(None, false, false), &mut bufs);
        match read(&mut recv, 4, false, &mut bufs) {
            RecvStep::Done(Err(err)) => assert_eq!(err.kind(), io::ErrorKind::ConnectionReset),
            other => panic!("{other:?}"),
        }
        bufs.unregister(&ring.submitter());
    }

    /// U5 with incremental consumption: pieces of one buffer go to two streams; it goes back
    /// to the kernel only once the kernel consumed it (a completion without `BUF_MORE`) and
    /// both pieces were read, each from where the kernel put it.
    #[test]
    fn pieces_of_one_buffer_go_back_once_all_are_read() {
        let Some((ring, mut bufs)) = ring() else {
            return;
        };
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let mut version = release
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|v| v.parse::<u32>().ok());
        let (major, minor) = (version.next().unwrap_or(0), version.next().unwrap_or(0));
        assert_eq!(
            bufs.incremental(),
            (major, minor) >= (6, 12),
            "IOU_PBUF_RING_INC is taken from Linux 6.12 on (this is {release})"
        );
        let (mut a, mut b) = (StreamRecv::default(), StreamRecv::default());
        a.armed(Arm::Total, 1);
        b.armed(Arm::Total, 1);
        a.complete(5, cqe(Some(9), true, true), &mut bufs);
        assert_eq!(bufs.held(), 0, "the kernel keeps the buffer for more pieces");
        b.complete(3, cqe(Some(9), true, false), &mut bufs);
        assert_eq!(bufs.held(), 1, "consumed, two pieces unread");
        assert_eq!((a.buffered(), b.buffered()), (5, 3));
        assert!(matches!(
            read(&mut a, 100, false, &mut bufs),
            RecvStep::Done(Ok(5))
        ));
        assert_eq!(bufs.held(), 1, "b's piece is left");
        assert!(matches!(
            read(&mut b, 100, false, &mut bufs),
            RecvStep::Done(Ok(3))
        ));
        assert_eq!(bufs.held(), 0, "given back");
        a.complete(4, cqe(Some(11), true, true), &mut bufs);
        assert_eq!(a.release(&mut bufs), 4);
        assert_eq!(bufs.held(), 0, "a dropped piece of a buffer the kernel keeps");
        bufs.unregister(&ring.submitter());
    }
}

/// How the kernel runs a chain of single receives (U9, [`Arm::Once`]): in order, each at most
/// its length; a short one does not end the chain (the next waits for more bytes); a
/// cancelled one ends it, the rest completing with `ECANCELED`, having received nothing.
#[cfg(test)]
mod chain_tests {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::time::{Duration, Instant};

    use super::super::bufring::{BufRing, BUF_SIZE};
    use super::super::ops;

    /// Waits (a second at most) for `n` completions of receives (a cancellation's own must
    /// have found its receive); returns (result, bytes) of each, the bytes read from the
    /// buffer it names (given back at once).
    fn take(ring: &mut io_uring::IoUring, bufs: &mut BufRing, n: usize) -> Vec<(i32, Vec<u8>)> {
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(1);
        while out.len() < n && Instant::now() < deadline {
            ring.submit().unwrap();
            for cqe in ring.completion() {
                let (result, flags) = (cqe.result(), cqe.flags());
                if cqe.user_data() == ops::REMOVE_DATA {
                    assert!(
                        result == 0,
                        "the cancellation found the running receive: {result}"
                    );
                    continue;
                }
                let mut bytes = Vec::new();
                if let Some(bid) = io_uring::cqueue::buffer_select(flags) {
                    let len = result.max(0) as u32;
                    let start = bufs.took(bid, len, io_uring::cqueue::buffer_more(flags));
                    bytes = bufs.bytes(bid, start as usize, len as usize).to_vec();
                    bufs.release(bid);
                }
                out.push((result, bytes));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        out
    }

    #[test]
    fn a_chain_runs_in_order_past_a_short_receive_and_a_cancellation_ends_it() {
        let Some((mut ring, mut bufs)) = super::super::probe::probe(16, true).ok().and_then(|(ring, _)| {
            let bufs = BufRing::new(&ring.submitter()).ok()?;
            Some((ring, bufs))
        }) else {
            eprintln!("io_uring or buffer rings unavailable here: skipped");
            return;
        };
        let (mut peer, ours) = std::os::unix::net::UnixStream::pair().unwrap();
        let (fd, token, len) = (ours.as_raw_fd(), 8, BUF_SIZE as u32);
        for i in 0..5 {
            let entry = ops::recv_once(ops::File::Fd(fd), token, len, i == 0, i < 4);
            // SAFETY: U1: a receive's entry names no memory of ours (the buffers are the
            // ring's, registered until the end of the test, U6).
            unsafe { ring.submission().push(&entry).unwrap() };
        }
        ring.submit().unwrap();
        peer.write_all(&[1; 100]).unwrap();
        let short = take(&mut ring, &mut bufs, 1);
        assert_eq!(short, vec![(100, vec![1; 100])], "the first receive, short");
        assert!(
            take(&mut ring, &mut bufs, 1).is_empty(),
            "the next waits for bytes"
        );
        let data: Vec<u8> = (0..5000).map(|i| (i % 251) as u8).collect();
        peer.write_all(&data).unwrap();
        let more = take(&mut ring, &mut bufs, 2);
        let got: Vec<u8> = more.iter().flat_map(|(_, bytes)| bytes.clone()).collect();
        assert_eq!(more.len(), 2, "{more:?}");
        assert!(more.iter().all(|(n, _)| *n > 0 && *n as u32 <= len));
        assert_eq!(got, data, "in order, each at most its length");
        // SAFETY: as above (a cancellation names no memory).
        unsafe {
            ring.submission()
                .push(&ops::cancel(token | ops::RECV_BIT))
                .unwrap()
        };
        let rest: Vec<i32> = take(&mut ring, &mut bufs, 2)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            rest,
            vec![-libc::ECANCELED; 2],
            "the cancelled receive and the one after it"
        );
        bufs.unregister(&ring.submitter());
    }
}
