//! asyncio's `loop.add_signal_handler` / `loop.remove_signal_handler` on [`Loop`].

use std::io;

use super::driver::Driver;
use super::SignalKind;
use crate::event_loop::Loop;

impl Loop {
    /// Calls `callback` on this loop whenever `kind` is delivered to the process: asyncio's
    /// `loop.add_signal_handler(sig, callback)`. Replaces this loop's previous handler for the
    /// same signal. The callback runs as a loop callback (like `call_soon`), never inside the
    /// OS signal handler, so it may do anything; a panic goes to the exception handler.
    ///
    /// The loop need not be running. As with [`signal`](crate::signal::signal), the
    /// signal's default action (for `SIGTERM`: ending the process) is replaced while the
    /// handler is installed; it comes back once no loop in the process has a handler or a
    /// listener for the signal any more (see [`remove_signal_handler`](Loop::remove_signal_handler)).
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
    /// `InvalidInput` for a number that is no signal ("out of range", asyncio's `ValueError`)
    /// and for a signal that cannot be caught (`SIGKILL`, `SIGSTOP`, `SIGSEGV`...: "cannot be
    /// caught", asyncio's `RuntimeError`); the OS error if the self-pipe cannot be created.
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
        Driver::for_signal(&self.core, signum)?.set_handler(signum, callback);
        Ok(())
    }

    /// Removes this loop's handler for `kind`: asyncio's `loop.remove_signal_handler(sig)`.
    /// Returns whether there was one. A delivery already queued for it is not run.
    ///
    /// As with asyncio, once this was the last interest in the signal (no handler on any
    /// loop, no [`Signals`](crate::signal::Signals) listener left, on any thread), the signal
    /// behaves again as it did before aioloop caught it: its default action (`SIGINT` and
    /// `SIGTERM` end the process, `SIGCHLD` and `SIGWINCH` are ignored...), or whatever other
    /// code had set up (ignored, or its own handler). While another loop still has a handler,
    /// the signal stays caught and only that loop sees it.
    ///
    /// ```no_run
    /// use aioloop::signal::SignalKind;
    ///
    /// aioloop::run(async {
    ///     let lp = aioloop::get_running_loop();
    ///     lp.add_signal_handler(SignalKind::terminate(), || println!("not yet")).unwrap();
    ///     lp.remove_signal_handler(SignalKind::terminate());
    ///     // SAFETY: raise only sends a signal to this process.
    ///     unsafe { libc::raise(libc::SIGTERM) }; // the process ends here, killed by SIGTERM
    ///     unreachable!();
    /// });
    /// ```
    pub fn remove_signal_handler(&self, kind: impl Into<SignalKind>) -> bool {
        let signum = kind.into().as_raw();
        // A loop that never caught a signal has no handler to remove: answer without creating
        // the signal machinery (a self-pipe and its dispatcher) just to say so.
        let Some(driver) = Driver::existing(&self.core) else {
            return false;
        };
        driver.remove_handler(signum)
    }
}
