//! Fourth audit against tokio's test suite: tests/rt_local.rs (`LocalRuntime`) and
//! tests/task_local_set.rs (`LocalSet`). An aioloop [`EventLoop`] is tokio's current_thread
//! runtime with a `LocalSet` built in: every task is local (`spawn` takes `!Send` futures, runs
//! them on the loop's thread), dropping the loop drops its pending tasks, and other threads
//! reach it through a `LoopHandle`. A set of tasks that ends when all of them (and the tasks
//! they spawn into it) finished, tokio's `local_set.await`, is a `TaskGroup`. Each test is named
//! after the upstream test it ports, in a module named after the upstream file; where aioloop
//! follows asyncio instead of tokio on purpose, the test asserts asyncio's behaviour and its
//! doc comment says so.
//!
//! Not ported:
//! - rt_local.rs `test_spawn_local_from_guard_other_thread`: a `!Send` future cannot reach
//!   another thread's loop at all: the compiler refuses it (`run_coroutine_threadsafe` sends a
//!   `Send` closure that builds it there instead).
//! - rt_local.rs `test_spawn_local_in_current_thread_runtime`,
//!   `test_spawn_local_in_multi_thread_runtime`: there is no loop without local tasks
//!   (`test_spawn_local_in_runtime` asserts they work on every loop).
//! - task_local_set.rs `block_in_place_cases::*`: no `block_in_place` (a task that must block
//!   calls `to_thread`).
//! - task_local_set.rs `spawn_wakes_localset`: a `LocalSet` polled by another future; an
//!   aioloop loop is the outermost future. A spawn from another thread waking an idle loop is
//!   audit4_tokio_rt.rs `spawn_from_other_thread_idle`.
//! - task_local_set.rs `unstable::shutdown_on_panic`: a panic in a task never takes the loop
//!   down (asyncio's model); `unstable::run_until_does_not_get_own_budget`: no
//!   `consume_budget`, and the main future's budget is a task's like any other.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use aioloop::sync::{oneshot, Queue};
use aioloop::{sleep, spawn, to_thread, yield_now, EventLoop, TaskGroup};

fn rt() -> EventLoop {
    EventLoop::new().unwrap()
}

thread_local! {
    static ON_RT_THREAD: Cell<bool> = const { Cell::new(false) };
}

fn on_rt_thread() -> bool {
    ON_RT_THREAD.with(|cell| cell.get())
}

/// Runs `f` on a thread of its own and fails if it does not finish within `timeout`
/// (task_local_set.rs's `with_timeout`, for tests whose failure is a hang). On a timeout the
/// thread is left behind, the test failing anyway.
fn with_timeout(timeout: Duration, f: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        f();
        done_tx.send(()).unwrap();
    });
    if let Err(mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(timeout) {
        panic!("test did not complete within {timeout:?}, it (probably) hangs");
    }
    thread.join().expect("test thread should not panic!")
}

/// A group whose children are plain futures: tokio's `LocalSet` awaited as a future.
fn local_set() -> TaskGroup<()> {
    TaskGroup::new()
}

mod rt_local {
    use super::*;

    /// `test_spawn_local_in_runtime`: a `!Send` task spawned from the main future.
    #[test]
    fn test_spawn_local_in_runtime() {
        let res = rt().run_until_complete(async move {
            let (tx, rx) = oneshot::channel();
            let not_send = Rc::new(5);
            drop(spawn(async move {
                yield_now().await;
                tx.send(*not_send).unwrap();
            }));
            rx.await.unwrap()
        });
        assert_eq!(res, 5);
    }

    /// `test_spawn_from_handle`: a task spawned on the loop before it runs.
    #[test]
    fn test_spawn_from_handle() {
        let rt = rt();
        let (tx, rx) = oneshot::channel();
        drop(rt.spawn(async {
            yield_now().await;
            tx.send(5).unwrap();
        }));
        assert_eq!(rt.run_until_complete(async move { rx.await.unwrap() }), 5);
    }

