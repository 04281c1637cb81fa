//! The loop's lifecycle: run, run_forever/stop, nesting, closing.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{spawn, yield_now, EventLoop};

struct DropFlag(Rc<Cell<u32>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn run_drops_leftover_tasks() {
    let drops = Rc::new(Cell::new(0));
    let guards = drops.clone();
    aioloop::run(async move {
        for _ in 0..3 {
            let guard = DropFlag(guards.clone());
            drop(spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            }));
        }
        yield_now().await;
        assert_eq!(guards.get(), 0, "still running while the loop runs");
    });
    assert_eq!(drops.get(), 3, "asyncio.run cancels (drops) what is left");
}

#[test]
fn dropping_the_loop_drops_tasks_that_never_ran() {
    let drops = Rc::new(Cell::new(0));
    let lp = EventLoop::new().unwrap();
    let guard = DropFlag(drops.clone());
    let task = lp.spawn(async move {
        let _guard = guard;
    });
    drop(lp);
    assert_eq!(drops.get(), 1);
    assert!(task.is_done());
}

#[test]
fn a_task_handle_that_outlives_its_loop() {
    let lp = EventLoop::new().unwrap();
    let finished = lp.spawn(async { 9 });
    let pending = lp.spawn(std::future::pending::<()>());
    lp.run_until_complete(yield_now());
    let handle = lp.clone_handle();
    drop(lp);
    assert!(handle.is_closed());
    // The finished output survives the close; the unfinished task was dropped.
    let other = EventLoop::new().unwrap();
    assert_eq!(other.run_until_complete(finished).unwrap(), 9);
    assert!(other.run_until_complete(pending).unwrap_err().is_cancelled());
}

#[test]
fn destructors_run_at_close_may_spawn() {
    struct SpawnOnDrop;
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            // A destructor that spawns while the loop closes must not panic.
            drop(spawn(async {}));
            assert!(aioloop::try_get_running_loop().is_some());
        }
    }
    let lp = EventLoop::new().unwrap();
    drop(lp.spawn(async {
        let _s = SpawnOnDrop;
        std::future::pending::<()>().await;
    }));
    lp.run_until_complete(yield_now());
    drop(lp);
}

#[test]
fn nested_run_panics_clearly_and_the_outer_loop_still_works() {
    let outer = EventLoop::builder().exception_handler(|_| {}).build().unwrap();
    let err = outer.run_until_complete(async {
        let task = spawn(async {
            let inner = EventLoop::new().unwrap();
            inner.run_until_complete(async { 1 })
        });
        task.await.unwrap_err()
    });
    let message = err.panic_message().unwrap().to_string();
    assert!(message.contains("another loop is running"), "{message}");
    assert_eq!(
        outer.run_until_complete(async { spawn(async { 5 }).await.unwrap() }),
        5
    );

    // In the main future itself the panic reaches the caller; the loop survives.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        outer.run_until_complete(async { aioloop::run(async {}) })
    }));
    assert!(result.is_err());
    assert_eq!(outer.run_until_complete(async { 6 }), 6);
}

#[test]
fn run_forever_until_stop() {
    let lp = EventLoop::new().unwrap();
    let counter = Rc::new(Cell::new(0));
    let c = counter.clone();
    let handle = lp.clone_handle();
    drop(lp.spawn(async move {
        for _ in 0..10 {
            c.set(c.get() + 1);
            yield_now().await;
        }
        handle.stop();
    }));
    lp.run_forever();
    assert_eq!(counter.get(), 10);
    assert!(!lp.is_running());
}

#[test]
fn stop_before_run_forever_runs_one_iteration() {
    let lp = EventLoop::new().unwrap();
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    lp.call_soon(move || flag.set(true));
    lp.stop();
    lp.run_forever();
    assert!(ran.get());
}

#[test]
fn get_running_loop_inside_and_outside() {
    assert!(aioloop::try_get_running_loop().is_none());
    let lp = EventLoop::new().unwrap();
    let same = lp.run_until_complete(async { aioloop::get_running_loop() });
    assert_eq!(same, *lp);
    let panicked = std::panic::catch_unwind(aioloop::get_running_loop);
    let message = *panicked.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("no running event loop"), "{message}");
}

#[test]
fn spawn_outside_a_loop_panics_clearly() {
    let panicked = std::panic::catch_unwind(|| drop(spawn(async {})));
    let message = *panicked.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("aioloop::spawn called with no running event loop"),
        "{message}"
    );
}

#[test]
fn many_loops_created_and_dropped() {
    for i in 0..2000 {
        let lp = EventLoop::new().unwrap();
        assert_eq!(
            lp.run_until_complete(async move { spawn(async move { i }).await.unwrap() }),
            i
        );
    }
}

#[test]
fn stop_inside_run_until_complete_is_ignored_and_the_loop_still_sleeps() {
    let lp = EventLoop::new().unwrap();
    let before = lp.stats();
    let out = lp.run_until_complete(async {
        aioloop::get_running_loop().stop();
        aioloop::sleep(std::time::Duration::from_millis(30)).await;
        7
    });
    assert_eq!(out, 7);
    let iterations = lp.stats().iterations - before.iterations;
    assert!(
        iterations < 20,
        "the loop spun instead of sleeping: {iterations} iterations"
    );
}

