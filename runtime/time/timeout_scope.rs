//! [`timeout_scope`] and [`timeout_scope_at`]: asyncio 3.11's `asyncio.timeout()` and
//! `asyncio.timeout_at()`, a deadline that the code it bounds can read, move and test.
//!
//! A [`TimeoutScope`] is a shared handle (clone it into the code it bounds) to one deadline;
//! [`TimeoutScope::run`] runs a future inside it, as `async with asyncio.timeout(d) as cm:`.
//! The run is the future of [`wait_for`](super::wait_for) with a deadline that
//! [`reschedule`](TimeoutScope::reschedule) moves on the timer wheel while it runs.
//!
//! **No cancel request.** asyncio's scope expires by cancelling its task and, on exit, takes the
//! request back with `uncancel()`, comparing the task's `cancelling()` count with the one it
//! saw on entry to tell its own expiry from a `task.cancel()`. Here the expiry drops the
//! scope's future as a cancellation (task/cancel_scope.rs: what it awaits is cancelled in turn),
//! without a cancel request, so the task's [`cancelling`](crate::Task::cancelling) count holds
//! only real `cancel()` requests: an expiry is never mistaken for a `task.cancel()`, and a
//! `task.cancel()` during the scope stays a cancellation (the task is dropped, or an
//! [`until_cancelled`](crate::until_cancelled) around the scope sees it), never a timeout.

use std::cell::RefCell;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::bounded::{Bounded, Expiry};
use super::sleep::{sleep, sleep_until, Sleep};
use super::timeout::TimeoutError;

/// A timeout scope that expires `delay` from now, or never with `None`: asyncio's
/// `asyncio.timeout(delay)`. Run a future in it with [`TimeoutScope::run`].
///
/// Created on a running loop, the clock starts now; created where no loop runs, it starts when
/// the scope first runs (as [`sleep`]).
///
/// ```
/// use std::time::Duration;
/// aioloop::run(async {
///     let scope = aioloop::timeout_scope(Duration::from_millis(5));
///     let slow = scope.run(aioloop::sleep(Duration::from_secs(10))).await;
///     assert_eq!(slow, Err(aioloop::TimeoutError));
///     assert!(scope.expired());
///
///     let disabled = aioloop::timeout_scope(None);
///     assert_eq!(disabled.run(async { 7 }).await, Ok(7));
///     assert_eq!(disabled.when(), None);
/// });
/// ```
#[doc(alias = "timeout")]
#[must_use = "a timeout scope does nothing until it runs a future (TimeoutScope::run)"]
pub fn timeout_scope(delay: impl Into<Option<Duration>>) -> TimeoutScope {
    TimeoutScope::new(delay.into().map(sleep))
}

/// A timeout scope that expires when the loop's clock reads `when`, or never with `None`:
/// asyncio's `asyncio.timeout_at(when)`. A `when` already past expires at the first suspension
/// of the future it runs.
///
/// ```
/// use std::time::Duration;
/// aioloop::run(async {
///     let when = aioloop::get_running_loop().time() + Duration::from_millis(5);
///     let scope = aioloop::timeout_scope_at(when);
///     assert_eq!(scope.run(std::future::pending::<()>()).await, Err(aioloop::TimeoutError));
///     assert_eq!(scope.when(), Some(when));
/// });
/// ```
#[must_use = "a timeout scope does nothing until it runs a future (TimeoutScope::run)"]
pub fn timeout_scope_at(when: impl Into<Option<Instant>>) -> TimeoutScope {
    TimeoutScope::new(when.into().map(sleep_until))
}

/// A deadline that the code it bounds can read ([`when`](TimeoutScope::when)), move
/// ([`reschedule`](TimeoutScope::reschedule)) and test ([`expired`](TimeoutScope::expired)):
/// asyncio 3.11's `asyncio.Timeout`, made by [`timeout_scope`] or [`timeout_scope_at`].
///
/// A cheap handle: clones share the scope, so the future it runs can hold one. A scope runs
/// one future, once ([`run`](TimeoutScope::run)). If its deadline passes first, the future is
/// dropped as a cancellation (a task it awaits is cancelled, as [`wait_for`](crate::wait_for)
/// does) and the run gives `Err(TimeoutError)`.
///
/// Nested scopes behave as asyncio's: an inner scope that expires reports to the code around
/// it, which goes on; an outer scope that expires while an inner one runs drops the inner one
/// with the rest and reports itself; when both expire at once, the outer reports, and both
/// read [`expired`](TimeoutScope::expired).
///
/// ```
/// use std::time::Duration;
/// aioloop::run(async {
///     let scope = aioloop::timeout_scope(Duration::from_millis(10));
///     let inside = scope.clone();
///     let out = scope
///         .run(async move {
///             // More time for the slow part.
///             let later = aioloop::get_running_loop().time() + Duration::from_secs(60);
///             inside.reschedule(later);
///             aioloop::sleep(Duration::from_millis(20)).await;
///             "done"
///         })
///         .await;
///     assert_eq!(out, Ok("done"));
///     assert!(!scope.expired());
/// });
/// ```
#[derive(Clone)]
pub struct TimeoutScope {
    state: Rc<RefCell<ScopeState>>,
}

