//! Issue 17, item 5: `remove_done_callback` on `aioloop::Future`.

use std::cell::RefCell;
use std::rc::Rc;

use aioloop::yield_now;

/// Future::remove_done_callback (test_futures: test_remove_done_callback).
#[test]
fn test_future_remove_done_callback() {
    aioloop::run(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let fut: aioloop::Future<u8> = aioloop::Future::new();
        let (l1, l2) = (log.clone(), log.clone());
        let first = fut.add_done_callback(move |_| l1.borrow_mut().push(1));
        fut.add_done_callback(move |_| l2.borrow_mut().push(2));
        assert!(fut.remove_done_callback(first));
        assert!(!fut.remove_done_callback(first));
        fut.set_result(0).unwrap();
        yield_now().await;
        assert_eq!(*log.borrow(), [2]);
    });
}
