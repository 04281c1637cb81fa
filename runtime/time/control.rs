//! Virtual-time controls: [`pause`], [`resume`], [`advance`].

use std::time::Duration;

use super::driver::TimeDriver;

/// Freezes the running loop's clock. While paused, an otherwise idle loop jumps the clock
/// straight to the next timer, so sleeps take no real time.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use std::time::{Duration, Instant};
/// aioloop::run(async {
///     aioloop::time::pause();
///     let real = Instant::now();
///     let virt = aioloop::get_running_loop().time();
///     aioloop::sleep(Duration::from_secs(3600)).await;
///     assert!(aioloop::get_running_loop().time() - virt >= Duration::from_secs(3600));
///     assert!(real.elapsed() < Duration::from_secs(5));
/// });
/// ```
#[track_caller]
pub fn pause() {
    TimeDriver::current("time::pause").pause();
}

/// Lets the running loop's clock run in real time again, from its current (virtual) reading.
///
/// # Panics
/// If no loop is running on this thread.
#[track_caller]
pub fn resume() {
    TimeDriver::current("time::resume").resume();
}

/// Moves the running loop's clock forward by `by`, then yields once so that the timers now due
/// fire. Works on a paused or a running clock.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use std::time::Duration;
/// aioloop::run(async {
///     aioloop::time::pause();
///     let t0 = aioloop::get_running_loop().time();
///     aioloop::time::advance(Duration::from_secs(5)).await;
///     assert_eq!(aioloop::get_running_loop().time() - t0, Duration::from_secs(5));
/// });
/// ```
#[track_caller]
pub fn advance(by: Duration) -> crate::YieldNow {
    TimeDriver::current("time::advance").advance(by);
    crate::yield_now()
}