/// Where a scope is in its life (asyncio's `_State`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Made; not run yet.
    Created,
    /// Running its future.
    Active,
    /// The deadline passed; the run has not reported yet.
    Expiring,
    /// The run ended by the deadline.
    Expired,
    /// The run ended without the deadline passing.
    Finished,
}

impl Phase {
    /// asyncio's names (its `repr`).
    fn name(self) -> &'static str {
        match self {
            Phase::Created => "created",
            Phase::Active => "active",
            Phase::Expiring => "expiring",
            Phase::Expired => "expired",
            Phase::Finished => "finished",
        }
    }
}

struct ScopeState {
    phase: Phase,
    /// The deadline's timer; `None` for no deadline.
    sleep: Option<Sleep>,
    /// While active: the waker of the task running the scope, woken when `reschedule` sets a
    /// new timer (the run registers it at its next poll).
    waker: Option<Waker>,
}

impl ScopeState {
    /// The phase, with a timer that fired read as expiring (asyncio's `_on_timeout` has run).
    fn phase(&self) -> Phase {
        match self.phase {
            Phase::Active if self.sleep.as_ref().is_some_and(Sleep::is_elapsed) => Phase::Expiring,
            phase => phase,
        }
    }

    /// The run ended (returned, or was dropped): expired if the timer fired, else finished.
    /// The timer leaves the wheel; the deadline stays readable.
    fn end(&mut self) -> Option<Waker> {
        self.phase = match self.phase() {
            Phase::Expiring | Phase::Expired => Phase::Expired,
            _ => Phase::Finished,
        };
        if let Some(sleep) = &mut self.sleep {
            sleep.disarm();
        }
        self.waker.take()
    }
}

impl TimeoutScope {
    fn new(sleep: Option<Sleep>) -> Self {
        TimeoutScope {
            state: Rc::new(RefCell::new(ScopeState {
                phase: Phase::Created,
                sleep,
                waker: None,
            })),
        }
    }

    /// The deadline, `None` if there is none: asyncio's `Timeout.when()`. It stays readable
    /// after the run. A scope made by [`timeout_scope`] where no loop runs, and not run yet,
    /// reads as `delay` from now on the system clock.
    pub fn when(&self) -> Option<Instant> {
        self.state.borrow().sleep.as_ref().map(Sleep::deadline)
    }

    /// Moves the deadline to `when`, or removes it with `None`: asyncio's
    /// `Timeout.reschedule()`. The timer moves on the loop's wheel; a `when` already past
    /// expires the scope at the loop's next iteration. Callable from inside the scope's future
    /// or from anywhere else on the loop, also before the scope runs (asyncio allows it only
    /// inside).
    ///
    /// # Panics
    /// If the deadline has passed (the scope is expiring or has expired) or the run has
    /// finished, as asyncio raises `RuntimeError`.
    ///
    /// ```
    /// use std::time::Duration;
    /// aioloop::run(async {
    ///     let lp = aioloop::get_running_loop();
    ///     let scope = aioloop::timeout_scope(Duration::from_secs(60));
    ///     let inside = scope.clone();
    ///     let t0 = lp.time();
    ///     let out = scope
    ///         .run(async move {
    ///             inside.reschedule(lp.time() + Duration::from_millis(5)); // less time after all
    ///             aioloop::sleep(Duration::from_secs(60)).await
    ///         })
    ///         .await;
    ///     assert_eq!(out, Err(aioloop::TimeoutError));
    ///     assert!(aioloop::get_running_loop().time() - t0 < Duration::from_secs(60));
    /// });
    /// ```
    #[track_caller]
    pub fn reschedule(&self, when: impl Into<Option<Instant>>) {
        let when = when.into();
        let mut state = self.state.borrow_mut();
        let phase = state.phase();
        let active = match phase {
            Phase::Created => false,
            Phase::Active => true,
            Phase::Expiring => panic!("aioloop: cannot reschedule a timeout scope that is expiring"),
            Phase::Expired | Phase::Finished => {
                panic!(
                    "aioloop: cannot reschedule a timeout scope that has {}",
                    phase.name()
                )
            }
        };
        let (old, wake) = match (when, state.sleep.as_mut()) {
            (None, _) => (state.sleep.take(), None),
            (Some(when), Some(sleep)) => {
                sleep.reset(when);
                (None, None)
            }
            // A new timer: the run sets it at its next poll.
            (Some(when), None) => {
                state.sleep = Some(sleep_until(when));
                (None, state.waker.clone().filter(|_| active))
            }
        };
        drop(state);
        drop(old);
        if let Some(waker) = wake {
            waker.wake();
        }
    }

