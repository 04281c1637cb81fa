//! The level of a descriptor now: a zero-timeout `poll(2)`, which turns the reactor's edges
//! into asyncio's level-triggered callbacks (runtime/fd_watch/watch.rs), and the checks of a
//! new registration.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use crate::io::Direction;

/// True if `fd` is ready for `dir` now: readable (or at end of file, hung up, in error) for
/// `Read`, writable (or hung up, in error) for `Write`, as a selector reports it (asyncio's
/// `EpollSelector` counts a hang-up or an error as both).
pub(super) fn ready_now(fd: BorrowedFd<'_>, dir: Direction) -> bool {
    let events = match dir {
        Direction::Read => libc::POLLIN | libc::POLLPRI,
        Direction::Write => libc::POLLOUT,
    };
    let mut entry = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    loop {
        // SAFETY: `poll` reads and writes the one `pollfd` the pointer names, valid for the
        // call; with a zero timeout it does not block.
        let n = unsafe { libc::poll(&mut entry, 1, 0) };
        if n >= 0 {
            return n > 0 && entry.revents != 0;
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            // Cannot happen for one open descriptor (ENOMEM at most): report it ready, so
            // the callback runs and meets the error itself.
            return true;
        }
    }
}

/// A duplicate of the caller's descriptor `fd` (close-on-exec), which the watch owns: it
/// keeps the file open, and its registration is removed by a number nobody else can reuse.
///
/// # Errors
/// `EBADF` if `fd` is not open.
pub(super) fn duplicate(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: `fcntl(F_DUPFD_CLOEXEC)` takes integers and touches no memory of ours; it fails
    // (`EBADF`) for a number that is not open.
    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `dup` is a new descriptor, open, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(dup) })
}

/// Refuses what epoll refuses, on every driver (io_uring would poll it, always ready): a
/// regular file or a directory (`EPERM`; asyncio's `add_reader` raises `PermissionError`
/// there, tokio's `AsyncFd::new` fails). `claim` is the number the caller knows it by.
///
/// # Errors
/// `PermissionDenied` for a regular file or a directory; the `fstat` error.
pub(super) fn check_pollable(fd: RawFd, claim: RawFd) -> io::Result<()> {
    let kind = identity(fd)?.2 & libc::S_IFMT;
    if kind == libc::S_IFREG || kind == libc::S_IFDIR {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "aioloop: file descriptor {claim} is a regular file or a directory, which is \
                 always ready and which epoll refuses (EPERM; asyncio raises PermissionError)"
            ),
        ));
    }
    Ok(())
}

/// True if the numbers `a` and `b` name the same open file (a watch's duplicate and the
/// caller's number, which may have been closed and reused since).
pub(super) fn same_file(a: RawFd, b: RawFd) -> bool {
    match (identity(a), identity(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The device, inode and mode of the file `fd` names.
fn identity(fd: RawFd) -> io::Result<(libc::dev_t, libc::ino_t, libc::mode_t)> {
    // SAFETY: all-zero bytes are a valid `stat` (plain integers); `fstat` writes one through
    // the pointer, valid for the call, or fails (`EBADF`) for a number that is not open.
    let stat = unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut stat) != 0 {
            return Err(io::Error::last_os_error());
        }
        stat
    };
    Ok((stat.st_dev, stat.st_ino, stat.st_mode))
}