    /// `test_spawn_local_on_runtime_object`: a `!Send` task spawned on the loop before it runs.
    #[test]
    fn test_spawn_local_on_runtime_object() {
        let rt = rt();
        let (tx, rx) = oneshot::channel();
        let not_send = Rc::new(5);
        drop(rt.spawn(async move {
            yield_now().await;
            tx.send(*not_send).unwrap();
        }));
        assert_eq!(rt.run_until_complete(async move { rx.await.unwrap() }), 5);
    }

    /// `test_spawn_local_from_guard`: tokio spawns onto a runtime entered with `rt.enter()`.
    /// aioloop has no guard: the free `spawn` needs the running loop and panics without one
    /// (asyncio's `create_task` raises `RuntimeError: no running event loop`); `Loop::spawn`
    /// spawns onto a loop that is not running.
    #[test]
    fn test_spawn_local_from_guard() {
        let rt = rt();
        let refused = std::panic::catch_unwind(|| drop(spawn(async {}))).unwrap_err();
        let message = refused.downcast_ref::<String>().unwrap();
        assert!(message.contains("no running event loop"), "{message}");
        let (tx, rx) = oneshot::channel();
        let lp = rt.clone_handle();
        drop(lp.spawn(async {
            yield_now().await;
            tx.send(5).unwrap();
        }));
        assert_eq!(rt.run_until_complete(async move { rx.await.unwrap() }), 5);
    }

    /// `test_spawn_from_guard_other_thread`: spawning through the handle of a loop another
    /// thread made and has since dropped: tokio drops the task silently; aioloop's
    /// `LoopHandle` says the loop is closed (asyncio's `run_coroutine_threadsafe` on a closed
    /// loop raises `RuntimeError: Event loop is closed`).
    #[test]
    fn test_spawn_from_guard_other_thread() {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let rt = rt();
            tx.send(rt.handle()).unwrap();
        })
        .join()
        .unwrap();
        let handle = rx.recv().unwrap();
        assert!(handle.is_closed());
        let err = handle.run_future_threadsafe(async {}).result().unwrap_err();
        assert!(err.is_loop_closed());
    }

    /// `test_spawn_local_panic`: spawning from a thread that runs no loop (inside a task that
    /// does) panics: the thread has no loop, whatever loop the thread that spawned it runs.
    #[test]
    #[should_panic = "no running event loop"]
    fn test_spawn_local_panic() {
        rt().run_until_complete(async {
            let panic = thread::spawn(|| {
                let _jh = spawn(async {
                    println!("you will never see this line");
                });
            })
            .join()
            .unwrap_err();
            std::panic::resume_unwind(panic);
        });
    }
}

mod task_local_set {
    use super::*;

    /// `local_current_thread_scheduler`: a local task awaited from the main future.
    #[test]
    fn local_current_thread_scheduler() {
        rt().run_until_complete(async { spawn(async {}).await.unwrap() });
    }

    /// `local_threadpool`: a local task runs on the loop's thread.
    #[test]
    fn local_threadpool() {
        ON_RT_THREAD.with(|cell| cell.set(true));
        rt().run_until_complete(async {
            assert!(on_rt_thread());
            spawn(async { assert!(on_rt_thread()) }).await.unwrap();
        });
    }

    /// `localset_future_threadpool`: a task of a set awaited as a future runs on the loop's
    /// thread.
    #[test]
    fn localset_future_threadpool() {
        ON_RT_THREAD.with(|cell| cell.set(true));
        rt().run_until_complete(async {
            let local = local_set();
            local.spawn_plain(async { assert!(on_rt_thread()) }).unwrap();
            local.join().await.unwrap();
        });
    }

