//! [`gather!`](crate::gather!) and [`try_gather!`](crate::try_gather!): futures of different
//! types, outputs as a tuple. The children live inline in a tuple of [`MaybeDone`], pinned with
//! the gather; the [`ReadyList`] gives each its own waker, as for [`gather`](crate::gather()).

use std::fmt;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use super::child::MaybeDone;
use super::ready::ReadyList;
use crate::task::cancel_scope::{cancelling, detaching_seen};
use crate::task::{claim_current, InPlaceSet};

/// Runs futures of any types concurrently and returns their outputs as a tuple, in argument
/// order: asyncio's `gather(a, b, c)`. Takes 1 to 16 futures (or anything `IntoFuture`);
/// evaluates to a future, so write `gather!(a, b).await`.
///
/// Semantics as [`gather`](crate::gather()): each child is polled only when its own waker fires,
/// dropping the gather drops every child still running, and [`Task`](crate::Task) children keep
/// their `Result<T, TaskError>` outcome in their slot (asyncio's `return_exceptions=True`).
///
/// ```
/// use std::time::Duration;
///
/// let (n, s, unit) = aioloop::run(async {
///     aioloop::gather!(
///         async {
///             aioloop::sleep(Duration::from_millis(2)).await;
///             42
///         },
///         async { "finished first" },
///         aioloop::yield_now(),
///     )
///     .await
/// });
/// assert_eq!((n, s, unit), (42, "finished first", ()));
/// ```
#[macro_export]
macro_rules! gather {
    ($($future:expr),+ $(,)?) => {
        $crate::__combinators::GatherTuple::new(($($crate::__combinators::MaybeDone::new($future),)+))
    };
}

/// Like [`gather!`](crate::gather!) for futures that return `Result<_, E>` with one error type:
/// `Ok` with the tuple of outputs, or the first `Err` as soon as it happens, the other futures
/// being dropped at once. See [`try_gather`](crate::try_gather()).
///
/// ```
/// let out: Result<(u8, &str), String> = aioloop::run(async {
///     aioloop::try_gather!(async { Ok(1) }, async { Ok("two") }).await
/// });
/// assert_eq!(out, Ok((1, "two")));
///
/// let out: Result<(u8, ()), String> = aioloop::run(async {
///     aioloop::try_gather!(async { Err("first".to_string()) }, std::future::pending()).await
/// });
/// assert_eq!(out, Err("first".to_string()));
/// ```
#[macro_export]
macro_rules! try_gather {
    ($($future:expr),+ $(,)?) => {
        $crate::__combinators::TryGatherTuple::new(($($crate::__combinators::MaybeDone::new($future),)+))
    };
}

