//! The time driver: the loop's clock and its timers, behind a few methods. Its state is
//! private; the loop drives it ([`TimeDriver::next_deadline`], [`TimeDriver::pop_due`]) and
//! resource handles ([`Sleep`](super::Sleep), [`TimerHandle`](super::TimerHandle)) hold the
//! driver they use.
//!
//! Timers sit on a [`Wheel`] keyed by nanoseconds (ticks). The loop's start is tick
//! [`ORIGIN_TICK`], not 0, so that instants before the loop started (`call_at(now - 1 s)`) keep
//! their order on the wheel: up to 146 years back are exact, older ones saturate at tick 0; 438
//! years ahead saturate at `u64::MAX`.
//!
//! - **M1.** Deadlines round up and "now" rounds down (both exact at nanosecond ticks): a timer
//!   never fires early.
//! - **M2.** Due timers fire in `(deadline, insertion)` order, also within one tick and for
//!   deadlines already past (the wheel keeps that order, wheel.rs); a [`TimeDriver::reset`]
//!   counts as a new insertion.
//!
//! The driver of the loop running on this thread is found with [`TimeDriver::current`]: the
//! loop enters it ([`enter`]) whenever it becomes the running loop.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use super::clock::{add_saturating, nanos_of, Clock};
use super::wheel::{FireMark, TimerKey, Wheel};
use crate::task::CallbackCell;

/// What a timer does when it fires. 16 bytes (the callback's `Rc` sits beside the waker's
/// non-null vtable pointer, whose null value tells the variants apart), so that it travels
/// in two registers: a due batch moves each one from the wheel's entry into the batch and out
/// again, and a wider value went through stack copies read back at other widths (a
/// store-forwarding stall per timer).
pub(crate) enum TimerEntry {
    /// Wake a sleeping future (the waker of its last poll).
    Wake(Waker),
    /// Queue a `call_later` callback.
    Call(Rc<CallbackCell>),
}

// The size the doc of `TimerEntry` counts on (two registers).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<TimerEntry>() == 16);

/// A sleep's timer: its key, and whether it was set ahead of the wheel's clock, which with
/// its deadline tick (the sleep keeps that) makes the mark that tells it has fired without
/// reading its entry. 16 bytes, so that a `Sleep` stays small enough to move without a
/// `memcpy` call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WakeTimer {
    key: TimerKey,
    ahead: bool,
}

impl WakeTimer {
    /// The timer's fire mark, given its deadline tick.
    fn mark(self, tick: u64) -> FireMark {
        FireMark::rebuild(tick, self.ahead)
    }
}

/// The tick of the origin: 2^62 ns (146 years) of room for deadlines in the past.
const ORIGIN_TICK: u64 = 1 << 62;

/// A loop's clock and timers.
pub(crate) struct TimeDriver {
    clock: Clock,
    wheel: RefCell<Wheel<TimerEntry>>,
    /// Tick 0.
    origin: Instant,
    /// How the loop's timer wake-ups are rounded, see [`TimeDriver::set_slack`].
    slack: Cell<Slack>,
    /// The clock's tick when [`TimeDriver::fire_due`] last fired a timer the loop had waited
    /// for ([`Slack::Auto`] rounds a wake-up that comes less than [`AUTO_SLACK`] after it).
    /// Firings of a loop too busy to wait do not count: they cost no wake-up.
    last_fire: Cell<Option<u64>>,
    /// True from a [`TimeDriver::next_deadline`] that told the loop to wait for a timer to the
    /// next [`TimeDriver::fire_due`].
    waited: Cell<bool>,
    /// [`TimeDriver::fire_due`]'s batch, kept for its allocation; empty between calls unless
    /// a `fire` panicked (then it holds the unfired rest, in order).
    fire_scratch: Cell<VecDeque<TimerEntry>>,
    /// True while `fire_scratch` holds timers a panicking `fire` left unfired. Kept beside it
    /// so that asking (every loop iteration, through [`TimeDriver::is_empty`]) reads one
    /// flag: taking the deque out of its `Cell` and putting it back re-read its words right
    /// after writing them with narrower stores, a failed store-to-load forward per iteration.
    unfired: Cell<bool>,
}

