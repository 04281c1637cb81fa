//! Issue 18 item 4: `aioloop::select!`, with tokio's `select!` semantics (tokio tests/macros_select.rs).

mod support;

use std::cell::Cell;
use std::future::{pending, ready};
use std::rc::Rc;
use std::time::Duration;

use aioloop::sync::Queue;
use aioloop::{sleep, yield_now};
use support::Drops;

/// Ready after `n` yields.
async fn after_yields<T>(n: usize, value: T) -> T {
    for _ in 0..n {
        yield_now().await;
    }
    value
}

#[test]
fn the_first_to_complete_wins() {
    let got = aioloop::run(async {
        aioloop::select! {
            a = after_yields(3, "slow") => a,
            b = after_yields(1, "fast") => b,
        }
    });
    assert_eq!(got, "fast");
}

#[test]
fn biased_polls_in_order() {
    aioloop::run(async {
        for _ in 0..50 {
            let got = aioloop::select! {
                biased;
                a = ready(1) => a,
                b = ready(2) => b,
            };
            assert_eq!(got, 1);
        }
    });
}

#[test]
fn unbiased_start_is_fair_between_ready_branches() {
    aioloop::run(async {
        let mut wins = [0; 3];
        for _ in 0..300 {
            let i = aioloop::select! {
                a = ready(0) => a,
                b = ready(1) => b,
                c = ready(2) => c,
            };
            wins[i] += 1;
        }
        assert!(wins.iter().all(|&w| w > 30), "wins: {wins:?}");
    });
}

#[test]
fn losers_are_dropped_before_the_handler_runs() {
    let drops = Drops::new();
    aioloop::run(async {
        let guard_a = drops.guard();
        let guard_b = drops.guard();
        let seen = aioloop::select! {
            _ = async move { let _g = guard_a; pending::<()>().await } => unreachable!(),
            _ = async move { let _g = guard_b; pending::<()>().await } => unreachable!(),
            () = yield_now() => drops.count(),
        };
        assert_eq!(seen, 2, "both losers dropped when the winner's handler runs");
    });
}

#[test]
fn a_pattern_mismatch_disables_the_branch_and_others_go_on() {
    aioloop::run(async {
        let polls = Rc::new(Cell::new(0));
        let p = polls.clone();
        let got = aioloop::select! {
            biased;
            Some(x) = async { None::<u32> } => x,
            Ok(y) = async move { p.set(p.get() + 1); after_yields(2, Ok::<u32, ()>(7)).await } => y,
        };
        assert_eq!(got, 7);
        assert_eq!(polls.get(), 1);
    });
}

#[test]
fn every_branch_disabled_runs_else() {
    aioloop::run(async {
        let got = aioloop::select! {
            Some(x) = ready(None::<u8>) => x,
            Err(e) = ready(Ok::<u8, u8>(1)) => e,
            else => 99,
        };
        assert_eq!(got, 99);
    });
}

#[test]
fn false_preconditions_disable_branches_without_polling() {
    aioloop::run(async {
        let polled = Cell::new(false);
        let got = aioloop::select! {
            _ = async { polled.set(true); }, if false => 1,
            _ = pending::<()>(), if 1 > 2 => 2,
            else => 3,
        };
        assert_eq!(got, 3);
        assert!(!polled.get(), "a disabled branch's future is never polled");
        let got = aioloop::select! {
            x = ready(5), if true => x,
        };
        assert_eq!(got, 5);
    });
}

#[test]
#[should_panic(expected = "every branch is disabled and there is no `else` branch")]
fn every_branch_disabled_without_else_panics() {
    aioloop::run(async {
        aioloop::select! {
            Some(x) = ready(None::<u8>) => x,
        }
    });
}

#[test]
fn a_loop_over_a_queue_with_a_timeout_and_borrowed_futures() {
    aioloop::run(async {
        let queue = Queue::new(0);
        let producer = queue.clone();
        let _producer = aioloop::spawn(async move {
            for i in 0..5 {
                producer.put(i).await.unwrap();
                sleep(Duration::from_millis(1)).await;
            }
        });
        let mut got = Vec::new();
        let mut ticks = 0;
        loop {
            aioloop::select! {
                biased;
                Ok(item) = queue.get() => {
                    if item % 2 == 1 {
                        continue;
                    }
                    got.push(item);
                }
                _ = sleep(Duration::from_millis(100)) => {
                    ticks += 1;
                    break;
                }
            }
        }
        assert_eq!(got, [0, 2, 4]);
        assert_eq!(ticks, 1);
        // The futures borrowed `queue`; it is free again once select! returned.
        assert!(queue.empty());
    });
}

#[test]
fn the_handler_may_use_what_the_losers_borrowed_mutably() {
    aioloop::run(async {
        let mut counter = 0u32;
        let got = aioloop::select! {
            biased;
            n = async { after_yields(1, 10u32).await } => n + counter,
            _ = async { counter += 1; pending::<()>().await } => unreachable!(),
        };
        counter += 1; // the loser's `&mut counter` is gone
        assert_eq!((got, counter), (11, 2));
    });
}

#[test]
fn mut_and_ref_bindings_work_in_patterns() {
    aioloop::run(async {
        let s = aioloop::select! {
            Some(mut s) = ready(Some(String::from("a"))) => {
                s.push('b');
                s
            }
        };
        assert_eq!(s, "ab");
        let (n, s) = aioloop::select! {
            (mut n, ref s) = ready((1, String::from("x"))) => {
                n += 1;
                (n, s.clone())
            }
        };
        assert_eq!((n, s.as_str()), (2, "x"));
    });
}

#[test]
fn handlers_can_return_and_use_question_mark() {
    async fn first_ok() -> Result<u8, &'static str> {
        let v = aioloop::select! {
            r = ready(Err::<u8, _>("nope")) => r?,
        };
        Ok(v)
    }
    async fn early() -> u8 {
        aioloop::select! {
            _ = ready(()) => return 4,
        };
        #[allow(unreachable_code)]
        5
    }
    aioloop::run(async {
        assert_eq!(first_ok().await, Err("nope"));
        assert_eq!(early().await, 4);
    });
}

#[test]
fn cancelling_the_awaiting_task_drops_every_branch() {
    let drops = Drops::new();
    aioloop::run(async {
        let (a, b) = (drops.guard(), drops.guard());
        let task = aioloop::spawn(async move {
            aioloop::select! {
                _ = async move { let _a = a; pending::<()>().await } => {}
                _ = async move { let _b = b; pending::<()>().await } => {}
            }
        });
        yield_now().await;
        assert_eq!(drops.count(), 0);
        task.cancel();
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(drops.count(), 2);
    });
}

#[test]
fn a_branch_woken_later_is_seen() {
    aioloop::run(async {
        let fut = aioloop::Future::<u8>::new();
        let setter = fut.clone();
        aioloop::call_later(Duration::from_millis(2), move || {
            setter.set_result(3).unwrap();
        });
        let got = aioloop::select! {
            Ok(v) = fut => v,
            _ = sleep(Duration::from_secs(5)) => 0,
        };
        assert_eq!(got, 3);
    });
}

#[test]
fn many_branches_and_a_trailing_else_block() {
    aioloop::run(async {
        let got = aioloop::select! {
            biased;
            Some(v) = ready(None::<u8>) => v,
            Some(v) = ready(None::<u8>) => v,
            Some(v) = ready(None::<u8>) => v,
            Some(v) = ready(None::<u8>) => v,
            Some(v) = ready(Some(5u8)) => { v * 2 }
            else => { 0 }
        };
        assert_eq!(got, 10);
    });
}
