//! [`gather`] and [`try_gather`]: many futures of one type, run concurrently, outputs in
//! argument order.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::child::ChildSet;
use crate::task::cancel_scope::detaching_seen;
use crate::task::claim_current;

/// Runs every future of `futures` concurrently and returns their outputs in argument order,
/// whatever order they finish in: asyncio's `gather(*aws)`. For futures of different types use
/// [`gather!`](crate::gather!).
///
/// The futures run inside the task that awaits the gather (they are not spawned), each polled
/// only when its own waker fires: a wake costs O(1), however many futures there are.
///
/// - **Cancellation.** Dropping the gather (for instance because the task awaiting it was
///   cancelled) drops every future still running: their destructors run, they never resume.
///   A [`Task`](crate::Task) given as a child is cancelled when the gather is dropped as a
///   cancellation (its awaiting task was cancelled, a [`wait_for`](crate::wait_for) around it
///   timed out), as asyncio's cancellation travels through the gather to its children;
///   dropped in ordinary code, the gather detaches it (it keeps running).
/// - **Errors.** Tasks resolve to `Result<T, TaskError>`, so a gather of tasks has asyncio's
///   `return_exceptions=True` shape: every slot holds its own outcome. To stop at the first
///   `Err`, use [`try_gather`].
/// - **Panics.** A child's panic unwinds through the gather into the awaiting task (and the
///   other children are dropped with it); spawn the child as a task to catch it as
///   [`TaskError::Panicked`](crate::TaskError::Panicked).
///
/// ```
/// use std::time::Duration;
///
/// async fn work(id: u64, ms: u64) -> u64 {
///     aioloop::sleep(Duration::from_millis(ms)).await;
///     id
/// }
///
/// let ids = aioloop::run(async {
///     // The last one finishes first; the outputs still come in argument order.
///     aioloop::gather([work(1, 3), work(2, 2), work(3, 1)]).await
/// });
/// assert_eq!(ids, [1, 2, 3]);
///
/// // A gather of tasks: each slot is that task's outcome.
/// let outcomes = aioloop::run(async {
///     let ok = aioloop::spawn(async { 1 });
///     let boom = aioloop::spawn(async { panic!("boom") });
///     aioloop::gather([ok, boom]).await
/// });
/// assert_eq!(*outcomes[0].as_ref().unwrap(), 1);
/// assert!(outcomes[1].as_ref().unwrap_err().is_panic());
/// ```
pub fn gather<I>(futures: I) -> Gather<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    Gather {
        set: ChildSet::new(futures),
        finished: false,
    }
}

/// Like [`gather`] for futures that return `Result<T, E>`: `Ok` with every output in argument
/// order, or the first `Err` as soon as it happens. The other futures are then dropped at once
/// (cancelled, their destructors run). For futures of different types use
/// [`try_gather!`](crate::try_gather!).
///
/// asyncio's `gather(*aws)` with `return_exceptions=False`, except that asyncio leaves the
/// other awaitables running; here they are owned by the gather and dropped with it. Tasks
/// given as children are detached, not cancelled: they run on, and a panic they end with
/// later counts as seen (it is not reported to the exception handler), as asyncio's gather
/// marks the later exceptions of its children retrieved.
///
/// ```
/// async fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
///     aioloop::yield_now().await;
///     text.parse()
/// }
///
/// let all = aioloop::run(aioloop::try_gather(["1", "2", "3"].map(parse)));
/// assert_eq!(all, Ok(vec![1, 2, 3]));
/// let first_error = aioloop::run(aioloop::try_gather(["1", "x", "3"].map(parse)));
/// assert!(first_error.is_err());
/// ```
pub fn try_gather<I, T, E>(futures: I) -> TryGather<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
{
    TryGather {
        set: ChildSet::new(futures),
        finished: false,
    }
}

/// The future of [`gather`].
#[must_use = "futures do nothing unless awaited"]
pub struct Gather<F: Future> {
    set: ChildSet<F>,
    finished: bool,
}

impl<F: Future> Future for Gather<F> {
    type Output = Vec<F::Output>;

    #[inline(never)] // one address, for `Scheduler::claim`
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<F::Output>> {
        let this = self.get_mut();
        claim_current(this);
        assert!(!this.finished, "aioloop: a gather was polled after it completed");
        let _ = this.set.poll_woken(cx, |_, _| ControlFlow::Continue(()));
        if this.set.pending > 0 {
            return Poll::Pending;
        }
        this.finished = true;
        Poll::Ready(this.set.take_all())
    }
}

impl<F: Future> fmt::Debug for Gather<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("children", &self.set.len())
            .field("running", &self.set.pending)
            .finish()
    }
}

/// The future of [`try_gather`].
#[must_use = "futures do nothing unless awaited"]
pub struct TryGather<F: Future> {
    set: ChildSet<F>,
    finished: bool,
}

impl<F, T, E> Future for TryGather<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    #[inline(never)] // one address, for `Scheduler::claim`
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        claim_current(this);
        assert!(
            !this.finished,
            "aioloop: a try_gather was polled after it completed"
        );
        let mut error = None;
        let _ = this.set.poll_woken(cx, |children, index| {
            if let Some(Err(_)) = children[index].output() {
                if let Err(e) = ChildSet::take_output(children, index) {
                    error = Some(e);
                }
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        if let Some(error) = error {
            this.finished = true;
            // The task children run on; their later panics count as seen (asyncio's gather
            // marks its children's exceptions retrieved once it has failed).
            detaching_seen(|| this.set.clear());
            return Poll::Ready(Err(error));
        }
        if this.set.pending > 0 {
            return Poll::Pending;
        }
        this.finished = true;
        let outputs = this.set.take_all().into_iter().map(|output| match output {
            Ok(value) => value,
            Err(_) => unreachable!("an Err output ends the try_gather at once"),
        });
        Poll::Ready(Ok(outputs.collect()))
    }
}

impl<F: Future> fmt::Debug for TryGather<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGather")
            .field("children", &self.set.len())
            .field("running", &self.set.pending)
            .finish()
    }
}
