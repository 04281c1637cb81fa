//! [`IoDriverKind`]: which io driver a loop runs on, as the user chooses it
//! ([`Builder::io_driver`](crate::Builder::io_driver), the `AIOLOOP_IO_DRIVER` environment
//! variable) and as the loop reports it ([`Loop::io_driver`](crate::Loop::io_driver)).

use std::fmt;
use std::io;
use std::str::FromStr;

/// The environment variable that picks the io driver of every loop whose builder did not.
pub(crate) const ENV_VAR: &str = "AIOLOOP_IO_DRIVER";

/// An io driver: what [`Builder::io_driver`](crate::Builder::io_driver) selects and
/// [`Loop::io_driver`](crate::Loop::io_driver) reports.
///
/// Without the `io-uring` cargo feature (and on systems other than Linux) only
/// [`Epoll`](IoDriverKind::Epoll) runs; asking for [`IoUring`](IoDriverKind::IoUring) makes
/// [`Builder::build`](crate::Builder::build) fail with [`io::ErrorKind::Unsupported`].
///
/// ```
/// use aioloop::{EventLoop, IoDriverKind};
/// let lp = EventLoop::builder().io_driver(IoDriverKind::Epoll).build().unwrap();
/// assert_eq!(lp.io_driver(), IoDriverKind::Epoll);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IoDriverKind {
    /// The readiness poller of the OS through mio: epoll on Linux, kqueue on macOS and the
    /// BSDs. The default without the `io-uring` feature.
    Epoll,
    /// io_uring (Linux 5.13 or later, the `io-uring` cargo feature). Building the loop fails
    /// if the kernel refuses it, with the probe's reason.
    IoUring,
    /// io_uring where the kernel allows it, else epoll: the loop probes at creation and falls
    /// back (debug mode reports why). The default with the `io-uring` feature. A loop never
    /// reports `Auto`: [`Loop::io_driver`](crate::Loop::io_driver) names the driver it runs.
    Auto,
}

impl IoDriverKind {
    /// The default when the builder chose none: `AIOLOOP_IO_DRIVER` if set, else `Auto` with
    /// the `io-uring` feature and `Epoll` without.
    pub(crate) fn from_env_or_default() -> io::Result<IoDriverKind> {
        match std::env::var(ENV_VAR) {
            Ok(value) if !value.is_empty() => value.parse(),
            _ if cfg!(all(feature = "io-uring", target_os = "linux")) => Ok(IoDriverKind::Auto),
            _ => Ok(IoDriverKind::Epoll),
        }
    }

    /// The name `AIOLOOP_IO_DRIVER` takes.
    fn name(self) -> &'static str {
        match self {
            IoDriverKind::Epoll => "epoll",
            IoDriverKind::IoUring => "io_uring",
            IoDriverKind::Auto => "auto",
        }
    }
}

impl fmt::Display for IoDriverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses `epoll`, `io_uring` (or `io-uring`, `uring`) and `auto`, as `AIOLOOP_IO_DRIVER` takes
/// them (`kqueue` names the same readiness driver as `epoll`).
impl FromStr for IoDriverKind {
    type Err = io::Error;

    fn from_str(s: &str) -> io::Result<IoDriverKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "epoll" | "kqueue" => Ok(IoDriverKind::Epoll),
            "io_uring" | "io-uring" | "uring" => Ok(IoDriverKind::IoUring),
            "auto" => Ok(IoDriverKind::Auto),
            other => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("aioloop: unknown io driver {other:?} (expected epoll, io_uring or auto; {ENV_VAR})"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in [IoDriverKind::Epoll, IoDriverKind::IoUring, IoDriverKind::Auto] {
            assert_eq!(kind.to_string().parse::<IoDriverKind>().unwrap(), kind);
        }
        assert_eq!("io-uring".parse::<IoDriverKind>().unwrap(), IoDriverKind::IoUring);
        let err = "select".parse::<IoDriverKind>().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("AIOLOOP_IO_DRIVER"), "{err}");
    }
}
