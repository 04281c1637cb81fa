//! Issue 17, item 7: TaskGroup as asyncio's (Lib/test/test_asyncio/test_taskgroups.py).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{sleep, ChildError, TaskGroup};

struct SetOnDrop(Rc<Cell<bool>>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// test_taskgroup_03 / test_taskgroup_08: when a child fails, the siblings and the body of the
/// group (the parent task's code inside `async with`) are cancelled, and the group reports the
/// child's error.
#[aioloop::test(start_paused)]
async fn test_taskgroup_child_failure_cancels_the_body() {
    let body_cancelled = Rc::new(Cell::new(false));
    let sibling_cancelled = Rc::new(Cell::new(false));
    let (b, s) = (body_cancelled.clone(), sibling_cancelled.clone());
    let out = TaskGroup::<&str>::run(|tg| async move {
        let guard = SetOnDrop(s);
        tg.spawn(async move {
            let _guard = guard;
            sleep(Duration::from_secs(3600)).await;
            Ok(())
        })
        .unwrap();
        tg.spawn(async {
            sleep(Duration::from_millis(1)).await;
            Err::<(), _>("boom")
        })
        .unwrap();
        let _guard = SetOnDrop(b);
        sleep(Duration::from_secs(3600)).await;
        "the body finished"
    })
    .await;
    let errors = out.unwrap_err();
    assert!(matches!(&errors[..], [ChildError::Failed("boom")]), "{errors:?}");
    assert!(body_cancelled.get(), "the body was cancelled");
    assert!(sibling_cancelled.get(), "the sibling was cancelled");
}

/// test_taskgroup_01: children return plain values; the body's value comes back when every
/// child succeeds.
#[aioloop::test(start_paused)]
async fn test_taskgroup_children_return_plain_values() {
    let out = TaskGroup::<()>::run(|tg| async move {
        let t1 = tg.spawn_plain(async {
            sleep(Duration::from_millis(1)).await;
            42
        });
        let t2 = tg.spawn_plain(async { 11 });
        (t1.unwrap().await.unwrap(), t2.unwrap().await.unwrap())
    })
    .await;
    assert_eq!(out.unwrap(), (42, 11));
}
