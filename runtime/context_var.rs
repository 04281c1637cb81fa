//! Context variables: Python's `contextvars` (PEP 567) as asyncio uses them.
//!
//! A [`Context`] maps [`ContextVar`]s to values. One context is *current* on the thread at a
//! time: every task runs in its own context, a copy of the one current when it was spawned
//! (taken by [`spawn`](crate::spawn), [`TaskGroup`](crate::TaskGroup) and the other ways of
//! making a task), and made current around each of its steps; a callback
//! ([`call_soon`](crate::call_soon), [`call_later`](crate::call_later), done callbacks) runs in
//! a copy of the context current when it was scheduled, as asyncio's `Handle`; the main future
//! of [`run`](crate::run) runs in a copy of the thread's context, so what it sets stays inside
//! the loop, as asyncio's main task. [`ContextVar::set`] writes into the current context only:
//! a task's `set` is never seen by its creator or its siblings, a task spawned after it sees it.
//!
//! **Gathered coroutines share the awaiting task's context.** The coroutines a
//! [`gather`](crate::gather!) (or `wait`, `as_completed`, `select!`) polls in place run inside
//! the awaiting task's step, so a `set` in one is seen by its siblings and by the awaiting task
//! (tokio's `join!` behaves so, and aioloop's in-place children are the awaiting task's steps).
//! asyncio wraps each in a task with its own copy; to get that, spawn them (a [`Task`] given to
//! `gather` keeps its own context) or run each under [`Context::scope`] of a copy.
//!
//! **The cost when unused.** A context is an `Rc` of a copy-on-write map
//! (`Rc<[(var, value)]>`): copying one is a reference-count increment and one small
//! allocation (the copy's identity, which [`Token`]s check); a `set` in a shared map copies
//! the map's (few) entries. Until some context becomes current on the thread, none is:
//! spawns take none (the task has no side-table entry for it, its cell is as without
//! contexts) and a step only reads one flag after the poll, to adopt the context
//! the step may have created with a first `set` (a field the loop mirrors it in, C2);
//! callbacks are not wrapped (one flag read).
//!
//! **C1.** The thread-local flag `USED` turns true when the thread makes its first context and
//! stays true. While it is false no context exists on the thread, so `CURRENT` and every task's
//! and callback's slot are empty: [`enter`] then runs its closure as it is (one flag read) and
//! reads the flag again afterwards, to adopt a first context the closure made current (a first
//! `set`); spawns read the flag and take nothing. Once it is true, every [`enter`] swaps its
//! slot's context in and puts the outer one back when it ends, also when it unwinds (`Swap`).
//! A closure that unwinds in the one step that made the thread's first context leaves that
//! context current; the loop puts the context it started with back when its run ends
//! ([`LoopContextGuard`]), and meanwhile every step and callback swaps its own in. (No `unsafe`
//! relies on C1; the fast paths do.)
//!
//! **C2.** While a loop runs, no context is current between its task steps, callbacks and polls
//! of the main future ([`LoopContextGuard`] takes the thread's out for the run): a task with a
//! context (its `TaskMeta`'s, flagged `has_context` in its slot, task/harness.rs) and the main
//! future swap theirs in with [`enter`], and a callback its bound copy or none; a task without
//! one runs as it is, in none. A context left current after a step (a first `set` in a task
//! without one) becomes that task's (`Scheduler::run_task`); a context an unbound callback
//! left is dropped. The loop's scheduler mirrors `USED` (set when a run begins, and by the
//! thread's first context while one runs), so while the thread never made a context, a step
//! of a task without one costs one read of that field.
//!
//! [`Task`]: crate::Task

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

thread_local! {
    /// True once the thread made a context (C1): the one read on the hot paths.
    static USED: Cell<bool> = const { Cell::new(false) };
    /// The current context; `None` is the empty context nobody made yet.
    static CURRENT: Cell<Option<Context>> = const { Cell::new(None) };
    /// Set by [`Context::spawn`] around its spawn: the task takes the context itself, not a copy.
    static SPAWN_SHARED: Cell<bool> = const { Cell::new(false) };
    /// The running loop's mirror of `USED` (C2), told when the thread makes its first context.
    static RUNNING: RefCell<Option<Rc<dyn UsedMirror>>> = const { RefCell::new(None) };
}

