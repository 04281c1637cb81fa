//! The seed program (examples/threadsafe_sleep.rs) as a test: N threads each block in a sleep,
//! then resolve an aioloop::Future through run_coroutine_threadsafe; the sleeps overlap.

use std::time::Duration;

#[path = "../examples/threadsafe_sleep.rs"]
mod seed;

#[aioloop::test]
async fn five_overlapping_sleeps_take_about_one() {
    let sleep = Duration::from_millis(200);
    let (total, values) = seed::run_seed(5, sleep).await;
    assert_eq!(values, [0, 1, 2, 3, 4]);
    assert!(total >= sleep, "{total:?}");
    // Serial sleeps take at least 5 × `sleep`; the bound leaves room for a slow machine
    // (valgrind runs the threads one at a time and took 2.1 × here).
    assert!(
        total < 4 * sleep,
        "5 × {sleep:?} in threads took {total:?}: the sleeps did not overlap"
    );
}
