//! Noticing a child's exit through the reactor, never by polling on a timer.
//!
//! On Linux (5.3 and later) a pidfd (`pidfd_open(2)`) is registered with the reactor as a
//! readable source: it becomes readable when the child exits, and the exit status is then
//! collected with a non-blocking `waitpid`. Where there is no pidfd (other systems, older
//! kernels), the loop listens for `SIGCHLD` through [`crate::signal`] and retries the
//! non-blocking `waitpid` on every delivery (signals coalesce, so every `SIGCHLD` wakes every
//! waiting child of that loop).

use std::io;
use std::os::fd::OwnedFd;
use std::process::{Child as StdChild, ExitStatus};
use std::task::{Context, Poll};

use crate::io::{Direction, FdSource, PollEvented};

/// A pidfd as a mio source.
#[derive(Debug)]
pub(crate) struct PidFd(OwnedFd);

impl mio::event::Source for PidFd {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.source().register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.source().reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        self.source().deregister(registry)
    }
}

impl PidFd {
    /// The descriptor as a mio source.
    fn source(&self) -> FdSource {
        use std::os::fd::AsRawFd;
        FdSource(self.0.as_raw_fd())
    }
}

impl std::os::fd::AsRawFd for PidFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

/// Opens a pidfd for `pid` (close-on-exec, as `pidfd_open` always sets it).
#[cfg(target_os = "linux")]
fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    use std::os::fd::FromRawFd;
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `pidfd_open(pid, flags)` takes two integers and touches no memory of ours; it
    // returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as std::os::fd::RawFd) })
}

#[cfg(not(target_os = "linux"))]
fn pidfd_open(_pid: u32) -> io::Result<OwnedFd> {
    Err(io::ErrorKind::Unsupported.into())
}

/// How a child's exit is noticed.
pub(crate) enum ExitWatch {
    /// A pidfd registered with the reactor.
    PidFd(PollEvented<PidFd>),
    /// The loop's `SIGCHLD` deliveries.
    Sigchld(crate::signal::Signals),
}

impl ExitWatch {
    /// Watches the child `pid` (not yet reaped) from the running loop.
    #[track_caller]
    pub(crate) fn new(pid: u32) -> io::Result<Self> {
        if let Ok(fd) = pidfd_open(pid) {
            if let Ok(evented) = PollEvented::new(PidFd(fd), "process::Command::spawn") {
                return Ok(ExitWatch::PidFd(evented));
            }
        }
        Self::sigchld()
    }

    /// The `SIGCHLD` watch (also used by tests, where pidfds exist, through
    /// `Command::watch_with_sigchld`).
    #[track_caller]
    pub(crate) fn sigchld() -> io::Result<Self> {
        let kind = crate::signal::SignalKind::child();
        crate::signal::signal(kind).map(ExitWatch::Sigchld)
    }

    /// Ready with the exit status once `child` has exited (and has been reaped).
    pub(crate) fn poll_exit(
        &mut self,
        cx: &mut Context<'_>,
        child: &mut StdChild,
    ) -> Poll<io::Result<ExitStatus>> {
        match self {
            ExitWatch::PidFd(evented) => evented.poll_io(cx, Direction::Read, |_| {
                child.try_wait()?.ok_or_else(|| io::ErrorKind::WouldBlock.into())
            }),
            ExitWatch::Sigchld(signals) => loop {
                // The listener exists before the first `try_wait`, so an exit between the two
                // still leaves a delivery to wake us.
                if let Some(status) = child.try_wait()? {
                    return Poll::Ready(Ok(status));
                }
                if signals.poll_recv(cx).is_pending() {
                    return Poll::Pending;
                }
            },
        }
    }
}