/// One variable's value in a context.
type Entry = (u64, Rc<dyn Any>);

/// A mapping of context variables to values: Python's `contextvars.Context`.
///
/// Clones of a `Context` are the same context (as Python's references to one object): a `set`
/// run in one is seen through all. [`copy_context`] and [`Context::copy`] make a new context
/// with the same values, which then change apart.
///
/// ```
/// use aioloop::{copy_context, ContextVar};
///
/// let user: ContextVar<&str> = ContextVar::new("user");
/// user.set("ada");
/// let ctx = copy_context();
/// ctx.run(|| {
///     assert_eq!(user.get(), Some("ada"));
///     user.set("grace");
/// });
/// assert_eq!(user.get(), Some("ada"), "the copy changed, not the current context");
/// assert_eq!(ctx.get(&user), Some("grace"));
/// ```
#[derive(Clone)]
pub struct Context(Rc<ContextInner>);

struct ContextInner {
    /// The values, shared with the copies until one of them changes (copy-on-write).
    entries: RefCell<Rc<[Entry]>>,
    /// True while the context is current somewhere on the thread's stack (entered twice is an
    /// error, as Python's `RuntimeError`).
    entered: Cell<bool>,
}

impl Context {
    /// A new empty context: Python's `contextvars.Context()`.
    pub fn new() -> Self {
        Self::with_entries(Rc::from(Vec::new()))
    }

    fn with_entries(entries: Rc<[Entry]>) -> Self {
        if !USED.with(|used| used.replace(true)) {
            first_context();
        }
        Context(Rc::new(ContextInner {
            entries: RefCell::new(entries),
            entered: Cell::new(false),
        }))
    }

    /// A new context with this one's values (a reference-count increment): `Context.copy()`.
    pub fn copy(&self) -> Self {
        Self::with_entries(self.0.entries.borrow().clone())
    }

    /// Runs `f` with this context current, then makes the previous one current again (also
    /// if `f` panics): `Context.run`. What `f` sets with [`ContextVar::set`] stays in this
    /// context.
    ///
    /// # Panics
    /// If this context is current already (entered by an enclosing `run`, or it is the
    /// context of the running task), as Python raises `RuntimeError` ("is already entered").
    ///
    /// ```
    /// use aioloop::{Context, ContextVar};
    /// let var: ContextVar<u32> = ContextVar::new("var");
    /// let ctx = Context::new();
    /// ctx.run(|| var.set(1));
    /// assert_eq!(var.get(), None);
    /// assert_eq!(ctx.run(|| var.get()), Some(1));
    /// ```
    #[track_caller]
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let mut slot = Some(self.clone());
        enter(&mut slot, f)
    }

    /// Wraps `future` so that each of its polls (and its drop) runs with this context current:
    /// a future's [`run`](Context::run). Sets inside it stay in this context.
    pub fn scope<F: std::future::Future>(&self, future: F) -> ContextScope<F> {
        ContextScope {
            context: Some(self.clone()),
            future: Some(Box::pin(future)),
        }
    }

    /// Runs `spawn` (which spawns one task) so that the task takes this context itself, not a
    /// copy, for [`Context::spawn`] (runtime/context.rs, beside `spawn`).
    pub(crate) fn spawn_shared<R>(&self, spawn: impl FnOnce() -> R) -> R {
        struct Reset(bool);
        impl Drop for Reset {
            fn drop(&mut self) {
                SPAWN_SHARED.with(|shared| shared.set(self.0));
            }
        }
        let spawn = || {
            let _reset = Reset(SPAWN_SHARED.with(|shared| shared.replace(true)));
            spawn()
        };
        if self.is_current() {
            spawn()
        } else {
            self.run(spawn)
        }
    }

    /// The value of `var` in this context, without its default: `ctx.get(var)`.
    pub fn get<T: Clone + 'static>(&self, var: &ContextVar<T>) -> Option<T> {
        self.lookup(var.id())
            .and_then(|value| value.downcast_ref::<T>().cloned())
    }

    /// True if `var` has a value in this context: `var in ctx`.
    pub fn contains<T: 'static>(&self, var: &ContextVar<T>) -> bool {
        self.lookup(var.id()).is_some()
    }

    /// How many variables have a value in this context: `len(ctx)`.
    pub fn len(&self) -> usize {
        self.0.entries.borrow().len()
    }

    /// True if no variable has a value in this context.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lookup(&self, id: u64) -> Option<Rc<dyn Any>> {
        let entries = self.0.entries.borrow();
        entries
            .iter()
            .find(|(key, _)| *key == id)
            .map(|(_, value)| value.clone())
    }

    /// Sets (or with `None` removes) the value of variable `id`; returns the old one.
    fn store(&self, id: u64, value: Option<Rc<dyn Any>>) -> Option<Rc<dyn Any>> {
        let mut entries = self.0.entries.borrow_mut();
        let mut list: Vec<Entry> = entries.to_vec();
        let at = list.iter().position(|(key, _)| *key == id);
        let old = match (at, value) {
            (Some(at), Some(value)) => Some(std::mem::replace(&mut list[at].1, value)),
            (Some(at), None) => Some(list.remove(at).1),
            (None, Some(value)) => {
                list.push((id, value));
                None
            }
            (None, None) => None,
        };
        *entries = Rc::from(list);
        old
    }

    /// True if this context is the current one.
    fn is_current(&self) -> bool {
        CURRENT.with(|current| {
            let context = current.take();
            let same = context.as_ref().is_some_and(|context| context.same(self));
            current.set(context);
            same
        })
    }

    fn same(&self, other: &Context) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Default for Context {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for Context {
    /// The same context (not equal values), as Python compares contexts by identity in tasks.
    fn eq(&self, other: &Self) -> bool {
        self.same(other)
    }
}

impl Eq for Context {}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context").field("len", &self.len()).finish()
    }
}

