//! Audit against tokio's tests/time_interval.rs, time_sleep.rs and time_timeout.rs: the
//! behaviours of `interval`, `sleep`/`sleep_until`/`Sleep::reset` and `timeout_at` where
//! aioloop follows tokio, and that tests/time_interval.rs and tests/time_sleep.rs do not
//! assert already. Each test is named after the tokio test it ports; all run on the paused
//! clock.

mod support;

use std::future::poll_fn;
use std::task::Poll;
use std::time::{Duration, Instant};

use aioloop::time::{advance, interval_at, MissedTickBehavior};
use aioloop::{get_running_loop, select, sleep, sleep_until, timeout_at, wait_for, Future, Timeout};
use support::interval::{advance_and_check, check_interval_poll, ms, ticked_at_0_and_300ms};

fn now() -> Instant {
    get_running_loop().time()
}

/// Polls `fut` once, in the calling task: `Ready(output)` or `Pending`.
async fn poll_once<F: std::future::Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(std::pin::Pin::new(&mut *fut).poll(cx))).await
}

/// tokio's burst / delay / skip tests: ticks at 0 and 300 ms, then the loop is "busy" until
/// 951 ms, past the ticks due at 600 and 900 ms; with `behavior`, the ticks at `late` ms are
/// ready at once, then the clock goes on by `steps` ([`advance_and_check`]).
async fn late_at_951ms(behavior: MissedTickBehavior, late: &[u64], steps: &[(u64, &[u64])]) {
    let (mut i, start) = ticked_at_0_and_300ms(Some(behavior)).await;
    advance(ms(650)).await;
    check_interval_poll(&mut i, start, late).await;
    advance_and_check(&mut i, start, steps).await;
}

/// time_interval.rs `interval_zero_duration`: a zero period panics.
#[aioloop::test(start_paused)]
#[should_panic]
async fn interval_zero_duration() {
    let _ = interval_at(now(), ms(0));
}

/// time_interval.rs `burst`: the missed ticks (600, 900) fire at once, one per poll, and the
/// schedule keeps its phase.
#[aioloop::test(start_paused)]
async fn burst() {
    let steps: &[(u64, &[u64])] = &[(200, &[]), (100, &[1200]), (250, &[1500]), (300, &[1800])];
    late_at_951ms(MissedTickBehavior::Burst, &[600, 900], steps).await;
}

/// time_interval.rs `delay`: one late tick (reported at its scheduled 600), then the next a
/// full period after the late one was taken (951 + 300 = 1251).
#[aioloop::test(start_paused)]
async fn delay() {
    let steps: &[(u64, &[u64])] = &[(100, &[]), (201, &[1251]), (300, &[1551]), (300, &[1851])];
    late_at_951ms(MissedTickBehavior::Delay, &[600], steps).await;
}

/// time_interval.rs `skip`: one late tick (600), then back on the original phase at 1200,
/// the tick due at 900 skipped.
#[aioloop::test(start_paused)]
async fn skip() {
    let steps: &[(u64, &[u64])] = &[(250, &[1200]), (300, &[1500]), (300, &[1800])];
    late_at_951ms(MissedTickBehavior::Skip, &[600], steps).await;
}

/// time_interval.rs `interval_doesnt_panic_max_duration_when_polling`: a period of
/// `Duration::MAX` ticks once and then waits, without overflowing.
#[aioloop::test(start_paused)]
async fn interval_doesnt_panic_max_duration_when_polling() {
    let start = now();
    let mut i = interval_at(start, Duration::MAX);
    check_interval_poll(&mut i, start, &[0]).await;
    advance(Duration::from_secs(86_400 * 365)).await;
    check_interval_poll(&mut i, start, &[]).await;
}

/// time_sleep.rs `immediate_sleep`: a sleep until now is not elapsed before it is awaited,
/// and is after, with no time gone by.
#[aioloop::test(start_paused)]
async fn immediate_sleep() {
    let t0 = now();
    let mut nap = sleep_until(t0);
    assert!(!nap.is_elapsed());
    (&mut nap).await;
    assert_eq!(now(), t0);
    assert!(nap.is_elapsed());
}

/// time_sleep.rs `is_elapsed`: a sleep polled once before its deadline is not elapsed.
#[aioloop::test(start_paused)]
async fn is_elapsed() {
    let mut nap = sleep(ms(10));
    assert!(!nap.is_elapsed());
    assert!(poll_once(&mut nap).await.is_pending());
    assert!(!nap.is_elapsed());
    (&mut nap).await;
    assert!(nap.is_elapsed());
}