    /// `localset_future_timers`: a set awaited as a future waits for its tasks' timers.
    #[aioloop::test(start_paused)]
    async fn localset_future_timers() {
        let (ran1, ran2) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
        let local = local_set();
        let r1 = ran1.clone();
        local
            .spawn_plain(async move {
                sleep(Duration::from_millis(5)).await;
                r1.set(true);
            })
            .unwrap();
        let r2 = ran2.clone();
        local
            .spawn_plain(async move {
                sleep(Duration::from_millis(10)).await;
                r2.set(true);
            })
            .unwrap();
        local.join().await.unwrap();
        assert!(ran1.get());
        assert!(ran2.get());
    }

    /// `localset_future_drives_all_local_futs`: a set awaited as a future also waits for the
    /// tasks its tasks spawned into it.
    #[aioloop::test]
    async fn localset_future_drives_all_local_futs() {
        let ran = Rc::new([Cell::new(false), Cell::new(false), Cell::new(false)]);
        let local = local_set();
        let (spawner, r) = (local.spawner(), ran.clone());
        local
            .spawn_plain(async move {
                let r3 = r.clone();
                spawner
                    .spawn_plain(async move {
                        yield_now().await;
                        r3[2].set(true);
                    })
                    .unwrap();
                yield_now().await;
                r[0].set(true);
            })
            .unwrap();
        let r = ran.clone();
        local
            .spawn_plain(async move {
                yield_now().await;
                r[1].set(true);
            })
            .unwrap();
        local.join().await.unwrap();
        assert!(ran.iter().all(Cell::get));
    }

    /// `local_threadpool_timer`: a local task sleeps and wakes on the loop's thread.
    #[test]
    fn local_threadpool_timer() {
        ON_RT_THREAD.with(|cell| cell.set(true));
        rt().run_until_complete(async {
            assert!(on_rt_thread());
            spawn(async {
                assert!(on_rt_thread());
                sleep(Duration::from_millis(10)).await;
                assert!(on_rt_thread());
            })
            .await
            .unwrap();
        });
    }

    /// `enter_guard_spawn`: a task spawned before the loop runs, awaited once it runs.
    #[test]
    fn enter_guard_spawn() {
        let rt = rt();
        let join = rt.spawn(async { true });
        rt.run_until_complete(async move { assert!(join.await.unwrap()) });
    }

    /// `local_threadpool_blocking_run`: `to_thread` (tokio's `spawn_blocking`) from a local
    /// task runs off the loop's thread, and the task resumes on it.
    #[test]
    fn local_threadpool_blocking_run() {
        ON_RT_THREAD.with(|cell| cell.set(true));
        rt().run_until_complete(async {
            assert!(on_rt_thread());
            spawn(async {
                assert!(on_rt_thread());
                to_thread(|| {
                    assert!(!on_rt_thread(), "blocking must not run on the loop's thread");
                })
                .await
                .unwrap();
                assert!(on_rt_thread());
            })
            .await
            .unwrap();
        });
    }

    /// `all_spawns_are_local`: 128 tasks, all on the loop's thread.
    #[test]
    fn all_spawns_are_local() {
        ON_RT_THREAD.with(|cell| cell.set(true));
        rt().run_until_complete(async {
            assert!(on_rt_thread());
            let handles = (0..128).map(|_| spawn(async { assert!(on_rt_thread()) }));
            for joined in aioloop::gather(handles).await {
                joined.unwrap();
            }
        });
    }

    /// `nested_spawn_is_local`: tasks spawned four deep, all on the loop's thread.
    #[test]
    fn nested_spawn_is_local() {
        ON_RT_THREAD.with(|cell| cell.set(true));
        rt().run_until_complete(async {
            assert!(on_rt_thread());
            spawn(async {
                assert!(on_rt_thread());
                spawn(async {
                    assert!(on_rt_thread());
                    spawn(async {
                        assert!(on_rt_thread());
                        spawn(async { assert!(on_rt_thread()) }).await.unwrap();
                    })
                    .await
                    .unwrap();
                })
                .await
                .unwrap();
            })
            .await
            .unwrap();
        });
    }