/// How the loop rounds up the time it sleeps until for its earliest timer
/// (`Builder::timer_slack`). Rounding the wake-up, not the deadlines, keeps timers in deadline
/// order, and firing only what is due at the clock's reading keeps them from firing early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slack {
    /// The default: exact wake-ups, except that a wake-up less than [`AUTO_SLACK`] after the
    /// last one that fired a timer (the loop had waited for) waits for the next multiple of
    /// [`AUTO_SLACK`] ([`Slack::wake_at`]), so dense timers cost about one wake-up per
    /// millisecond (as tokio's millisecond wheel and asyncio's millisecond poll timeout),
    /// while a `sleep(1ms)` loop or timers far apart keep sub-millisecond precision. Exact
    /// under a paused clock (virtual time reads exact deadlines).
    Auto,
    /// Every wake-up at the exact deadline (`timer_slack` below two nanoseconds).
    Exact,
    /// Every wake-up rounded up to a multiple of this many ticks (at least 2).
    Fixed(u64),
}

impl Slack {
    /// The slack `Builder::timer_slack` asked for: `None` for [`Slack::Auto`].
    fn from_builder(slack: Option<Duration>) -> Slack {
        match slack.map(|slack| u64::try_from(slack.as_nanos()).unwrap_or(u64::MAX)) {
            None => Slack::Auto,
            Some(0 | 1) => Slack::Exact,
            Some(ticks) => Slack::Fixed(ticks),
        }
    }
}

/// [`Slack::Auto`]'s period: 1 ms, in ticks.
const AUTO_SLACK: u64 = 1_000_000;

impl Slack {
    /// The tick to wake at for a timer wake-up at `tick` (ahead of the clock), given whether
    /// the clock is `paused` and the tick at which timers last fired. Never before `tick`.
    ///
    /// [`Slack::Auto`] on the real clock: a wake-up less than [`AUTO_SLACK`] after the last
    /// firing of a timer the loop had waited for (`last_fire`) waits for the first multiple of [`AUTO_SLACK`] after that firing (or `tick`,
    /// if later). So timers due every few hundred microseconds fire on the millisecond grid,
    /// one wake-up per period, and a wake-up a period or more after the last firing (a
    /// `sleep(1ms)` loop) stays exact.
    fn wake_at(self, paused: bool, last_fire: Option<u64>, tick: u64) -> u64 {
        match self {
            Slack::Fixed(slack) => round_up(tick, slack),
            Slack::Exact => tick,
            Slack::Auto if paused => tick,
            Slack::Auto => match last_fire {
                Some(fired) if tick < fired.saturating_add(AUTO_SLACK) => {
                    tick.max(round_up(fired.saturating_add(1), AUTO_SLACK))
                }
                _ => tick,
            },
        }
    }
}

/// Timers taken out of the wheel at a time by [`TimeDriver::fire_due`]. Under Miri, 16: its
/// test then crosses batches with a few dozen timers (each step runs ~1,000x slower there).
const FIRE_BATCH: usize = if cfg!(miri) { 16 } else { 64 };
/// How many timers ahead of the one it fires [`TimeDriver::fire_due`] hands to its `ahead` hook.
const FIRE_AHEAD: usize = 8;

thread_local! {
    static CURRENT: RefCell<Option<Rc<TimeDriver>>> = const { RefCell::new(None) };
}

/// Restores the previous time driver when dropped.
pub(crate) type EnterGuard = crate::current::EnterGuard<TimeDriver>;

/// Makes `driver` the running loop's time driver until the guard drops.
pub(crate) fn enter(driver: &Rc<TimeDriver>) -> EnterGuard {
    crate::current::enter(&CURRENT, driver)
}

impl TimeDriver {
    /// A driver with a running clock and no timers.
    pub(crate) fn new() -> Rc<Self> {
        let clock = Clock::new();
        let origin = clock.start();
        let mut wheel = Wheel::new();
        // Starts the wheel's clock at the origin (nothing is pending, so nothing fires).
        let fired = wheel.poll_expired(ORIGIN_TICK);
        debug_assert!(fired.is_none());
        Rc::new(TimeDriver {
            clock,
            wheel: RefCell::new(wheel),
            origin,
            slack: Cell::new(Slack::Auto),
            last_fire: Cell::new(None),
            waited: Cell::new(false),
            fire_scratch: Cell::new(VecDeque::new()),
            unfired: Cell::new(false),
        })
    }

