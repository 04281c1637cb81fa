//! Issue 17, item 8: leaf futures bind to the loop that first polls them (asyncio:
//! `loop.run_until_complete(asyncio.sleep(0.01))`, test_base_events / test_tasks use it).

use std::time::{Duration, Instant};

use aioloop::{sleep, wait_for, EventLoop};

#[test]
fn test_run_until_complete_sleep_created_outside_a_loop() {
    let event_loop = EventLoop::new().unwrap();
    let start = Instant::now();
    event_loop.run_until_complete(sleep(Duration::from_millis(10)));
    assert!(start.elapsed() >= Duration::from_millis(10));
}

#[test]
fn test_wait_for_created_outside_a_loop() {
    let event_loop = EventLoop::builder().start_paused(true).build().unwrap();
    let out = event_loop.run_until_complete(wait_for(sleep(Duration::from_secs(5)), Duration::from_secs(1)));
    assert!(out.is_err());
    let deadline = event_loop.time() + Duration::from_secs(1);
    event_loop.run_until_complete(aioloop::sleep_until(deadline));
    assert!(event_loop.time() >= deadline);
}
