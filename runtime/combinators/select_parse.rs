//! The parsing half of [`select!`](crate::select!): token munchers that split the branches,
//! count them, and strip `mut`/`ref` from a pattern for the check against a borrowed output.

/// Splits `select!`'s input into branches, then calls `__select_emit!`. State:
/// `@(biased) [branches so far] [one _ per branch so far] ; tokens`, and while a pattern is
/// read, `pat [its tokens so far]` before the `;`.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // The end of a pattern: `= future [, if condition] => handler`.
    (@($b:tt) [$($acc:tt)*] [$($skip:tt)*] pat [$($pat:tt)*] ; = $fut:expr, if $cond:expr => $handler:block , $($rest:tt)*) => {
        $crate::__select_parse!(@($b) [$($acc)* { [$($skip)*] [$($pat)*] [$fut] [$cond] [$handler] }] [$($skip)* _] ; $($rest)*)
    };
    (@($b:tt) [$($acc:tt)*] [$($skip:tt)*] pat [$($pat:tt)*] ; = $fut:expr, if $cond:expr => $handler:block $($rest:tt)*) => {
        $crate::__select_parse!(@($b) [$($acc)* { [$($skip)*] [$($pat)*] [$fut] [$cond] [$handler] }] [$($skip)* _] ; $($rest)*)
    };
    (@($b:tt) [$($acc:tt)*] [$($skip:tt)*] pat [$($pat:tt)*] ; = $fut:expr, if $cond:expr => $handler:expr , $($rest:tt)*) => {
        $crate::__select_parse!(@($b) [$($acc)* { [$($skip)*] [$($pat)*] [$fut] [$cond] [$handler] }] [$($skip)* _] ; $($rest)*)
    };
    (@($b:tt) [$($acc:tt)*] [$($skip:tt)*] pat [$($pat:tt)*] ; = $fut:expr, if $cond:expr => $handler:expr) => {
        $crate::__select_parse!(@($b) [$($acc)* { [$($skip)*] [$($pat)*] [$fut] [$cond] [$handler] }] [$($skip)* _] ;)
    };
    (@($b:tt) [$($acc:tt)*] [$($skip:tt)*] pat [$($pat:tt)*] ; = $fut:expr => $handler:block , $($rest:tt)*) => {
        $crate::__select_parse!(@($b) [$($acc)* { [$($skip)*] [$($pat)*] [$fut] [true] [$handler] }] [$($skip)* _] ; $($rest)*)
    };
    (@($b:tt) [$($acc:tt)*] [$($skip:tt)*] pat [$($pat:tt)*] ; = $fut:expr => $handler:block $($rest:tt)*) => {
        $crate::__select_parse!(@($b) [$($acc)* { [$($skip)*] [$($pat)*] [$fut] [true] [$handler] }] [$($skip)* _] ; $($rest)*)
    };
    (@($b:tt) [$($acc:tt)*] [$($skip:tt)*] pat [$($pat:tt)*] ; = $fut:expr => $handler:expr , $($rest:tt)*) => {
        $crate::__select_parse!(@($b) [$($acc)* { [$($skip)*] [$($pat)*] [$fut] [true] [$handler] }] [$($skip)* _] ; $($rest)*)
    };
    (@($b:tt) [$($acc:tt)*] [$($skip:tt)*] pat [$($pat:tt)*] ; = $fut:expr => $handler:expr) => {
        $crate::__select_parse!(@($b) [$($acc)* { [$($skip)*] [$($pat)*] [$fut] [true] [$handler] }] [$($skip)* _] ;)
    };
    // One more token of the pattern.
    (@($b:tt) [$($acc:tt)*] [$($skip:tt)*] pat [$($pat:tt)*] ; $token:tt $($rest:tt)*) => {
        $crate::__select_parse!(@($b) [$($acc)*] [$($skip)*] pat [$($pat)* $token] ; $($rest)*)
    };
    (@($b:tt) [$($acc:tt)*] [$($skip:tt)*] pat [$($pat:tt)*] ;) => {
        ::core::compile_error!("aioloop::select!: expected `<pattern> = <future> => <handler>,`")
    };
    // `else`, last.
    (@($b:tt) [$($acc:tt)*] [$($skip:tt)*] ; else => $handler:block $(,)?) => {
        $crate::__select_emit!(@($b) [$($acc)*] [$handler])
    };
    (@($b:tt) [$($acc:tt)*] [$($skip:tt)*] ; else => $handler:expr $(,)?) => {
        $crate::__select_emit!(@($b) [$($acc)*] [$handler])
    };
    (@($b:tt) [$($acc:tt)*] [$($skip:tt)*] ; else $($rest:tt)*) => {
        ::core::compile_error!("aioloop::select!: `else => <handler>` must be the last branch")
    };
    // The end, without `else`.
    (@($b:tt) [$($acc:tt)*] [$($skip:tt)*] ;) => {
        $crate::__select_emit!(@($b) [$($acc)*] [::core::panic!(
            "aioloop::select!: every branch is disabled and there is no `else` branch"
        )])
    };
    // The start of a branch.
    (@($b:tt) [$($acc:tt)*] [$($skip:tt)*] ; $($rest:tt)+) => {
        $crate::__select_parse!(@($b) [$($acc)*] [$($skip)*] pat [] ; $($rest)+)
    };
}

