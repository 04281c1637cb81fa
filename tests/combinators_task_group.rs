//! TaskGroup: asyncio 3.11's structured concurrency, ported. One failure cancels the siblings,
//! join reports every error, cancelling the owner cancels the children, nothing outlives the
//! group, nothing leaks.

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use aioloop::{sleep, spawn, wait_for, yield_now, ChildError, EventLoop, TaskGroup, TaskGroupClosed};
use support::{yields, Drops};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[aioloop::test(start_paused)]
async fn a_child_error_cancels_five_siblings_and_join_reports_it() {
    let drops = Drops::new();
    let t0 = aioloop::get_running_loop().time();
    let tg = TaskGroup::new();
    let siblings: Vec<_> = (0..5)
        .map(|i| {
            let guard = drops.guard();
            tg.spawn(async move {
                let _guard = guard;
                sleep(secs(3600 + i)).await;
                Ok(i)
            })
            .unwrap()
        })
        .collect();
    let failing = tg
        .spawn(async {
            sleep(secs(1)).await;
            Err::<u64, _>("child 6 failed".to_string())
        })
        .unwrap();
    let errors = tg.join().await.unwrap_err();
    assert!(
        matches!(&errors[..], [ChildError::Failed(e)] if e == "child 6 failed"),
        "{errors:?}"
    );
    assert_eq!(drops.count(), 5, "every sibling was dropped before join returned");
    assert!(aioloop::get_running_loop().time() - t0 < secs(2));
    for sibling in siblings {
        assert!(sibling.await.unwrap_err().is_cancelled());
    }
    assert!(
        failing.await.unwrap_err().is_cancelled(),
        "its error went to the group"
    );
    assert!(matches!(
        tg.spawn(async { Ok::<_, String>(()) }),
        Err(TaskGroupClosed::Joined)
    ));
}

/// Joins, failing the test (instead of hanging it) if the children were not cancelled.
async fn join_or_fail<E: 'static>(tg: &TaskGroup<E>) -> Result<(), Vec<ChildError<E>>> {
    wait_for(tg.join(), secs(24 * 3600))
        .await
        .expect("join hung: the children were not cancelled")
}

#[aioloop::test(start_paused)]
async fn a_child_panic_fails_the_group_like_an_error() {
    let drops = Drops::new();
    let tg = TaskGroup::<()>::new();
    for _ in 0..3 {
        let guard = drops.guard();
        tg.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            Ok(())
        })
        .unwrap();
    }
    tg.spawn(async {
        yields(2).await;
        panic!("child panicked");
        #[allow(unreachable_code)]
        Ok(())
    })
    .unwrap();
    let errors = join_or_fail(&tg).await.unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].is_panic());
    assert_eq!(errors[0].panic_message(), Some("child panicked"));
    assert_eq!(drops.count(), 3);
}

#[aioloop::test(start_paused)]
async fn join_waits_for_every_child_and_values_come_from_the_tasks() {
    let tg = TaskGroup::<String>::new();
    let tasks: Vec<_> = (1..=4u64)
        .map(|i| {
            tg.spawn(async move {
                sleep(secs(5 - i)).await;
                Ok(i * 10)
            })
            .unwrap()
        })
        .collect();
    assert_eq!(tg.len(), 4);
    let t0 = aioloop::get_running_loop().time();
    tg.join().await.unwrap();
    assert_eq!(aioloop::get_running_loop().time() - t0, secs(4));
    assert!(tg.is_empty());
    let mut values = Vec::new();
    for t in tasks {
        values.push(t.await.unwrap());
    }
    assert_eq!(values, [10, 20, 30, 40]);
    // An empty group joins at once.
    TaskGroup::<()>::new().join().await.unwrap();
}

