//! Issue 16 items 6 and 7: panics around a task's drop, as tokio (tests/task_abort.rs,
//! tests/rt_common.rs) and asyncio (an exception raised during cancellation is the task's
//! outcome) report them.

use std::sync::{Arc, Mutex};

use aioloop::{spawn, yield_now};

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("Well what did you expect would happen...");
        }
    }
}

/// tokio tests/task_abort.rs: test_abort_task_that_panics_on_drop_returned: the awaiter of a
/// cancelled task whose drop panics sees the panic.
#[test]
fn test_abort_task_that_panics_on_drop_returned() {
    aioloop::run(async {
        let handle = spawn(async {
            let _guard = PanicOnDrop;
            std::future::pending::<()>().await;
        });
        yield_now().await;
        handle.cancel();
        let err = handle.await.unwrap_err();
        assert!(err.is_panic(), "{err:?}");
        assert_eq!(
            err.panic_message(),
            Some("Well what did you expect would happen...")
        );
    });
}

/// tokio tests/rt_common.rs: panic_in_task: a future whose poll panics is dropped while the
/// panic unwinds, so its `Drop` sees `std::thread::panicking()` (and a std `Mutex` guard it
/// holds is poisoned, as on a thread).
#[test]
fn panic_in_task() {
    struct Boom {
        saw_panicking: Arc<Mutex<Option<bool>>>,
        held: Option<std::sync::MutexGuard<'static, u32>>,
    }
    impl std::future::Future for Boom {
        type Output = ();
        fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
            panic!("boom");
        }
    }
    impl Drop for Boom {
        fn drop(&mut self) {
            *self.saw_panicking.lock().unwrap() = Some(std::thread::panicking());
            drop(self.held.take());
        }
    }
    let saw_panicking = Arc::new(Mutex::new(None));
    // A 'static mutex, so the future can hold its guard.
    static SHARED: Mutex<u32> = Mutex::new(0);
    let shared: &'static Mutex<u32> = &SHARED;
    aioloop::run({
        let saw_panicking = saw_panicking.clone();
        async move {
            let boom = Boom {
                saw_panicking,
                held: Some(shared.lock().unwrap()),
            };
            assert!(spawn(boom).await.unwrap_err().is_panic());
        }
    });
    assert_eq!(
        *saw_panicking.lock().unwrap(),
        Some(true),
        "dropped while the panic unwound"
    );
    assert!(
        shared.is_poisoned(),
        "the guard it held was dropped during the panic"
    );
}