    /// The running loop's time driver, if a loop runs on this thread.
    pub(crate) fn try_current() -> Option<Rc<TimeDriver>> {
        crate::current::get(&CURRENT)
    }

    /// True if `driver` is the running loop's time driver.
    #[inline]
    pub(crate) fn is_current(driver: &Rc<TimeDriver>) -> bool {
        crate::current::is(&CURRENT, driver)
    }

    /// The running loop's time driver, or a panic that names the function the user called.
    #[track_caller]
    pub(crate) fn current(what: &str) -> Rc<TimeDriver> {
        crate::current::expect(&CURRENT, what)
    }

    /// The clock's reading: asyncio's `loop.time()`.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// True while the clock is paused (virtual time).
    pub(crate) fn is_paused(&self) -> bool {
        self.clock.is_paused()
    }

    /// Freezes the clock.
    pub(crate) fn pause(&self) {
        self.clock.pause();
    }

    /// Lets a paused clock run again.
    pub(crate) fn resume(&self) {
        self.clock.resume();
    }

    /// Moves the clock forward by `by`.
    pub(crate) fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// `instant` as a deadline tick (rounded up).
    pub(crate) fn tick_of(&self, instant: Instant) -> u64 {
        // Instants have nanosecond resolution, so the nanosecond counts are exact.
        match instant.checked_duration_since(self.origin) {
            Some(since) => {
                u64::try_from(since.as_nanos()).map_or(u64::MAX, |since| ORIGIN_TICK.saturating_add(since))
            }
            None => {
                let before = (self.origin - instant).as_nanos();
                u64::try_from(before).map_or(0, |before| ORIGIN_TICK.saturating_sub(before))
            }
        }
    }

    /// The instant of a tick (exact for every tick [`TimeDriver::tick_of`] gives short of
    /// saturation).
    pub(crate) fn instant_of(&self, tick: u64) -> Instant {
        match tick.checked_sub(ORIGIN_TICK) {
            Some(after) => add_saturating(self.origin, Duration::from_nanos(after)),
            None => {
                let before = Duration::from_nanos(ORIGIN_TICK - tick);
                self.origin.checked_sub(before).unwrap_or(self.origin)
            }
        }
    }

    /// The clock's reading as a tick (rounded down; the same value, as ticks are nanoseconds).
    #[inline]
    pub(crate) fn now_tick(&self) -> u64 {
        // The clock counts from `origin`, the instant of ORIGIN_TICK.
        ORIGIN_TICK.saturating_add(self.clock.nanos())
    }

    /// The deadline tick `duration` from now: `tick_of(now() + duration)`, read with one
    /// clock subtraction. A duration beyond a century takes the `Instant` path, so that its
    /// deadline saturates as `Instant`s do.
    #[inline]
    pub(crate) fn tick_after(&self, duration: Duration) -> u64 {
        match nanos_of(duration) {
            nanos if nanos < 1 << 62 => self.now_tick().saturating_add(nanos),
            _ => self.tick_of(add_saturating(self.now(), duration)),
        }
    }

    /// Sets a timer that wakes `waker` at tick `tick`.
    pub(crate) fn insert_wake(&self, tick: u64, waker: &Waker) -> WakeTimer {
        let mut wheel = self.wheel.borrow_mut();
        let key = wheel.insert(tick, TimerEntry::Wake(waker.clone()));
        WakeTimer {
            key,
            ahead: wheel.mark(tick).is_ahead(),
        }
    }

    /// Sets a timer that queues `callback` at `deadline`.
    pub(crate) fn insert_call(&self, deadline: Instant, callback: Rc<CallbackCell>) -> TimerKey {
        let tick = self.tick_of(deadline);
        self.wheel.borrow_mut().insert(tick, TimerEntry::Call(callback))
    }

    /// Moves a sleep's timer to tick `tick` (it counts as newly set for the order of equal
    /// deadlines). False if the timer already fired or was removed.
    pub(crate) fn reset(&self, timer: &mut WakeTimer, tick: u64) -> bool {
        let mut wheel = self.wheel.borrow_mut();
        if !wheel.reset(timer.key, tick) {
            return false;
        }
        timer.ahead = wheel.mark(tick).is_ahead();
        true
    }

