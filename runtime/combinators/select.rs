//! [`select!`](crate::select!): wait for the first of several futures, run its branch, drop the
//! others. The parsing helpers are in `select_parse.rs`.
//!
//! Why a macro of our own rather than a re-export of `futures::select!`: that one needs every
//! future to be `FusedFuture + Unpin` (so users write `.fuse()` and `pin_mut!`) and pulls in
//! futures-util and a proc-macro; this one needs neither. It has tokio's semantics, which most
//! Rust users know: futures are built in place and pinned by the macro (no `Unpin`, borrowed
//! futures are fine), the losers are dropped before the winning branch runs (so the handler may
//! use what they borrowed), a pattern that does not match disables its branch, and `else` runs
//! when every branch is disabled.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Waits on several futures at once and runs the branch of the first to complete, dropping
/// the others: tokio's `select!`, asyncio's `asyncio.wait(aws, return_when=FIRST_COMPLETED)`
/// followed by cancelling the pending ones.
///
/// ```text
/// aioloop::select! {
///     [biased;]
///     <pattern> = <future> [, if <condition>] => <handler>,
///     ...
///     [else => <handler>]
/// }
/// ```
///
/// 1. Every `<condition>` is evaluated; a branch whose condition is false is disabled.
/// 2. Every `<future>` is evaluated (in order, disabled branches too) and turned into a future
///    with `IntoFuture`. The futures are pinned inside the macro: they need not be `Unpin`,
///    fused, or `'static`, and may borrow locals (`rx.recv()`, `&mut stream`).
/// 3. The enabled branches are polled, one after the other, starting from a pseudo-random
///    branch each time the `select!` is polled (so that in a loop, a future that is always
///    ready does not starve the others), or from the first branch with `biased;`.
/// 4. When a future completes, its output is matched against `<pattern>`. If it does not
///    match, the branch is disabled and the others keep going. If it matches, every future
///    is dropped (the losers are cancelled: their destructors run), then `<handler>` runs with
///    the pattern's bindings, and its value is the value of the `select!`.
/// 5. When every branch is disabled, the `else` handler runs; without an `else`, the
///    `select!` panics.
///
/// Handlers run in the enclosing function, so `break`, `continue`, `return`, `?` and `.await`
/// work there as anywhere else. A `select!` must be used inside `async` code; it takes at
/// most 64 branches.
///
/// ```
/// use std::time::Duration;
/// use aioloop::{sleep, sync::Queue};
///
/// aioloop::run(async {
///     let queue = Queue::new(0);
///     let producer = queue.clone();
///     aioloop::spawn(async move {
///         for i in 0..3 {
///             producer.put(i).await.unwrap();
///         }
///     });
///     let mut got = Vec::new();
///     loop {
///         aioloop::select! {
///             Ok(item) = queue.get() => got.push(item),
///             _ = sleep(Duration::from_millis(50)) => break, // idle: stop
///         }
///     }
///     assert_eq!(got, [0, 1, 2]);
///
///     // A pattern that does not match disables its branch; `else` runs when none is left.
///     let none: Option<u8> = None;
///     let picked = aioloop::select! {
///         Some(n) = async { none } => n,
///         Ok(n) = async { Err::<u8, ()>(()) } => n,
///         else => 0,
///     };
///     assert_eq!(picked, 0);
/// });
/// ```
///
/// Patterns may bind with `mut` and `ref` (`Some(mut line) = ...`); when the pattern is first
/// checked against the output those are ignored, then the winning output is moved into it.
/// Compared with `futures::select!`: no `.fuse()`, no `pin_mut!`, no `complete =>` branch (a
/// `select!` completes when one branch wins; a branch never runs twice).
#[macro_export]
macro_rules! select {
    (biased; $($tokens:tt)*) => {
        $crate::__select_parse!(@(true) [] [] ; $($tokens)*)
    };
    ($($tokens:tt)*) => {
        $crate::__select_parse!(@(false) [] [] ; $($tokens)*)
    };
}

