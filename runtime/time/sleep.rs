//! [`sleep`], [`sleep_until`] and the [`Sleep`] future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::clock::add_saturating;
use super::driver::{TimeDriver, WakeTimer};

/// Waits until `duration` has passed on the loop's clock: asyncio's `await asyncio.sleep(d)`.
///
/// Precise below the millisecond and never early. `Duration::ZERO` gives the loop one
/// iteration, like [`yield_now`](crate::yield_now); `Duration::MAX` sleeps (practically)
/// forever without overflowing.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use std::time::{Duration, Instant};
/// aioloop::run(async {
///     let start = Instant::now();
///     aioloop::sleep(Duration::from_millis(5)).await;
///     assert!(start.elapsed() >= Duration::from_millis(5));
/// });
/// ```
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let driver = TimeDriver::current("sleep");
    let deadline = add_saturating(driver.now(), duration);
    Sleep::new(driver, deadline)
}

/// Waits until the loop's clock reads `deadline` (at once-ish if it already has).
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use std::time::Duration;
/// aioloop::run(async {
///     let lp = aioloop::get_running_loop();
///     let deadline = lp.time() + Duration::from_millis(3);
///     aioloop::sleep_until(deadline).await;
///     assert!(lp.time() >= deadline);
/// });
/// ```
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(TimeDriver::current("sleep_until"), deadline)
}

/// The future of [`sleep`] and [`sleep_until`]. Dropping it cancels the timer (O(1)).
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    driver: Rc<TimeDriver>,
    deadline: Instant,
    timer: Option<WakeTimer>,
    elapsed: bool,
}

impl Sleep {
    pub(crate) fn new(driver: Rc<TimeDriver>, deadline: Instant) -> Self {
        Sleep {
            driver,
            deadline,
            timer: None,
            elapsed: false,
        }
    }

    /// The instant this sleep ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the timer has fired (the next poll returns `Ready`).
    pub fn is_elapsed(&self) -> bool {
        self.elapsed || self.timer.is_some_and(|timer| self.driver.has_fired(timer))
    }

    /// Moves the deadline, keeping the timer registration (it counts as newly set for the order
    /// of equal deadlines). A sleep that already ended sleeps again until `deadline`.
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        self.elapsed = false;
        if let Some(timer) = &mut self.timer {
            if !self.driver.reset(timer, deadline) {
                self.timer = None;
            }
        }
    }

    /// The time driver this sleep runs on.
    pub(crate) fn driver(&self) -> &Rc<TimeDriver> {
        &self.driver
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        // The budget (task/coop.rs): a set or elapsed sleep spends a unit per poll; a first poll
        // only sets the timer.
        if this.timer.is_some() || this.elapsed {
            std::task::ready!(crate::task::coop::poll_proceed(cx)).made_progress();
        }
        if this.elapsed {
            return Poll::Ready(());
        }
        match this.timer {
            None => {
                this.timer = Some(this.driver.insert_wake(this.deadline, cx.waker()));
                Poll::Pending
            }
            Some(timer) => match this.driver.poll_timer(timer, cx.waker()) {
                // Fired: the wheel no longer knows the key.
                Poll::Ready(()) => {
                    this.timer = None;
                    this.elapsed = true;
                    Poll::Ready(())
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.take() {
            let entry = self.driver.remove_wake(timer);
            drop(entry);
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("elapsed", &self.is_elapsed())
            .finish()
    }
}
