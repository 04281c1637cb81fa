//! The paused clock: sleeps take no real time, advance moves time by hand, and a randomized
//! differential run against a reference model.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use aioloop::time::{advance, interval, MissedTickBehavior};
use aioloop::{call_at, sleep, spawn, yield_now, TimerHandle};

#[aioloop::test(start_paused)]
async fn an_hour_long_sleep_takes_no_real_time() {
    let real = Instant::now();
    let virt = aioloop::get_running_loop().time();
    sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        aioloop::get_running_loop().time() - virt,
        Duration::from_secs(3600)
    );
    assert!(real.elapsed() < Duration::from_secs(2));
}

#[aioloop::test(start_paused)]
async fn concurrent_sleeps_wake_in_deadline_order() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = [30u64, 10, 20, 10]
        .into_iter()
        .enumerate()
        .map(|(i, secs)| {
            let log = log.clone();
            spawn(async move {
                sleep(Duration::from_secs(secs)).await;
                log.borrow_mut().push(i);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*log.borrow(), [1, 3, 2, 0]);
}

#[aioloop::test(start_paused)]
async fn advance_fires_due_timers_only() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let t0 = aioloop::get_running_loop().time();
    for secs in [1u64, 2, 3] {
        let log = log.clone();
        call_at(t0 + Duration::from_secs(secs), move || {
            log.borrow_mut().push(secs)
        });
    }
    advance(Duration::from_millis(2500)).await;
    yield_now().await;
    assert_eq!(*log.borrow(), [1, 2]);
}

#[aioloop::test(start_paused)]
async fn interval_ticks_and_missed_tick_policies() {
    let lp = aioloop::get_running_loop();
    let t0 = lp.time();
    let mut every = interval(Duration::from_secs(10));
    assert_eq!(every.tick().await, t0, "the first tick is immediate");
    assert_eq!(every.tick().await, t0 + Duration::from_secs(10));
    // Fall 25 s behind: Burst fires the missed ticks at once, keeping the phase.
    advance(Duration::from_secs(25)).await;
    assert_eq!(every.tick().await, t0 + Duration::from_secs(20));
    assert_eq!(every.tick().await, t0 + Duration::from_secs(30));
    assert_eq!(
        lp.time(),
        t0 + Duration::from_secs(35),
        "burst ticks took no time"
    );
    assert_eq!(every.tick().await, t0 + Duration::from_secs(40));

    let mut skip = interval(Duration::from_secs(10));
    skip.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let s0 = skip.tick().await;
    advance(Duration::from_secs(35)).await;
    assert_eq!(
        skip.tick().await,
        s0 + Duration::from_secs(10),
        "the late tick fires once"
    );
    assert_eq!(
        skip.tick().await,
        s0 + Duration::from_secs(40),
        "then back on the phase"
    );

    let mut delay = interval(Duration::from_secs(10));
    delay.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let d0 = delay.tick().await;
    advance(Duration::from_secs(15)).await;
    assert_eq!(delay.tick().await, d0 + Duration::from_secs(10));
    let after = lp.time();
    assert_eq!(
        delay.tick().await,
        after + Duration::from_secs(10),
        "a full period after the late tick"
    );
}

#[aioloop::test(start_paused)]
async fn timers_created_and_cancelled_from_inside_a_timer() {
    let log = Rc::new(RefCell::new(Vec::<&str>::new()));
    let t0 = aioloop::get_running_loop().time();
    let victim: Rc<RefCell<Option<TimerHandle>>> = Rc::new(RefCell::new(None));
    {
        let log = log.clone();
        *victim.borrow_mut() = Some(call_at(t0 + Duration::from_secs(2), move || {
            log.borrow_mut().push("victim")
        }));
    }
    {
        let (log, victim) = (log.clone(), victim.clone());
        call_at(t0 + Duration::from_secs(1), move || {
            log.borrow_mut().push("first");
            victim.borrow().as_ref().unwrap().cancel();
            let log2 = log.clone();
            aioloop::call_later(Duration::ZERO, move || log2.borrow_mut().push("child-now"));
            let log3 = log.clone();
            aioloop::call_later(Duration::from_secs(2), move || {
                log3.borrow_mut().push("child-later")
            });
        });
    }
    sleep(Duration::from_secs(10)).await;
    assert_eq!(*log.borrow(), ["first", "child-now", "child-later"]);
}

/// Random insert / cancel / reset / advance on the virtual clock, checked against a BTreeMap
/// of (deadline, seq): no early, lost, duplicate or out-of-order firing.
#[aioloop::test(start_paused)]
async fn differential_against_a_reference_model() {
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }
    let lp = aioloop::get_running_loop();
    let t0 = lp.time();
    let fired: Rc<RefCell<Vec<(u64, u64, Instant)>>> = Rc::new(RefCell::new(Vec::new()));
    let mut model: BTreeMap<(u64, u64), ()> = BTreeMap::new();
    let mut handles: Vec<(u64, u64, TimerHandle)> = Vec::new();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut seq = 0u64;
    let ops = if cfg!(debug_assertions) {
        200_000
    } else {
        1_000_000
    };
    let mut total_fired = 0usize;
    for op in 0..ops {
        let now_ns = (lp.time() - t0).as_nanos() as u64;
        match rng.next() % 10 {
            0..=5 => {
                let scale = [100u64, 10_000, 1_000_000, 1_000_000_000][(rng.next() % 4) as usize];
                let deadline = now_ns + rng.next() % scale;
                seq += 1;
                let (s, log) = (seq, fired.clone());
                let handle = call_at(t0 + Duration::from_nanos(deadline), move || {
                    let at = aioloop::get_running_loop().time();
                    log.borrow_mut().push((deadline, s, at));
                });
                model.insert((deadline, seq), ());
                handles.push((deadline, seq, handle));
            }
            6 | 7 if !handles.is_empty() => {
                let i = (rng.next() % handles.len() as u64) as usize;
                let (deadline, s, handle) = handles.swap_remove(i);
                handle.cancel();
                model.remove(&(deadline, s));
            }
            _ => {
                let step = rng.next() % [1_000u64, 1_000_000, 50_000_000][(op % 3) as usize];
                advance(Duration::from_nanos(step)).await;
                yield_now().await;
                let now_ns = (lp.time() - t0).as_nanos() as u64;
                let due: Vec<(u64, u64)> = model.range(..(now_ns + 1, 0)).map(|(k, _)| *k).collect();
                let got: Vec<(u64, u64, Instant)> = fired.borrow_mut().drain(..).collect();
                assert_eq!(got.len(), due.len(), "lost or extra firings at op {op}");
                for ((deadline, s, at), expected) in got.iter().zip(&due) {
                    assert_eq!((*deadline, *s), *expected, "out of order at op {op}");
                    assert!(*at >= t0 + Duration::from_nanos(*deadline), "early at op {op}");
                    model.remove(expected);
                }
                total_fired += got.len();
                handles.retain(|(d, s, _)| model.contains_key(&(*d, *s)));
            }
        }
    }
    assert!(
        total_fired > 10_000,
        "the run exercised too few firings: {total_fired}"
    );
}

