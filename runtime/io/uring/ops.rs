//! The ring's submission entries and the `user_data` that matches each completion to its
//! registration, and the reduction of a poll completion's event mask to [`Ready`].

use std::os::fd::RawFd;

use io_uring::{opcode, squeue, types};
use mio::Interest;

use crate::io::slots::Ready;

/// `user_data` of every cancellation: its own completion carries nothing we need (the poll it
/// cancels completes under the registration's token). Registration tokens never have the top
/// bit set (runtime/io/slots.rs I1), so neither reserved value is a token.
pub(crate) const REMOVE_DATA: u64 = u64::MAX;
/// `user_data` of the poll on the side `mio::Poll`'s descriptor.
pub(crate) const SIDE_DATA: u64 = u64::MAX - 1;
/// The bit that tells a stream's receive (`token | RECV_BIT`) from its poll (`token`). A
/// token is `(generation << 32) | key` with a 31-bit generation, so the receive's data never
/// equals a poll's; it equals a reserved value above only for keys `u32::MAX - 1` and
/// `u32::MAX` with the last generation (a slab of four billion live registrations).
pub(crate) const RECV_BIT: u64 = 1 << 63;
/// The bits that tell a stream's send (`token | SEND_BITS`) from its receive and its poll:
/// [`RECV_BIT`] and the top bit of the key, which no key below 2^31 has (the reserved values
/// above have both set; they are matched first).
pub(crate) const SEND_BITS: u64 = RECV_BIT | (1 << 31);
// A file table update's completion is tagged `1 << 31` without `RECV_BIT`
// (runtime/io/uring/files.rs, `FILES_BIT`), which neither a poll's token nor these have.

/// The file an entry acts on: a descriptor (the kernel looks it up in the process's table and
/// takes a reference, per submission), or an index in the ring's table of registered files
/// (U12, [`super::files`]: no lookup, no reference of its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum File {
    /// A descriptor number.
    Fd(RawFd),
    /// An index in the ring's file table.
    Fixed(u32),
}

/// Builds `$build` with `$f` bound to the crate's form of `$file` (`types::Fd` or
/// `types::Fixed`: the opcodes take either, through a trait the crate does not export).
macro_rules! on_file {
    ($file:expr, |$f:ident| $build:expr) => {
        match $file {
            File::Fd(fd) => {
                let $f = types::Fd(fd);
                $build
            }
            File::Fixed(index) => {
                let $f = types::Fixed(index);
                $build
            }
        }
    };
}

/// The poll events asked for `interest`; errors and hang-ups are always reported.
pub(crate) fn poll_mask(interest: Interest) -> u32 {
    let mut mask = 0;
    if interest.is_readable() {
        mask |= libc::POLLIN | libc::POLLPRI | libc::POLLRDHUP;
    }
    if interest.is_writable() {
        mask |= libc::POLLOUT;
    }
    mask as u32
}

/// A multishot poll of `file` for `mask`, its completions tagged `data`.
pub(crate) fn poll_add(file: File, mask: u32, data: u64) -> squeue::Entry {
    on_file!(file, |f| opcode::PollAdd::new(f, mask).multi(true).build()).user_data(data)
}

/// A one-shot poll of the stream `file` for readability, tagged as its receive
/// (`token | RECV_BIT`): a stream whose own poll leaves readability to its receive watches its
/// socket this way while no receive runs (the ring ran dry).
pub(crate) fn read_watch(file: File, token: u64) -> squeue::Entry {
    let mask = (libc::POLLIN | libc::POLLPRI | libc::POLLRDHUP) as u32;
    on_file!(file, |f| opcode::PollAdd::new(f, mask).build()).user_data(token | RECV_BIT)
}

/// The cancellation of the poll (or receive) tagged `data`.
///
/// `IORING_OP_ASYNC_CANCEL`, not `IORING_OP_POLL_REMOVE`: a poll removal fails with `EALREADY`
/// while a wake-up of the poll is being handled and leaves a multishot poll armed (measured:
/// 2048 of 3000 UDP sockets bound and dropped in a loop stayed open, held by their polls); a
/// cancellation marks the poll cancelled whoever handles it, so its final completion follows.
pub(crate) fn cancel(data: u64) -> squeue::Entry {
    opcode::AsyncCancel::new(data).build().user_data(REMOVE_DATA)
}

