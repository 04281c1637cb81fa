//! gather, gather!, try_gather, try_gather!: asyncio's gather behaviours, ported.

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use aioloop::{gather, sleep, spawn, try_gather, yield_now, TaskError};
use support::{counted, yields, Drops, ThreadFlag};

#[test]
fn gather_results_follow_argument_order_when_children_finish_in_reverse() {
    let finished = Rc::new(RefCell::new(Vec::new()));
    let log = finished.clone();
    let out = aioloop::run(async move {
        gather((0..5usize).map(|i| {
            let log = log.clone();
            async move {
                yields(10 - 2 * i).await;
                log.borrow_mut().push(i);
                i * 10
            }
        }))
        .await
    });
    assert_eq!(*finished.borrow(), [4, 3, 2, 1, 0]);
    assert_eq!(out, [0, 10, 20, 30, 40]);
}

#[aioloop::test(start_paused)]
async fn gather_macro_keeps_argument_order_on_the_virtual_clock() {
    let finished = Rc::new(RefCell::new(Vec::new()));
    let step = |name: &'static str, secs: u64| {
        let finished = finished.clone();
        async move {
            sleep(Duration::from_secs(secs)).await;
            finished.borrow_mut().push(name);
            name
        }
    };
    let t0 = aioloop::get_running_loop().time();
    let (a, n, s) = aioloop::gather!(step("a", 3), async { 7u8 }, step("c", 1)).await;
    assert_eq!((a, n, s), ("a", 7, "c"));
    assert_eq!(*finished.borrow(), ["c", "a"]);
    // Concurrent: the gather takes as long as its slowest child.
    assert_eq!(aioloop::get_running_loop().time() - t0, Duration::from_secs(3));
}

#[test]
fn cancelling_the_awaiting_task_cancels_every_child_and_skips_the_rest() {
    let drops = Drops::new();
    let after = Rc::new(Cell::new(false));
    let started = Rc::new(Cell::new(0));
    let (d, a, s) = (drops.clone(), after.clone(), started.clone());
    let outcome = aioloop::run(async move {
        let outer = spawn(async move {
            let child = |d: &Drops| {
                let guard = d.guard();
                let started = s.clone();
                async move {
                    let _guard = guard;
                    started.set(started.get() + 1);
                    std::future::pending::<()>().await;
                }
            };
            aioloop::gather!(child(&d), child(&d), gather([child(&d), child(&d)])).await;
            a.set(true);
        });
        yields(3).await;
        assert!(outer.cancel());
        outer.await
    });
    assert!(matches!(outcome, Err(TaskError::Cancelled)));
    assert_eq!(started.get(), 4, "every child ran before the cancel");
    assert_eq!(drops.count(), 4, "every child was dropped");
    assert!(!after.get(), "code after the await never ran");
}

#[test]
fn a_gather_of_tasks_keeps_each_outcome_in_its_slot() {
    let out = aioloop::run(async {
        let tasks = vec![
            spawn(async { 1 }),
            spawn(async {
                yield_now().await;
                panic!("second")
            }),
            spawn(std::future::pending::<i32>()),
            spawn(async { 4 }),
        ];
        tasks[2].cancel();
        gather(tasks).await
    });
    assert_eq!(*out[0].as_ref().unwrap(), 1);
    assert_eq!(out[1].as_ref().unwrap_err().panic_message(), Some("second"));
    assert!(out[2].as_ref().unwrap_err().is_cancelled());
    assert_eq!(*out[3].as_ref().unwrap(), 4);
}

#[test]
fn try_gather_first_error_cancels_the_others_at_once() {
    let drops = Drops::new();
    let d = drops.clone();
    aioloop::run(async move {
        let slow = |guard| async move {
            let _guard = guard;
            yields(100).await;
            Ok::<u32, String>(0)
        };
        let failing = |guard| async move {
            let _guard = guard;
            yields(3).await;
            Err::<u32, String>("bad".into())
        };
        let children: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = _>>>> = vec![
            Box::pin(slow(d.guard())),
            Box::pin(failing(d.guard())),
            Box::pin(slow(d.guard())),
        ];
        let out = try_gather(children).await;
        assert_eq!(out, Err("bad".to_string()));
        assert_eq!(
            d.count(),
            3,
            "the other children were dropped before try_gather returned"
        );
    });
    assert_eq!(drops.count(), 3);
}

