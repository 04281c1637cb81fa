//! [`SignalKind`]: which Unix signal to listen for.

use std::fmt;
use std::io;

/// A Unix signal number, with constructors for the common ones.
///
/// ```
/// use aioloop::signal::SignalKind;
/// assert_eq!(SignalKind::interrupt().as_raw(), libc::SIGINT);
/// assert_eq!(SignalKind::from_raw(libc::SIGUSR1), SignalKind::user_defined1());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// Any signal by number. Listening for one that cannot be caught (`SIGKILL`, `SIGSTOP`)
    /// or must not be (`SIGSEGV`, `SIGILL`, `SIGFPE`) fails with an error.
    pub const fn from_raw(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    pub const fn as_raw(self) -> libc::c_int {
        self.0
    }

    /// `SIGINT`: Ctrl-C in a terminal.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGTERM`: the polite request to stop (what `kill` and service managers send).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGHUP`: the terminal hung up; daemons take it as "reload".
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGQUIT`.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGUSR1`.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGCHLD`: a child process changed state.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGWINCH`: the terminal was resized.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }

    /// `SIGPIPE`.
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// `SIGALRM`.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }
}

impl From<libc::c_int> for SignalKind {
    fn from(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }
}

impl fmt::Debug for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match signal_hook::low_level::signal_name(self.0) {
            Some(name) => f.write_str(name),
            None => write!(f, "SignalKind({})", self.0),
        }
    }
}

/// Refuses, with a clear error, a number that is no signal this process can catch (asyncio's
/// `ValueError('sig ... out of range')`) and a signal that cannot or must not be caught
/// (asyncio's `RuntimeError('sig ... cannot be caught')`), before anything is set up for it.
pub(crate) fn check(signum: libc::c_int) -> io::Result<()> {
    if signal_hook::consts::FORBIDDEN.contains(&signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "aioloop: signal {signum} ({:?}) cannot be caught",
                SignalKind(signum)
            ),
        ));
    }
    // SAFETY: `sigaction` with a null new action only reads the current one into `old`, a
    // plain C struct for which all-zero bytes are a valid value; it fails (`EINVAL`) for a
    // number that is no signal, or one the C library reserves.
    let valid = signum > 0
        && unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(signum, std::ptr::null(), &mut old) == 0
        };
    if !valid {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "aioloop: signal {signum} out of range (not a signal number of this system, or \
                 one its C library reserves)"
            ),
        ));
    }
    Ok(())
}
