//! [`LoopBound<T>`]: a value that is not `Send` (an [`aioloop::Future`](crate::Future), an `Rc`,
//! a task's future) travelling through other threads and back to its loop, touched only on the
//! loop's thread.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::{self, Thread};

use crate::context;
use crate::remote::RemoteMsg;
use crate::threadsafe::LoopHandle;

/// A value that need not be `Send`, wrapped so that it can travel through other threads and be
/// used again when it comes back to the thread of the loop it was made on.
///
/// This is how a thread resolves an [`aioloop::Future`](crate::Future) (which is not `Send`)
/// through [`run_coroutine_threadsafe`](crate::run_coroutine_threadsafe), as asyncio programs do
/// with `run_coroutine_threadsafe(set_it(fut), loop)`: wrap the future in a `LoopBound`, move
/// it into the thread, and unwrap it in the coroutine, which runs on the loop.
///
/// Every access checks the thread: [`get`](LoopBound::get), [`get_mut`](LoopBound::get_mut),
/// [`into_inner`](LoopBound::into_inner) and a poll panic anywhere but on the loop's thread, so
/// the value is never touched elsewhere. Dropped on another thread, the value is sent back to
/// its loop and dropped there; if that loop is closed it is leaked instead (never dropped on the
/// wrong thread). The value lives in a box of its own, so sending it home moves only the box:
/// a future that was pinned and polled never moves.
///
/// A `LoopBound` of a future is a future, and it is `Send` (and `Sync`) whatever it wraps:
/// this is how an aioloop coroutine (which awaits `!Send` things: [`sleep`](crate::sleep), a
/// [`Queue`](crate::sync::Queue), a socket) is handed to a framework that demands `Send`
/// futures, such as axum (see "Using aioloop with axum" in the guide). The framework may move
/// it between threads; it must poll it on the loop's thread, which it does when it runs on
/// aioloop (hyper driven by an aioloop task). A poll elsewhere panics, naming the thread and the
/// loop.
///
/// ```
/// use std::time::Duration;
///
/// aioloop::run(async {
///     let fut = aioloop::Future::<u32>::new();
///     let bound = aioloop::LoopBound::new(fut.clone());
///     let handle = aioloop::get_running_loop().handle();
///     std::thread::spawn(move || {
///         std::thread::sleep(Duration::from_millis(10)); // some blocking work
///         // The coroutine runs on the loop, where the Future may be touched.
///         handle.run_future_threadsafe(async move { bound.into_inner().set_result(42) });
///     });
///     assert_eq!(fut.await.unwrap(), 42);
/// });
/// ```
///
/// A coroutine made `Send`, awaited where `Send` is demanded:
///
/// ```
/// use std::time::Duration;
///
/// fn demands_send<F: std::future::Future + Send>(fut: F) -> F {
///     fut
/// }
///
/// aioloop::run(async {
///     let rc = std::rc::Rc::new(5); // not Send
///     let fut = demands_send(aioloop::LoopBound::new(async move {
///         aioloop::sleep(Duration::from_millis(1)).await;
///         *rc * 2
///     }));
///     assert_eq!(fut.await, 10);
/// });
/// ```
pub struct LoopBound<T: 'static> {
    /// `None` only after `into_inner` took it. Boxed so that sending it home never moves a
    /// pinned future.
    value: Option<Box<T>>,
    /// The loop's thread.
    home: Thread,
    /// The loop's id, for panic messages.
    loop_id: u16,
    handle: LoopHandle,
    /// `LoopBound<T>` is `Unpin` exactly when `T` is: a pinned future inside may not be moved
    /// out by `into_inner`.
    _pin: PhantomData<T>,
}

// SAFETY: the value is only ever touched on the thread `home`: `get`, `get_mut`, `into_inner`
// and `poll` check the thread and panic elsewhere, and `Drop` off that thread does not drop
// the value but sends it to the loop, whose remote queue runs or drops its messages only on
// the loop's thread, which is `home` (the loop was running on `home` when the value was
// wrapped, and loops never change threads), or else leaks it (see `remote.rs`, R2).
unsafe impl<T: 'static> Send for LoopBound<T> {}

// SAFETY: a shared `&LoopBound` reaches the value only through `get`, which checks the thread
// and panics away from `home`; everything else it offers (`is_home`, `loop_handle`, `Debug`)
// reads only the thread, the loop id and the `LoopHandle`, which are `Sync`. So the value is
// only ever shared on `home`, where `!Sync` is no concern (one thread).
unsafe impl<T: 'static> Sync for LoopBound<T> {}

