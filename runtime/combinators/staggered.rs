//! [`staggered_race`]: attempts started one after another, a delay apart, the first success
//! winning (asyncio's `asyncio.staggered.staggered_race`, the engine of Happy Eyeballs).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::time::{sleep, Sleep};

/// Runs attempts with staggered start times and takes the first to succeed: asyncio's
/// `asyncio.staggered.staggered_race(coro_fns, delay)`.
///
/// `attempts` yields functions that each start one attempt (a future of a `Result`). The first
/// is started at once. From then on, the next is started as soon as the one started just
/// before it fails, or `delay` after that one started, whichever comes first; with `delay`
/// `None` only a failure starts the next: the attempts run one after another. This goes on
/// until an attempt succeeds, or until every attempt has failed. The functions are called
/// lazily, one when its attempt starts: those not reached are never called.
///
/// The first attempt to succeed wins: the attempts still running are dropped (cancelled) at
/// once, and no further attempt starts. Attempts that succeed in the same loop iteration
/// are taken in the order they were started.
///
/// The outcome ([`StaggeredOutcome`]) has the winner, with its index, or `None` if none
/// succeeded, and one entry per attempt started, in order: `None` for the winner,
/// [`AttemptError::Failed`] with the error of an attempt that failed, and
/// [`AttemptError::Cancelled`] for one still running when another won (asyncio records a
/// `CancelledError` there).
///
/// The attempts run inside the task that awaits the race, as [`gather`](crate::gather())'s
/// plain futures do, so they need not be `'static`; dropping the race (its task cancelled, a
/// [`wait_for`](crate::wait_for) expired) drops them all. An attempt that panics unwinds
/// through the race, the others dropped with it (asyncio raises an `ExceptionGroup` for an
/// attempt's unhandled exception). Each poll of the race polls every attempt still running:
/// meant for a handful of attempts (a host's addresses), not thousands.
///
/// ```
/// use std::time::Duration;
/// use aioloop::{sleep, staggered_race, AttemptError};
///
/// aioloop::run(async {
///     let outcome = staggered_race(
///         [0, 1, 2].map(|index| move || async move {
///             match index {
///                 0 => Err("refused"),                    // fails at once: 1 starts at once
///                 1 => {
///                     sleep(Duration::from_secs(10)).await; // too slow: 2 starts after 50 ms
///                     Ok("slow")
///                 }
///                 _ => Ok("fast"),
///             }
///         }),
///         Some(Duration::from_millis(50)),
///     )
///     .await;
///     assert_eq!(outcome.winner, Some((2, "fast")));
///     assert!(matches!(
///         outcome.errors[..],
///         [Some(AttemptError::Failed("refused")), Some(AttemptError::Cancelled), None]
///     ));
/// });
/// ```
pub fn staggered_race<I, F, Fut, T, E>(
    attempts: I,
    delay: Option<Duration>,
) -> StaggeredRace<I::IntoIter, Fut, T, E>
where
    I: IntoIterator<Item = F>,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    StaggeredRace {
        attempts: Some(attempts.into_iter()),
        delay,
        running: Vec::new(),
        errors: Vec::new(),
        start_next: true,
        timer: None,
        _output: PhantomData,
    }
}

/// Why an attempt of a [`staggered_race`] did not win.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptError<E> {
    /// It failed with this error.
    Failed(E),
    /// It was still running when another attempt won, and was dropped (asyncio's
    /// `CancelledError`).
    Cancelled,
}

/// The outcome of a [`staggered_race`]: asyncio's `(winner_result, winner_index, exceptions)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaggeredOutcome<T, E> {
    /// The winning attempt's index and value, or `None` if no attempt succeeded.
    pub winner: Option<(usize, T)>,
    /// One entry per attempt started, in the order they were started (which is the order of
    /// the attempts given): `None` for the winner, else why it did not win.
    pub errors: Vec<Option<AttemptError<E>>>,
}

/// The future of [`staggered_race`].
#[must_use = "futures do nothing unless awaited"]
pub struct StaggeredRace<I, Fut, T, E> {
    /// The attempts not started yet; `None` once exhausted.
    attempts: Option<I>,
    delay: Option<Duration>,
    /// The attempts running, with their indices, in the order they were started.
    running: Vec<(usize, Pin<Box<Fut>>)>,
    errors: Vec<Option<AttemptError<E>>>,
    /// The next attempt is due: nothing started yet, the latest attempt failed, or its delay
    /// passed.
    start_next: bool,
    /// Ends `delay` after the latest attempt started.
    timer: Option<Sleep>,
    _output: PhantomData<fn() -> T>,
}

impl<I, F, Fut, T, E> StaggeredRace<I, Fut, T, E>
where
    I: Iterator<Item = F>,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    /// Starts the next attempt, if there is one; false once they are exhausted.
    fn start(&mut self) -> bool {
        let Some(start) = self.attempts.as_mut().and_then(Iterator::next) else {
            self.attempts = None;
            return false;
        };
        let index = self.errors.len();
        self.errors.push(None);
        self.running.push((index, Box::pin(start())));
        self.timer = self.delay.map(sleep);
        true
    }

    /// Polls the attempts running; the winner's index and value if one succeeded.
    fn poll_running(&mut self, cx: &mut Context<'_>) -> Option<(usize, T)> {
        let latest = self.errors.len().checked_sub(1);
        let mut at = 0;
        while at < self.running.len() {
            let (index, attempt) = &mut self.running[at];
            let index = *index;
            match attempt.as_mut().poll(cx) {
                Poll::Pending => at += 1,
                Poll::Ready(Ok(value)) => return Some((index, value)),
                Poll::Ready(Err(err)) => {
                    self.errors[index] = Some(AttemptError::Failed(err));
                    self.running.remove(at);
                    if Some(index) == latest {
                        // Only the latest attempt's failure starts the next one early.
                        self.start_next = true;
                    }
                }
            }
        }
        None
    }
}

// No field is pinned in place: the attempts are pinned in their boxes, and the iterator is
// only ever used through `&mut`. So the race may move between polls whatever its parts.
impl<I, Fut, T, E> Unpin for StaggeredRace<I, Fut, T, E> {}

impl<I, F, Fut, T, E> Future for StaggeredRace<I, Fut, T, E>
where
    I: Iterator<Item = F>,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    type Output = StaggeredOutcome<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            if this.start_next {
                this.start_next = false;
                this.start();
            }
            if let Some((index, value)) = this.poll_running(cx) {
                for (loser, _) in this.running.drain(..) {
                    if loser != index {
                        this.errors[loser] = Some(AttemptError::Cancelled);
                    }
                }
                this.attempts = None;
                this.timer = None;
                return Poll::Ready(StaggeredOutcome {
                    winner: Some((index, value)),
                    errors: std::mem::take(&mut this.errors),
                });
            }
            if this.start_next && this.attempts.is_some() {
                continue;
            }
            if this.attempts.is_some() {
                if let Some(timer) = &mut this.timer {
                    if Pin::new(timer).poll(cx).is_ready() {
                        this.timer = None;
                        this.start_next = true;
                        continue;
                    }
                }
            }
            if this.running.is_empty() && this.attempts.is_none() {
                return Poll::Ready(StaggeredOutcome {
                    winner: None,
                    errors: std::mem::take(&mut this.errors),
                });
            }
            return Poll::Pending;
        }
    }
}

impl<I, Fut, T, E> fmt::Debug for StaggeredRace<I, Fut, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaggeredRace")
            .field("started", &self.errors.len())
            .field("running", &self.running.len())
            .field("exhausted", &self.attempts.is_none())
            .field("delay", &self.delay)
            .finish()
    }
}
