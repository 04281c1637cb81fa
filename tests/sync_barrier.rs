//! `aioloop::sync::Barrier`: asyncio's test_locks.BarrierTests, ported.

mod sync_common;

use aioloop::sync::{Barrier, BrokenBarrierError};
use sync_common::{arrive, assert_idle, finish, party, sorted_indices, ticks};

/// asyncio's `test_wait_more`: the barrier holds its parties until the last arrives, then
/// releases all of them, each with its arrival index; it then serves a second round.
#[aioloop::test]
async fn a_barrier_of_three_releases_all_three() {
    let barrier = Barrier::new(3);
    assert_eq!(barrier.parties(), 3);
    for _round in 0..2 {
        let a = party(&barrier);
        let b = party(&barrier);
        ticks(2).await;
        assert_eq!(barrier.n_waiting(), 2);
        assert!(!a.is_done() && !b.is_done(), "two of three: still waiting");

        let c = party(&barrier);
        assert_eq!(sorted_indices(vec![a, b, c]).await, [0, 1, 2]);
        assert_idle(&barrier);
    }
}

/// asyncio's `test_abort_barrier`: waiters fail with BrokenBarrierError, and so does any later
/// wait, until a reset.
#[aioloop::test]
async fn abort_breaks_the_barrier_for_waiters_and_newcomers() {
    let barrier = Barrier::new(3);
    let a = party(&barrier);
    let b = arrive(&barrier).await;
    barrier.abort();
    assert!(barrier.broken());
    assert_eq!(finish(a).await.unwrap(), Err(BrokenBarrierError));
    assert_eq!(finish(b).await.unwrap(), Err(BrokenBarrierError));
    assert_eq!(barrier.wait().await, Err(BrokenBarrierError));

    barrier.reset();
    assert!(!barrier.broken());
    let tasks: Vec<_> = (0..3).map(|_| party(&barrier)).collect();
    for t in tasks {
        assert!(finish(t).await.unwrap().is_ok());
    }
}

/// asyncio's `test_reset_barrier_while_tasks_waiting`: waiters fail, then the barrier fills
/// again from zero.
#[aioloop::test]
async fn reset_fails_the_waiters_and_refills() {
    let barrier = Barrier::new(3);
    let a = party(&barrier);
    let b = arrive(&barrier).await;
    barrier.reset();
    assert_eq!(finish(a).await.unwrap(), Err(BrokenBarrierError));
    assert_eq!(finish(b).await.unwrap(), Err(BrokenBarrierError));
    assert!(!barrier.broken());
    assert_eq!(barrier.n_waiting(), 0);

    let tasks: Vec<_> = (0..3).map(|_| party(&barrier)).collect();
    assert_eq!(sorted_indices(tasks).await, [0, 1, 2]);
}

/// A cancelled waiter just leaves (asyncio): the barrier then needs another party.
#[aioloop::test]
async fn a_cancelled_waiter_leaves_the_barrier() {
    let barrier = Barrier::new(2);
    let a = arrive(&barrier).await;
    assert_eq!(barrier.n_waiting(), 1);
    a.cancel();
    ticks(1).await;
    assert_eq!(barrier.n_waiting(), 0);

    let b = party(&barrier);
    ticks(2).await;
    assert!(!b.is_done(), "b is alone: the cancelled waiter no longer counts");
    let c = party(&barrier);
    assert!(finish(b).await.unwrap().is_ok());
    assert!(finish(c).await.unwrap().is_ok());
}

/// A task arriving while the previous round drains waits for the next round.
#[aioloop::test]
async fn a_newcomer_waits_while_the_barrier_drains() {
    let barrier = Barrier::new(2);
    let a = party(&barrier);
    let b = party(&barrier);
    let c = party(&barrier); // arrives in the same iteration as the round completes
    assert_eq!(finish(a).await.unwrap(), Ok(0));
    assert_eq!(finish(b).await.unwrap(), Ok(1));
    ticks(2).await;
    assert!(!c.is_done(), "c is the first of the next round");
    assert_eq!(barrier.n_waiting(), 1);
    let d = party(&barrier);
    assert_eq!(finish(c).await.unwrap(), Ok(0));
    assert_eq!(finish(d).await.unwrap(), Ok(1));
}

#[test]
#[should_panic(expected = "at least one party")]
fn a_barrier_needs_a_party() {
    let _ = Barrier::new(0);
}