/// A copy of the current context: Python's `contextvars.copy_context()`.
pub fn copy_context() -> Context {
    CURRENT.with(|current| {
        let context = current.take();
        let copy = context.as_ref().map_or_else(Context::new, Context::copy);
        current.set(context);
        copy
    })
}

/// The current context, made (empty) and made current if there is none yet (C1): for
/// `get_context` on the task whose step runs, whose context is the current one.
pub(crate) fn current_context() -> Context {
    current()
}

/// The current context, made (empty) and made current if there is none yet (C1).
fn current() -> Context {
    CURRENT.with(|current| {
        let context = current.take().unwrap_or_default();
        current.set(Some(context.clone()));
        context
    })
}

/// The context a new task takes: none while the thread never made one (the fast path, C1) or
/// none is current, else a copy of the current one (the current one itself under
/// [`Context::spawn`]).
#[inline(always)]
pub(crate) fn capture() -> Option<Context> {
    if !used() {
        return None;
    }
    capture_slow()
}

#[inline(never)]
#[cold]
fn capture_slow() -> Option<Context> {
    if SPAWN_SHARED.with(|shared| shared.replace(false)) {
        return Some(current());
    }
    CURRENT.with(|current| {
        let context = current.take();
        let copy = context.as_ref().map(Context::copy);
        current.set(context);
        copy
    })
}

/// Binds a callback to a copy of the current context (asyncio's `Handle` and done callbacks):
/// any [`Callback`], a `Box<dyn FnOnce()>` or a done callback's `Box<dyn FnOnce(&A)>`.
/// Returned unchanged while no context is current (then it runs in an empty one, [`enter`]
/// with `None`): one flag read, no allocation, while the thread never made a context (C1).
#[inline]
pub(crate) fn bind<C: Callback>(callback: C) -> C {
    if !used() {
        return callback;
    }
    bind_slow(callback)
}

#[inline(never)]
#[cold]
fn bind_slow<C: Callback>(callback: C) -> C {
    match capture_slow() {
        None => callback,
        Some(context) => callback.in_context(context),
    }
}

