//! Sleeps and timers on the real clock: never early, ordered, cancellable.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use aioloop::{call_later, sleep, sleep_until, spawn};

#[aioloop::test]
async fn sleep_never_ends_early() {
    let mut tasks = Vec::new();
    let mut seed = 0x9e37_79b9_u32;
    for _ in 0..10_000 {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let ms = 1 + (seed % 20) as u64;
        tasks.push(spawn(async move {
            let asked = Duration::from_millis(ms);
            let start = Instant::now();
            sleep(asked).await;
            start.elapsed() >= asked
        }));
    }
    let mut early = 0;
    for task in tasks {
        if !task.await.unwrap() {
            early += 1;
        }
    }
    assert_eq!(early, 0, "sleeps that ended early");
}

#[aioloop::test]
async fn sub_millisecond_sleeps_are_not_early() {
    for micros in [1u64, 50, 100, 250, 999] {
        let asked = Duration::from_micros(micros);
        let start = Instant::now();
        sleep(asked).await;
        assert!(start.elapsed() >= asked);
    }
}

#[aioloop::test]
async fn timers_fire_in_deadline_order_and_ties_in_set_order() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let now = aioloop::get_running_loop().time();
    // Deadlines a few hundred nanoseconds apart (within one microsecond) set in reverse order,
    // plus ties.
    for (label, offset_ns) in [
        ("c", 2_000_900u64),
        ("b", 2_000_500),
        ("a", 2_000_100),
        ("a2", 2_000_100),
    ] {
        let log = log.clone();
        aioloop::call_at(now + Duration::from_nanos(offset_ns), move || {
            log.borrow_mut().push(label)
        });
    }
    sleep(Duration::from_millis(5)).await;
    assert_eq!(*log.borrow(), ["a", "a2", "b", "c"]);
}

#[aioloop::test]
async fn zero_and_past_deadlines_give_one_iteration() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let other = spawn(async move {
        l.borrow_mut().push("other");
    });
    sleep(Duration::ZERO).await;
    log.borrow_mut().push("after zero sleep");
    other.await.unwrap();
    let past = aioloop::get_running_loop().time() - Duration::from_secs(1);
    sleep_until(past).await;
    assert_eq!(*log.borrow(), ["other", "after zero sleep"]);
}

#[aioloop::test]
async fn huge_durations_do_not_overflow() {
    let forever = spawn(sleep(Duration::MAX));
    let years = spawn(sleep(Duration::from_secs(86_400 * 365 * 1000)));
    sleep(Duration::from_millis(2)).await;
    assert!(!forever.is_done() && !years.is_done());
    forever.cancel();
    years.cancel();
    assert!(forever.await.unwrap_err().is_cancelled());
    assert!(years.await.unwrap_err().is_cancelled());
}

#[aioloop::test]
async fn call_later_cancel_and_when() {
    let fired = Rc::new(RefCell::new(Vec::new()));
    let (a, b) = (fired.clone(), fired.clone());
    let before = aioloop::get_running_loop().time();
    let keep = call_later(Duration::from_millis(1), move || a.borrow_mut().push("kept"));
    let after = aioloop::get_running_loop().time();
    let gone = call_later(Duration::from_millis(1), move || b.borrow_mut().push("cancelled"));
    assert!(keep.when() >= before + Duration::from_millis(1));
    assert!(keep.when() <= after + Duration::from_millis(1));
    gone.cancel();
    assert!(gone.is_cancelled());
    sleep(Duration::from_millis(5)).await;
    assert_eq!(*fired.borrow(), ["kept"]);
    assert!(keep.is_cancelled(), "a callback that ran can no longer run");
}

#[aioloop::test]
async fn sleep_reset_moves_the_deadline() {
    let start = Instant::now();
    let mut nap = sleep(Duration::from_secs(60));
    nap.reset(aioloop::get_running_loop().time() + Duration::from_millis(3));
    (&mut nap).await;
    assert!(start.elapsed() >= Duration::from_millis(3));
    assert!(start.elapsed() < Duration::from_secs(30));
    assert!(nap.is_elapsed());
    // Reset after expiry sleeps again.
    let again = Instant::now();
    nap.reset(aioloop::get_running_loop().time() + Duration::from_millis(2));
    assert!(!nap.is_elapsed());
    nap.await;
    assert!(again.elapsed() >= Duration::from_millis(2));
}

