//! Procedural macros for [aioloop]: `#[aioloop::main]` and `#[aioloop::test]`.
//!
//! Do not depend on this crate directly: use the re-exports `aioloop::main` and `aioloop::test`.
//! The expansions name the runtime as `::aioloop` (override with `crate = "..."`).
//!
//! Both attributes turn an `async fn` without parameters into a plain `fn` that builds an event
//! loop with `aioloop::EventLoop::builder()`, runs the function's body on it to completion with
//! `Builder::run`, and returns the body's result. The body is type-checked as an `async fn` with
//! the declared return type, so `?`, early `return` and `-> Result<(), E>` / `-> ExitCode`
//! work as in any function.
//!
//! # Options
//!
//! Accepted by both attributes, separated by commas:
//!
//! | option | effect |
//! | --- | --- |
//! | `start_paused` or `start_paused = true` | `.start_paused(true)`: the loop's clock is virtual and starts paused |
//! | `start_paused = false` | `.start_paused(false)` |
//! | `crate = "path::to::aioloop"` | use that path instead of `::aioloop` (for re-exports, or `crate` inside aioloop itself) |
//!
//! Anything else is a compile error pointing at the offending token.
//!
//! # What the expansion looks like
//!
//! ```ignore
//! #[aioloop::main(start_paused)]
//! async fn main() -> Result<(), std::io::Error> {
//!     serve().await?;
//!     Ok(())
//! }
//! // becomes
//! fn main() -> Result<(), std::io::Error> {
//!     async fn __aioloop_body() -> Result<(), std::io::Error> {
//!         serve().await?;
//!         Ok(())
//!     }
//!     ::aioloop::EventLoop::builder()
//!         .start_paused(true)
//!         .run(__aioloop_body())
//! }
//! ```
//!
//! The examples here are marked `ignore` because a proc-macro crate cannot run doctests that
//! use itself; the runnable examples are in aioloop's documentation.
//!
//! [aioloop]: https://docs.rs/aioloop

mod entry;
mod errors;
mod options;

use proc_macro::TokenStream;

use entry::Kind;

/// Runs an `async fn` (normally `main`) to completion on a new aioloop event loop.
///
/// The function must be `async` and take no arguments; it may return anything a plain fn may
/// (`()`, `Result<(), E>`, `std::process::ExitCode`, ...). Its attributes, doc comments and
/// visibility are kept. The loop is built when the function is called, runs the body to
/// completion, drops any tasks still pending and is closed before the function returns.
///
/// ```ignore
/// use std::time::Duration;
///
/// #[aioloop::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let n: u32 = std::env::var("N")?.parse()?;
///     aioloop::sleep(Duration::from_millis(n.into())).await;
///     Ok(())
/// }
/// ```
///
/// `#[aioloop::main(start_paused)]` starts the loop with a paused virtual clock; see the
/// [crate docs](crate) for every option. The example is marked `ignore` because a proc-macro
/// crate cannot run doctests that use itself: the runnable examples are in aioloop's docs.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Kind::Main, args.into(), item.into()).into()
}

/// Turns an `async fn` into a `#[test]` that runs it on a fresh aioloop event loop.
///
/// Every test gets its own loop, built at the start of the test and closed at its end. The
/// function must be `async` and take no arguments; it may return `()` or anything a `#[test]`
/// may return, such as `Result<(), E>` with `E: Debug`. Other attributes stay on the generated
/// test, so `#[should_panic]` and `#[ignore]` work; do not add a separate `#[test]`.
///
/// ```ignore
/// use std::time::Duration;
///
/// #[aioloop::test(start_paused)]
/// async fn timer_fires() {
///     // With the clock paused, this completes at once in virtual time.
///     aioloop::sleep(Duration::from_secs(3600)).await;
/// }
///
/// #[aioloop::test]
/// #[should_panic(expected = "boom")]
/// async fn panics_propagate() {
///     panic!("boom");
/// }
/// ```
///
/// See the [crate docs](crate) for the options. The example is marked `ignore` because a
/// proc-macro crate cannot run doctests that use itself: the runnable examples are in
/// aioloop's docs.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Kind::Test, args.into(), item.into()).into()
}
