//! Task-local values: tokio's `task_local!`, a value scoped to one future.
//!
//! [`LocalKey::scope`] wraps a future in a [`TaskLocalFuture`] that holds the value and moves it
//! into a thread-local for the duration of each poll of the inner future (and of its drop),
//! then back out: the value is visible to the future and everything it polls, and to nothing
//! else running on the loop between its polls. No runtime support is involved, so it works the
//! same in a spawned task, in the main future, or in a `gather` child polled in place. For
//! asyncio's model (every task inherits a copy of its creator's values, which it may `set`),
//! see [`ContextVar`](crate::ContextVar).
//!
//! The swap is two moves of an `Option<T>` around each poll; the thread-local is a
//! `RefCell<Option<T>>` that is only ever borrowed inside this module's functions, never while
//! user code runs, except the shared borrow of [`LocalKey::with`] (a nested `scope` of the same
//! key inside `with`'s closure panics, as tokio's does).

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// Declares task-local keys: tokio's `task_local!`.
///
/// Each `static NAME: T;` becomes a [`LocalKey<T>`]; a value is given to it for the duration of
/// a future with [`LocalKey::scope`] (or of a closure with [`LocalKey::sync_scope`]).
///
/// ```
/// aioloop::task_local! {
///     static REQUEST_ID: u32;
///     pub static USER: String;
/// }
///
/// aioloop::run(async {
///     let task = aioloop::spawn(REQUEST_ID.scope(7, async {
///         aioloop::yield_now().await;
///         REQUEST_ID.get()
///     }));
///     assert_eq!(task.await.unwrap(), 7);
///     assert!(REQUEST_ID.try_get().is_err(), "not set outside the scope");
///     USER.scope("ada".to_string(), async { USER.with(|user| assert_eq!(user, "ada")) }).await;
/// });
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_key {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::LocalKey<$t> = {
            ::std::thread_local! {
                static __AIOLOOP_TASK_LOCAL: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::LocalKey::__new(__AIOLOOP_TASK_LOCAL)
        };
    };
}

/// A key for task-local values, declared with [`task_local!`]: tokio's `task::LocalKey`.
///
/// The value is set for a future with [`scope`](LocalKey::scope) and read inside it with
/// [`with`](LocalKey::with), [`try_with`](LocalKey::try_with), [`get`](LocalKey::get) or
/// [`try_get`](LocalKey::try_get). Scopes of one key nest: the inner value hides the outer one.
pub struct LocalKey<T: 'static> {
    inner: std::thread::LocalKey<RefCell<Option<T>>>,
}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn __new(inner: std::thread::LocalKey<RefCell<Option<T>>>) -> Self {
        LocalKey { inner }
    }

    /// Runs `future` with the key set to `value`: the value is current during each poll of the
    /// future (and while it is dropped), and only then.
    ///
    /// ```
    /// aioloop::task_local! { static DEPTH: u32; }
    /// aioloop::run(DEPTH.scope(1, async {
    ///     assert_eq!(DEPTH.get(), 1);
    ///     DEPTH.scope(2, async { assert_eq!(DEPTH.get(), 2) }).await;
    ///     assert_eq!(DEPTH.get(), 1);
    /// }));
    /// ```
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            slot: Some(value),
            future: Some(future),
            _pinned: PhantomPinned,
        }
    }

    /// Runs `f` with the key set to `value`, and returns its output.
    ///
    /// # Panics
    /// If called inside [`with`](LocalKey::with)'s closure of the same key.
    ///
    /// ```
    /// aioloop::task_local! { static NAME: &'static str; }
    /// assert_eq!(NAME.sync_scope("x", || NAME.get()), "x");
    /// ```
    #[track_caller]
    pub fn sync_scope<F: FnOnce() -> R, R>(&'static self, value: T, f: F) -> R {
        let mut slot = Some(value);
        match self.scoped(&mut slot, f) {
            Ok(output) => output,
            Err(error) => error.panic(),
        }
    }

    /// Swaps `slot` into the thread-local for the duration of `f`, even if `f` panics.
    fn scoped<F: FnOnce() -> R, R>(&'static self, slot: &mut Option<T>, f: F) -> Result<R, ScopeError> {
        struct SwapBack<'a, T: 'static> {
            key: &'static LocalKey<T>,
            slot: &'a mut Option<T>,
        }
        impl<T: 'static> Drop for SwapBack<'_, T> {
            fn drop(&mut self) {
                // The swap in succeeded, so the thread-local is alive; no borrow of it is held
                // now (`with`'s borrows end with their closures).
                self.key
                    .inner
                    .with(|cell| std::mem::swap(self.slot, &mut *cell.borrow_mut()));
            }
        }
        self.inner
            .try_with(|cell| {
                cell.try_borrow_mut()
                    .map(|mut current| std::mem::swap(slot, &mut *current))
                    .map_err(|_| ScopeError::Borrowed)
            })
            .map_err(|_| ScopeError::Destroyed)??;
        let _back = SwapBack { key: self, slot };
        Ok(f())
    }

    /// Calls `f` with a reference to the current value.
    ///
    /// # Panics
    /// Outside a scope of this key ("cannot access a task-local storage value without setting
    /// it first", tokio's message).
    #[track_caller]
    pub fn with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> R {
        match self.try_with(f) {
            Ok(output) => output,
            Err(_) => panic!("cannot access a task-local storage value without setting it first"),
        }
    }

    /// Calls `f` with a reference to the current value, or returns [`AccessError`] outside a
    /// scope of this key.
    ///
    /// ```
    /// aioloop::task_local! { static KEY: u8; }
    /// assert!(KEY.try_with(|_| ()).is_err());
    /// assert_eq!(KEY.sync_scope(3, || KEY.try_with(|v| *v)), Ok(3));
    /// ```
    pub fn try_with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> Result<R, AccessError> {
        match self.inner.try_with(|cell| cell.borrow().as_ref().map(f)) {
            Ok(Some(output)) => Ok(output),
            Ok(None) | Err(_) => Err(AccessError { _private: () }),
        }
    }
}

