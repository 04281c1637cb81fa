//! Issue 17, item 9: threads. A coroutine that sleeps, run from a std::thread, and a task
//! cancelled on the loop reported as cancelled (test_tasks: RunCoroutineThreadsafeTests).

mod support;

use std::time::Duration;

use support::{outcome_from_a_thread, stop_now};

/// test_run_coroutine_threadsafe: the first thing a Python user writes, a coroutine that sleeps.
#[test]
fn test_run_coroutine_threadsafe_of_a_sleeping_coroutine() {
    let event_loop = aioloop::EventLoop::new().unwrap();
    let out = outcome_from_a_thread(
        &event_loop,
        || async {
            aioloop::sleep(Duration::from_millis(1)).await;
            3
        },
        aioloop::ConcurrentFuture::result,
        stop_now,
    );
    assert_eq!(out.unwrap(), 3);
}

/// test_run_coroutine_threadsafe_task_cancelled: the task is cancelled on the loop; the
/// thread's result() reports cancellation, not LoopClosed.
#[test]
fn test_run_coroutine_threadsafe_task_cancelled() {
    let event_loop = aioloop::EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let worker = std::thread::spawn(move || {
        let fut = handle.run_coroutine_threadsafe(|| aioloop::sleep(Duration::from_secs(3600)));
        handle
            .call_soon_threadsafe(|| {
                for task in aioloop::all_tasks() {
                    task.cancel();
                }
            })
            .unwrap();
        let out = fut.result();
        handle.stop().unwrap();
        out
    });
    event_loop.run_forever();
    let err = worker.join().unwrap().unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
}
