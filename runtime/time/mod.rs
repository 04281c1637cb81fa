//! Time: the loop's clock, timers, sleeps and timeouts.

#[allow(dead_code)] // resume/advance are used by the time driver (next commit)
pub(crate) mod clock;
#[allow(dead_code)] // wired into the loop by the time driver (next commit)
pub(crate) mod wheel;