    /// True once the deadline has passed while the scope ran: asyncio's `Timeout.expired()`.
    /// It stays true after the run, also when the scope's future was dropped by an outer
    /// scope that expired at the same time.
    pub fn expired(&self) -> bool {
        matches!(self.state.borrow().phase(), Phase::Expiring | Phase::Expired)
    }

    /// Runs `future` inside the scope, as `async with asyncio.timeout(d):`. Gives `Ok(output)`
    /// if it finishes before the deadline; otherwise the future is dropped as a cancellation
    /// (a [`Task`](crate::Task) or [`Future`](crate::Future) it awaits is cancelled) and
    /// `Err(TimeoutError)` comes once the tasks so cancelled have finished, as with
    /// [`wait_for`](crate::wait_for). Unlike `wait_for` with a zero timeout, the future always
    /// starts: a deadline already past expires at its first suspension (asyncio's
    /// `timeout(0)`).
    ///
    /// # Panics
    /// If the scope has run (or is running) already: asyncio's "has already been entered".
    /// The run panics at its first poll if no loop is running there.
    #[track_caller]
    pub fn run<F: IntoFuture>(&self, future: F) -> TimeoutScopeRun<F::IntoFuture> {
        let mut state = self.state.borrow_mut();
        assert!(
            state.phase == Phase::Created,
            "aioloop: this timeout scope has already been entered (run)"
        );
        state.phase = Phase::Active;
        drop(state);
        let timer = ScopeTimer(self.state.clone());
        TimeoutScopeRun {
            inner: Bounded::new(future.into_future(), timer, false),
        }
    }
}

impl fmt::Debug for TimeoutScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutScope")
            .field("state", &self.state.borrow().phase().name())
            .field("when", &self.when())
            .finish()
    }
}

/// The scope's deadline as the run sees it; dropped with the run, it ends the scope.
struct ScopeTimer(Rc<RefCell<ScopeState>>);

impl ScopeTimer {
    fn end(&self) {
        let waker = self.0.borrow_mut().end();
        drop(waker);
    }
}

impl Expiry for ScopeTimer {
    fn start(&mut self) {
        if let Some(sleep) = &mut self.0.borrow_mut().sleep {
            sleep.bind();
        }
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.0.borrow_mut();
        let old = match &state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => None,
            _ => state.waker.replace(cx.waker().clone()),
        };
        let fired = match &mut state.sleep {
            Some(sleep) => Pin::new(sleep).poll(cx).is_ready(),
            None => false,
        };
        if fired {
            state.phase = Phase::Expiring;
        }
        drop(state);
        drop(old);
        match fired {
            true => Poll::Ready(()),
            false => Poll::Pending,
        }
    }
}

impl Drop for ScopeTimer {
    fn drop(&mut self) {
        self.end();
    }
}

pin_project! {
    /// The future of [`TimeoutScope::run`]: `Ok(output)`, or `Err(TimeoutError)` if the
    /// scope's deadline passed first.
    #[must_use = "futures do nothing unless awaited"]
    pub struct TimeoutScopeRun<F> {
        #[pin]
        inner: Bounded<F, ScopeTimer>,
    }
}

impl<F: Future> Future for TimeoutScopeRun<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut inner = self.project().inner;
        let output = std::task::ready!(inner.as_mut().poll(cx));
        inner.expiry().end();
        Poll::Ready(output)
    }
}

impl<F> fmt::Debug for TimeoutScopeRun<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutScopeRun")
            .field(
                "scope",
                &TimeoutScope {
                    state: self.inner.expiry().0.clone(),
                },
            )
            .field("running", &self.inner.is_running())
            .finish()
    }
}