/// The body of tokio's `reset_past_sleep_before_*`: a sleep until 100 ms, polled once
/// (pending), then after `gone_by` (if any) reset to 80 ms, ends at 80 ms.
async fn reset_past_sleep(gone_by: Option<Duration>) {
    let t0 = now();
    let mut nap = sleep_until(t0 + ms(100));
    assert!(poll_once(&mut nap).await.is_pending());
    if let Some(gone_by) = gone_by {
        sleep(gone_by).await;
    }
    nap.reset(t0 + ms(80));
    nap.await;
    assert_eq!(now() - t0, ms(80));
}

/// time_sleep.rs `reset_past_sleep_before_turn`: a pending sleep reset to an earlier
/// deadline ends at that deadline.
#[aioloop::test(start_paused)]
async fn reset_past_sleep_before_turn() {
    reset_past_sleep(None).await;
}

/// time_sleep.rs `reset_past_sleep_before_fire`: as above, with time gone by before the reset.
#[aioloop::test(start_paused)]
async fn reset_past_sleep_before_fire() {
    reset_past_sleep(Some(ms(10))).await;
}

/// time_sleep.rs `reset_future_sleep_after_fire`: a sleep that fired, reset to a later
/// deadline, sleeps again until it.
#[aioloop::test(start_paused)]
async fn reset_future_sleep_after_fire() {
    let t0 = now();
    let mut nap = sleep_until(t0 + ms(100));
    (&mut nap).await;
    assert_eq!(now() - t0, ms(100));
    nap.reset(t0 + ms(110));
    nap.await;
    assert_eq!(now() - t0, ms(110));
}

/// time_sleep.rs `reset_sleep_to_past`: a pending sleep reset to a deadline already passed
/// ends without time going by, its deadline kept. Divergent by design: tokio's is ready at the
/// very next poll; aioloop's, as every past deadline (asyncio's `call_at` in the past,
/// `sleep(0)`), fires at the loop's next iteration (docs/guide.md, "Time").
#[aioloop::test(start_paused)]
async fn reset_sleep_to_past() {
    let t0 = now();
    let mut nap = sleep_until(t0 + ms(100));
    assert!(poll_once(&mut nap).await.is_pending());
    sleep(ms(50)).await;
    nap.reset(t0 + ms(40));
    assert_eq!(nap.deadline(), t0 + ms(40));
    assert!(poll_once(&mut nap).await.is_pending()); // tokio: ready here
    aioloop::yield_now().await;
    assert!(poll_once(&mut nap).await.is_ready());
    assert_eq!(now() - t0, ms(50));
}

/// time_sleep.rs `reset_after_firing`: a fired sleep stays ready; reset to a later deadline,
/// its deadline changes and it is pending again.
#[aioloop::test(start_paused)]
async fn reset_after_firing() {
    let mut nap = sleep(ms(1));
    let deadline = nap.deadline();
    (&mut nap).await;
    assert!(poll_once(&mut nap).await.is_ready());
    nap.reset(now() + Duration::from_secs(600));
    assert_ne!(nap.deadline(), deadline);
    assert!(poll_once(&mut nap).await.is_pending());
    assert!(poll_once(&mut nap).await.is_pending());
}

/// time_sleep.rs `greater_than_max`: a sleep of five years ends on the paused clock.
#[aioloop::test(start_paused)]
async fn greater_than_max() {
    const YR_5: u64 = 5 * 365 * 24 * 60 * 60 * 1000;
    let t0 = now();
    sleep_until(t0 + ms(YR_5)).await;
    assert_eq!(now() - t0, ms(YR_5));
}

/// time_sleep.rs `issue_5183`: a biased `select!` between a huge sleep and a 1 ns one ends
/// (the huge deadline does not overflow the timer).
#[aioloop::test(start_paused)]
async fn issue_5183() {
    let big = Duration::from_secs(u64::MAX / 10);
    let won = select! {
        biased;
        _ = sleep(big) => "big",
        _ = sleep(Duration::from_nanos(1)) => "small",
    };
    assert_eq!(won, "small");
}