    /// Removes a timer and hands back its entry (for the caller to drop after the borrow).
    pub(crate) fn remove(&self, key: TimerKey) -> Option<TimerEntry> {
        self.wheel.borrow_mut().remove(key)
    }

    /// Removes a sleep's timer (set or reset for tick `tick`) unless it surely fired (then
    /// there is nothing to look up), and hands back its entry.
    pub(crate) fn remove_wake(&self, timer: WakeTimer, tick: u64) -> Option<TimerEntry> {
        let mut wheel = self.wheel.borrow_mut();
        if wheel.surely_fired(timer.mark(tick)) {
            return None;
        }
        wheel.remove(timer.key)
    }

    /// True once the sleep's timer (for tick `tick`) has fired (or was removed).
    pub(crate) fn has_fired(&self, timer: WakeTimer, tick: u64) -> bool {
        let wheel = self.wheel.borrow();
        wheel.surely_fired(timer.mark(tick)) || wheel.deadline(timer.key).is_none()
    }

    /// A sleep's poll of its timer (for tick `tick`): `Ready` once it fired, else stores
    /// `waker` (unless the stored one would wake the same task) and stays pending. Once the
    /// loop has drained the timers due at the deadline, this reads only the mark, not the
    /// wheel's entry.
    pub(crate) fn poll_timer(&self, timer: WakeTimer, tick: u64, waker: &Waker) -> Poll<()> {
        let mut wheel = self.wheel.borrow_mut();
        if wheel.surely_fired(timer.mark(tick)) {
            return Poll::Ready(());
        }
        let old = match wheel.get_mut(timer.key) {
            None => return Poll::Ready(()),
            // As `WakerSlot::register` does, for a slot that is never empty.
            Some(TimerEntry::Wake(stored)) => {
                (!stored.will_wake(waker)).then(|| std::mem::replace(stored, waker.clone()))
            }
            Some(TimerEntry::Call(_)) => unreachable!("a Sleep's timer holds a waker"),
        };
        drop(wheel);
        drop(old);
        Poll::Pending
    }

    /// How many timers are set (pending, not yet fired or removed).
    pub(crate) fn pending(&self) -> usize {
        self.wheel.borrow().len()
    }

