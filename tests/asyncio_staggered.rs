//! `aioloop::staggered_race`: ports CPython's Lib/test/test_asyncio/test_staggered.py (each test
//! named after the CPython test), then the edge cases staggered.py documents: lazy starts, the
//! delay counted from the previous start, only the previous attempt's failure starting the next.
//! Timed tests run on the paused clock, where time is exact.

use std::cell::{Cell, RefCell};
use std::future::pending;
use std::rc::Rc;
use std::time::Duration;

use aioloop::sync::Event;
use aioloop::{get_running_loop, sleep, spawn, staggered_race, wait_for, yield_now, AttemptError};

type Attempt =
    Box<dyn FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>>>>>;

/// test_staggered.py `test_empty`: no attempts: no winner, no errors.
#[aioloop::test]
async fn test_empty() {
    let outcome = staggered_race(Vec::<Attempt>::new(), None).await;
    assert_eq!(outcome.winner, None);
    assert!(outcome.errors.is_empty());
}

/// test_staggered.py `test_one_successful`: the first attempt wins; the second never starts.
#[aioloop::test]
async fn test_one_successful() {
    let outcome = staggered_race(
        [0, 1].map(|index| move || async move { Ok::<_, ()>(format!("Res: {index}")) }),
        None,
    )
    .await;
    assert_eq!(outcome.winner, Some((0, "Res: 0".to_owned())));
    assert_eq!(outcome.errors, [None]);
}

/// test_staggered.py `test_first_error_second_successful`: the first fails, the second starts
/// and wins; the first's error is kept.
#[aioloop::test]
async fn test_first_error_second_successful() {
    let outcome = staggered_race(
        [0, 1].map(|index| {
            move || async move {
                if index == 0 {
                    return Err(format!("ValueError({index})"));
                }
                Ok(format!("Res: {index}"))
            }
        }),
        None,
    )
    .await;
    assert_eq!(outcome.winner, Some((1, "Res: 1".to_owned())));
    assert_eq!(
        outcome.errors,
        [Some(AttemptError::Failed("ValueError(0)".to_owned())), None]
    );
}

/// test_staggered.py `test_first_timeout_second_successful`: the first is slow, the second
/// starts after the delay and wins; the first is cancelled.
#[aioloop::test(start_paused)]
async fn test_first_timeout_second_successful() {
    let start = get_running_loop().time();
    let outcome = staggered_race(
        [0, 1].map(|index| {
            move || async move {
                if index == 0 {
                    sleep(Duration::from_secs(10)).await; // much bigger than delay
                }
                Ok::<_, ()>(format!("Res: {index}"))
            }
        }),
        Some(Duration::from_millis(100)),
    )
    .await;
    assert_eq!(outcome.winner, Some((1, "Res: 1".to_owned())));
    assert_eq!(outcome.errors, [Some(AttemptError::Cancelled), None]);
    assert_eq!(get_running_loop().time() - start, Duration::from_millis(100));
}

/// test_staggered.py `test_none_successful`: every attempt fails: no winner, every error, in
/// order.
#[aioloop::test]
async fn test_none_successful() {
    let outcome = staggered_race(
        [0, 1].map(|index| move || async move { Err::<(), _>(format!("ValueError({index})")) }),
        None,
    )
    .await;
    assert_eq!(outcome.winner, None);
    assert_eq!(
        outcome.errors,
        [
            Some(AttemptError::Failed("ValueError(0)".to_owned())),
            Some(AttemptError::Failed("ValueError(1)".to_owned())),
        ]
    );
}

/// test_staggered.py `test_multiple_winners`: two attempts are ready to succeed in the same
/// iteration: the one started first wins, the other is cancelled, as is the third (which
/// released them and waits for ever).
#[aioloop::test(start_paused)]
async fn test_multiple_winners() {
    let event = Event::new();
    let event = &event;
    let outcome = staggered_race(
        [0usize, 1, 2].map(|index| {
            move || async move {
                if index == 2 {
                    event.set();
                    pending::<()>().await;
                }
                event.wait().await;
                Ok::<_, ()>(index)
            }
        }),
        Some(Duration::from_millis(100)),
    )
    .await;
    assert_eq!(outcome.winner, Some((0, 0)));
    assert_eq!(
        outcome.errors,
        [None, Some(AttemptError::Cancelled), Some(AttemptError::Cancelled)]
    );
}

/// A drop guard that logs when its attempt is dropped.
struct LogOnDrop(Rc<RefCell<Vec<&'static str>>>, &'static str);

impl Drop for LogOnDrop {
    fn drop(&mut self) {
        self.0.borrow_mut().push(self.1);
    }
}

