//! [`StreamRecv`]: one stream's receive state in the completion form: whether its multishot
//! receive is in the kernel, the buffers the kernel filled and we have not read yet (in
//! order), and the end (EOF or an error) the kernel reported after them (U5-U7 in the module
//! above).

use std::collections::VecDeque;
use std::io;
use std::mem::MaybeUninit;

use super::bufring::{copy_to, BufRing};
use crate::io::slots::Ready;

/// What a read of a stream in the completion form found.
#[derive(Debug)]
pub(crate) enum RecvStep {
    /// Bytes copied from the received buffers, or the end the kernel reported after them.
    Done(io::Result<usize>),
    /// Nothing received yet and the receive is armed: wait (the read waker is stored).
    Wait,
    /// No receive in the kernel and nothing buffered: the socket's own `read` is in order.
    Direct,
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
    /// Its multishot receive (or its read watch) is in the kernel (or queued for the next
    /// enter): the kernel may select buffers for it until its final completion (U7).
    in_kernel: bool,
    /// What is in the kernel is a one-shot poll for readability, not the receive.
    watching: bool,
    /// Filled buffers not read yet, oldest first; each is held by us (U5).
    queue: VecDeque<Chunk>,
    /// The end reported after the queued bytes.
    end: Option<End>,
    /// The end was read: from now on reads go to the socket, the receive is never armed again.
    finished: bool,
}

impl StreamRecv {
    /// True if the multishot receive is in the kernel.
    pub(crate) fn in_kernel(&self) -> bool {
        self.in_kernel
    }

    /// True if a receive may be armed: none is in the kernel, nothing is buffered, the end
    /// was not reached.
    pub(crate) fn can_arm(&self) -> bool {
        !self.in_kernel && !self.finished && self.queue.is_empty() && self.end.is_none()
    }

    /// Records that a multishot receive was queued for the kernel.
    pub(crate) fn armed(&mut self) {
        debug_assert!(self.can_arm());
        self.in_kernel = true;
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
    /// error), or the kernel stopping it (`ENOBUFS`, `ECANCELED`); `more` false for its final
    /// completion. Returns the readiness to dispatch to the stream's slot: its reader is woken
    /// for bytes, an end, and when the receive stopped (its next read goes to the socket).
    pub(crate) fn complete(
        &mut self,
        result: i32,
        bid: Option<u16>,
        more: bool,
        bufs: &mut BufRing,
    ) -> Ready {
        if self.watching {
            // The read watch fired (or failed): the reader tries its socket again.
            self.watching = false;
            self.in_kernel = false;
            return Ready {
                read: true,
                ..Ready::default()
            };
        }
        if let Some(bid) = bid {
            bufs.took(bid);
        }
        if !more {
            self.in_kernel = false;
        }
        match (result, bid) {
            (n, Some(bid)) if n > 0 => self.queue.push_back(Chunk {
                bid,
                start: 0,
                end: n as u32,
            }),
            (n, None) if n > 0 => debug_assert!(false, "aioloop: a receive without its buffer"),
            (n, bid) => {
                if let Some(bid) = bid {
                    bufs.give_back(bid);
                }
                match -n {
                    0 => self.end = Some(End::Eof),
                    libc::ENOBUFS | libc::ECANCELED => {}
                    errno => self.end = Some(End::Error(errno)),
                }
            }
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
            if peek {
                index += 1;
            } else if take == len {
                let bid = chunk.bid;
                self.queue.pop_front();
                bufs.give_back(bid);
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
        } else {
            RecvStep::Direct
        }
    }

    /// How many received bytes wait to be read.
    pub(crate) fn buffered(&self) -> usize {
        self.queue
            .iter()
            .map(|chunk| (chunk.end - chunk.start) as usize)
            .sum()
    }

    /// Gives back every buffered chunk (the stream is gone: its unread bytes go with it);
    /// returns how many bytes there were.
    pub(crate) fn release(&mut self, bufs: &mut BufRing) -> usize {
        let mut bytes = 0;
        for chunk in self.queue.drain(..) {
            bytes += (chunk.end - chunk.start) as usize;
            bufs.give_back(chunk.bid);
        }
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring and a registered buffer ring, if the kernel has both.
    fn ring() -> Option<(io_uring::IoUring, BufRing)> {
        let (ring, _) = super::super::probe::probe(8, true).ok()?;
        let bufs = BufRing::new(&ring.submitter()).ok()?;
        Some((ring, bufs))
    }

    fn read(recv: &mut StreamRecv, len: usize, peek: bool, bufs: &mut BufRing) -> RecvStep {
        let mut dst = vec![MaybeUninit::new(0u8); len];
        recv.read(&mut dst, peek, bufs)
    }

    /// U5: a buffer a completion named is ours until read to its end (or released), then the
    /// ring's again; peeks consume nothing; the end comes after the bytes, once.
    #[test]
    fn buffers_go_back_once_read_and_the_end_follows_the_bytes() {
        let Some((ring, mut bufs)) = ring() else {
            return eprintln!("io_uring or buffer rings unavailable here: skipped");
        };
        let mut recv = StreamRecv::default();
        assert!(recv.can_arm());
        recv.armed();
        assert!(matches!(read(&mut recv, 4, false, &mut bufs), RecvStep::Wait));
        let ready = recv.complete(6, Some(3), true, &mut bufs);
        assert!(ready.read && !ready.read_closed);
        recv.complete(2, Some(7), true, &mut bufs);
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
        let ready = recv.complete(0, None, false, &mut bufs);
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

    /// A receive the ring ran dry for stops without an end: the stream reads its socket until
    /// it is armed again; a released stream gives every buffer back.
    #[test]
    fn a_dry_ring_stops_the_receive_without_an_end() {
        let Some((ring, mut bufs)) = ring() else {
            return eprintln!("io_uring or buffer rings unavailable here: skipped");
        };
        let mut recv = StreamRecv::default();
        recv.armed();
        recv.complete(10, Some(0), true, &mut bufs);
        recv.complete(-libc::ENOBUFS, None, false, &mut bufs);
        assert!(!recv.in_kernel() && !recv.can_arm(), "bytes still buffered");
        assert_eq!(recv.release(&mut bufs), 10);
        assert_eq!(bufs.held(), 0);
        assert!(recv.can_arm());
        assert!(matches!(read(&mut recv, 4, false, &mut bufs), RecvStep::Direct));
        recv.armed();
        recv.complete(-libc::ECONNRESET, None, false, &mut bufs);
        match read(&mut recv, 4, false, &mut bufs) {
            RecvStep::Done(Err(err)) => assert_eq!(err.kind(), io::ErrorKind::ConnectionReset),
            other => panic!("{other:?}"),
        }
        bufs.unregister(&ring.submitter());
    }
}
