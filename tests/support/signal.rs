//! Signals through the public API, for the binaries that send them (tests/signal_delivery.rs,
//! tests/audit_asyncio_signals.rs). Signals are process-wide: each of those binaries holds
//! [`serial`] in every test that sends one or sets up a handler, so its tests run one at a time.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use aioloop::signal::SignalKind;

static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the binary's lock (a test that failed holding it does not fail the others).
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Sends `sig` to the whole process (any thread may take it).
pub fn kill_self(sig: libc::c_int) {
    // SAFETY: kill/getpid are plain syscalls; the signal is caught by signal-hook's handler.
    assert_eq!(unsafe { libc::kill(libc::getpid(), sig) }, 0);
}

/// Runs `fut` with a 10 s deadline, so a lost delivery fails instead of hanging.
pub async fn within<T>(fut: impl std::future::Future<Output = T>) -> T {
    aioloop::wait_for(fut, Duration::from_secs(10))
        .await
        .expect("signal not delivered in 10 s")
}

/// Waits until `hits` is at least `n` (at most 10 s, as [`within`]).
pub async fn until(hits: &Cell<usize>, n: usize) {
    within(async {
        while hits.get() < n {
            aioloop::yield_now().await;
        }
    })
    .await
}

/// Adds a handler for `sig` to the running loop that counts its calls; returns the count.
pub fn counting_handler(sig: impl Into<SignalKind>) -> Rc<Cell<usize>> {
    let hits = Rc::new(Cell::new(0));
    let counter = hits.clone();
    aioloop::get_running_loop()
        .add_signal_handler(sig, move || counter.set(counter.get() + 1))
        .unwrap();
    hits
}
