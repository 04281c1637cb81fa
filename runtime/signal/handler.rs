//! asyncio's `loop.add_signal_handler` / `loop.remove_signal_handler` on [`Loop`].

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use super::driver::{Driver, Handler};
use super::SignalKind;
use crate::event_loop::Loop;

impl Loop {
    /// Calls `callback` on this loop whenever `kind` is delivered to the process: asyncio's
    /// `loop.add_signal_handler(sig, callback)`. Replaces this loop's previous handler for the
    /// same signal. The callback runs as a loop callback (like `call_soon`), never inside the
    /// OS signal handler, so it may do anything; a panic goes to the exception handler.
    ///
    /// The loop need not be running. As with [`signal`](crate::signal::signal), the
    /// signal's default action is replaced for the rest of the process's life.
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use aioloop::signal::SignalKind;
    ///
    /// aioloop::run(async {
    ///     let lp = aioloop::get_running_loop();
    ///     let hits = Rc::new(Cell::new(0));
    ///     let counter = hits.clone();
    ///     lp.add_signal_handler(SignalKind::hangup(), move || counter.set(counter.get() + 1))
    ///         .unwrap();
    ///     // SAFETY: raise only sends a signal to this process, whose SIGHUP is now caught.
    ///     unsafe { libc::raise(libc::SIGHUP) };
    ///     while hits.get() == 0 {
    ///         aioloop::sleep(std::time::Duration::from_millis(1)).await;
    ///     }
    ///     assert!(lp.remove_signal_handler(SignalKind::hangup()));
    /// });
    /// ```
    ///
    /// # Errors
    /// For a signal that cannot be caught (`SIGKILL`, `SIGSTOP`, `SIGSEGV`...), or if the
    /// self-pipe cannot be created.
    ///
    /// # Panics
    /// If the loop is closed.
    #[track_caller]
    pub fn add_signal_handler(
        &self,
        kind: impl Into<SignalKind>,
        callback: impl FnMut() + 'static,
    ) -> io::Result<()> {
        let signum = kind.into().as_raw();
        let driver = Driver::of(&self.core)?;
        driver.register(signum)?;
        let handler = Handler {
            id: driver.next_handler_id(),
            callback: Rc::new(RefCell::new(callback)),
        };
        let old = driver.handlers.borrow_mut().insert(signum, handler);
        drop(old);
        Ok(())
    }

    /// Removes this loop's handler for `kind`: asyncio's `loop.remove_signal_handler(sig)`.
    /// Returns whether there was one. A delivery already queued for it is not run.
    ///
    /// Unlike asyncio, the signal's default action is not restored (the signal stays caught
    /// and ignored; see [`signal`](crate::signal::signal)).
    pub fn remove_signal_handler(&self, kind: impl Into<SignalKind>) -> bool {
        let signum = kind.into().as_raw();
        let Ok(driver) = Driver::of(&self.core) else {
            return false;
        };
        let removed = driver.handlers.borrow_mut().remove(&signum);
        removed.is_some()
    }
}
