//! Audit against CPython's Lib/test/test_asyncio/test_runners.py: what `asyncio.run` does with
//! the tasks still pending when the main coroutine returns (`_cancel_all_tasks`: cancel them
//! all, then run the loop until they have finished, so their `except CancelledError:` cleanup
//! runs). Each test is named after the CPython test it ports.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use aioloop::{sleep, spawn, until_cancelled, EventLoop};

/// test_runners.py `test_asyncio_run_cancels_hanging_tasks`: a task left pending is cancelled
/// (its future dropped) by the time `run` returns.
#[test]
fn test_asyncio_run_cancels_hanging_tasks() {
    struct SetOnDrop(Rc<Cell<bool>>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let dropped = Rc::new(Cell::new(false));
    let flag = dropped.clone();
    let out = aioloop::run(async move {
        let guard = SetOnDrop(flag);
        drop(spawn(async move {
            let _guard = guard;
            sleep(Duration::from_millis(100)).await;
        }));
        123
    });
    assert_eq!(out, 123);
    assert!(dropped.get());
}

/// test_runners.py `test_asyncio_run_cancels_hanging_tasks` with an awaited cleanup: a
/// leftover task that observes its cancellation (asyncio's `except CancelledError: await
/// ...`) gets to run that cleanup before `run` returns.
#[test]
fn test_asyncio_run_waits_for_the_cleanup_of_hanging_tasks() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let out = aioloop::run(async move {
        drop(spawn(async move {
            if until_cancelled(sleep(Duration::from_secs(3600))).await.is_err() {
                sleep(Duration::from_millis(1)).await;
                l.borrow_mut().push("cleaned up");
            }
        }));
        aioloop::yield_now().await;
        123
    });
    assert_eq!(out, 123);
    assert_eq!(*log.borrow(), ["cleaned up"]);
}

/// test_runners.py `test_asyncio_run_reports_hanging_tasks_errors`: a leftover task whose
/// cleanup raises (panics) is reported to the loop's exception handler.
#[test]
fn test_asyncio_run_reports_hanging_tasks_errors() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = seen.clone();
    let out = EventLoop::builder()
        .exception_handler(move |ctx| sink.borrow_mut().push(ctx.to_string()))
        .run(async {
            drop(spawn(async {
                if until_cancelled(sleep(Duration::from_secs(3600))).await.is_err() {
                    sleep(Duration::from_millis(1)).await;
                    panic!("ZeroDivisionError");
                }
            }));
            aioloop::yield_now().await;
            123
        });
    assert_eq!(out, 123);
    let seen = seen.borrow();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("ZeroDivisionError"), "{seen:?}");
}

/// `EventLoop::run_until_complete` (asyncio's `loop.run_until_complete`) leaves the other tasks
/// pending: they run on at the next `run_until_complete`.
#[test]
fn test_run_until_complete_leaves_other_tasks_pending() {
    let event_loop = EventLoop::new().unwrap();
    let bg = event_loop.spawn(async {
        sleep(Duration::from_millis(2)).await;
        5
    });
    event_loop.run_until_complete(async {});
    assert!(!bg.is_done());
    assert_eq!(event_loop.run_until_complete(bg).unwrap(), 5);
}
