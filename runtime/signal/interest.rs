//! Process-wide interest in each signal, so that a signal nobody listens for any more gets its
//! default action back.
//!
//! signal-hook never uninstalls its OS-level handler (doing so safely while another thread may
//! be inside it is not possible), and with no action left it swallows the signal. So the first
//! time aioloop is about to catch a signal whose disposition is still the default (`SIG_DFL`),
//! it registers one more signal-hook action for it, once per process: while the signal's
//! *idle* flag is set, the action emulates the default action
//! ([`signal_hook::low_level::emulate_default_handler`]: terminate, stop, or ignore, as the
//! OS would). An [`Interest`] is held by every listener ([`Signals`](super::Signals)) and every
//! handler ([`Loop::add_signal_handler`](crate::Loop::add_signal_handler)) on every loop of
//! every thread; the flag is set exactly while a signal's count of interests is zero.
//!
//! Invariants:
//! - The count, its lock-free mirror and the flag change together under one process-wide
//!   mutex; a signal handler only loads the flag or the mirror (atomics in `Arc`s:
//!   async-signal-safe).
//! - An [`Interest`] is created only after the loop's self-pipe is registered for the signal,
//!   and the pipe stays registered as long as the interest lives: whenever the handler sees the
//!   flag clear, the delivery reaches the loop. A delivery racing with the last interest going
//!   away either reaches the loop (and finds nobody) or takes the default action: it counts as
//!   before or after the removal, never lost in between.
//! - A signal that was ignored or handled by other code when aioloop first caught it gets no
//!   default action: signal-hook chains to a previous handler itself, and an ignored signal
//!   stays ignored while nobody is interested, as if aioloop had never touched it.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// One signal's interests.
struct Entry {
    count: usize,
    /// `count`, readable without the lock (in a signal handler): written with it.
    mirror: Arc<AtomicUsize>,
    /// Set while `count` is zero; `None` when there is no default action to bring back.
    idle: Option<Arc<AtomicBool>>,
}

static SIGNALS: Mutex<BTreeMap<libc::c_int, Entry>> = Mutex::new(BTreeMap::new());

fn signals() -> MutexGuard<'static, BTreeMap<libc::c_int, Entry>> {
    // The map stays consistent if a holder panics: every update is a single assignment.
    SIGNALS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Prepares `signum` to be caught: the first time, registers the conditional default action
/// (see the module docs). Must run before any self-pipe is registered for `signum`.
pub(crate) fn prepare(signum: libc::c_int) -> io::Result<()> {
    let mut signals = signals();
    if signals.contains_key(&signum) {
        return Ok(());
    }
    let idle = if at_default(signum)? {
        let idle = Arc::new(AtomicBool::new(true));
        match signal_hook::flag::register_conditional_default(signum, idle.clone()) {
            Ok(_) => Some(idle),
            // A signal signal-hook knows no default for (real-time ones): it stays caught.
            Err(err) if err.raw_os_error() == Some(libc::EINVAL) => None,
            Err(err) => return Err(err),
        }
    } else {
        None
    };
    signals.insert(
        signum,
        Entry {
            count: 0,
            mirror: Arc::default(),
            idle,
        },
    );
    Ok(())
}

/// Whether `signum`'s disposition is `SIG_DFL` (not ignored, not handled by anyone).
fn at_default(signum: libc::c_int) -> io::Result<bool> {
    // SAFETY: `sigaction` with a null new action only reads the current one into `old`, a
    // plain C struct for which all-zero bytes are a valid value.
    let old = unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(signum, std::ptr::null(), &mut old) != 0 {
            return Err(io::Error::last_os_error());
        }
        old
    };
    Ok(old.sa_sigaction == libc::SIG_DFL)
}

/// Whether `signum` would take its default action if delivered now: its disposition is still
/// `SIG_DFL`, or aioloop caught it while it was and nobody is interested in it any more. False
/// while it is ignored, handled by other code, or listened to on any loop. asyncio's
/// `signal.getsignal(SIGINT) is signal.default_int_handler`, which `asyncio.run` checks before
/// it installs its Ctrl-C handling.
pub(crate) fn takes_default_action(signum: libc::c_int) -> io::Result<bool> {
    match signals().get(&signum) {
        Some(entry) => Ok(entry.count == 0 && entry.idle.is_some()),
        None => at_default(signum),
    }
}

/// How many listeners and handlers, on every loop of every thread, are interested in
/// `signum` (which [`prepare`] was called for), as a counter a signal handler may load: it
/// changes with the count, under the lock.
pub(crate) fn counter(signum: libc::c_int) -> Arc<AtomicUsize> {
    signals()
        .get(&signum)
        .map(|entry| entry.mirror.clone())
        .expect("interest::prepare ran for the signal")
}

/// One listener's or handler's interest in a signal; dropping it gives the interest up.
pub(crate) struct Interest(libc::c_int);

impl Interest {
    /// Takes an interest in `signum`, which [`prepare`] was called for and whose self-pipe is
    /// registered already.
    pub(crate) fn new(signum: libc::c_int) -> Interest {
        let mut signals = signals();
        let entry = signals.entry(signum).or_insert_with(|| Entry {
            count: 0,
            mirror: Arc::default(),
            idle: None,
        });
        entry.count += 1;
        entry.mirror.store(entry.count, Ordering::SeqCst);
        if let (1, Some(idle)) = (entry.count, &entry.idle) {
            idle.store(false, Ordering::SeqCst);
        }
        Interest(signum)
    }
}

impl Drop for Interest {
    fn drop(&mut self) {
        let mut signals = signals();
        let Some(entry) = signals.get_mut(&self.0) else {
            return;
        };
        entry.count -= 1;
        entry.mirror.store(entry.count, Ordering::SeqCst);
        if let (0, Some(idle)) = (entry.count, &entry.idle) {
            idle.store(true, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idle(signum: libc::c_int) -> bool {
        let signals = signals();
        let idle = signals[&signum]
            .idle
            .as_ref()
            .expect("SIGURG starts at its default");
        idle.load(Ordering::SeqCst)
    }

    #[test]
    #[cfg_attr(miri, ignore = "calls sigaction and signal-hook's FFI, which Miri cannot run")]
    fn the_default_is_back_exactly_when_the_last_interest_goes() {
        // SIGURG: nothing else in the lib's tests catches it, and its default is to ignore it.
        let signum = libc::SIGURG;
        prepare(signum).unwrap();
        prepare(signum).unwrap(); // idempotent
        assert!(idle(signum));
        let first = Interest::new(signum);
        assert!(!idle(signum));
        let second = Interest::new(signum);
        drop(first);
        assert!(!idle(signum));
        drop(second);
        assert!(idle(signum));
        let again = Interest::new(signum);
        assert!(!idle(signum));
        drop(again);
        assert!(idle(signum));
    }
}