/// Polls a sleep once: whether it is ready.
async fn polled_ready(s: &mut std::pin::Pin<Box<aioloop::time::Sleep>>) -> bool {
    use std::future::Future;
    std::future::poll_fn(|cx| std::task::Poll::Ready(s.as_mut().poll(cx).is_ready())).await
}

/// Issue 19 item 1: a sleep learns that it ended from how far the loop has drained its timers,
/// not from the wheel's entry. A reset after the timer fired but before the sleep's next poll,
/// and a reset while pending to after a tick the loop then drains, still sleep until the new
/// deadline; a fired sleep dropped unpolled leaves nothing behind.
#[aioloop::test(start_paused)]
async fn sleeps_reset_after_firing_or_past_a_drained_tick_sleep_again() {
    let t0 = aioloop::get_running_loop().time();
    let mut fired = Box::pin(sleep(Duration::from_secs(1)));
    let mut moved = Box::pin(sleep(Duration::from_secs(1)));
    let mut unpolled = Box::pin(sleep(Duration::from_secs(1)));
    assert!(!polled_ready(&mut fired).await);
    assert!(!polled_ready(&mut moved).await);
    assert!(!polled_ready(&mut unpolled).await);
    moved.as_mut().reset(t0 + Duration::from_secs(5));
    advance(Duration::from_secs(2)).await;
    assert!(fired.is_elapsed() && unpolled.is_elapsed());
    assert!(!moved.is_elapsed());
    assert!(!polled_ready(&mut moved).await, "moved past the drained tick");
    drop(unpolled);
    fired.as_mut().reset(t0 + Duration::from_secs(4));
    assert!(!fired.is_elapsed());
    assert!(!polled_ready(&mut fired).await, "reset after firing sleeps again");
    advance(Duration::from_secs(2)).await;
    assert!(polled_ready(&mut fired).await);
    assert!(!polled_ready(&mut moved).await);
    advance(Duration::from_secs(1)).await;
    assert!(polled_ready(&mut moved).await);
}
