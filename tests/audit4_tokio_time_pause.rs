//! Fourth audit against tokio's test suite: tests/time_pause.rs and tests/rt_time_start_paused.rs,
//! the paused clock (`Builder::start_paused`, `#[aioloop::test(start_paused)]`,
//! `time::pause`, `time::advance`). Each test is named after the upstream test it ports. Sleeps
//! polled by hand use a waker of their own (tokio_test's mock task), which tells whether the
//! timer woke it. `to_thread` holding the paused clock is audit_tokio_tasks.rs
//! (`blocking_when_paused` and its siblings).
//!
//! Differences asserted on purpose: the clock read is the loop's (`Loop::time()`; tokio's
//! `Instant::now()` is virtual under a paused clock, `std::time::Instant::now()` is not), and
//! the paused clock is exact, so where tokio_test's `assert_elapsed!` allows up to a
//! millisecond more the ports assert equality.
//!
//! Not ported: `pause_time_in_main_threads`, `pause_time_in_spawn_threads`: no multi-thread
//! runtime (tokio refuses to pause one).

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use aioloop::time::{advance, interval_at, pause};
use aioloop::{get_running_loop, sleep, sleep_until, spawn, EventLoop, Interval};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn now() -> Instant {
    get_running_loop().time()
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

/// tokio_test's `task::spawn`: a future polled by hand with a waker of its own, which records
/// whether it was woken since the last poll.
struct MockTask<F> {
    future: Pin<Box<F>>,
    woken: Arc<Flag>,
}

impl<F: Future> MockTask<F> {
    fn new(future: F) -> Self {
        MockTask {
            future: Box::pin(future),
            woken: Arc::new(Flag(AtomicBool::new(false))),
        }
    }

    fn poll(&mut self) -> Poll<F::Output> {
        self.woken.0.store(false, SeqCst);
        let waker = Waker::from(self.woken.clone());
        self.future.as_mut().poll(&mut Context::from_waker(&waker))
    }

    fn is_woken(&self) -> bool {
        self.woken.0.load(SeqCst)
    }
}

/// Polls `fut` once with the calling task's waker.
async fn poll_once<F: Future>(mut fut: Pin<&mut F>) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await
}

/// `Interval::poll_tick` once, with the calling task's waker.
async fn poll_next(interval: &mut Interval) -> Poll<Instant> {
    poll_fn(|cx| Poll::Ready(interval.poll_tick(cx))).await
}

/// `pause_time_in_main`: the main task pauses the clock; an hour's sleep then takes no time.
#[aioloop::test]
async fn pause_time_in_main() {
    pause();
    let real = Instant::now();
    sleep(Duration::from_secs(3600)).await;
    assert!(real.elapsed() < Duration::from_secs(3600));
}

/// `pause_time_in_task`: a spawned task pauses the clock of its loop.
#[aioloop::test]
async fn pause_time_in_task() {
    spawn(async { pause() }).await.unwrap();
    let real = Instant::now();
    sleep(Duration::from_secs(3600)).await;
    assert!(real.elapsed() < Duration::from_secs(3600));
}

/// A tiny deterministic generator (xorshift64*), for sleeps of random lengths.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound
    }
}

/// 10,000 sleeps of random lengths below a second, on a paused clock: the loop's clock after
/// each, from the start. The paused clock is exact: each reading is the sum of the sleeps.
fn paused_time_stress_run() -> Vec<Duration> {
    let rt = EventLoop::builder().start_paused(true).build().unwrap();
    rt.run_until_complete(async {
        let mut rng = Rng(1);
        let mut times = vec![];
        let mut total = Duration::ZERO;
        let start = now();
        for _ in 0..10_000 {
            let nap = Duration::from_nanos(rng.below(1_000_000_000));
            sleep(nap).await;
            total += nap;
            assert_eq!(now() - start, total);
            times.push(now() - start);
        }
        times
    })
}

/// `paused_time_is_deterministic`: two runs read the same clock.
#[test]
fn paused_time_is_deterministic() {
    let run_1 = paused_time_stress_run();
    let run_2 = paused_time_stress_run();
    assert_eq!(run_1, run_2);
}

/// `advance_after_poll`: a sleep polled before an `advance` that stops short of its deadline
/// stays pending; the clock moved by exactly the advance.
#[aioloop::test(start_paused)]
async fn advance_after_poll() {
    sleep(ms(1)).await;
    let start = now();
    let mut sleep = MockTask::new(sleep_until(start + ms(300)));
    assert!(sleep.poll().is_pending());
    let before = now();
    advance(ms(100)).await;
    assert_eq!(now() - before, ms(100));
    assert!(sleep.poll().is_pending());
}

/// `sleep_no_poll`: the same for a sleep first polled after the advance.
#[aioloop::test(start_paused)]
async fn sleep_no_poll() {
    let start = now();
    advance(ms(1)).await;
    let mut sleep = MockTask::new(sleep_until(start + ms(300)));
    let before = now();
    advance(ms(100)).await;
    assert_eq!(now() - before, ms(100));
    assert!(sleep.poll().is_pending());
}