/// A boxed callback [`bind`] ties to a context: the one thing its shapes do apart is how a
/// call is passed through [`enter`].
pub(crate) trait Callback {
    /// This callback, called inside [`enter`] with `context`.
    fn in_context(self, context: Context) -> Self;
}

impl Callback for Box<dyn FnOnce()> {
    fn in_context(self, context: Context) -> Self {
        let mut slot = Some(context);
        Box::new(move || enter(&mut slot, self))
    }
}

/// A done callback, which takes the finished future (or task).
impl<A: ?Sized + 'static> Callback for Box<dyn FnOnce(&A)> {
    fn in_context(self, context: Context) -> Self {
        let mut slot = Some(context);
        Box::new(move |arg: &A| enter(&mut slot, || self(arg)))
    }
}

/// Runs `f` with `slot`'s context current (an empty one if `None`), then stores the context
/// that was current at the end back in `slot` (a context made by a first `set` inside `f`) and
/// makes the outer one current again, also if `f` unwinds (C1).
///
/// While the thread never made a context (C1), this is `f` plus a read of `USED` before and
/// after.
#[inline(always)]
pub(crate) fn enter<R>(slot: &mut Option<Context>, f: impl FnOnce() -> R) -> R {
    if !USED.with(Cell::get) {
        let output = f();
        if USED.with(Cell::get) {
            *slot = take_current();
        }
        return output;
    }
    enter_slow(slot, f)
}

#[inline(never)]
#[cold]
fn enter_slow<R>(slot: &mut Option<Context>, f: impl FnOnce() -> R) -> R {
    let swap = Swap::new(slot);
    let output = f();
    drop(swap);
    output
}

/// The thread's first context was just made (C1): the running loop, if any, learns it now
/// (its scheduler mirrors `USED`, C2); a loop that runs later reads `USED` when it begins.
#[cold]
#[inline(never)]
fn first_context() {
    let running = RUNNING.with(|running| running.borrow().clone());
    if let Some(running) = running {
        running.set_contexts(true);
    }
}

/// True once the thread made a context (C1): while false, a step of a task with no context
/// needs no swap.
#[inline(always)]
pub(crate) fn used() -> bool {
    USED.with(Cell::get)
}

/// Takes the current context out, leaving none current.
#[inline(never)]
#[cold]
pub(crate) fn take_current() -> Option<Context> {
    CURRENT.with(Cell::take)
}

/// A slot's context made current; the outer one put back on drop (C1).
struct Swap<'a> {
    slot: &'a mut Option<Context>,
    outer: Option<Context>,
}

impl<'a> Swap<'a> {
    #[inline(never)]
    #[track_caller]
    fn new(slot: &'a mut Option<Context>) -> Self {
        let inner = slot.take();
        if let Some(inner) = &inner {
            if inner.0.entered.replace(true) {
                *slot = Some(inner.clone());
                panic!("aioloop: cannot enter context: {inner:?} is already entered");
            }
        }
        let outer = CURRENT.with(|current| current.replace(inner));
        Swap { slot, outer }
    }
}

impl Drop for Swap<'_> {
    #[inline(never)]
    fn drop(&mut self) {
        let outer = self.outer.take();
        let inner = CURRENT.with(|current| current.replace(outer));
        if let Some(inner) = &inner {
            inner.0.entered.set(false);
        }
        *self.slot = inner;
    }
}

/// While a loop runs, leaves no context current between its steps (C2); puts back, when the
/// run ends, the context that was current when it began, and drops one its code left current.
/// It also keeps the scheduler's mirror of `USED` (C2): `USED` itself for the run, true
/// outside it (where a spawn then reads `USED`, as the running loop does not learn of a first
/// context made meanwhile).
pub(crate) struct LoopContextGuard {
    outer: Option<Context>,
    sched: Rc<dyn UsedMirror>,
    outer_running: Option<Rc<dyn UsedMirror>>,
}

