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
/// When polled outside a running loop, or on a loop other than the one it belongs to (the
/// loop it was created on, else the one that first polled it): its timer would never fire.
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
            let tick = driver.tick_after(duration);
            Sleep::at_tick(driver, tick)
        }
        None => Sleep::unbound(Deadline::After(duration)),
    }
}

/// Waits until the loop's clock reads `deadline` (at once-ish if it already has). Like
/// [`sleep`], it binds to the loop that first polls it if none runs where it is created.
///
/// # Panics
/// When polled outside a running loop, or on a loop other than the one it belongs to (the
/// loop it was created on, else the one that first polled it): its timer would never fire.
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
    /// At this instant of the loop's clock, once it binds to its loop.
    At(Instant),
    /// At this tick of its loop's time driver (bound): computed once, at creation, so that
    /// the first poll only sets the timer.
    Tick(u64),
}

/// The future of [`sleep`] and [`sleep_until`]. Dropping it cancels the timer (O(1)).
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    /// The loop's time driver, once bound (at creation on a running loop, else at the first
    /// poll).
    driver: Option<Rc<TimeDriver>>,
    /// `Tick` once bound.
    deadline: Deadline,
    timer: TimerState,
}

/// Where a sleep's timer is (one enum rather than an `Option` and a flag: it fits in the
/// timer's spare bits, see the size check at the end of the file).
#[derive(Clone, Copy, Debug)]
enum TimerState {
    /// Not set: never polled, reset after firing, or disarmed.
    Unset,
    /// Set on the wheel.
    Set(WakeTimer),
    /// Fired and seen by a poll.
    Elapsed,
}

impl Sleep {
    pub(crate) fn new(driver: Rc<TimeDriver>, deadline: Instant) -> Self {
        let tick = driver.tick_of(deadline);
        Sleep::at_tick(driver, tick)
    }

    /// A sleep until tick `tick` of `driver`.
    fn at_tick(driver: Rc<TimeDriver>, tick: u64) -> Self {
        Sleep {
            driver: Some(driver),
            deadline: Deadline::Tick(tick),
            timer: TimerState::Unset,
        }
    }

    /// A sleep that binds to the loop that first polls it.
    pub(crate) fn unbound(deadline: Deadline) -> Self {
        Sleep {
            driver: None,
            deadline,
            timer: TimerState::Unset,
        }
    }

    /// Binds the sleep to the running loop if it is not bound yet, fixing its deadline.
    ///
    /// # Panics
    /// If it is not bound and no loop is running.
    pub(crate) fn bind(&mut self) -> (&Rc<TimeDriver>, u64) {
        let driver = self
            .driver
            .get_or_insert_with(|| TimeDriver::current("sleep (polled)"));
        let tick = match self.deadline {
            Deadline::Tick(tick) => return (driver, tick),
            Deadline::After(duration) => driver.tick_after(duration),
            Deadline::At(deadline) => driver.tick_of(deadline),
        };
        self.deadline = Deadline::Tick(tick);
        (driver, tick)
    }

    /// The deadline tick of a sleep that has set its timer (so it is bound).
    fn tick(&self) -> u64 {
        match self.deadline {
            Deadline::Tick(tick) => tick,
            _ => unreachable!("aioloop: a sleep with a timer is bound"),
        }
    }

    /// The instant this sleep ends. A sleep created outside a loop and not polled yet has no
    /// loop clock to count from: it reads as ending `duration` from now on the system clock.
    pub fn deadline(&self) -> Instant {
        match (self.deadline, &self.driver) {
            (Deadline::Tick(tick), Some(driver)) => driver.instant_of(tick),
            (Deadline::At(deadline), _) => deadline,
            (Deadline::After(duration), _) => add_saturating(Instant::now(), duration),
            (Deadline::Tick(_), None) => unreachable!("aioloop: a sleep with a tick is bound"),
        }
    }

    /// True once the timer has fired (the next poll returns `Ready`).
    pub fn is_elapsed(&self) -> bool {
        match (&self.driver, self.timer) {
            (_, TimerState::Elapsed) => true,
            (Some(driver), TimerState::Set(timer)) => driver.has_fired(timer, self.tick()),
            _ => false,
        }
    }

    /// Moves the deadline, keeping the timer registration (it counts as newly set for the order
    /// of equal deadlines). A sleep that already ended sleeps again until `deadline`.
    pub fn reset(&mut self, deadline: Instant) {
        if let TimerState::Elapsed = self.timer {
            self.timer = TimerState::Unset;
        }
        let Some(driver) = &self.driver else {
            self.deadline = Deadline::At(deadline);
            return;
        };
        let tick = driver.tick_of(deadline);
        self.deadline = Deadline::Tick(tick);
        if let TimerState::Set(timer) = &mut self.timer {
            if !driver.reset(timer, tick) {
                self.timer = TimerState::Unset;
            }
        }
    }

    /// Removes the timer from the wheel, keeping the deadline (a timeout scope that ended still
    /// reads its `when`). Polled again, the sleep sets a new timer.
    pub(crate) fn disarm(&mut self) {
        if let (Some(driver), TimerState::Set(timer)) = (&self.driver, self.timer) {
            let entry = driver.remove_wake(timer, self.tick());
            self.timer = TimerState::Unset;
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
        if !matches!(this.timer, TimerState::Unset) {
            std::task::ready!(crate::task::coop::poll_proceed(cx)).made_progress();
        }
        let timer = this.timer;
        let (driver, tick) = this.bind();
        match timer {
            TimerState::Unset => {
                assert_on_own_loop(driver);
                let timer = driver.insert_wake(tick, cx.waker());
                this.timer = TimerState::Set(timer);
                Poll::Pending
            }
            TimerState::Elapsed => Poll::Ready(()),
            TimerState::Set(timer) => match driver.poll_timer(timer, tick, cx.waker()) {
                // Fired: the wheel no longer knows the key.
                Poll::Ready(()) => {
                    this.timer = TimerState::Elapsed;
                    Poll::Ready(())
                }
                Poll::Pending => {
                    assert_on_own_loop(driver);
                    Poll::Pending
                }
            },
        }
    }
}

/// Panics unless `driver` is the running loop's: a sleep about to wait has its timer on the
/// wheel of the loop it was created on (or first polled by), which alone fires it, so waiting
/// elsewhere would never end (asyncio raises "attached to a different loop"). Called before a
/// poll returns `Pending`.
#[inline]
fn assert_on_own_loop(driver: &Rc<TimeDriver>) {
    if !TimeDriver::is_current(driver) {
        polled_off_its_loop();
    }
}

/// The panic of [`assert_on_own_loop`] (out of line: the check is on the first poll of every
/// sleep).
#[cold]
#[inline(never)]
#[track_caller]
fn polled_off_its_loop() -> ! {
    panic!(
        "aioloop: a sleep was polled outside the event loop it belongs to (a timer belongs to the \
         loop that created the sleep or first polled it, and would never fire elsewhere: create \
         the sleep inside the loop that awaits it)"
    )
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

// A `Sleep` is moved into the future that awaits it (and often into a task): kept at the
// 56 bytes it had before the split, a move stays a few register copies, where 72 bytes made
// the register+cancel benchmark call `memcpy` on every sleep.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Sleep>() <= 56);