#[aioloop::test(start_paused)]
async fn spawning_into_a_failing_group_is_refused() {
    let tg = TaskGroup::new();
    tg.spawn(async { Err::<(), _>(1) }).unwrap();
    tg.spawn(std::future::pending::<Result<(), i32>>()).unwrap();
    yield_now().await;
    assert!(tg.is_failing());
    assert!(matches!(
        tg.spawn(async { Ok(()) }),
        Err(TaskGroupClosed::Failing)
    ));
    assert!(matches!(
        &join_or_fail(&tg).await.unwrap_err()[..],
        [ChildError::Failed(1)]
    ));
}

#[test]
fn cancelling_the_owner_cancels_every_child_and_nothing_outlives_the_group() {
    let drops = Drops::new();
    let after_join = Rc::new(Cell::new(false));
    let (d, a) = (drops.clone(), after_join.clone());
    let lp = EventLoop::new().unwrap();
    lp.run_until_complete(async move {
        let owner = spawn(async move {
            let tg = TaskGroup::<()>::new();
            for _ in 0..5 {
                let guard = d.guard();
                tg.spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                    Ok(())
                })
                .unwrap();
            }
            let _ = tg.join().await;
            a.set(true);
        });
        yields(3).await;
        assert_eq!(
            aioloop::all_tasks().len(),
            7,
            "main, the owner and its five children"
        );
        owner.cancel();
        assert!(owner.await.unwrap_err().is_cancelled());
        yield_now().await;
        assert_eq!(
            aioloop::all_tasks().len(),
            1,
            "no child outlived the group, main is left"
        );
    });
    assert_eq!(drops.count(), 5);
    assert!(!after_join.get(), "code after join never ran");
}

#[aioloop::test(start_paused)]
async fn dropping_the_group_cancels_its_children() {
    let drops = Drops::new();
    let tasks = {
        let tg = TaskGroup::<()>::new();
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let guard = drops.guard();
                tg.spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                    Ok(())
                })
                .unwrap()
            })
            .collect();
        yield_now().await;
        tasks
    };
    for task in tasks {
        let outcome = wait_for(task, secs(3600))
            .await
            .expect("a child was not cancelled");
        assert!(outcome.unwrap_err().is_cancelled());
    }
    assert_eq!(drops.count(), 3);
}

#[aioloop::test(start_paused)]
async fn a_timed_out_join_cancels_the_children_and_closes_the_group() {
    let drops = Drops::new();
    let tg = TaskGroup::<()>::new();
    for s in [1u64, 60, 120] {
        let guard = drops.guard();
        tg.spawn(async move {
            let _guard = guard;
            sleep(secs(s)).await;
            Ok(())
        })
        .unwrap();
    }
    assert!(wait_for(tg.join(), secs(10)).await.is_err());
    assert!(matches!(
        tg.spawn(async { Ok(()) }),
        Err(TaskGroupClosed::Cancelled)
    ));
    // A second join waits for the cancelled children to be dropped; cancellation is no error.
    tg.join().await.unwrap();
    assert_eq!(drops.count(), 3);
}

#[aioloop::test]
async fn a_child_cancelled_on_its_own_is_not_a_failure() {
    let tg = TaskGroup::<()>::new();
    let doomed = tg.spawn(std::future::pending::<Result<(), ()>>()).unwrap();
    let fine = tg
        .spawn(async {
            yields(3).await;
            Ok("fine")
        })
        .unwrap();
    doomed.cancel();
    tg.join().await.unwrap();
    assert_eq!(fine.await.unwrap(), "fine");
    assert!(doomed.await.unwrap_err().is_cancelled());
}

#[aioloop::test(start_paused)]
async fn explicit_cancel_stops_every_child() {
    let drops = Drops::new();
    let tg = TaskGroup::<()>::new();
    for _ in 0..4 {
        let guard = drops.guard();
        tg.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            Ok(())
        })
        .unwrap();
    }
    tg.cancel();
    join_or_fail(&tg).await.unwrap();
    assert_eq!(drops.count(), 4);
}