/// The number of `_` tokens: a branch's index.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_count {
    () => {
        0usize
    };
    (_ $($rest:tt)*) => {
        1usize + $crate::__select_count!($($rest)*)
    };
}

/// `None`, once per branch (the argument only drives the repetition).
#[doc(hidden)]
#[macro_export]
macro_rules! __select_none {
    ($($skip:tt)*) => {
        ::core::option::Option::None
    };
}

/// A pattern without its `mut` and `ref` keywords, to check it against `&output` (where a
/// `mut` binding would try to move out of the reference). State: `[done] [to do] stack`, the
/// stack holding, for every group being cleaned, its delimiter, what was done before it and
/// what follows it.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_clean {
    ([$($done:tt)*] []) => { $($done)* };
    ([$($done:tt)*] [mut $($rest:tt)*] $($stack:tt)*) => {
        $crate::__select_clean!([$($done)*] [$($rest)*] $($stack)*)
    };
    ([$($done:tt)*] [ref $($rest:tt)*] $($stack:tt)*) => {
        $crate::__select_clean!([$($done)*] [$($rest)*] $($stack)*)
    };
    ([$($done:tt)*] [($($inner:tt)*) $($rest:tt)*] $($stack:tt)*) => {
        $crate::__select_clean!([] [$($inner)*] (paren [$($done)*] [$($rest)*]) $($stack)*)
    };
    ([$($done:tt)*] [[$($inner:tt)*] $($rest:tt)*] $($stack:tt)*) => {
        $crate::__select_clean!([] [$($inner)*] (bracket [$($done)*] [$($rest)*]) $($stack)*)
    };
    ([$($done:tt)*] [{$($inner:tt)*} $($rest:tt)*] $($stack:tt)*) => {
        $crate::__select_clean!([] [$($inner)*] (brace [$($done)*] [$($rest)*]) $($stack)*)
    };
    ([$($done:tt)*] [$token:tt $($rest:tt)*] $($stack:tt)*) => {
        $crate::__select_clean!([$($done)* $token] [$($rest)*] $($stack)*)
    };
    ([$($inner:tt)*] [] (paren [$($done:tt)*] [$($rest:tt)*]) $($stack:tt)*) => {
        $crate::__select_clean!([$($done)* ($($inner)*)] [$($rest)*] $($stack)*)
    };
    ([$($inner:tt)*] [] (bracket [$($done:tt)*] [$($rest:tt)*]) $($stack:tt)*) => {
        $crate::__select_clean!([$($done)* [$($inner)*]] [$($rest)*] $($stack)*)
    };
    ([$($inner:tt)*] [] (brace [$($done:tt)*] [$($rest:tt)*]) $($stack:tt)*) => {
        $crate::__select_clean!([$($done)* {$($inner)*}] [$($rest)*] $($stack)*)
    };
}
