//! as_completed: outputs in completion order (virtual clock and yield counts), the overall
//! timeout, drops.

mod support;

use std::time::Duration;

use aioloop::{as_completed, sleep, spawn, TimeoutError};
use futures::StreamExt;
use support::{yields, Drops};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[aioloop::test(start_paused)]
async fn order_follows_completion_times_on_the_virtual_clock() {
    let t0 = aioloop::get_running_loop().time();
    let mut stream = as_completed(
        [30u64, 10, 20, 10, 5]
            .into_iter()
            .enumerate()
            .map(|(i, s)| async move {
                sleep(secs(s)).await;
                i
            }),
    );
    let mut seen = Vec::new();
    while let Some(i) = stream.next().await {
        let at = (aioloop::get_running_loop().time() - t0).as_secs();
        seen.push((i, at));
    }
    // Equal deadlines (indices 1 and 3) come out in the order their timers were set.
    assert_eq!(seen, [(4, 5), (1, 10), (3, 10), (2, 20), (0, 30)]);
}

#[test]
fn order_follows_yield_counts() {
    let seen = aioloop::run(async {
        let stream = as_completed([7usize, 3, 9, 0, 5].map(|n| async move {
            yields(n).await;
            n
        }));
        stream.collect::<Vec<_>>().await
    });
    assert_eq!(seen, [0, 3, 5, 7, 9]);
}

#[aioloop::test(start_paused)]
async fn the_timeout_ends_the_stream_and_drops_what_is_still_running() {
    let drops = Drops::new();
    let t0 = aioloop::get_running_loop().time();
    let mut stream = as_completed([1u64, 10, 2].map(|s| {
        let guard = drops.guard();
        async move {
            let _guard = guard;
            sleep(secs(s)).await;
            s
        }
    }))
    .with_timeout(secs(5));
    assert_eq!(stream.remaining(), 3);
    assert_eq!(stream.next().await, Some(Ok(1)));
    assert_eq!(stream.next().await, Some(Ok(2)));
    assert_eq!(drops.count(), 2);
    assert_eq!(stream.next().await, Some(Err(TimeoutError)));
    assert_eq!(aioloop::get_running_loop().time() - t0, secs(5));
    assert_eq!(drops.count(), 3, "the 10 s future was dropped at the timeout");
    assert_eq!(stream.next().await, None);
    assert_eq!(stream.remaining(), 0);
}

#[aioloop::test(start_paused)]
async fn everything_in_time_ends_without_a_timeout() {
    let stream = as_completed([2u64, 1].map(|s| async move {
        sleep(secs(s)).await;
        s
    }))
    .with_timeout(secs(3));
    assert_eq!(stream.collect::<Vec<_>>().await, [Ok(1), Ok(2)]);
}

#[test]
fn dropping_the_stream_drops_every_running_future() {
    let drops = Drops::new();
    let d = drops.clone();
    aioloop::run(async move {
        let mut stream = as_completed((0..10).map(|i| {
            let guard = d.guard();
            async move {
                let _guard = guard;
                yields(i).await;
                i
            }
        }));
        assert_eq!(stream.next().await, Some(0));
        assert_eq!(stream.next().await, Some(1));
        assert_eq!(d.count(), 2);
        assert_eq!(futures::Stream::size_hint(&stream), (8, Some(8)));
        assert_eq!(stream.remaining(), 8);
        drop(stream);
        assert_eq!(d.count(), 10);
    });
}

#[test]
fn tasks_come_out_as_outcomes_in_completion_order() {
    let outcomes = aioloop::run(async {
        let slow = spawn(async {
            yields(5).await;
            "slow"
        });
        let fails = spawn(async {
            yields(2).await;
            panic!("fails");
        });
        let quick = spawn(async { "quick" });
        as_completed([slow, fails, quick]).collect::<Vec<_>>().await
    });
    assert_eq!(outcomes.len(), 3);
    assert_eq!(*outcomes[0].as_ref().unwrap(), "quick");
    assert!(outcomes[1].as_ref().unwrap_err().is_panic());
    assert_eq!(*outcomes[2].as_ref().unwrap(), "slow");
}

#[test]
fn an_empty_stream_ends_at_once() {
    let out = aioloop::run(async {
        as_completed(Vec::<std::future::Ready<u8>>::new())
            .collect::<Vec<_>>()
            .await
    });
    assert!(out.is_empty());
}