/// The running loop's scheduler as this module sees it: it mirrors `USED` in a field (C2).
/// A trait, so this module (below the task layer, which uses it) names no scheduler. Told at
/// once, not re-read once per loop iteration: the thread's first context can come into being
/// in any step or callback, and the next one in the same iteration must not run in it, nor a
/// spawn in the same step go without a copy (tests/context_var.rs, `first_set_*`); reading
/// `USED` itself at each of those checks instead costs a few instructions a task step.
pub(crate) trait UsedMirror {
    /// Sets the mirror.
    fn set_contexts(&self, used: bool);
}

impl LoopContextGuard {
    pub(crate) fn new(sched: Rc<dyn UsedMirror>) -> Self {
        sched.set_contexts(used());
        let outer = match used() {
            true => CURRENT.with(Cell::take),
            false => None,
        };
        let outer_running = RUNNING.with(|running| running.replace(Some(sched.clone())));
        LoopContextGuard {
            outer,
            sched,
            outer_running,
        }
    }
}

impl Drop for LoopContextGuard {
    fn drop(&mut self) {
        let outer_running = self.outer_running.take();
        let _ = RUNNING.try_with(|running| running.replace(outer_running));
        self.sched.set_contexts(true);
        if used() {
            let outer = self.outer.take();
            let _ = CURRENT.try_with(|current| current.replace(outer));
        }
    }
}

/// Gives each variable a distinct id, starting at 1 (0 is "not given yet").
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A context variable: Python's `contextvars.ContextVar`.
///
/// Its value lives in the current [`Context`]: [`set`](ContextVar::set) in a task is seen by
/// that task and the tasks it spawns afterwards, never by its creator or its siblings (each
/// task runs in a copy of its creator's context). `new` is `const`, so a variable can be a
/// `static` (for a `T` that is `Sync`), as Python's are module globals.
///
/// ```
/// use aioloop::ContextVar;
///
/// static REQUEST_ID: ContextVar<u64> = ContextVar::with_default("request_id", 0);
///
/// aioloop::run(async {
///     REQUEST_ID.set(7);
///     let child = aioloop::spawn(async {
///         assert_eq!(REQUEST_ID.get(), Some(7), "inherited at spawn");
///         REQUEST_ID.set(8);
///     });
///     child.await.unwrap();
///     assert_eq!(REQUEST_ID.get(), Some(7), "the child's set stayed in its copy");
/// });
/// assert_eq!(REQUEST_ID.get(), Some(0), "the main future ran in a copy too");
/// ```
pub struct ContextVar<T> {
    name: &'static str,
    default: Option<T>,
    id: AtomicU64,
}

impl<T: 'static> ContextVar<T> {
    /// A variable with no default: `ContextVar(name)`.
    pub const fn new(name: &'static str) -> Self {
        ContextVar {
            name,
            default: None,
            id: AtomicU64::new(0),
        }
    }

    /// A variable with a default, returned by [`get`](ContextVar::get) where it has no value:
    /// `ContextVar(name, default=value)`.
    pub const fn with_default(name: &'static str, default: T) -> Self {
        ContextVar {
            name,
            default: Some(default),
            id: AtomicU64::new(0),
        }
    }

    /// The variable's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn id(&self) -> u64 {
        let id = self.id.load(Ordering::Relaxed);
        if id != 0 {
            return id;
        }
        let fresh = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        match self
            .id
            .compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => fresh,
            Err(won) => won,
        }
    }

    fn current_value(&self) -> Option<Rc<dyn Any>> {
        if !USED.with(Cell::get) {
            return None;
        }
        CURRENT.with(|current| {
            let context = current.take();
            let value = context.as_ref().and_then(|context| context.lookup(self.id()));
            current.set(context);
            value
        })
    }

    /// Calls `f` with the variable's value in the current context, else its default, else
    /// `None`.
    pub fn with<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        match self.current_value() {
            Some(value) => f(value.downcast_ref::<T>()),
            None => f(self.default.as_ref()),
        }
    }

    /// Sets the value in the current context and returns a [`Token`] that
    /// [`reset`](ContextVar::reset) takes to restore the previous one: `var.set(value)`.
    pub fn set(&self, value: T) -> Token<T> {
        let context = current();
        let old = context.store(self.id(), Some(Rc::new(value)));
        Token {
            var: self.id(),
            context,
            old,
            used: Cell::new(false),
            _value: PhantomData,
        }
    }

    /// Restores the value the variable had before the [`set`](ContextVar::set) that returned
    /// `token` (removing it if it had none): `var.reset(token)`.
    ///
    /// # Errors
    /// [`ResetError::AlreadyUsed`] if the token was used already (Python's `RuntimeError`),
    /// [`ResetError::OtherVar`] if another variable made it, [`ResetError::OtherContext`] if it
    /// was made in another context than the current one (Python's `ValueError`s).
    ///
    /// ```
    /// use aioloop::ContextVar;
    /// let var = ContextVar::with_default("var", 1);
    /// let token = var.set(2);
    /// assert_eq!(var.get(), Some(2));
    /// var.reset(&token).unwrap();
    /// assert_eq!(var.get(), Some(1));
    /// assert!(var.reset(&token).is_err(), "a token is used once");
    /// ```
    pub fn reset(&self, token: &Token<T>) -> Result<(), ResetError> {
        if token.used.get() {
            return Err(ResetError::AlreadyUsed);
        }
        if token.var != self.id() {
            return Err(ResetError::OtherVar);
        }
        let current = CURRENT.with(|current| {
            let context = current.take();
            current.set(context.clone());
            context
        });
        if !current.is_some_and(|current| current.same(&token.context)) {
            return Err(ResetError::OtherContext);
        }
        token.context.store(token.var, token.old.clone());
        token.used.set(true);
        Ok(())
    }
}