#[test]
fn an_unretrieved_child_panic_goes_to_the_exception_handler() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = seen.clone();
    let lp = EventLoop::builder()
        .exception_handler(move |ctx| sink.borrow_mut().push(ctx.to_string()))
        .build()
        .unwrap();
    lp.run_until_complete(async {
        let tg = TaskGroup::<()>::new();
        tg.spawn::<_, ()>(async { panic!("nobody joins me") }).unwrap();
        yields(2).await;
        drop(tg);
    });
    let seen = seen.borrow();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("nobody joins me"), "{seen:?}");
}

#[test]
fn no_child_future_leaks_under_churn() {
    let drops = Drops::new();
    let spawned = Rc::new(Cell::new(0));
    let (d, s) = (drops.clone(), spawned.clone());
    aioloop::run(async move {
        for round in 0..20u32 {
            let tg = TaskGroup::<u32>::new();
            for i in 0..50u32 {
                let guard = d.guard();
                s.set(s.get() + 1);
                tg.spawn(async move {
                    let _guard = guard;
                    yields((i % 7) as usize).await;
                    if round % 3 == 0 && i == 25 {
                        Err(i)
                    } else {
                        Ok(i)
                    }
                })
                .unwrap();
            }
            let result = tg.join().await;
            assert_eq!(result.is_err(), round % 3 == 0);
        }
    });
    assert_eq!(drops.count(), spawned.get());
}

#[aioloop::test(start_paused)]
async fn children_spawn_siblings_and_join_waits_for_them() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let tg = TaskGroup::<String>::new();
    let spawner = tg.spawner();
    let l = log.clone();
    tg.spawn(async move {
        sleep(secs(1)).await;
        for depth in 0..3u64 {
            let l = l.clone();
            spawner
                .spawn(async move {
                    sleep(secs(10 + depth)).await;
                    l.borrow_mut().push(depth);
                    Ok(())
                })
                .unwrap();
        }
        Ok(())
    })
    .unwrap();
    let t0 = aioloop::get_running_loop().time();
    tg.join().await.unwrap();
    assert_eq!(aioloop::get_running_loop().time() - t0, secs(13));
    assert_eq!(*log.borrow(), [0, 1, 2]);
    let late = tg.spawner();
    assert!(matches!(
        late.spawn(async { Ok(()) }),
        Err(TaskGroupClosed::Joined)
    ));
}

#[aioloop::test(start_paused)]
async fn a_grandchild_failure_fails_the_group() {
    let drops = Drops::new();
    let tg = TaskGroup::new();
    let spawner = tg.spawner();
    let guard = drops.guard();
    tg.spawn(async move {
        let _guard = guard;
        spawner
            .spawn(async {
                yields(2).await;
                Err::<(), _>("grandchild")
            })
            .unwrap();
        std::future::pending::<()>().await;
        Ok(())
    })
    .unwrap();
    let errors = join_or_fail(&tg).await.unwrap_err();
    assert!(matches!(&errors[..], [ChildError::Failed("grandchild")]));
    assert_eq!(drops.count(), 1);
}

/// A child's panic that came out of a coroutine it gathered (a task of its own, whose panic
/// unwinds named) is handed over as it was raised: `ChildError::Panicked(payload)` downcasts to
/// the original payload and `resume_unwind` re-raises the user's panic, as the variant's doc
/// says. Before, the payload was aioloop's private naming wrapper.
#[aioloop::test]
async fn a_childs_gathered_panic_is_handed_over_as_raised() {
    let tg = TaskGroup::<()>::new();
    tg.spawn(async {
        aioloop::gather([async { panic!("gathered boom") }]).await;
        Ok(())
    })
    .unwrap();
    let mut errors = join_or_fail(&tg).await.unwrap_err();
    assert_eq!(errors[0].panic_message(), Some("gathered boom"));
    let ChildError::Panicked(payload) = errors.remove(0) else {
        panic!("expected a panic");
    };
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"gathered boom"));
}