    /// True if no timer is set (nor left unfired by a panic in [`TimeDriver::fire_due`]).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.wheel.borrow().is_empty() && !self.has_unfired()
    }

    /// True when a panic in [`TimeDriver::fire_due`] left due timers unfired.
    fn has_unfired(&self) -> bool {
        self.unfired.get()
    }

    /// Sets the timer slack (`Builder::timer_slack`): `Some(slack)`: when the loop has to
    /// wait for a timer, it waits until the deadline rounded up to a multiple of `slack`, so
    /// that every timer due within one such period fires in one wake-up (zero: the exact
    /// deadline, always); `None`: [`Slack::Auto`], the default. A deadline already due is
    /// never delayed.
    pub(crate) fn set_slack(&self, slack: Option<Duration>) {
        self.slack.set(Slack::from_builder(slack));
    }

    /// The tick at which the loop must wake for the earliest timer, if any: the wheel's next
    /// wake-up, rounded up by the slack ([`Slack`]) when it lies ahead of the clock. Never
    /// later than the earliest deadline plus the slack (less one tick), so a timer fires late
    /// by less than the slack, and never early (the wheel fires only what is due at the
    /// clock's reading).
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        let Some(tick) = self.wheel.borrow().next_wakeup() else {
            // Timers left unfired by a panic are due: do not wait.
            return self.has_unfired().then_some(0);
        };
        let now = self.now_tick();
        if tick <= now {
            return Some(tick);
        }
        self.waited.set(true);
        Some(
            self.slack
                .get()
                .wake_at(self.is_paused(), self.last_fire.get(), tick),
        )
    }

    /// Under a paused clock, jumps it to `tick` (virtual time's auto-advance).
    pub(crate) fn jump_to(&self, tick: u64) {
        self.clock.advance_to(self.instant_of(tick));
    }

    /// Takes the next timer due at `now` (a tick), in deadline order.
    #[inline]
    pub(crate) fn pop_due(&self, now: u64) -> Option<TimerEntry> {
        self.wheel.borrow_mut().poll_expired(now).map(|(_, entry)| entry)
    }

    /// Takes every timer due at `now` (a tick) and hands each to `fire`, in deadline order, in
    /// batches of up to [`FIRE_BATCH`]: a batch is taken out of the wheel in one borrow, then
    /// fired outside it. Two phases, as async-io fires its timers: the entry loads of one
    /// batch are independent and overlap, and so do the task slots the wakes then touch,
    /// where one pop-then-wake at a time serialises them. A timer set due by code a wake
    /// runs (a foreign waker) fires after the current batch, still in this call. If `fire`
    /// panics, the rest of the batch is kept and fired first by the next call, so no wake
    /// is lost. Before each timer it fires, `ahead` is shown (not given) the timer
    /// [`FIRE_AHEAD`] places later in the batch, so the loop can hint the task slot that wake
    /// will touch into the cache.
    pub(crate) fn fire_due(&self, now: u64, mut fire: impl FnMut(TimerEntry), ahead: impl Fn(&TimerEntry)) {
        // Holds the batch; gives it back to the driver on drop, so that the rest of a batch
        // whose `fire` panicked stays in the driver.
        struct Batch<'a> {
            driver: &'a TimeDriver,
            entries: VecDeque<TimerEntry>,
        }
        impl Drop for Batch<'_> {
            fn drop(&mut self) {
                self.driver.unfired.set(!self.entries.is_empty());
                self.driver.fire_scratch.set(std::mem::take(&mut self.entries));
            }
        }
        let mut batch = Batch {
            driver: self,
            entries: self.fire_scratch.take(),
        };
        let waited = self.waited.replace(false);
        loop {
            while let Some(entry) = batch.entries.pop_front() {
                if let Some(later) = batch.entries.get(FIRE_AHEAD - 1) {
                    ahead(later);
                }
                fire(entry);
            }
            {
                let mut wheel = self.wheel.borrow_mut();
                wheel.take_expired(now, &mut batch.entries, FIRE_BATCH);
            }
            if batch.entries.is_empty() {
                break;
            }
            if waited {
                self.last_fire.set(Some(now));
            }
        }
    }
}

