//! Audit against CPython's Lib/test/test_asyncio/test_tasks.py: as_completed, shield and
//! gather cases the combinators_* tests do not port. Each test is named after the CPython test.

mod support;

use std::time::Duration;

use aioloop::{as_completed, gather, shield, sleep, spawn, wait, yield_now, ReturnWhen, TimeoutError};
use support::reports_of;

/// test_tasks.py `test_as_completed_with_timeout`: the deadline ends the iteration with a
/// `TimeoutError`, and (asyncio) the tasks still running are not cancelled: they finish later.
#[aioloop::test(start_paused = true)]
async fn test_as_completed_with_timeout() {
    let fast = spawn(async {
        sleep(Duration::from_millis(100)).await;
        "a"
    });
    let slow = spawn(async {
        sleep(Duration::from_secs(10)).await;
        "b"
    })
    .shared();
    let mut stream = as_completed([fast.shared(), slow.clone()]).with_timeout(Duration::from_millis(120));
    assert_eq!(stream.next().await.unwrap().unwrap().unwrap(), "a");
    assert_eq!(stream.next().await.unwrap().err(), Some(TimeoutError));
    assert!(stream.next().await.is_none());
    drop(stream);
    assert!(!slow.is_done() && !slow.is_cancelled(), "the slow task runs on");
    assert_eq!(slow.clone().await.unwrap(), "b");
}

/// test_tasks.py `test_shield_exception`: the inner task's exception (a panic here) reaches
/// the shield's awaiter.
#[aioloop::test]
async fn test_shield_exception() {
    let inner = spawn(async {
        yield_now().await;
        panic!("boom");
    });
    let err = shield(inner).await.unwrap_err();
    assert_eq!(err.panic_message(), Some("boom"));
}

/// test_tasks.py `test_gather_shield` idea and `test_shield_effect`: cancelling the task that
/// awaits a gather of shielded tasks leaves the shielded tasks running to completion.
#[aioloop::test(start_paused = true)]
async fn test_gather_of_shielded_tasks() {
    let a = spawn(async {
        sleep(Duration::from_millis(10)).await;
        1
    })
    .shared();
    let b = spawn(async {
        sleep(Duration::from_millis(20)).await;
        2
    })
    .shared();
    let outer = spawn(gather(vec![shield(a.clone()), shield(b.clone())]));
    yield_now().await;
    assert!(outer.cancel());
    assert!(outer.await.unwrap_err().is_cancelled());
    assert_eq!(a.clone().await.unwrap(), 1);
    assert_eq!(b.clone().await.unwrap(), 2);
}

/// test_tasks.py `test_wait_with_timeout` at zero (`asyncio.wait(tasks, timeout=0)`): the
/// tasks already done are done, the others pending and not cancelled; no virtual time passes.
#[aioloop::test(start_paused = true)]
async fn test_wait_with_zero_timeout() {
    let quick = spawn(async { 1 });
    let slow = spawn(async {
        sleep(Duration::from_secs(1)).await;
        2
    });
    yield_now().await;
    let t0 = aioloop::get_running_loop().time();
    let (done, pending) = wait(vec![quick, slow], ReturnWhen::AllCompleted, Some(Duration::ZERO)).await;
    assert_eq!(aioloop::get_running_loop().time(), t0);
    assert_eq!((done.len(), pending.len()), (1, 1));
    assert!(!pending[0].is_cancelled());
    let mut done = done;
    assert_eq!(done.pop().unwrap().await.unwrap(), 1);
    let mut pending = pending;
    assert_eq!(pending.pop().unwrap().await.unwrap(), 2);
}

/// test_tasks.py `test_shield_cancel_outer_result`: the outer awaiter was cancelled, the inner
/// task then returns: nothing is reported.
#[test]
fn test_shield_cancel_outer_result() {
    let reports = reports_of(async {
        let inner = spawn(async {
            sleep(Duration::from_millis(10)).await;
            1
        })
        .shared();
        let outer = spawn(shield(inner.clone()));
        yield_now().await;
        outer.cancel();
        assert!(outer.await.unwrap_err().is_cancelled());
        assert_eq!(inner.clone().await.unwrap(), 1);
    });
    assert!(reports.is_empty(), "{reports:?}");
}

/// test_tasks.py `test_shield_cancel_outer_exception` and `test_shield_duplicate_log_once`
/// (3.13): the outer awaiter was cancelled, the inner task then raises (panics): the loop's
/// exception handler hears of it, once.
#[test]
fn test_shield_cancel_outer_exception() {
    let reports = reports_of(async {
        let inner = spawn(async {
            sleep(Duration::from_millis(10)).await;
            panic!("foo");
        });
        let outer = spawn(shield(inner));
        yield_now().await;
        outer.cancel();
        assert!(outer.await.unwrap_err().is_cancelled());
        sleep(Duration::from_millis(20)).await;
    });
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("foo"), "{reports:?}");
}