    /// `join_local_future_elsewhere`: a task is awaited from another thread's loop (tokio: a
    /// worker thread; here a second loop awaiting the `ConcurrentFuture` of
    /// `run_coroutine_threadsafe`): it still runs on its own loop's thread.
    #[test]
    fn join_local_future_elsewhere() {
        ON_RT_THREAD.with(|cell| cell.set(true));
        let rt = rt();
        let handle = rt.handle();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let elsewhere = thread::spawn(move || {
            aioloop::run(async move {
                assert!(!on_rt_thread(), "the second loop's thread");
                let join = handle.run_coroutine_threadsafe(|| async move {
                    assert!(
                        on_rt_thread(),
                        "local task must run on its loop's thread, wherever it is awaited"
                    );
                    rx.await.unwrap();
                    "hello world"
                });
                tx.send(()).expect("task shouldn't have ended yet");
                let out = join.await.expect("task should complete successfully");
                handle.stop().unwrap();
                out
            })
        });
        rt.run_forever();
        assert_eq!(elsewhere.join().unwrap(), "hello world");
    }

    /// `localset_in_thread_local`: a loop kept in a thread-local of another thread runs there
    /// until a channel closes, and is closed by the thread-local's destructor at thread exit
    /// (issue #4973), which may come after the destructors of aioloop's own thread-locals:
    /// it drops a task left pending, whose destructor still finds the loop and may spawn, and
    /// nothing panics in a thread-local destructor (which aborts the process).
    #[test]
    fn localset_in_thread_local() {
        thread_local! {
            static LOCAL_SET: EventLoop = rt();
        }

        struct SpawnOnDrop(mpsc::Sender<bool>);

        impl Drop for SpawnOnDrop {
            fn drop(&mut self) {
                let found = aioloop::try_get_running_loop().is_some();
                drop(spawn(async {}));
                self.0.send(found).unwrap();
            }
        }

        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (dropped_tx, dropped_rx) = mpsc::channel();
        let th = thread::spawn(move || {
            LOCAL_SET.with(|local_set| {
                local_set.run_until_complete(async move {
                    drop(spawn(async move {
                        let _on_drop = SpawnOnDrop(dropped_tx);
                        std::future::pending::<()>().await;
                    }));
                    yield_now().await; // the task took its first step
                    let _ = rx.await;
                })
            });
        });
        drop(tx);
        th.join().unwrap();
        assert!(dropped_rx.recv().unwrap(), "the task's destructor found its loop");
    }

    /// `drop_cancels_tasks`: dropping the loop drops a pending task's future (issue #1842:
    /// what it owns is freed).
    #[test]
    fn drop_cancels_tasks() {
        let rt = rt();
        let rc1 = Rc::new(());
        let rc2 = rc1.clone();
        let (started_tx, started_rx) = oneshot::channel();
        drop(rt.spawn(async move {
            let _rc2 = rc2;
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await;
        }));
        rt.run_until_complete(async { started_rx.await.unwrap() });
        drop(rt);
        assert_eq!(1, Rc::strong_count(&rc1));
    }

