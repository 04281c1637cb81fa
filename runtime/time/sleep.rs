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
/// Created on a running loop, the sleep starts now; created where no loop runs, it binds to
/// the loop that first polls it and starts then (asyncio:
/// `loop.run_until_complete(asyncio.sleep(0.01))`).
///
/// # Panics
/// When first polled outside a running loop.
///
/// ```
/// use std::time::{Duration, Instant};
/// aioloop::run(async {
///     let start = Instant::now();
///     aioloop::sleep(Duration::from_millis(5)).await;
///     assert!(start.elapsed() >= Duration::from_millis(5));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    match TimeDriver::try_current() {
        Some(driver) => {
            let deadline = add_saturating(driver.now(), duration);
            Sleep::new(driver, deadline)
        }
        None => Sleep::unbound(Deadline::After(duration)),
    }
}

/// Waits until the loop's clock reads `deadline` (at once-ish if it already has). Like
/// [`sleep`], it binds to the loop that first polls it if none runs where it is created.
///
/// # Panics
/// When first polled outside a running loop.
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
pub fn sleep_until(deadline: Instant) -> Sleep {
    match TimeDriver::try_current() {
        Some(driver) => Sleep::new(driver, deadline),
        None => Sleep::unbound(Deadline::At(deadline)),
    }
}

/// When a sleep ends.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Deadline {
    /// This long after it binds to its loop (its first poll).
    After(Duration),
    /// At this instant of the loop's clock.
    At(Instant),
}

/// The future of [`sleep`] and [`sleep_until`]. Dropping it cancels the timer (O(1)).
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    /// The loop's time driver, once bound (at creation on a running loop, else at the first
    /// poll).
    driver: Option<Rc<TimeDriver>>,
    deadline: Deadline,
    timer: Option<WakeTimer>,
    elapsed: bool,
}

impl Sleep {
    pub(crate) fn new(driver: Rc<TimeDriver>, deadline: Instant) -> Self {
        Sleep {
            driver: Some(driver),
            deadline: Deadline::At(deadline),
            timer: None,
            elapsed: false,
        }
    }

    /// A sleep that binds to the loop that first polls it.
    pub(crate) fn unbound(deadline: Deadline) -> Self {
        Sleep {
            driver: None,
            deadline,
            timer: None,
            elapsed: false,
        }
    }

    /// Binds the sleep to the running loop if it is not bound yet, fixing its deadline.
    ///
    /// # Panics
    /// If it is not bound and no loop is running.
    pub(crate) fn bind(&mut self) -> &Rc<TimeDriver> {
        let driver = self
            .driver
            .get_or_insert_with(|| TimeDriver::current("sleep (polled)"));
        if let Deadline::After(duration) = self.deadline {
            self.deadline = Deadline::At(add_saturating(driver.now(), duration));
        }
        driver
    }

    /// The instant this sleep ends. A sleep created outside a loop and not polled yet has no
    /// loop clock to count from: it reads as ending `duration` from now on the system clock.
    pub fn deadline(&self) -> Instant {
        match self.deadline {
            Deadline::At(deadline) => deadline,
            Deadline::After(duration) => add_saturating(Instant::now(), duration),
        }
    }

    /// True once the timer has fired (the next poll returns `Ready`).
    pub fn is_elapsed(&self) -> bool {
        self.elapsed
            || match (&self.driver, self.timer) {
                (Some(driver), Some(timer)) => driver.has_fired(timer),
                _ => false,
            }
    }

    /// Moves the deadline, keeping the timer registration (it counts as newly set for the order
    /// of equal deadlines). A sleep that already ended sleeps again until `deadline`.
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = Deadline::At(deadline);
        self.elapsed = false;
        if let (Some(driver), Some(timer)) = (&self.driver, &mut self.timer) {
            if !driver.reset(timer, deadline) {
                self.timer = None;
            }
        }
    }

    /// Removes the timer from the wheel, keeping the deadline (a timeout scope that ended still
    /// reads its `when`). Polled again, the sleep sets a new timer.
    pub(crate) fn disarm(&mut self) {
        if let (Some(driver), Some(timer)) = (&self.driver, self.timer.take()) {
            let entry = driver.remove_wake(timer);
            drop(entry);
        }
    }

    /// The time driver this sleep runs on (an interval's sleep is always bound).
    pub(crate) fn driver(&self) -> &Rc<TimeDriver> {
        self.driver
            .as_ref()
            .expect("aioloop: an interval's sleep is bound to its loop")
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
        this.bind();
        let deadline = this.deadline();
        let Some(driver) = &this.driver else {
            unreachable!("bound above")
        };
        match this.timer {
            None => {
                this.timer = Some(driver.insert_wake(deadline, cx.waker()));
                Poll::Pending
            }
            Some(timer) => match driver.poll_timer(timer, cx.waker()) {
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
        self.disarm();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline())
            .field("elapsed", &self.is_elapsed())
            .finish()
    }
}