/// test_staggered.py `test_cancelled`: cancelling the race (here a `wait_for` that expires
/// around it) cancels the attempt running, and the cancellation reaches the caller: the race
/// does not swallow it nor return an outcome.
#[aioloop::test(start_paused)]
async fn test_cancelled() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let attempt_log = log.clone();
    let race = staggered_race(
        [move || async move {
            let _guard = LogOnDrop(attempt_log, "cancelled 1");
            pending::<Result<(), ()>>().await
        }],
        None,
    );
    let outcome = wait_for(race, Duration::from_millis(10)).await;
    assert!(outcome.is_err(), "the race must be cancelled, not answer");
    assert_eq!(*log.borrow(), ["cancelled 1"]);
}

/// A task awaiting the race, cancelled, drops every attempt running (asyncio cancels them).
#[aioloop::test(start_paused)]
async fn cancelling_the_task_drops_every_attempt() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let attempts_log = log.clone();
    let task = spawn(async move {
        staggered_race(
            ["first", "second"].map(|name| {
                let log = attempts_log.clone();
                move || async move {
                    let _guard = LogOnDrop(log, name);
                    pending::<Result<(), ()>>().await
                }
            }),
            Some(Duration::from_millis(10)),
        )
        .await
    });
    sleep(Duration::from_millis(50)).await;
    assert!(log.borrow().is_empty());
    task.cancel();
    assert!(task.await.is_err());
    let mut dropped = log.borrow().clone();
    dropped.sort();
    assert_eq!(dropped, ["first", "second"]);
}

/// staggered.py: the functions are called lazily, one when its attempt starts; with no delay
/// the attempts run one after another (the next only once the previous failed).
#[aioloop::test(start_paused)]
async fn sequential_without_a_delay_and_lazy() {
    let called = Rc::new(Cell::new(0));
    let release = Event::new();
    let (called_ref, release_ref) = (&called, &release);
    let race = staggered_race(
        (0..5).map(|index| {
            move || {
                called_ref.set(called_ref.get() + 1);
                async move {
                    if index == 0 {
                        release_ref.wait().await;
                        return Err("failed");
                    }
                    Ok(index)
                }
            }
        }),
        None,
    );
    let releaser = async {
        sleep(Duration::from_secs(60)).await;
        assert_eq!(called_ref.get(), 1, "no delay: the second waits for the first");
        release_ref.set();
    };
    let (outcome, ()) = aioloop::gather!(race, releaser).await;
    assert_eq!(outcome.winner, Some((1, 1)));
    assert_eq!(called.get(), 2, "attempts 2 to 4 were never reached");
    assert_eq!(outcome.errors, [Some(AttemptError::Failed("failed")), None]);
}

/// staggered.py: each attempt starts `delay` after the previous one started, or as soon as the
/// previous one failed, whichever comes first; an older attempt's failure starts nothing.
#[aioloop::test(start_paused)]
async fn the_next_starts_on_the_previous_failure_or_after_the_delay() {
    let started = Rc::new(RefCell::new(Vec::new()));
    let started_ref = &started;
    let start = get_running_loop().time();
    // 0 fails at 150 ms (after 1 started at 100 ms: that starts nothing); 1 fails at 120 ms,
    // so 2 starts then, before its delay; 3 starts 100 ms after 2; 3 wins at once.
    let plan = [(150u64, false), (20, false), (1000, true), (0, true)];
    let outcome = staggered_race(
        plan.iter().enumerate().map(|(index, &(after, succeeds))| {
            move || {
                let at = get_running_loop().time() - start;
                started_ref.borrow_mut().push((index, at.as_millis()));
                async move {
                    sleep(Duration::from_millis(after)).await;
                    if succeeds {
                        Ok(index)
                    } else {
                        Err(index)
                    }
                }
            }
        }),
        Some(Duration::from_millis(100)),
    )
    .await;
    assert_eq!(*started.borrow(), [(0, 0), (1, 100), (2, 120), (3, 220)]);
    assert_eq!(outcome.winner, Some((3, 3)));
    assert_eq!(
        outcome.errors,
        [
            Some(AttemptError::Failed(0)),
            Some(AttemptError::Failed(1)),
            Some(AttemptError::Cancelled),
            None
        ]
    );
}

/// Attempts that fail at once all run in the first poll, in order, with no delay between them.
#[aioloop::test]
async fn immediate_failures_start_the_next_at_once() {
    let outcome = staggered_race(
        (0..3).map(|index| move || async move { Err::<(), _>(index) }),
        Some(Duration::from_secs(3600)),
    )
    .await;
    assert_eq!(outcome.winner, None);
    assert_eq!(
        outcome.errors,
        [0, 1, 2].map(|index| Some(AttemptError::Failed(index)))
    );
}

/// The attempts may borrow from the caller (they run inside the awaiting task).
#[aioloop::test]
async fn attempts_may_borrow() {
    let names = ["a".to_owned(), "b".to_owned()];
    let outcome = staggered_race(
        names.iter().map(|name| {
            move || async move {
                yield_now().await;
                Ok::<_, ()>(name.as_str())
            }
        }),
        None,
    )
    .await;
    assert_eq!(outcome.winner, Some((0, "a")));
}