    /// `drop_cancels_remote_tasks`: a task waiting on a channel whose sender is dropped on the
    /// loop's thread while the loop is not running (the wake goes through the remote queue)
    /// is dropped with the loop, without looping for ever (issue #1885).
    #[test]
    fn drop_cancels_remote_tasks() {
        with_timeout(Duration::from_secs(60), || {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1024);
            let rt = rt();
            drop(rt.spawn(async move { while rx.recv().await.is_some() {} }));
            rt.run_until_complete(sleep(Duration::from_millis(1)));
            drop(tx);
            drop(rt);
        });
    }

    /// `local_tasks_wake_join_all`: 128 tasks, each awaiting a task it spawned, joined
    /// together (issue #2460).
    #[test]
    fn local_tasks_wake_join_all() {
        with_timeout(Duration::from_secs(60), || {
            let rt = rt();
            let handles: Vec<_> = (1..=128)
                .map(|_| rt.spawn(async move { spawn(async move {}).await.unwrap() }))
                .collect();
            for joined in rt.run_until_complete(futures::future::join_all(handles)) {
                joined.unwrap();
            }
        });
    }

    /// `local_tasks_are_polled_after_tick`: a task spawned for each of 500 receivers a
    /// queue hands over, each woken later by its sender, all run (issues #1899, #1900). On
    /// the paused clock.
    #[aioloop::test(start_paused)]
    async fn local_tasks_are_polled_after_tick() {
        const EXPECTED: usize = 500;
        let (rx1, rx2) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let queue = Queue::new(0);
        let task2 = spawn({
            let (queue, rx1, rx2) = (queue.clone(), rx1.clone(), rx2.clone());
            async move {
                sleep(Duration::from_millis(10)).await;
                let mut oneshots = Vec::with_capacity(EXPECTED);
                for _ in 0..EXPECTED {
                    let (oneshot_tx, oneshot_rx) = oneshot::channel();
                    oneshots.push(oneshot_tx);
                    queue.put_nowait(oneshot_rx).unwrap();
                }
                sleep(Duration::from_millis(10)).await;
                for tx in oneshots.drain(..) {
                    tx.send(()).unwrap();
                }
                while rx1.get() != EXPECTED || rx2.get() != EXPECTED {
                    sleep(Duration::from_millis(20)).await;
                }
                queue.shutdown(false);
            }
        });
        while let Ok(oneshot) = queue.get().await {
            rx1.set(rx1.get() + 1);
            let rx2 = rx2.clone();
            drop(spawn(async move {
                oneshot.await.unwrap();
                rx2.set(rx2.get() + 1);
            }));
        }
        task2.await.unwrap();
    }

    /// `acquire_mutex_in_drop`: the loop (tokio's `LocalSet`) dropped with three pending
    /// tasks whose drops wake one another: none is polled again.
    #[test]
    fn acquire_mutex_in_drop() {
        let (tx1, rx1) = oneshot::channel::<()>();
        let (tx2, rx2) = oneshot::channel::<()>();
        let local = rt();
        drop(local.spawn(async move {
            let _ = rx2.await;
            unreachable!();
        }));
        drop(local.spawn(async move {
            let _ = rx1.await;
            tx2.send(()).unwrap();
            unreachable!();
        }));
        // A task that will never notify.
        drop(local.spawn(async move {
            std::future::pending::<()>().await;
            tx1.send(()).unwrap();
        }));
        local.run_until_complete(yield_now());
        drop(local);
    }

    /// `sleep_with_local_enter_guard`: a zero sleep in a local task fires (issue #5020); at
    /// the next iteration, as asyncio's `sleep(0)`.
    #[aioloop::test]
    async fn sleep_with_local_enter_guard() {
        let (tx, rx) = oneshot::channel();
        drop(spawn(async move {
            sleep(Duration::ZERO).await;
            tx.send(()).expect("failed to send");
        }));
        assert_eq!(rx.await, Ok(()));
    }

    /// `store_local_set_in_thread_local_with_runtime`: a loop kept in a thread-local, run by
    /// a method of the struct that holds it, spawning a task; closed at thread exit.
    #[test]
    fn store_local_set_in_thread_local_with_runtime() {
        struct RtAndLocalSet {
            rt: EventLoop,
            spawned: RefCell<Option<aioloop::Task<()>>>,
        }

        impl RtAndLocalSet {
            fn new() -> RtAndLocalSet {
                RtAndLocalSet {
                    rt: rt(),
                    spawned: RefCell::new(None),
                }
            }

            async fn inner_method(&self) {
                *self.spawned.borrow_mut() = Some(spawn(async {}));
            }

            fn method(&self) {
                self.rt.run_until_complete(self.inner_method());
            }
        }

        thread_local! {
            static CURRENT: RtAndLocalSet = RtAndLocalSet::new();
        }

        thread::spawn(|| CURRENT.with(|f| f.method())).join().unwrap();
        CURRENT.with(|f| {
            f.method();
            let task = f.spawned.borrow_mut().take().unwrap();
            f.rt.run_until_complete(task).unwrap();
        });
    }
}