/// Carries a value home inside a remote job.
struct Homebound<T>(T);

// SAFETY: a `Homebound` is only created inside a job pushed to the remote queue of the loop
// whose thread owns the value; that queue runs or drops it on that thread only, and a job the
// queue refuses is forgotten, not dropped (see `LoopBound`'s `Drop`).
unsafe impl<T> Send for Homebound<T> {}

impl<T: 'static> LoopBound<T> {
    /// Wraps `value`, binding it to the running loop's thread.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn new(value: T) -> Self {
        let core = context::expect_current("LoopBound::new");
        LoopBound {
            value: Some(Box::new(value)),
            home: thread::current(),
            loop_id: core.sched().id(),
            handle: crate::Loop::from_core(core).handle(),
            _pin: PhantomData,
        }
    }

    /// True on the thread of the loop the value belongs to, where it may be used.
    pub fn is_home(&self) -> bool {
        thread::current().id() == self.home.id()
    }

    #[track_caller]
    fn assert_home(&self, what: &str) {
        if !self.is_home() {
            self.away(what);
        }
    }

    /// The panic of an access away from home: names this thread, the loop and its thread.
    #[cold]
    #[track_caller]
    fn away(&self, what: &str) -> ! {
        let here = thread::current();
        panic!(
            "aioloop: LoopBound::{what} called on thread {} ({:?}), but the value belongs to \
             event loop #{} on thread {} ({:?}) and may only be used there (poll it from a \
             task of that loop, or use it in a coroutine sent with run_coroutine_threadsafe)",
            here.name().unwrap_or("<unnamed>"),
            here.id(),
            self.loop_id,
            self.home.name().unwrap_or("<unnamed>"),
            self.home.id(),
        )
    }

    /// The value.
    ///
    /// # Panics
    /// Away from the loop's thread.
    #[track_caller]
    pub fn get(&self) -> &T {
        self.assert_home("get");
        self.value
            .as_deref()
            .expect("the value is there until into_inner")
    }

    /// The value, mutably.
    ///
    /// # Panics
    /// Away from the loop's thread.
    #[track_caller]
    pub fn get_mut(&mut self) -> &mut T {
        self.assert_home("get_mut");
        self.value
            .as_deref_mut()
            .expect("the value is there until into_inner")
    }

    /// Unwraps the value.
    ///
    /// # Panics
    /// Away from the loop's thread.
    #[track_caller]
    pub fn into_inner(mut self) -> T {
        self.assert_home("into_inner");
        *self.value.take().expect("the value is there until into_inner")
    }

    /// Unwraps the value on the loop's thread, or gives the wrapper back elsewhere.
    pub fn try_into_inner(mut self) -> Result<T, Self> {
        if self.is_home() {
            Ok(*self.value.take().expect("the value is there until into_inner"))
        } else {
            Err(self)
        }
    }

    /// A handle to the loop the value belongs to.
    pub fn loop_handle(&self) -> &LoopHandle {
        &self.handle
    }
}

/// Polls the future inside, on the loop's thread.
///
/// # Panics
/// When polled on another thread (the message names it, the loop and the loop's thread).
impl<F: Future + 'static> Future for LoopBound<F> {
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.assert_home("poll");
        // SAFETY: the future lives in its own box, which `LoopBound` never moves it out of
        // while pinned: `into_inner` takes `self` by value, which a pinned `LoopBound` of a
        // `!Unpin` future cannot give (`_pin` makes it `!Unpin` then), and `Drop` moves only
        // the box. So pinning the boxed future is sound.
        let future = unsafe { self.get_unchecked_mut() }
            .value
            .as_deref_mut()
            .expect("a LoopBound future is not polled after into_inner");
        // SAFETY: see above: the boxed future never moves again.
        unsafe { Pin::new_unchecked(future) }.poll(cx)
    }
}

impl<T: 'static> Drop for LoopBound<T> {
    fn drop(&mut self) {
        let Some(value) = self.value.take() else {
            return;
        };
        if self.is_home() {
            drop(value);
            return;
        }
        let parcel = Homebound(value);
        let job = Box::new(move || drop(parcel));
        if let Err(refused) = self.handle.remote().push(RemoteMsg::Call(job)) {
            // The loop is closed: the value may not be dropped here, so it is leaked.
            std::mem::forget(refused);
        }
    }
}

impl<T: 'static> fmt::Debug for LoopBound<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopBound")
            .field("loop", &self.loop_id)
            .field("home", &self.home.id())
            .finish_non_exhaustive()
    }
}