/// The expansion of [`select!`](crate::select!), once the branches are parsed: each branch is
/// `{ [skip] [pattern] [future] [condition] [handler] }`, where `skip` holds one `_` per
/// earlier branch (it picks the branch's element out of the tuples of futures and outputs, and
/// counts the branch's index).
#[doc(hidden)]
#[macro_export]
macro_rules! __select_emit {
    (@($biased:tt) [$({ [$($skip:tt)*] [$($pat:tt)*] [$fut:expr] [$cond:expr] [$($handler:tt)*] })*] [$($else:tt)*]) => {{
        // One slot per branch for the winning output, outside the block that owns the futures,
        // so every future is dropped before the winning handler runs.
        let mut __outputs = ($($crate::__select_none!($($skip)*),)*);
        {
            const __BRANCHES: usize = <[usize]>::len(&[$($crate::__select_count!($($skip)*)),*]);
            const _: () = ::core::assert!(__BRANCHES <= 64, "aioloop::select! takes at most 64 branches");
            let mut __disabled: u64 = 0;
            $(
                if !$cond {
                    __disabled |= 1u64 << $crate::__select_count!($($skip)*);
                }
            )*
            let mut __futures = ::core::pin::pin!(($(::core::future::IntoFuture::into_future($fut),)*));
            ::core::future::poll_fn(|__cx| {
                // A spent budget yields before any branch is polled (tokio's select! does too).
                if $crate::__combinators::poll_budget_available(__cx).is_pending() {
                    return ::core::task::Poll::Pending;
                }
                let __start: usize = if $biased { 0 } else { $crate::__combinators::select_start(__BRANCHES) };
                let mut __pending = false;
                // With no branch (`select! { else => .. }`) the range is empty on purpose.
                #[allow(clippy::reversed_empty_ranges)]
                for __offset in 0..__BRANCHES {
                    let mut __branch = __start + __offset;
                    if __branch >= __BRANCHES {
                        __branch -= __BRANCHES;
                    }
                    if __disabled & (1u64 << __branch) != 0 {
                        continue;
                    }
                    $(
                        if __branch == $crate::__select_count!($($skip)*) {
                            // SAFETY: the tuple of futures is pinned (by `pin!`) and never moved;
                            // each element is structurally pinned: polled in place through this
                            // `Pin`, never moved out, dropped in place with the tuple.
                            let ($($skip,)* __future, ..) = unsafe { ::core::pin::Pin::get_unchecked_mut(__futures.as_mut()) };
                            // SAFETY: as above.
                            let __future = unsafe { ::core::pin::Pin::new_unchecked(__future) };
                            match ::core::future::Future::poll(__future, __cx) {
                                ::core::task::Poll::Ready(__output) => match &__output {
                                    #[allow(unused_variables)]
                                    $crate::__select_clean!([] [$($pat)*]) => {
                                        let ($($skip,)* __slot, ..) = &mut __outputs;
                                        *__slot = ::core::option::Option::Some(__output);
                                        return ::core::task::Poll::Ready(());
                                    }
                                    #[allow(unreachable_patterns)]
                                    _ => __disabled |= 1u64 << __branch,
                                },
                                ::core::task::Poll::Pending => __pending = true,
                            }
                        }
                    )*
                }
                if __pending {
                    ::core::task::Poll::Pending
                } else {
                    ::core::task::Poll::Ready(())
                }
            })
            .await;
        }
        $(
            if let ::core::option::Option::Some(__output) = {
                let ($($skip,)* __slot, ..) = &mut __outputs;
                __slot.take()
            } {
                match __output {
                    $($pat)* => { $($handler)* }
                    #[allow(unreachable_patterns)]
                    _ => ::core::unreachable!("aioloop::select!: the pattern matched when checked"),
                }
            } else
        )*
        { $($else)* }
    }};
}

thread_local! {
    static RNG: Cell<u64> = Cell::new({
        let seed = RandomState::new().build_hasher().finish();
        seed | 1
    });
}

/// The branch a non-`biased` [`select!`](crate::select!) polls first: pseudo-random (xorshift,
/// seeded once per thread), below `branches` (0 when there are none).
#[doc(hidden)]
pub fn select_start(branches: usize) -> usize {
    if branches <= 1 {
        return 0;
    }
    RNG.with(|rng| {
        let mut x = rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rng.set(x);
        (x % branches as u64) as usize
    })
}

#[cfg(test)]
mod tests {
    use super::select_start;

    #[test]
    fn select_start_covers_every_branch() {
        let mut seen = [false; 5];
        for _ in 0..1000 {
            seen[select_start(5)] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(select_start(0), 0);
        assert_eq!(select_start(1), 0);
    }
}