/// A tuple of children. Implemented for tuples of 1 to 16 [`MaybeDone`]s.
#[doc(hidden)]
pub trait Children {
    /// The tuple of outputs.
    type Output;
    /// Arity.
    const LEN: usize;
    /// Polls child `index` if it is running, as a task of its own in `tasks`; true if it
    /// finished in this call.
    #[allow(private_interfaces)]
    fn poll_child(self: Pin<&mut Self>, index: usize, cx: &mut Context<'_>, tasks: &mut InPlaceSet) -> bool;
    /// Drops child `index` in place.
    fn clear_child(self: Pin<&mut Self>, index: usize);
    /// Takes every output once all children finished.
    fn take_all(self: Pin<&mut Self>) -> Self::Output;
    /// Drops every child in place.
    fn clear(self: Pin<&mut Self>);
}

/// A tuple of children that all return `Result<_, Self::Err>`.
#[doc(hidden)]
pub trait TryChildren: Children {
    /// The tuple of `Ok` values.
    type Ok;
    /// The common error type.
    type Err;
    /// Takes the error of child `index` if it finished with `Err`.
    fn take_err(self: Pin<&mut Self>, index: usize) -> Option<Self::Err>;
    /// Takes every `Ok` value once all children finished with `Ok`.
    fn take_oks(self: Pin<&mut Self>) -> Self::Ok;
}

macro_rules! tuple_impls {
    ($( ($($idx:tt $F:ident $T:ident),+) )+) => {$(
        impl<$($F: Future),+> Children for ($(MaybeDone<$F>,)+) {
            type Output = ($($F::Output,)+);
            const LEN: usize = [$($idx),+].len();

            #[allow(private_interfaces)]
            fn poll_child(
                self: Pin<&mut Self>,
                index: usize,
                cx: &mut Context<'_>,
                tasks: &mut InPlaceSet,
            ) -> bool {
                // SAFETY: the fields are structurally pinned: polled and dropped in place, and
                // moved out of only once finished (see `MaybeDone`).
                let this = unsafe { self.get_unchecked_mut() };
                match index {
                    // SAFETY: re-pins a structurally pinned field of a pinned tuple (above).
                    $($idx => unsafe { Pin::new_unchecked(&mut this.$idx) }
                        .poll_done_with(|future| tasks.poll(index, future, cx)),)+
                    _ => false,
                }
            }

            fn clear_child(self: Pin<&mut Self>, index: usize) {
                // SAFETY: as in `poll_child`.
                let this = unsafe { self.get_unchecked_mut() };
                match index {
                    // SAFETY: re-pins a structurally pinned field, as in `poll_child`.
                    $($idx => unsafe { Pin::new_unchecked(&mut this.$idx) }.clear(),)+
                    _ => {}
                }
            }

            fn take_all(self: Pin<&mut Self>) -> Self::Output {
                // SAFETY: as in `poll_child`.
                let this = unsafe { self.get_unchecked_mut() };
                // SAFETY: re-pins each structurally pinned field, as in `poll_child`.
                ($(unsafe { Pin::new_unchecked(&mut this.$idx) }.take(),)+)
            }

            fn clear(self: Pin<&mut Self>) {
                // SAFETY: as in `poll_child`.
                let this = unsafe { self.get_unchecked_mut() };
                // SAFETY: re-pins each structurally pinned field, as in `poll_child`.
                $(unsafe { Pin::new_unchecked(&mut this.$idx) }.clear();)+
            }
        }

        impl<E, $($F, $T),+> TryChildren for ($(MaybeDone<$F>,)+)
        where
            $($F: Future<Output = Result<$T, E>>,)+
        {
            type Ok = ($($T,)+);
            type Err = E;

            fn take_err(self: Pin<&mut Self>, index: usize) -> Option<E> {
                // SAFETY: as in `poll_child`.
                let this = unsafe { self.get_unchecked_mut() };
                match index {
                    $($idx => match this.$idx.output() {
                        // SAFETY: as above; `take` moves out only a finished field's output.
                        Some(Err(_)) => unsafe { Pin::new_unchecked(&mut this.$idx) }.take().err(),
                        _ => None,
                    },)+
                    _ => None,
                }
            }

            fn take_oks(self: Pin<&mut Self>) -> Self::Ok {
                // SAFETY: as in `poll_child`.
                let this = unsafe { self.get_unchecked_mut() };
                // SAFETY: re-pins each structurally pinned field, as in `poll_child`.
                ($(match unsafe { Pin::new_unchecked(&mut this.$idx) }.take() {
                    Ok(value) => value,
                    Err(_) => unreachable!("an Err output ends the try_gather! at once"),
                },)+)
            }
        }
    )+};
}

tuple_impls! {
    (0 F0 T0)
    (0 F0 T0, 1 F1 T1)
    (0 F0 T0, 1 F1 T1, 2 F2 T2)
    (0 F0 T0, 1 F1 T1, 2 F2 T2, 3 F3 T3)
    (0 F0 T0, 1 F1 T1, 2 F2 T2, 3 F3 T3, 4 F4 T4)
    (0 F0 T0, 1 F1 T1, 2 F2 T2, 3 F3 T3, 4 F4 T4, 5 F5 T5)
    (0 F0 T0, 1 F1 T1, 2 F2 T2, 3 F3 T3, 4 F4 T4, 5 F5 T5, 6 F6 T6)
    (0 F0 T0, 1 F1 T1, 2 F2 T2, 3 F3 T3, 4 F4 T4, 5 F5 T5, 6 F6 T6, 7 F7 T7)
    (0 F0 T0, 1 F1 T1, 2 F2 T2, 3 F3 T3, 4 F4 T4, 5 F5 T5, 6 F6 T6, 7 F7 T7, 8 F8 T8)
    (0 F0 T0, 1 F1 T1, 2 F2 T2, 3 F3 T3, 4 F4 T4, 5 F5 T5, 6 F6 T6, 7 F7 T7, 8 F8 T8, 9 F9 T9)
    (0 F0 T0, 1 F1 T1, 2 F2 T2, 3 F3 T3, 4 F4 T4, 5 F5 T5, 6 F6 T6, 7 F7 T7, 8 F8 T8, 9 F9 T9,
     10 F10 T10)
    (0 F0 T0, 1 F1 T1, 2 F2 T2, 3 F3 T3, 4 F4 T4, 5 F5 T5, 6 F6 T6, 7 F7 T7, 8 F8 T8, 9 F9 T9,
     10 F10 T10, 11 F11 T11)
    (0 F0 T0, 1 F1 T1, 2 F2 T2, 3 F3 T3, 4 F4 T4, 5 F5 T5, 6 F6 T6, 7 F7 T7, 8 F8 T8, 9 F9 T9,
     10 F10 T10, 11 F11 T11, 12 F12 T12)
    (0 F0 T0, 1 F1 T1, 2 F2 T2, 3 F3 T3, 4 F4 T4, 5 F5 T5, 6 F6 T6, 7 F7 T7, 8 F8 T8, 9 F9 T9,
     10 F10 T10, 11 F11 T11, 12 F12 T12, 13 F13 T13)
    (0 F0 T0, 1 F1 T1, 2 F2 T2, 3 F3 T3, 4 F4 T4, 5 F5 T5, 6 F6 T6, 7 F7 T7, 8 F8 T8, 9 F9 T9,
     10 F10 T10, 11 F11 T11, 12 F12 T12, 13 F13 T13, 14 F14 T14)
    (0 F0 T0, 1 F1 T1, 2 F2 T2, 3 F3 T3, 4 F4 T4, 5 F5 T5, 6 F6 T6, 7 F7 T7, 8 F8 T8, 9 F9 T9,
     10 F10 T10, 11 F11 T11, 12 F12 T12, 13 F13 T13, 14 F14 T14, 15 F15 T15)
}

/// Polls the children woken since the last call (all of them, in order, the first time) and
/// calls `on_done` for each that finished; `on_done` may stop early. A child cancelled through
/// its task identity is dropped, and the owner's task cancelled (see `InPlaceSet`).
fn poll_woken<C: Children>(
    mut children: Pin<&mut C>,
    ready: &ReadyList,
    tasks: &mut InPlaceSet,
    pending: &mut usize,
    started: &mut bool,
    owner: &Waker,
    mut on_done: impl FnMut(Pin<&mut C>, usize) -> ControlFlow<()>,
) -> ControlFlow<()> {
    tasks.bind(C::LEN, owner);
    let cancelled = tasks.take_cancelled();
    if !cancelled.is_empty() {
        for index in cancelled {
            cancelling(|| children.as_mut().clear_child(index));
            tasks.end(index);
        }
        tasks.cancel_owner();
        return ControlFlow::Break(());
    }
    tasks.round(|tasks| {
        ready.poll_round(started, C::LEN, |index, cx| {
            if children.as_mut().poll_child(index, cx, tasks) {
                *pending -= 1;
                return on_done(children.as_mut(), index);
            }
            ControlFlow::Continue(())
        })
    })
}

pin_project! {
    /// The future of [`gather!`](crate::gather!).
    #[doc(hidden)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct GatherTuple<C> {
        #[pin]
        children: C,
        ready: ReadyList,
        tasks: InPlaceSet,
        pending: usize,
        started: bool,
        finished: bool,
    }
}