/// `tick` rounded up to a multiple of `step` (`step > 0`), or `tick` itself where that
/// multiple is past `u64::MAX`.
fn round_up(tick: u64, step: u64) -> u64 {
    tick.div_ceil(step).checked_mul(step).unwrap_or(tick)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_up_stays_within_one_step_and_saturates() {
        assert_eq!(round_up(1_000, 1_000), 1_000, "a multiple stays");
        assert_eq!(round_up(1_001, 1_000), 2_000);
        assert_eq!(round_up(1_999, 1_000), 2_000);
        assert_eq!(round_up(0, 7), 0);
        assert_eq!(
            round_up(u64::MAX - 3, 1_000),
            u64::MAX - 3,
            "no wrap at the far end"
        );
        for tick in [1, 999, 123_456_789, 1 << 62, (1 << 62) + 17] {
            let up = round_up(tick, 50_000);
            assert!(up >= tick && up - tick < 50_000 && up % 50_000 == 0);
        }
    }

    #[test]
    fn slack_rounds_a_future_wakeup_but_not_a_due_one() {
        let driver = TimeDriver::new();
        driver.pause();
        let now = driver.now_tick();
        let slack = Duration::from_millis(1);
        driver.set_slack(Some(slack));
        let waker = std::task::Waker::noop();
        let ahead_tick = driver.tick_after(Duration::from_micros(10));
        let ahead = driver.insert_wake(ahead_tick, waker);
        let wake = driver.next_deadline().unwrap();
        let deadline = now + 10_000;
        assert!(
            wake >= deadline && wake - deadline < 1_000_000,
            "{wake} vs {deadline}"
        );
        assert_eq!(wake % 1_000_000, 0);
        // Due now: no waiting, whatever the slack.
        driver.advance(Duration::from_micros(10));
        assert!(driver.next_deadline().unwrap() <= driver.now_tick());
        drop(driver.remove_wake(ahead, ahead_tick));
        driver.set_slack(Some(Duration::ZERO));
        let exact_tick = driver.tick_of(driver.now() + Duration::from_nanos(1_234));
        let exact = driver.insert_wake(exact_tick, waker);
        assert!(
            driver.pop_due(driver.now_tick()).is_none(),
            "brings the wheel to the clock"
        );
        // Not rounded: at most the exact deadline (an upper slot's start may come first).
        let wake = driver.next_deadline().unwrap();
        assert!(
            wake > driver.now_tick() && wake <= driver.now_tick() + 1_234,
            "{wake}"
        );
        drop(driver.remove_wake(exact, exact_tick));
    }

    #[test]
    fn auto_slack_waits_for_the_grid_only_close_behind_a_firing_and_never_under_a_paused_clock() {
        let grid = |k: u64| 5_000 * AUTO_SLACK + k * AUTO_SLACK;
        let auto = |last_fire, tick| Slack::Auto.wake_at(false, last_fire, tick);
        // Nothing fired yet, or the last firing a period or more before: exact.
        assert_eq!(auto(None, grid(0) + 300), grid(0) + 300);
        assert_eq!(auto(Some(grid(0) + 300), grid(1) + 300), grid(1) + 300);
        assert_eq!(auto(Some(grid(0)), grid(7) + 5), grid(7) + 5);
        // Dense: the first grid point after the firing, or the deadline if later.
        assert_eq!(auto(Some(grid(0)), grid(0) + 200_000), grid(1));
        assert_eq!(auto(Some(grid(0) + 1), grid(0) + 5), grid(1));
        assert_eq!(
            auto(Some(grid(0) + 900_000), grid(1) + 200_000),
            grid(1) + 200_000
        );
        assert_eq!(auto(Some(grid(0)), grid(0)), grid(1));
        // A `sleep(1ms)` after a firing at F is due at F + 1 ms or later: exact.
        assert_eq!(auto(Some(grid(0) + 17), grid(1) + 17), grid(1) + 17);
        // Virtual time stays exact; a fixed slack applies whatever happened before.
        assert_eq!(Slack::Auto.wake_at(true, Some(grid(0)), grid(0) + 5), grid(0) + 5);
        assert_eq!(
            Slack::from_builder(Some(Duration::ZERO)).wake_at(false, Some(grid(0)), grid(0) + 5),
            grid(0) + 5
        );
        let ten = Slack::from_builder(Some(Duration::from_nanos(10)));
        assert_eq!(ten.wake_at(true, None, 21), 30);
        assert_eq!(Slack::from_builder(Some(Duration::from_nanos(1))), Slack::Exact);
    }

    #[test]
    fn fire_due_records_when_it_fired_a_timer_the_loop_waited_for() {
        let driver = TimeDriver::new();
        driver.pause();
        let waker = std::task::Waker::noop();
        let due = driver.now_tick();
        // Fired without waiting (a busy loop catching up): no wake-up to count.
        let _ = driver.insert_wake(due, waker);
        assert_eq!(driver.next_deadline(), Some(due), "due: no wait");
        driver.fire_due(due, drop, |_| {});
        assert_eq!(driver.last_fire.get(), None);
        // Waited for (the loop was told to sleep until it): recorded.
        let _ = driver.insert_wake(due + 10, waker);
        assert!(driver.next_deadline().unwrap() > due);
        driver.advance(Duration::from_nanos(10));
        driver.fire_due(due + 10, drop, |_| {});
        assert_eq!(driver.last_fire.get(), Some(due + 10));
        let due = due + 10;
        // Nothing fires when nothing is due: the record stays.
        let _ = driver.insert_wake(due + 200_000, waker);
        driver.fire_due(due, |_| unreachable!("nothing due"), |_| {});
        assert_eq!(driver.last_fire.get(), Some(due));
        // Paused: the default is exact, close behind a firing or not.
        let wake = driver.next_deadline().unwrap();
        assert!(wake <= due + 200_000, "{wake}");
    }

    /// A paused driver, its clock's reading, and an empty log for [`logging_call`].
    fn paused_with_log() -> (Rc<TimeDriver>, Instant, Rc<RefCell<Vec<u32>>>) {
        let driver = TimeDriver::new();
        driver.pause();
        let t0 = driver.now();
        (driver, t0, Rc::default())
    }

    /// Runs a fired callback timer.
    fn run_call(entry: TimerEntry) {
        let TimerEntry::Call(cell) = entry else {
            unreachable!("only callback timers here")
        };
        cell.take().expect("a callback runs once")();
    }

    /// A callback timer whose cell logs `id` when run.
    fn logging_call(log: &Rc<RefCell<Vec<u32>>>, id: u32) -> Rc<CallbackCell> {
        let log = log.clone();
        CallbackCell::new(Box::new(move || log.borrow_mut().push(id)))
    }

    #[test]
    fn fire_due_fires_in_deadline_order_across_batches() {
        let (driver, t0, log) = paused_with_log();
        let n = 3 * FIRE_BATCH as u32 + 5;
        // Scattered deadlines, every fifth equal to the one before (set order among equals).
        let deadline = |id: u32| t0 + Duration::from_nanos(u64::from((id - id % 5 / 4) * 31 % n) + 1);
        for id in 0..n {
            driver.insert_call(deadline(id), logging_call(&log, id));
        }
        let late = driver.insert_call(t0 + Duration::from_secs(1), logging_call(&log, u32::MAX));
        driver.advance(Duration::from_micros(1));
        let fired = std::cell::RefCell::new(Vec::new());
        let shown = std::cell::RefCell::new(Vec::new());
        let address = |entry: &TimerEntry| match entry {
            TimerEntry::Call(cell) => Rc::as_ptr(cell),
            TimerEntry::Wake(_) => unreachable!("only callback timers here"),
        };
        driver.fire_due(
            driver.now_tick(),
            |entry| {
                fired.borrow_mut().push(address(&entry));
                run_call(entry);
                if fired.borrow().len() == 10 {
                    // Set due from inside a batch: fires in this call, after the batch.
                    driver.insert_call(t0, logging_call(&log, n));
                }
            },
            |later| shown.borrow_mut().push((fired.borrow().len(), address(later))),
        );
        let (fired, shown) = (fired.into_inner(), shown.into_inner());
        assert!(
            shown.len() >= n as usize - 4 * FIRE_AHEAD,
            "{} shown",
            shown.len()
        );
        for (before, later) in shown {
            assert_eq!(
                fired[before + FIRE_AHEAD],
                later,
                "the hook sees the timer {FIRE_AHEAD} later"
            );
        }
        let log = log.borrow();
        assert_eq!(
            log.len(),
            n as usize + 1,
            "every due timer fired, the late one not"
        );
        let mut want: Vec<u32> = (0..n).collect();
        want.sort_by_key(|&id| (deadline(id), id));
        assert_eq!(log[..FIRE_BATCH], want[..FIRE_BATCH]);
        assert_eq!(
            log[FIRE_BATCH], n,
            "the timer set during the first batch fires next"
        );
        assert_eq!(log[FIRE_BATCH + 1..], want[FIRE_BATCH..]);
        assert!(driver.remove(late).is_some());
    }

    #[test]
    fn a_panic_while_firing_loses_no_timer() {
        let (driver, t0, log) = paused_with_log();
        for id in 0..10u32 {
            driver.insert_call(
                t0 + Duration::from_nanos(u64::from(id) + 1),
                logging_call(&log, id),
            );
        }
        driver.advance(Duration::from_micros(1));
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            driver.fire_due(
                driver.now_tick(),
                |entry| {
                    run_call(entry);
                    if log.borrow().len() == 4 {
                        panic!("a waker panics");
                    }
                },
                |_| {},
            )
        }));
        assert!(panicked.is_err());
        assert_eq!(*log.borrow(), [0, 1, 2, 3]);
        assert!(!driver.is_empty(), "the unfired rest still counts");
        assert_eq!(
            driver.next_deadline(),
            Some(0),
            "and is due: the loop must not wait"
        );
        driver.fire_due(driver.now_tick(), run_call, |_| {});
        assert_eq!(
            *log.borrow(),
            (0..10).collect::<Vec<_>>(),
            "the rest fires next, in order"
        );
        assert!(driver.is_empty());
    }
}