/// A multishot receive on the stream `file` into buffers of the loop's ring (`IORING_OP_RECV`,
/// `IORING_RECV_MULTISHOT`, buffer select), its completions tagged `token | RECV_BIT`, that
/// receives at most `limit` bytes in all (U9): the kernel ends it there, its last bytes in its
/// final completion (`sqe->optlen`, Linux 6.17; an older kernel refuses the entry with
/// `EINVAL`, and its streams receive with [`recv_once`]).
pub(crate) fn recv_multi(file: File, token: u64, limit: u32) -> squeue::Entry {
    let entry = on_file!(file, |f| opcode::RecvMulti::new(f, super::bufring::GROUP).build())
        .user_data(token | RECV_BIT);
    // The crate does not name `optlen` for this opcode: it is the 32-bit word at byte 44 of
    // the kernel's `struct io_uring_sqe` (shared with `file_index`, unused by a receive).
    const OPTLEN: usize = 44;
    // SAFETY: U10: `squeue::Entry` is `#[repr(C)]` over the kernel's 64-byte `io_uring_sqe`,
    // plain integers every byte pattern of which is a valid entry, so it may be viewed as
    // bytes and back (the sizes are checked at compile time by `transmute`).
    let mut bytes: [u8; 64] = unsafe { std::mem::transmute(entry) };
    bytes[OPTLEN..OPTLEN + 4].copy_from_slice(&limit.to_ne_bytes());
    // SAFETY: U10, as above.
    unsafe { std::mem::transmute::<[u8; 64], squeue::Entry>(bytes) }
}

/// One receive on the stream `file` of at most `len` bytes into a buffer of the loop's ring
/// (`IORING_OP_RECV`, buffer select, no multishot), its completion tagged `token | RECV_BIT`.
/// The kernel reads at most `len` bytes (fewer if the buffer it selects has less room), so a
/// stream on a kernel without a multishot receive's total stops exactly at its cap (U9).
///
/// `poll_first` (`IORING_RECVSEND_POLL_FIRST`, 5.19; older kernels ignore it) skips the
/// receive's first try and waits for readability at once: for a socket the last receive
/// drained, whose try would fail. `link` (`IOSQE_IO_LINK`) makes the next entry of the same
/// submission wait for this one's completion (a chain of receives, run in order; one that
/// fails cancels the rest of the chain, which complete with `ECANCELED`).
pub(crate) fn recv_once(file: File, token: u64, len: u32, poll_first: bool, link: bool) -> squeue::Entry {
    /// `IORING_RECVSEND_POLL_FIRST`, a flag of a receive's `ioprio` (linux/io_uring.h).
    const POLL_FIRST: u16 = 1;
    on_file!(file, |f| opcode::Recv::new(f, std::ptr::null_mut(), len)
        .ioprio(if poll_first { POLL_FIRST } else { 0 })
        .buf_group(super::bufring::GROUP)
        .build())
    // `flags` adds to the fixed-file flag the crate set for `types::Fixed`.
    .flags(if link {
        squeue::Flags::BUFFER_SELECT | squeue::Flags::IO_LINK
    } else {
        squeue::Flags::BUFFER_SELECT
    })
    .user_data(token | RECV_BIT)
}

/// A send of the `len` bytes at `buf` on the stream `file` (`IORING_OP_SEND`, `MSG_NOSIGNAL`: a
/// reset peer is an error, not a `SIGPIPE`), its completion tagged `token | SEND_BITS`. The
/// bytes must stay put until the completion (U8).
pub(crate) fn send(file: File, buf: *const u8, len: u32, token: u64) -> squeue::Entry {
    on_file!(file, |f| opcode::Send::new(f, buf, len)
        .flags(libc::MSG_NOSIGNAL)
        .build())
    .user_data(token | SEND_BITS)
}

/// Reduces a poll completion's event mask as mio reduces an epoll event (mio's `is_*`
/// predicates on Linux), so both drivers record the same readiness: an error wakes both
/// directions, whose next operation reports it.
pub(crate) fn ready_from_mask(mask: u32) -> Ready {
    let has = |bits: libc::c_short| mask & bits as u32 != 0;
    let error = has(libc::POLLERR);
    let hangup = has(libc::POLLHUP);
    let readable = has(libc::POLLIN | libc::POLLPRI);
    let writable = has(libc::POLLOUT);
    Ready {
        read: readable || error,
        write: writable || error,
        read_closed: hangup || (has(libc::POLLIN) && has(libc::POLLRDHUP)),
        write_closed: hangup || (writable && error) || mask == libc::POLLERR as u32,
    }
}

/// What a failed poll reports: both directions ready, so the next operation meets the error.
pub(crate) fn ready_on_failure() -> Ready {
    Ready {
        read: true,
        write: true,
        read_closed: false,
        write_closed: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_reduce_as_mio_reduces_epoll_events() {
        let m = |bits: libc::c_short| bits as u32;
        let r = ready_from_mask(m(libc::POLLIN));
        assert!(r.read && !r.write && !r.read_closed && !r.write_closed);
        let r = ready_from_mask(m(libc::POLLIN | libc::POLLRDHUP));
        assert!(r.read && r.read_closed && !r.write_closed);
        let r = ready_from_mask(m(libc::POLLOUT | libc::POLLHUP));
        assert!(r.write && r.read_closed && r.write_closed);
        let r = ready_from_mask(m(libc::POLLERR));
        assert!(r.read && r.write && r.write_closed);
        assert_eq!(poll_mask(Interest::WRITABLE), libc::POLLOUT as u32);
        assert_ne!(SIDE_DATA, REMOVE_DATA);
        assert!(SIDE_DATA > i64::MAX as u64, "no token has the top bit set");
    }
}
