//! `Loop::call_later` / `Loop::call_at` (issue 15, item 6): asyncio's `loop.call_later` and
//! `loop.call_at` beside `loop.call_soon`, usable before the loop runs.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

#[test]
fn issue15_item6_loop_call_later_and_call_at_fire_in_deadline_order() {
    let event_loop = aioloop::EventLoop::builder().start_paused(true).build().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let start = event_loop.time();
    let (a, b, c) = (log.clone(), log.clone(), log.clone());
    event_loop.call_later(Duration::from_secs(2), move || a.borrow_mut().push("later 2s"));
    event_loop.call_at(start + Duration::from_secs(1), move || {
        b.borrow_mut().push("at 1s")
    });
    let cancelled = event_loop.call_later(Duration::from_millis(1500), move || {
        c.borrow_mut().push("cancelled")
    });
    cancelled.cancel();
    assert!(cancelled.is_cancelled());
    event_loop.run_until_complete(async { aioloop::sleep(Duration::from_secs(3)).await });
    assert_eq!(*log.borrow(), ["at 1s", "later 2s"]);
}

#[test]
#[should_panic(expected = "closed event loop")]
fn issue15_item6_loop_call_later_on_a_closed_loop_panics() {
    let event_loop = aioloop::EventLoop::new().unwrap();
    let handle = event_loop.clone_handle();
    drop(event_loop);
    handle.call_later(Duration::from_millis(1), || {});
}
