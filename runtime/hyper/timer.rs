//! [`Timer`]: hyper's timer on the loop's timer wheel.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::context;
use crate::time::Sleep;
use crate::LoopBound;

/// hyper's timer on aioloop: its sleeps are [`aioloop::sleep`](crate::sleep)s on the timer
/// wheel of the loop running on the calling thread, and follow that loop's clock (a paused
/// clock too). Dropping one cancels its timer at once, so a timeout armed and dropped per
/// request (hyper's `header_read_timeout`) leaves nothing behind:
/// [`LoopStats::pending_timers`](crate::LoopStats::pending_timers) shows it.
///
/// hyper wants its sleeps `Send + Sync`; an aioloop sleep is neither, so each travels in a
/// [`LoopBound`]: it may be moved anywhere but is polled, reset and dropped on its loop's
/// thread (a poll elsewhere panics with a message naming both threads; a drop elsewhere sends
/// it home, where its timer is cancelled). hyper polls its timers from the connection future,
/// which runs on the loop, so this never shows.
///
/// # Panics
/// `sleep` and `sleep_until` panic if no loop is running on the calling thread.
///
/// ```
/// use std::time::Duration;
/// use hyper::rt::Timer as _;
///
/// #[aioloop::main(start_paused)]
/// async fn main() {
///     let lp = aioloop::get_running_loop();
///     let start = lp.time();
///     aioloop::hyper::Timer.sleep(Duration::from_secs(30)).await; // virtual time: at once
///     assert!(lp.time() - start >= Duration::from_secs(30));
///     assert_eq!(lp.stats().pending_timers, 0);
/// }
/// # main()
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Timer;

impl ::hyper::rt::Timer for Timer {
    #[track_caller]
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(HyperSleep(LoopBound::new(crate::sleep(duration))))
    }

    #[track_caller]
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(HyperSleep(LoopBound::new(crate::sleep_until(deadline))))
    }

    /// The running loop's clock (paused or not); the system clock away from a loop.
    fn now(&self) -> Instant {
        context::current().map_or_else(Instant::now, |core| core.time().now())
    }

    /// Moves the deadline of one of this timer's sleeps in place (no new allocation, the
    /// timer keeps its registration); any other sleep is replaced.
    fn reset(&self, sleep: &mut Pin<Box<dyn ::hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(ours) => ours.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// A sleep as hyper wants it: `Send + Sync` through its [`LoopBound`].
struct HyperSleep(LoopBound<Sleep>);

impl HyperSleep {
    /// See [`Sleep::reset`].
    ///
    /// # Panics
    /// Away from the sleep's loop thread.
    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        // `Sleep` is `Unpin`, so is the `LoopBound` of it.
        self.get_mut().0.get_mut().reset(deadline);
    }
}

impl Future for HyperSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

impl ::hyper::rt::Sleep for HyperSleep {}
