//! Issue 18 item 2: `LoopBound<F>` of a future is a `Send + Sync` future, polled only on its
//! loop's thread; a poll elsewhere panics naming the thread and the loop, a drop elsewhere
//! sends the future home (its destructors run there, the pinned future never moves).

use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use aioloop::LoopBound;

fn assert_send_sync<T: Send + Sync>(value: T) -> T {
    value
}

#[test]
fn a_coroutine_awaiting_not_send_things_becomes_send() {
    aioloop::run(async {
        let queue = Rc::new(aioloop::sync::Queue::<u32>::new(0));
        let q = queue.clone();
        let producer = assert_send_sync(LoopBound::new(async move {
            aioloop::sleep(Duration::from_millis(1)).await;
            q.put(5).await.unwrap();
            aioloop::to_thread(|| 6).await.unwrap()
        }));
        // A framework may keep it in a `Box<dyn Future + Send>`.
        let boxed: Pin<Box<dyn Future<Output = u32> + Send>> = Box::pin(producer);
        let consumer = aioloop::spawn(async move { queue.get().await.unwrap() });
        assert_eq!(boxed.await, 6);
        assert_eq!(consumer.await.unwrap(), 5);
    });
}

#[test]
fn polled_on_another_thread_it_panics_naming_the_thread_and_the_loop() {
    aioloop::run(async {
        let mut fut = Box::pin(LoopBound::new(async { 1 }));
        let message = thread::Builder::new()
            .name("worker-7".into())
            .spawn(move || {
                let mut cx = Context::from_waker(Waker::noop());
                let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let _ = fut.as_mut().poll(&mut cx);
                }));
                drop(fut); // goes home
                caught.unwrap_err().downcast_ref::<String>().cloned().unwrap()
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(message.contains("LoopBound::poll"), "{message}");
        assert!(message.contains("worker-7"), "{message}");
        assert!(message.contains("event loop #"), "{message}");
        let home = thread::current().name().unwrap().to_string();
        assert!(message.contains(&home), "names the loop's thread: {message}");
    });
}

/// A future that must not move once polled: it records its address at the first poll and
/// checks it at every later poll and when dropped.
struct AddressCheck {
    seen: Cell<usize>,
    dropped_on: Rc<Cell<Option<thread::ThreadId>>>,
    _pin: PhantomPinned,
}

impl Future for AddressCheck {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let here = &*self as *const Self as usize;
        let seen = self.seen.replace(here);
        assert!(seen == 0 || seen == here, "the pinned future moved");
        Poll::Pending
    }
}

impl Drop for AddressCheck {
    fn drop(&mut self) {
        let here = self as *const Self as usize;
        let seen = self.seen.get();
        assert!(
            seen == 0 || seen == here,
            "the pinned future moved before its drop"
        );
        self.dropped_on.set(Some(thread::current().id()));
    }
}

#[test]
fn dropped_on_another_thread_the_pinned_future_goes_home_unmoved() {
    aioloop::run(async {
        let dropped_on = Rc::new(Cell::new(None));
        let mut fut = Box::pin(LoopBound::new(AddressCheck {
            seen: Cell::new(0),
            dropped_on: dropped_on.clone(),
            _pin: PhantomPinned,
        }));
        std::future::poll_fn(|cx| {
            assert!(fut.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        // Move the (pinned) wrapper's box to another thread and drop it there.
        thread::spawn(move || drop(fut)).join().unwrap();
        assert_eq!(dropped_on.get(), None, "not dropped on the other thread");
        for _ in 0..3 {
            aioloop::yield_now().await;
        }
        assert_eq!(dropped_on.get(), Some(thread::current().id()));
    });
}