/// The body of `sleep_same_task` and `sleep_same_task_no_poll` (upstream's `Tester`): the
/// sleep is polled by the task that awaits the advance.
async fn sleep_same_task_body(poll: bool) {
    let start = now();
    advance(ms(1)).await;
    let mut sleep = pin!(sleep_until(start + ms(300)));
    if poll {
        assert!(poll_once(sleep.as_mut()).await.is_pending());
    }
    let before = now();
    advance(ms(100)).await;
    assert_eq!(now() - before, ms(100));
    assert!(poll_once(sleep.as_mut()).await.is_pending());
}

/// `sleep_same_task`.
#[aioloop::test(start_paused)]
async fn sleep_same_task() {
    sleep_same_task_body(true).await;
}

/// `sleep_same_task_no_poll`.
#[aioloop::test(start_paused)]
async fn sleep_same_task_no_poll() {
    sleep_same_task_body(false).await;
}

/// `interval`: an interval started a millisecond ago ticks at once, then at each period the
/// advances reach, and catches up with a burst once an advance skipped a tick.
#[aioloop::test(start_paused)]
async fn interval() {
    let start = now();
    advance(ms(1)).await;
    let mut i = interval_at(start, ms(300));
    assert_eq!(poll_next(&mut i).await, Poll::Ready(start));
    assert!(poll_next(&mut i).await.is_pending());

    let before = now();
    advance(ms(100)).await;
    assert_eq!(now() - before, ms(100));
    assert!(poll_next(&mut i).await.is_pending());

    let before = now();
    advance(ms(200)).await;
    assert_eq!(now() - before, ms(200));
    assert_eq!(poll_next(&mut i).await, Poll::Ready(start + ms(300)));
    assert!(poll_next(&mut i).await.is_pending());

    let before = now();
    advance(ms(400)).await;
    assert_eq!(now() - before, ms(400));
    assert_eq!(poll_next(&mut i).await, Poll::Ready(start + ms(600)));
    assert!(poll_next(&mut i).await.is_pending());

    let before = now();
    advance(ms(500)).await;
    assert_eq!(now() - before, ms(500));
    assert_eq!(poll_next(&mut i).await, Poll::Ready(start + ms(900)));
    assert_eq!(poll_next(&mut i).await, Poll::Ready(start + ms(1200)));
    assert!(poll_next(&mut i).await.is_pending());
}

/// `test_time_advance_sub_ms`: advances below and off the millisecond move the clock by
/// exactly that much.
#[aioloop::test(start_paused)]
async fn test_time_advance_sub_ms() {
    for dur in [Duration::from_micros(51_592), Duration::from_micros(1)] {
        let before = now();
        advance(dur).await;
        assert_eq!(now() - before, dur);
    }
}

/// `test_time_advance_3ms_and_change`.
#[aioloop::test(start_paused)]
async fn test_time_advance_3ms_and_change() {
    for dur in [Duration::from_micros(3_141_592), Duration::from_micros(3_123_456)] {
        let before = now();
        advance(dur).await;
        assert_eq!(now() - before, dur);
    }
}

/// `regression_3710_with_submillis_advance`: an advance off the millisecond with a timer
/// pending a minute away moves the clock exactly, and leaves the timer pending.
#[aioloop::test(start_paused)]
async fn regression_3710_with_submillis_advance() {
    let start = now();
    advance(ms(1)).await;
    let mut sleep = MockTask::new(sleep_until(start + Duration::from_secs(60)));
    assert!(sleep.poll().is_pending());
    let before = now();
    let dur = Duration::from_micros(51_592);
    advance(dur).await;
    assert_eq!(now() - before, dur);
    assert!(sleep.poll().is_pending());
}

/// `exact_1ms_advance`.
#[aioloop::test(start_paused)]
async fn exact_1ms_advance() {
    for _ in 0..2 {
        let before = now();
        advance(ms(1)).await;
        assert_eq!(now() - before, ms(1));
    }
}

/// `advance_once_with_timer`: an advance short of a sleep's deadline does not wake it; one
/// past it does, and the sleep is then ready.
#[aioloop::test(start_paused)]
async fn advance_once_with_timer() {
    let mut sleep = MockTask::new(sleep(ms(1)));
    assert!(sleep.poll().is_pending());
    advance(Duration::from_micros(250)).await;
    assert!(!sleep.is_woken());
    assert!(sleep.poll().is_pending());
    advance(Duration::from_micros(1500)).await;
    assert!(sleep.is_woken());
    assert!(sleep.poll().is_ready());
}

/// `advance_multi_with_timer`: four advances of a quarter of a sleep's length: the fourth
/// reaches its deadline exactly and wakes it.
#[aioloop::test(start_paused)]
async fn advance_multi_with_timer() {
    let mut sleep = MockTask::new(sleep(ms(1)));
    assert!(sleep.poll().is_pending());
    for _ in 0..3 {
        advance(Duration::from_micros(250)).await;
        assert!(!sleep.is_woken());
        assert!(sleep.poll().is_pending());
    }
    advance(Duration::from_micros(250)).await;
    assert!(sleep.is_woken());
    assert!(sleep.poll().is_ready());
}

/// rt_time_start_paused.rs `test_start_paused`: on a loop started paused, time spent
/// blocking the thread does not move the clock.
#[aioloop::test(start_paused)]
async fn test_start_paused() {
    let start = now();
    for _ in 0..5 {
        std::thread::sleep(ms(1));
        assert_eq!(start, now());
    }
}
