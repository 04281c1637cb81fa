//! Time: the loop's clock, timers, sleeps and timeouts.
//!
//! Timers live on a hierarchical hashed wheel (O(1) insert and cancel) with nanosecond ticks,
//! and the loop sleeps on a Linux timerfd armed for the exact earliest deadline, so
//! `sleep(1ms)` takes about 1 ms, not 2. A timer never fires early; timers fire in deadline
//! order, and equal deadlines in the order they were set.
//!
//! Every item here is also at the crate root (`aioloop::sleep`, `aioloop::Sleep`, ...), as
//! asyncio keeps them at `asyncio.*`, except the clock controls [`pause`], [`resume`] and
//! [`advance`], which are used qualified (`aioloop::time::advance`).
//!
//! A loop can run on a paused clock ([`Builder::start_paused`](crate::Builder::start_paused),
//! `#[aioloop::test(start_paused)]`, or [`pause`]): when every task waits on a timer the clock
//! jumps to the next deadline, so a test that sleeps an hour finishes in microseconds.

mod bounded;
mod call_later;
pub(crate) mod clock;
mod control;
pub(crate) mod driver;
mod entry_store;
mod interval;
mod radix;
mod sleep;
mod slot_list;
mod timeout;
mod timeout_scope;
pub(crate) mod wheel;

pub(crate) use call_later::call_at_on;
pub use call_later::{call_at, call_later, TimerHandle};
pub use control::{advance, pause, resume};
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout_at, wait_for, Timeout, TimeoutError};
pub use timeout_scope::{timeout_scope, timeout_scope_at, TimeoutScope, TimeoutScopeRun};