/// time_sleep.rs `drop_after_reschedule_at_new_scheduled_time`: dropping a sleep that was
/// reset to another pending sleep's deadline, after a third fired, is fine.
#[aioloop::test(start_paused)]
async fn drop_after_reschedule_at_new_scheduled_time() {
    let start = now();
    let mut a = sleep(ms(5));
    let mut b = sleep(ms(5));
    let mut c = sleep(ms(10));
    let _ = poll_once(&mut a).await;
    let _ = poll_once(&mut b).await;
    let _ = poll_once(&mut c).await;
    b.reset(start + ms(10));
    a.await;
    drop(b);
    c.await;
    assert_eq!(now() - start, ms(10));
}

/// time_timeout.rs `simultaneous_deadline_future_completion`: `timeout_at(now, ready)` is
/// `Ok` at its first poll: the future is polled before the deadline is looked at.
#[aioloop::test(start_paused)]
async fn simultaneous_deadline_future_completion() {
    let mut fut = Box::pin(timeout_at(now(), async {}));
    assert_eq!(poll_once(&mut fut).await, Poll::Ready(Ok(())));
}

/// time_timeout.rs `completed_future_past_deadline`: the same with a deadline 1 s past.
#[aioloop::test(start_paused)]
async fn completed_future_past_deadline() {
    let mut fut = Box::pin(timeout_at(now() - ms(1000), async {}));
    assert_eq!(poll_once(&mut fut).await, Poll::Ready(Ok(())));
}

/// tokio's `timeout(Duration::ZERO, ready)` is `Ok` too; aioloop's `wait_for` with a zero
/// timeout follows asyncio 3.12 instead (the future is never polled: `Err(TimeoutError)`),
/// as docs/asyncio.md says. `timeout_at(now, ..)` is the tokio-shaped spelling.
#[aioloop::test(start_paused)]
async fn zero_wait_for_never_polls_but_timeout_at_now_does() {
    assert_eq!(
        wait_for(async { 7 }, Duration::ZERO).await,
        Err(aioloop::TimeoutError)
    );
    assert_eq!(timeout_at(now(), async { 7 }).await, Ok(7));
}

/// The body of tokio's `future_and_*_in_future` and `very_large_timeout`: `timed`, `rx`
/// under a deadline further than `by`, is pending, still pending `by` later, and gives `rx`'s
/// output once `rx` is set.
async fn pending_until_set(rx: &Future<()>, timed: Timeout<Future<()>>, by: Duration) {
    let mut fut = Box::pin(timed);
    assert!(poll_once(&mut fut).await.is_pending());
    advance(by).await;
    assert!(poll_once(&mut fut).await.is_pending());
    rx.set_result(()).unwrap();
    assert_eq!(fut.await, Ok(Ok(())));
}

/// time_timeout.rs `future_and_deadline_in_future`: a future that completes before the
/// deadline gives its output.
#[aioloop::test(start_paused)]
async fn future_and_deadline_in_future() {
    let rx = Future::<()>::new();
    pending_until_set(&rx, timeout_at(now() + ms(100), rx.clone()), ms(90)).await;
}

/// time_timeout.rs `future_and_timeout_in_future`: the same through `wait_for`.
#[aioloop::test(start_paused)]
async fn future_and_timeout_in_future() {
    let rx = Future::<()>::new();
    pending_until_set(&rx, wait_for(rx.clone(), ms(100)), ms(90)).await;
}

/// time_timeout.rs `very_large_timeout`: `Duration::MAX` does not overflow; ten years later
/// the future is still awaited and its output comes through.
#[aioloop::test(start_paused)]
async fn very_large_timeout() {
    let rx = Future::<()>::new();
    pending_until_set(
        &rx,
        wait_for(rx.clone(), Duration::MAX),
        Duration::from_secs(86_400 * 365 * 10),
    )
    .await;
}

/// time_timeout.rs `deadline_now_elapses`: `timeout_at(now, pending)` elapses.
#[aioloop::test(start_paused)]
async fn deadline_now_elapses() {
    let t0 = now();
    let out = timeout_at(t0, std::future::pending::<()>()).await;
    assert_eq!(out, Err(aioloop::TimeoutError));
    assert_eq!(now(), t0);
}

/// time_timeout.rs `deadline_future_elapses`: a future deadline elapses at that deadline.
#[aioloop::test(start_paused)]
async fn deadline_future_elapses() {
    let t0 = now();
    let mut fut = Box::pin(timeout_at(t0 + ms(300), std::future::pending::<()>()));
    assert!(poll_once(&mut fut).await.is_pending());
    advance(ms(301)).await;
    assert_eq!(poll_once(&mut fut).await, Poll::Ready(Err(aioloop::TimeoutError)));
}