/// Issue 16 item 1, CPython test_base_events `test_call_later_negative_delays`: callbacks set in
/// the past run in deadline order (`b`, due 2 s ago, before `a`, due 1 s ago), not in the order
/// they were set; equal past deadlines keep the order they were set in.
#[aioloop::test]
async fn call_later_negative_delays() {
    let calls = Rc::new(RefCell::new(Vec::new()));
    let now = aioloop::get_running_loop().time();
    for (label, ago) in [
        ("a", 1_000),
        ("b", 2_000),
        ("c", 1_500),
        ("c2", 1_500),
        ("old", 3_600_000),
    ] {
        let calls = calls.clone();
        aioloop::call_at(now - Duration::from_millis(ago), move || {
            calls.borrow_mut().push(label)
        });
    }
    sleep(Duration::from_millis(1)).await;
    assert_eq!(*calls.borrow(), ["old", "b", "c", "c2", "a"]);
}

/// Spawns a task per label that awaits `wait` of a deadline that many milliseconds in the
/// past ("a" 1 s ago, "b" 2 s ago, "c" 10 ms ago), then logs its label; gives the log.
async fn order_of_past_deadlines<W>(wait: impl Fn(Instant) -> W) -> Vec<&'static str>
where
    W: std::future::Future<Output = ()> + 'static,
{
    let log = Rc::new(RefCell::new(Vec::new()));
    let now = aioloop::get_running_loop().time();
    let tasks: Vec<_> = [("a", 1_000), ("b", 2_000), ("c", 10)]
        .into_iter()
        .map(|(label, ago)| {
            let (log, waited) = (log.clone(), wait(now - Duration::from_millis(ago)));
            spawn(async move {
                waited.await;
                log.borrow_mut().push(label);
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    log.take()
}

/// Issue 16 item 1: `sleep_until` past instants end in deadline order too.
#[aioloop::test]
async fn sleep_until_past_instants_end_in_deadline_order() {
    let order = order_of_past_deadlines(|deadline| async move { sleep_until(deadline).await }).await;
    assert_eq!(order, ["b", "a", "c"]);
}

/// Issue 16 item 1: `timeout_at` with past instants expires in deadline order.
#[aioloop::test]
async fn timeout_at_past_instants_expire_in_deadline_order() {
    let order = order_of_past_deadlines(|deadline| async move {
        let never = std::future::pending::<()>();
        let res = aioloop::timeout_at(deadline, never).await;
        assert!(res.is_err(), "a past deadline times out");
    })
    .await;
    assert_eq!(order, ["b", "a", "c"]);
}

/// Issue 19 item 1: with many tasks the loop hints slots and cells ahead of the timer wakes
/// and task steps (from 4,096 tasks and 64 queued steps). The hints must change nothing: 20k
/// sleepers set in scattered order wake in deadline order, a cancelled one ends cancelled
/// without waking, and slots freed mid-run are reused by tasks spawned while the rest sleep.
#[aioloop::test]
async fn issue19_many_scattered_sleepers_wake_in_deadline_order() {
    const N: u64 = 20_000;
    let log = Rc::new(RefCell::new(Vec::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..N {
        // Distinct deadlines 1 µs apart over 20 ms, set in scattered order.
        let rank = i * 7919 % N;
        let log = log.clone();
        tasks.push((
            rank,
            spawn(async move {
                sleep_until(start + Duration::from_micros(rank)).await;
                log.borrow_mut().push(rank);
            }),
        ));
    }
    // Every 7th is cancelled before it wakes.
    for (rank, task) in &tasks {
        if rank % 7 == 3 {
            task.cancel();
        }
    }
    // Meanwhile short-lived tasks come and go, reusing freed slots.
    for round in 0..50u64 {
        let batch: Vec<_> = (0..100u64).map(|j| spawn(async move { round * j })).collect();
        for (j, task) in batch.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), round * j as u64);
        }
        aioloop::yield_now().await;
    }
    for (rank, task) in tasks {
        let outcome = task.await;
        assert_eq!(outcome.is_err(), rank % 7 == 3, "task {rank}: {outcome:?}");
    }
    let log = log.borrow();
    let want: Vec<u64> = (0..N).filter(|rank| rank % 7 != 3).collect();
    assert_eq!(log.len(), want.len());
    assert!(*log == want, "woken out of deadline order");
}