impl<T: Clone + 'static> ContextVar<T> {
    /// The value in the current context, else the default, else `None` (where Python's
    /// `var.get()` raises `LookupError`).
    pub fn get(&self) -> Option<T> {
        self.with(|value| value.cloned())
    }
}

impl<T> fmt::Debug for ContextVar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextVar")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What [`ContextVar::set`] returns, for [`ContextVar::reset`]: Python's `contextvars.Token`.
pub struct Token<T> {
    var: u64,
    context: Context,
    old: Option<Rc<dyn Any>>,
    used: Cell<bool>,
    _value: PhantomData<fn() -> T>,
}

impl<T: Clone + 'static> Token<T> {
    /// The value the variable had before the `set`, `None` if it had none (Python's
    /// `Token.MISSING`).
    pub fn old_value(&self) -> Option<T> {
        self.old
            .as_ref()
            .and_then(|value| value.downcast_ref::<T>().cloned())
    }
}

impl<T> fmt::Debug for Token<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("used", &self.used.get())
            .finish_non_exhaustive()
    }
}

/// Why [`ContextVar::reset`] refused a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResetError {
    /// The token was used already (Python's `RuntimeError`: "has already been used once").
    AlreadyUsed,
    /// Another variable made the token (`ValueError`: "was created by a different
    /// ContextVar").
    OtherVar,
    /// The token was made in another context (`ValueError`: "was created in a different
    /// Context").
    OtherContext,
}

impl fmt::Display for ResetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResetError::AlreadyUsed => "the token has already been used once",
            ResetError::OtherVar => "the token was created by a different ContextVar",
            ResetError::OtherContext => "the token was created in a different Context",
        })
    }
}

impl Error for ResetError {}

/// The future of [`Context::scope`]: polls (and drops) its future with a context current.
pub struct ContextScope<F> {
    context: Option<Context>,
    future: Option<std::pin::Pin<Box<F>>>,
}

impl<F: std::future::Future> std::future::Future for ContextScope<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = &mut *self;
        let future = this
            .future
            .as_mut()
            .expect("`ContextScope` polled after completion");
        let polled = enter(&mut this.context, || future.as_mut().poll(cx));
        if polled.is_ready() {
            this.future = None;
        }
        polled
    }
}

impl<F> Drop for ContextScope<F> {
    fn drop(&mut self) {
        if let Some(future) = self.future.take() {
            enter(&mut self.context, || drop(future));
        }
    }
}

impl<F> fmt::Debug for ContextScope<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextScope")
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}
