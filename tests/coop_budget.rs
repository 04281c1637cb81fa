//! Fairness through the cooperative budget (issue 19, item 5): a task whose futures are always
//! ready still yields to the loop, so timers, I/O and other tasks run; `unconstrained` opts out.
//! Ports tokio's tests/time_timeout.rs `timeout_is_not_exhausted_by_future`.
//!
//! Every busy loop here is bounded by the wall clock, so that without a budget a test fails
//! after a few seconds instead of hanging.

use std::cell::Cell;
use std::future::Future as _;
use std::rc::Rc;
use std::time::{Duration, Instant};

use aioloop::net::UnixStream;
use aioloop::sync::{Event, Lock, Queue, Semaphore};

/// How long a busy loop may run before it gives up: reaching it means the loop was starved.
const GIVE_UP: Duration = Duration::from_secs(3);

/// Loops over a queue that is never empty until the deadline; returns the gets done.
async fn spin_on_queue(deadline: Instant) -> u64 {
    let queue = Queue::new(0);
    queue.put_nowait(0u64).unwrap();
    let mut gets = 0;
    while Instant::now() < deadline {
        let item = queue.get().await.unwrap();
        queue.put_nowait(item + 1).unwrap();
        gets += 1;
    }
    gets
}

/// Writes one byte and reads it back over a socket pair until the deadline: both sockets are
/// always ready.
async fn spin_on_socket(deadline: Instant) -> u64 {
    let (a, b) = UnixStream::pair().unwrap();
    let mut byte = [0u8; 1];
    let mut rounds = 0;
    while Instant::now() < deadline {
        b.write_all(b"x").await.unwrap();
        a.read_exact(&mut byte).await.unwrap();
        rounds += 1;
    }
    rounds
}

/// Awaits sync primitives and futures that are all ready, until the deadline.
async fn spin_on_ready_awaits(deadline: Instant) -> u64 {
    let lock = Lock::new();
    let event = Event::new();
    event.set();
    let semaphore = Semaphore::new(1);
    let done = aioloop::Future::new();
    done.set_result(7).unwrap();
    let mut slept = aioloop::sleep(Duration::ZERO);
    (&mut slept).await;
    let mut rounds = 0;
    while Instant::now() < deadline {
        drop(lock.lock().await);
        event.wait().await;
        drop(semaphore.acquire().await);
        assert_eq!(done.clone().await, Ok(7));
        (&mut slept).await;
        rounds += 1;
    }
    rounds
}

/// `wait_for(spin(deadline), 10 ms)` on the main future must time out, long before the
/// spin gives up at its deadline.
fn assert_wait_for_fires<F: std::future::Future<Output = u64>>(starver: &str, spin: fn(Instant) -> F) {
    aioloop::run(async {
        let started = Instant::now();
        let out = aioloop::wait_for(spin(started + GIVE_UP), Duration::from_millis(10)).await;
        assert!(
            out.is_err(),
            "the timeout was starved by {starver}: wait_for returned after {:?}",
            started.elapsed()
        );
    });
}

#[test]
fn timeout_is_not_exhausted_by_future() {
    assert_wait_for_fires("a never-empty queue", spin_on_queue);
}

#[test]
fn timeout_is_not_exhausted_by_a_ready_socket() {
    assert_wait_for_fires("a ready socket", spin_on_socket);
}

#[test]
fn timeout_is_not_exhausted_by_ready_sync_awaits() {
    assert_wait_for_fires(
        "ready locks, events, semaphores, futures and sleeps",
        spin_on_ready_awaits,
    );
}

/// A task looping over a ready socket and a non-empty queue lets another task and a timer run
/// while it loops (it stops once both have run, or gives up).
#[test]
fn other_tasks_and_timers_are_not_starved_by_a_busy_task() {
    aioloop::run(async {
        let ticks = Rc::new(Cell::new(0u32));
        let fired = Rc::new(Cell::new(false));
        let deadline = Instant::now() + GIVE_UP;
        let ticker = aioloop::spawn({
            let ticks = ticks.clone();
            async move {
                while Instant::now() < deadline {
                    ticks.set(ticks.get() + 1);
                    aioloop::yield_now().await;
                }
            }
        });
        let timer = aioloop::call_later(Duration::from_millis(1), {
            let fired = fired.clone();
            move || fired.set(true)
        });
        let busy = aioloop::spawn({
            let (ticks, fired) = (ticks.clone(), fired.clone());
            async move {
                let (a, b) = UnixStream::pair().unwrap();
                let queue = Queue::new(0);
                queue.put_nowait(()).unwrap();
                let mut byte = [0u8; 1];
                let before = ticks.get();
                while Instant::now() < deadline && !(fired.get() && ticks.get() > before + 1) {
                    b.write_all(b"x").await.unwrap();
                    a.read_exact(&mut byte).await.unwrap();
                    queue.get().await.unwrap();
                    queue.put_nowait(()).unwrap();
                }
                ticks.get() - before
            }
        });
        let ticks_seen = busy.await.unwrap();
        ticker.cancel();
        drop(timer);
        assert!(
            ticks_seen > 1,
            "the other task ran {ticks_seen} times while the busy task looped"
        );
        assert!(fired.get(), "the timer did not fire while the busy task looped");
    });
}

