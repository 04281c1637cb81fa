//! [`Signals`], a stream of deliveries of one signal, and [`ctrl_c`].

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::driver::Driver;
use super::SignalKind;
use crate::context;

/// Listens for deliveries of one signal on the running loop (tokio's `signal(kind)`).
///
/// Deliveries are counted from the call on. Unix signals coalesce: several deliveries that
/// arrive before the loop reads them count as one.
///
/// Listening replaces the signal's default action for the whole process (for `SIGINT`: the
/// process no longer dies on Ctrl-C) for as long as some loop, on any thread, has a listener or
/// a [handler](crate::Loop::add_signal_handler) for it. When the last one goes away (this
/// `Signals` dropped, the handler removed, its loop closed), the signal behaves as if aioloop had
/// never caught it: its default action again, or what other code had set up before. (tokio, by
/// contrast, keeps the signal caught and ignored for the rest of the process.)
///
/// Signals signal-hook knows no default action for (the real-time ones) stay caught and ignored
/// once caught. If other code in the process catches the same signal through signal-hook after
/// aioloop did, aioloop still brings the default action back when its own interest ends.
///
/// ```
/// use aioloop::signal::{signal, SignalKind};
///
/// aioloop::run(async {
///     let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
///     // SAFETY: raise only sends a signal to this process, whose SIGUSR2 is now caught.
///     unsafe { libc::raise(libc::SIGUSR2) };
///     usr2.recv().await;
/// });
/// ```
///
/// # Errors
/// `InvalidInput` for a number that is no signal or a signal that cannot be caught (see
/// [`Loop::add_signal_handler`](crate::Loop::add_signal_handler)); the OS error if the
/// self-pipe cannot be created.
///
/// # Panics
/// If no loop is running on this thread. [`Signals::recv`] panics if it would wait outside
/// the loop that created the listener (another loop, or none running): only that loop
/// receives its deliveries.
#[track_caller]
pub fn signal(kind: SignalKind) -> io::Result<Signals> {
    let core = context::expect_current("signal::signal");
    let driver = Driver::for_signal(&core, kind.as_raw())?;
    let key = driver.listen(kind.as_raw());
    Ok(Signals { driver, key, kind })
}

/// Waits for the next Ctrl-C (`SIGINT`), asyncio's `add_signal_handler(SIGINT, ...)` for the
/// common case. The listener is created when the future is first polled.
///
/// # Panics
/// If polled with no loop running on this thread.
pub async fn ctrl_c() -> io::Result<()> {
    signal(SignalKind::interrupt())?.recv().await;
    Ok(())
}

/// A stream of deliveries of one signal, from [`signal`]. Dropping it stops listening.
pub struct Signals {
    driver: Rc<Driver>,
    key: usize,
    kind: SignalKind,
}

impl Signals {
    /// Waits for the next delivery: `Some(())` per delivery (coalesced, see [`signal`]). It is
    /// an `Option` for parity with tokio's `Signal::recv`; this implementation never ends the
    /// stream.
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery (the building block of [`Signals::recv`]).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        if self.driver.take_delivery(self.key, cx.waker()) {
            return Poll::Ready(Some(()));
        }
        if !self.driver.is_current() {
            polled_off_its_loop(self.driver.is_closed());
        }
        Poll::Pending
    }

    /// Which signal this listens for.
    pub fn kind(&self) -> SignalKind {
        self.kind
    }
}

/// The panic of a listener polled where its loop does not run: only that loop reads the
/// deliveries, so the wait would never end. It says whether that loop was closed (as the I/O
/// registration's panic does).
#[cold]
#[inline(never)]
#[track_caller]
fn polled_off_its_loop(loop_closed: bool) -> ! {
    if loop_closed {
        panic!(
            "aioloop: a signal listener (or a child process, where its exit is watched through \
             SIGCHLD) was polled after its event loop was closed (asyncio raises 'Event loop is \
             closed'): it can never be woken"
        )
    }
    panic!(
        "aioloop: a signal listener (or a child process, where its exit is watched through \
         SIGCHLD) was polled outside the event loop that created it (only that loop receives \
         its deliveries: create it inside the loop that waits for it)"
    )
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.driver.unlisten(self.key);
    }
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signals").field("kind", &self.kind).finish()
    }
}

/// `Signals` is a stream of deliveries (`futures_core::Stream`), as [`Signals::recv`]: one item
/// per (coalesced) delivery; the stream never ends.
impl futures_core::Stream for Signals {
    type Item = ();

    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}