impl<T: Clone + 'static> LocalKey<T> {
    /// A clone of the current value.
    ///
    /// # Panics
    /// Outside a scope of this key, as [`with`](LocalKey::with).
    #[track_caller]
    pub fn get(&'static self) -> T {
        self.with(T::clone)
    }

    /// A clone of the current value, or [`AccessError`] outside a scope of this key.
    pub fn try_get(&'static self) -> Result<T, AccessError> {
        self.try_with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("LocalKey { .. }")
    }
}

pin_project! {
    /// The future of [`LocalKey::scope`]: runs the inner future with the key set.
    ///
    /// The inner future is also dropped with the key set (when the scope future is dropped
    /// before it finished, say its task was cancelled, or right when it finishes).
    pub struct TaskLocalFuture<T: 'static, F> {
        key: &'static LocalKey<T>,
        slot: Option<T>,
        #[pin]
        future: Option<F>,
        #[pin]
        _pinned: PhantomPinned,
    }

    impl<T: 'static, F> PinnedDrop for TaskLocalFuture<T, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if std::mem::needs_drop::<F>() && this.future.is_some() {
                let mut future = this.future;
                // If the key cannot be set (its thread-local is gone), the future is dropped
                // with its field, without it.
                let _ = this.key.scoped(this.slot, || future.set(None));
            }
        }
    }
}

impl<T: 'static, F> TaskLocalFuture<T, F> {
    /// Takes the value out of the scope: later polls of the inner future run without it.
    /// `None` if it was taken already.
    pub fn take_value(self: Pin<&mut Self>) -> Option<T> {
        self.project().slot.take()
    }
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let mut future = this.future;
        let polled = this.key.scoped(this.slot, || {
            let inner = future.as_mut().as_pin_mut()?;
            let polled = inner.poll(cx);
            if polled.is_ready() {
                // Dropped now, with the key still set.
                future.set(None);
            }
            Some(polled)
        });
        match polled {
            Ok(Some(polled)) => polled,
            Ok(None) => panic!("`TaskLocalFuture` polled after completion"),
            Err(error) => error.panic(),
        }
    }
}

impl<T: fmt::Debug + 'static, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture")
            .field("value", &self.slot)
            .finish()
    }
}

/// A task-local key read outside a scope of it: tokio's `task::AccessError`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError {
    _private: (),
}

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessError").finish()
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set")
    }
}

impl Error for AccessError {}

/// Why a scope could not be entered.
enum ScopeError {
    /// Inside `with`'s closure of the same key.
    Borrowed,
    /// The thread-local is being destroyed (thread exit).
    Destroyed,
}

impl ScopeError {
    #[track_caller]
    fn panic(self) -> ! {
        match self {
            ScopeError::Borrowed => {
                panic!("cannot enter a task-local scope while the task-local storage is borrowed")
            }
            ScopeError::Destroyed => panic!(
                "cannot enter a task-local scope during or after destruction of the underlying thread-local"
            ),
        }
    }
}