/// Runs `gets` ready queue gets in a task, with another task counting its steps; returns how
/// many steps the other task made meanwhile.
fn ticks_during_ready_gets(unconstrained: bool, gets: u32) -> u32 {
    aioloop::run(async move {
        let ticks = Rc::new(Cell::new(0u32));
        let stop = Rc::new(Cell::new(false));
        let ticker = aioloop::spawn({
            let (ticks, stop) = (ticks.clone(), stop.clone());
            async move {
                while !stop.get() {
                    ticks.set(ticks.get() + 1);
                    aioloop::yield_now().await;
                }
            }
        });
        aioloop::yield_now().await;
        let queue = Queue::new(0);
        queue.put_nowait(()).unwrap();
        let spin = {
            let ticks = ticks.clone();
            async move {
                let before = ticks.get();
                for _ in 0..gets {
                    queue.get().await.unwrap();
                    queue.put_nowait(()).unwrap();
                }
                ticks.get() - before
            }
        };
        let during = if unconstrained {
            aioloop::spawn(aioloop::unconstrained(spin)).await.unwrap()
        } else {
            aioloop::spawn(spin).await.unwrap()
        };
        stop.set(true);
        ticker.await.unwrap();
        during
    })
}

#[test]
fn unconstrained_opts_out_of_the_budget() {
    let gets = 10_000;
    assert!(
        ticks_during_ready_gets(false, gets) >= gets / 128 - 1,
        "with the budget, the busy task yields about every 128 ready gets"
    );
    assert_eq!(
        ticks_during_ready_gets(true, gets),
        0,
        "unconstrained: the busy task runs its ready gets in one step"
    );
}

/// The budget is per step: a task that does fewer ready awaits than the budget per step is
/// never made to yield, and polls outside a task (here a callback) are unconstrained.
#[test]
fn a_short_burst_is_not_interrupted_and_callbacks_are_unconstrained() {
    assert_eq!(ticks_during_ready_gets(false, 100), 0);
    aioloop::run(async {
        let done = ready_gets_in_a_callback();
        aioloop::yield_now().await;
        assert!(done.get());
    });
}

/// Queues a callback that polls 1,000 ready queue gets by hand (each must be ready, as they
/// are when the budget is unconstrained); the flag is set once it has run.
fn ready_gets_in_a_callback() -> Rc<Cell<bool>> {
    let done = Rc::new(Cell::new(false));
    aioloop::call_soon({
        let done = done.clone();
        move || {
            ready_gets_by_hand();
            done.set(true);
        }
    });
    done
}

/// Polls 1,000 ready queue gets by hand: each must be ready.
fn ready_gets_by_hand() {
    let queue = Queue::new(0);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for i in 0..1_000 {
        queue.put_nowait(i).unwrap();
        let mut get = std::pin::pin!(queue.get());
        assert_eq!(get.as_mut().poll(&mut cx), std::task::Poll::Ready(Ok(i)));
    }
}

/// A task step that spends its whole budget and ends pending leaves no trace: a callback that
/// runs right behind it in the same iteration is unconstrained (the loop does not restore the
/// budget after each step, it lifts it before anything that is not a step).
#[test]
fn a_callback_right_after_a_spent_step_is_unconstrained() {
    aioloop::run(async {
        let spender = aioloop::spawn(async {
            let queue = Queue::new(0);
            for i in 0..1_000 {
                queue.put_nowait(i).unwrap();
                queue.get().await.unwrap();
            }
        });
        let done = ready_gets_in_a_callback();
        spender.await.unwrap();
        assert!(done.get());
    });
}

/// A coroutine a gather runs in place whose poll spends the step's whole budget gives it back
/// (less one unit) to the siblings polled after it: one that does so in every poll does not
/// starve a sibling, which takes its ready item in the first round (tests/audit4_tokio_rt.rs
/// `coop_yield_defers_until_park` found the starvation: sharing the owner's budget, the
/// sibling's get returned `Pending` in every round, for ever).
#[test]
fn a_gather_child_spending_its_budget_does_not_starve_its_siblings() {
    aioloop::run(async {
        let deadline = Instant::now() + GIVE_UP;
        let (busy, ready) = (Queue::new(0), Queue::new(0));
        ready.put_nowait(()).unwrap();
        let done = Cell::new(false);
        let (spins, ()) = aioloop::gather!(
            async {
                let mut spins = 0;
                while !done.get() && Instant::now() < deadline {
                    busy.put_nowait(()).unwrap();
                    busy.get().await.unwrap();
                    spins += 1;
                }
                spins
            },
            async {
                ready.get().await.unwrap();
                done.set(true);
            }
        )
        .await;
        // 128 gets spend the first poll's budget; the 129th completes in the next poll.
        assert!(
            spins <= 129,
            "the sibling waited for {spins} gets of the busy child"
        );
    });
}

/// The budget given back does not let a loop of gathers run for ever: the children spend the
/// step's budget (a poll that spent it all still costs a unit), so the loop yields and a
/// `wait_for` around it fires.
#[test]
fn a_loop_of_gathers_over_ready_futures_yields() {
    assert_wait_for_fires("a loop of gathers", |deadline| async move {
        let queue = Queue::new(0);
        let mut rounds = 0;
        while Instant::now() < deadline {
            queue.put_nowait(1u64).unwrap();
            queue.put_nowait(2u64).unwrap();
            let (a, b) = aioloop::gather!(queue.get(), queue.get()).await;
            rounds += a.unwrap() + b.unwrap();
        }
        rounds
    });
}
