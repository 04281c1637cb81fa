//! A Linux `timerfd` registered with the reactor: how the loop sleeps with sub-millisecond
//! precision. mio's poll timeout has whole-millisecond granularity (it rounds up), so the loop
//! arms this timer for the exact time to the earliest deadline and then polls with no timeout;
//! the timer's expiry wakes the poll. Arming costs one `timerfd_settime` call, made only when the
//! earliest deadline changes; setting the timer also resets its expiry count, so it never needs
//! to be read.
//!
//! On other systems [`TimerFd::new`] returns `None` and the loop uses mio's (rounded-up) timeout.

use std::time::Duration;

/// The loop's precise wake-up timer.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) struct TimerFd {
    fd: std::os::fd::OwnedFd,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl TimerFd {
    /// A disarmed non-blocking monotonic timer, or `None` if the kernel refuses one.
    pub(crate) fn new() -> Option<TimerFd> {
        use std::os::fd::FromRawFd;
        if cfg!(miri) {
            // Miri does not emulate timerfd; the loop falls back to mio's timeout there.
            return None;
        }
        // SAFETY: timerfd_create takes no pointers; a negative return is an error we handle.
        let fd =
            unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
        if fd < 0 {
            return None;
        }
        Some(TimerFd {
            // SAFETY: `fd` is a freshly created descriptor that nothing else owns.
            fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) },
        })
    }

    /// The descriptor, for registering with the reactor.
    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.fd.as_raw_fd()
    }

    /// Arms the timer to expire once, `after` from now (a zero duration would disarm, so it is
    /// raised to one nanosecond). Returns false if the kernel refused.
    pub(crate) fn arm(&self, after: Duration) -> bool {
        let after = after.max(Duration::from_nanos(1));
        let secs = libc::time_t::try_from(after.as_secs()).unwrap_or(libc::time_t::MAX);
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: secs,
                tv_nsec: after.subsec_nanos() as _,
            },
        };
        use std::os::fd::AsRawFd;
        // SAFETY: `spec` is a valid itimerspec that lives across the call; the old-value pointer
        // may be null; the descriptor is owned by `self` and open.
        unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) == 0 }
    }
}

/// Stand-in on systems without timerfd: never available.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) struct TimerFd;

#[cfg(not(any(target_os = "linux", target_os = "android")))]
impl TimerFd {
    /// Always `None`: the loop falls back to mio's millisecond timeout.
    pub(crate) fn new() -> Option<TimerFd> {
        None
    }

    /// Unreachable without a timer.
    pub(crate) fn raw_fd(&self) -> i32 {
        -1
    }

    /// Unreachable without a timer.
    pub(crate) fn arm(&self, _after: Duration) -> bool {
        false
    }
}