/// The panic message of `f`, which must panic.
fn panic_message_of(f: impl FnOnce()) -> String {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("it must panic");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Misuse gets a clear panic, never a hang: a sleep made on one loop and awaited on another
/// would wait forever (its timer sits on the first loop's wheel, which only that loop fires).
/// Before the check, both cases below hung.
#[test]
fn a_sleep_awaited_on_another_loop_panics_instead_of_hanging() {
    let (a, b) = (EventLoop::new().unwrap(), EventLoop::new().unwrap());
    // Made on `a` (bound at creation), never polled there.
    let mut made_on_a = None;
    a.run_until_complete(async { made_on_a = Some(aioloop::sleep(Duration::from_millis(5))) });
    let made_on_a = made_on_a.unwrap();
    let message = panic_message_of(|| b.run_until_complete(made_on_a));
    assert!(
        message.contains("a sleep was polled outside the event loop"),
        "{message}"
    );

    // Set on `a` (polled there once), then awaited on `b`.
    let mut set_on_a = Box::pin(aioloop::sleep(Duration::from_secs(60)));
    a.run_until_complete(async {
        let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(set_on_a.as_mut().poll(cx)));
        assert!(polled.await.is_pending());
    });
    let message = panic_message_of(|| b.run_until_complete(set_on_a));
    assert!(
        message.contains("a sleep was polled outside the event loop"),
        "{message}"
    );

    // Made where no loop runs, it binds to the loop that first polls it: no panic.
    b.run_until_complete(aioloop::sleep(Duration::from_millis(1)));
    // Both loops still work.
    a.run_until_complete(aioloop::sleep(Duration::from_millis(1)));
}

/// A task of one loop awaited (unfinished) on another loop would never finish: a clear panic
/// (asyncio raises "attached to a different loop"). A finished task's outcome can be taken on
/// any loop of the thread. Before the check, the first case hung.
#[test]
fn a_task_awaited_on_another_loop_panics_unless_it_has_finished() {
    let (a, b) = (EventLoop::new().unwrap(), EventLoop::new().unwrap());
    let unfinished = a.spawn(async {
        aioloop::sleep(Duration::from_secs(60)).await;
        1
    });
    let message = panic_message_of(|| {
        b.run_until_complete(unfinished).ok();
    });
    assert!(
        message.contains("a Task was awaited outside the event loop"),
        "{message}"
    );

    let shared = a.spawn(std::future::pending::<u8>()).shared();
    let message = panic_message_of(|| {
        b.run_until_complete(shared.clone()).ok();
    });
    assert!(
        message.contains("a Task was awaited outside the event loop"),
        "{message}"
    );
    assert!(shared.cancel());

    let finished = a.spawn(async { 7 });
    a.run_until_complete(aioloop::sleep(Duration::from_millis(1)));
    assert_eq!(b.run_until_complete(finished).unwrap(), 7);
}

/// A signal listener made on one loop and awaited on another would wait forever (only its own
/// loop reads its deliveries): a clear panic. Before the check, this hung.
#[test]
fn a_signal_listener_awaited_on_another_loop_panics_instead_of_hanging() {
    use aioloop::signal::{signal, SignalKind};
    let (a, b) = (EventLoop::new().unwrap(), EventLoop::new().unwrap());
    let mut usr2 = None;
    a.run_until_complete(async { usr2 = Some(signal(SignalKind::user_defined2()).unwrap()) });
    let mut usr2 = usr2.unwrap();
    let message = panic_message_of(|| {
        b.run_until_complete(usr2.recv());
    });
    assert!(
        message.contains("a signal listener (or a child process"),
        "{message}"
    );
    // Its loop closed: the panic says so.
    drop(a);
    let message = panic_message_of(|| {
        b.run_until_complete(usr2.recv());
    });
    assert!(
        message.contains("polled after its event loop was closed"),
        "{message}"
    );
}

/// A child process spawned on one loop and waited for on another: the panic names I/O
/// resources in general (it said "a socket" before, which a child process is not).
#[test]
fn a_child_waited_for_on_another_loop_panics_naming_the_resource() {
    let (a, b) = (EventLoop::new().unwrap(), EventLoop::new().unwrap());
    let mut child = None;
    a.run_until_complete(async {
        child = Some(
            aioloop::process::Command::new("sleep")
                .arg("5")
                .kill_on_drop(true)
                .spawn()
                .unwrap(),
        )
    });
    let mut child = child.unwrap();
    let message = panic_message_of(|| {
        b.run_until_complete(child.wait()).ok();
    });
    // Through its pidfd's registration, or (kernels without pidfd_open, valgrind) its
    // SIGCHLD listener: either panic names child processes.
    assert!(message.contains("child process"), "{message}");
    assert!(message.contains("was polled outside the event loop"), "{message}");
    drop(child);
    a.run_until_complete(yield_now());
}
