//! Helpers shared by the asyncio_* transport and protocol integration tests.

#![allow(dead_code)] // each test file uses a subset

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::Duration;

static SERIAL: Mutex<()> = Mutex::new(());

/// One test at a time: the descriptor counts must not see another test's sockets.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls `cond` every millisecond, for at most 10 s.
pub async fn until(mut cond: impl FnMut() -> bool) {
    aioloop::wait_for(
        async {
            while !cond() {
                aioloop::sleep(Duration::from_millis(1)).await;
            }
        },
        Duration::from_secs(10),
    )
    .await
    .expect("condition not reached in 10 s");
}

/// Collects the messages the running loop's exception handler gets (a task's panic lands
/// there).
pub fn exceptions() -> Rc<RefCell<Vec<String>>> {
    let reported: Rc<RefCell<Vec<String>>> = Rc::default();
    let r = reported.clone();
    aioloop::get_running_loop()
        .set_exception_handler(move |ctx| r.borrow_mut().push(ctx.message().to_owned()));
    reported
}