impl<C: Children> GatherTuple<C> {
    /// Wraps a tuple of children.
    pub fn new(children: C) -> Self {
        GatherTuple {
            children,
            ready: ReadyList::new(C::LEN),
            tasks: InPlaceSet::default(),
            pending: C::LEN,
            started: false,
            finished: false,
        }
    }
}

impl<C: Children> Future for GatherTuple<C> {
    type Output = C::Output;

    #[inline(never)] // one address, for `Scheduler::claim`
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        claim_current(&*self);
        let this = self.project();
        assert!(
            !*this.finished,
            "aioloop: a gather! was polled after it completed"
        );
        this.ready.register(cx.waker());
        let mut children = this.children;
        let _ = poll_woken(
            children.as_mut(),
            this.ready,
            this.tasks,
            this.pending,
            this.started,
            cx.waker(),
            |_, _| ControlFlow::Continue(()),
        );
        if *this.pending > 0 {
            return Poll::Pending;
        }
        *this.finished = true;
        this.ready.clear_parent();
        Poll::Ready(children.take_all())
    }
}

impl<C> fmt::Debug for GatherTuple<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherTuple")
            .field("running", &self.pending)
            .finish()
    }
}

pin_project! {
    /// The future of [`try_gather!`](crate::try_gather!).
    #[doc(hidden)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct TryGatherTuple<C> {
        #[pin]
        children: C,
        ready: ReadyList,
        tasks: InPlaceSet,
        pending: usize,
        started: bool,
        finished: bool,
    }
}

impl<C: TryChildren> TryGatherTuple<C> {
    /// Wraps a tuple of children.
    pub fn new(children: C) -> Self {
        TryGatherTuple {
            children,
            ready: ReadyList::new(C::LEN),
            tasks: InPlaceSet::default(),
            pending: C::LEN,
            started: false,
            finished: false,
        }
    }
}

impl<C: TryChildren> Future for TryGatherTuple<C> {
    type Output = Result<C::Ok, C::Err>;

    #[inline(never)] // one address, for `Scheduler::claim`
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        claim_current(&*self);
        let this = self.project();
        assert!(
            !*this.finished,
            "aioloop: a try_gather! was polled after it completed"
        );
        this.ready.register(cx.waker());
        let mut children = this.children;
        let mut error = None;
        let _ = poll_woken(
            children.as_mut(),
            this.ready,
            this.tasks,
            this.pending,
            this.started,
            cx.waker(),
            |c, index| match c.take_err(index) {
                Some(e) => {
                    error = Some(e);
                    ControlFlow::Break(())
                }
                None => ControlFlow::Continue(()),
            },
        );
        if let Some(error) = error {
            *this.finished = true;
            this.ready.clear_parent();
            // As `try_gather`: the task children run on, their later panics count as seen.
            detaching_seen(|| children.clear());
            return Poll::Ready(Err(error));
        }
        if *this.pending > 0 {
            return Poll::Pending;
        }
        *this.finished = true;
        this.ready.clear_parent();
        Poll::Ready(Ok(children.take_oks()))
    }
}

impl<C> fmt::Debug for TryGatherTuple<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGatherTuple")
            .field("running", &self.pending)
            .finish()
    }
}
