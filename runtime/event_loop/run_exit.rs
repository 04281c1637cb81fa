//! What [`run`](crate::run) does after its main future, before the loop closes, as
//! `asyncio.run` does: cancel the tasks left over and let their async cleanup run
//! (`_cancel_all_tasks`), then wait for the blocking closures still running
//! (`shutdown_default_executor`).

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Poll, Waker};
use std::time::Duration;

use super::EventLoop;

/// How long `run` waits for the blocking pool's closures before it closes the loop without
/// them: asyncio's `THREAD_JOIN_TIMEOUT` (300 s).
const THREAD_JOIN_TIMEOUT: Duration = Duration::from_secs(300);

impl EventLoop {
    /// asyncio.run's `_cancel_all_tasks`: cancels every task still pending and runs the loop
    /// until they have finished, so that a task observing its cancellation (with
    /// [`until_cancelled`](crate::until_cancelled), asyncio's `except CancelledError:`) runs its
    /// async cleanup before the loop closes. A task that does not observe it is dropped at the
    /// next iteration, as it would be at close. A panic in a cleanup goes to the exception
    /// handler, as asyncio reports an exception raised during `asyncio.run()` shutdown.
    pub(crate) fn cancel_all_tasks(&self) {
        let mut pending = self.handle.core.sched().all_task_refs();
        if pending.is_empty() {
            return;
        }
        for task in &pending {
            task.cancel();
        }
        self.run_until_complete(std::future::poll_fn(move |cx| {
            pending.retain(|task| task.poll_finished(cx).is_pending());
            match pending.is_empty() {
                true => Poll::Ready(()),
                false => Poll::Pending,
            }
        }));
    }

    /// asyncio.run's `shutdown_default_executor`: runs the loop until no closure is queued or
    /// running on the blocking pool (`to_thread`, `run_in_executor`, name look-ups, `fs`), so
    /// `run` returns only once they have returned, for at most [`THREAD_JOIN_TIMEOUT`]; past
    /// it the exception handler is told and `run` goes on, as asyncio warns and goes on. The
    /// loop runs meanwhile (a closure may still call into it); a thread of its own waits on
    /// the pool (a job on the pool would keep it busy itself). Closing the loop on its own does not
    /// wait (asyncio's `loop.close()` neither).
    pub(crate) fn shutdown_default_executor(&self) {
        let core = &self.handle.core;
        if core.blocking_pool().is_dry() {
            return;
        }
        let wait = core.blocking_pool().idle_waiter(THREAD_JOIN_TIMEOUT);
        // The joiner's answer (`Some(joined in time)`) and the waker of the loop's main future
        // waiting for it. (Not threadsafe's outcome cell: this module sits below threadsafe.)
        let joined: Arc<Mutex<(Option<bool>, Option<Waker>)>> = Arc::default();
        let answer = joined.clone();
        let joiner = std::thread::Builder::new()
            .name("aioloop-executor-join".into())
            .spawn(move || {
                let in_time = wait();
                let mut answer = answer.lock().unwrap_or_else(PoisonError::into_inner);
                answer.0 = Some(in_time);
                let waker = answer.1.take();
                drop(answer);
                if let Some(waker) = waker {
                    waker.wake();
                }
            });
        if joiner.is_err() {
            return; // no thread to wait with: close without waiting, as before
        }
        let in_time = self.run_until_complete(std::future::poll_fn(move |cx| {
            let mut joined = joined.lock().unwrap_or_else(PoisonError::into_inner);
            match joined.0 {
                Some(in_time) => Poll::Ready(in_time),
                None => {
                    joined.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        }));
        if !in_time {
            core.report(
                "The executor did not finish joining its threads within 300 seconds",
                None,
                None,
            );
        }
    }
}