#[test]
fn try_gather_macro_returns_all_oks_or_the_first_error() {
    let drops = Drops::new();
    let d = drops.clone();
    aioloop::run(async move {
        let ok: Result<(u8, String), &str> =
            aioloop::try_gather!(async { Ok(1) }, async { Ok("two".to_string()) }).await;
        assert_eq!(ok, Ok((1, "two".to_string())));

        let guard = d.guard();
        let err: Result<(u8, ()), &str> = aioloop::try_gather!(
            async {
                yields(2).await;
                Err("first")
            },
            async move {
                let _guard = guard;
                std::future::pending::<()>().await;
                Ok(())
            },
        )
        .await;
        assert_eq!(err, Err("first"));
        assert_eq!(d.count(), 1);
    });
}

#[test]
fn a_wake_polls_only_the_woken_child() {
    // 1000 children wait forever; one child yields 100 times. A gather that polled every child
    // on every wake (naive join_all) would poll each waiting child about 100 times.
    let out = aioloop::run(async {
        let mut counters = Vec::new();
        let mut children = Vec::new();
        for i in 0..1001usize {
            let (polls, child) = counted(Box::pin(async move {
                if i == 500 {
                    yields(100).await;
                } else {
                    std::future::pending::<()>().await;
                }
            })
                as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>);
            counters.push(polls);
            children.push(child);
        }
        let waiting = gather(children);
        let _ = aioloop::wait_for(waiting, Duration::from_millis(200)).await;
        counters.iter().map(|c| c.get()).collect::<Vec<_>>()
    });
    assert_eq!(out[500], 101);
    assert!(
        out.iter().enumerate().all(|(i, &n)| i == 500 || n == 1),
        "a waiting child was polled again: {:?}",
        out.iter().filter(|&&n| n != 1).collect::<Vec<_>>()
    );
}

#[test]
fn children_woken_from_other_threads_complete() {
    let out = aioloop::run(async {
        let flags: Vec<ThreadFlag> = (0..8).map(|_| ThreadFlag::new()).collect();
        let threads: Vec<_> = flags
            .iter()
            .enumerate()
            .map(|(i, f)| f.set_later(Duration::from_millis(1 + (7 - i as u64))))
            .collect();
        let out = gather(flags.iter().enumerate().map(|(i, f)| async move {
            f.wait().await;
            i
        }))
        .await;
        for t in threads {
            t.join().unwrap();
        }
        out
    });
    assert_eq!(out, (0..8).collect::<Vec<_>>());
}

#[test]
fn every_child_is_dropped_exactly_once() {
    let drops = Drops::new();
    let d = drops.clone();
    aioloop::run(async move {
        let children = (0..50).map(|i| {
            let guard = d.guard();
            async move {
                let _guard = guard;
                yields(i % 4).await;
            }
        });
        let g = gather(children);
        assert_eq!(d.count(), 0);
        g.await;
        assert_eq!(d.count(), 50, "finished children are dropped when they finish");
        // A gather dropped before its first poll drops its children too.
        drop(gather((0..5).map(|_| {
            let guard = d.guard();
            async move { drop(guard) }
        })));
        assert_eq!(d.count(), 55);
    });
}

#[test]
fn empty_and_nested_gathers() {
    let (empty, nested) = aioloop::run(async {
        let empty: Vec<u8> = gather(Vec::<std::future::Ready<u8>>::new()).await;
        let nested = gather((0..3u32).map(|i| gather((0..i).map(|j| async move { j + i })))).await;
        (empty, nested)
    });
    assert!(empty.is_empty());
    assert_eq!(nested, vec![vec![], vec![1], vec![2, 3]]);
}

#[test]
fn gather_macro_takes_sixteen_futures_of_sixteen_types() {
    let out = aioloop::run(async {
        aioloop::gather!(
            async { 0u8 },
            async { 1u16 },
            async { 2u32 },
            async { 3u64 },
            async { 4i8 },
            async { 5i16 },
            async { 6i32 },
            async { 7i64 },
            async { 8usize },
            async { 9isize },
            async { '0' },
            async { "11" },
            async { 12.0f32 },
            async { 13.0f64 },
            async { "unit" },
            yield_now(),
        )
        .await
    });
    assert_eq!(out.0, 0);
    assert_eq!(out.8, 8);
    assert_eq!(out.11, "11");
}

#[test]
fn gather_macro_polls_only_the_woken_child() {
    let (a, b, c) = aioloop::run(async {
        let (pa, a) = counted(std::future::pending::<()>());
        let (pb, b) = counted(yields(50));
        let (pc, c) = counted(std::future::pending::<()>());
        let all = aioloop::gather!(a, b, c);
        let _ = aioloop::wait_for(all, Duration::from_millis(100)).await;
        (pa.get(), pb.get(), pc.get())
    });
    assert_eq!((a, b, c), (1, 51, 1));
}
