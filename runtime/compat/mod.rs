//! Running tokio-bound futures on aioloop (cargo feature `tokio-compat`).
//!
//! Some crates need a tokio runtime, not just tokio's I/O traits: reqwest, sqlx, redis's usual
//! API, `tokio::time`, tower-http's timeouts. Polled outside one they panic with "there is no
//! reactor running, must be called from the context of a Tokio 1.x runtime".
//! [`with_tokio`] runs such a future from an aioloop task and hands back its output.
//!
//! # How it works
//! - One tokio current-thread runtime per process, started lazily by the first `with_tokio`,
//!   on a helper thread named `aioloop-tokio` which sits in the runtime's own `block_on`: that
//!   thread drives tokio's reactor and timers, and runs what is `tokio::spawn`ed (reqwest's
//!   connection tasks, for example).
//! - The future itself is polled on the aioloop thread, inside the tokio runtime's context
//!   (`Handle::enter` around every poll), so tokio resources created while it runs register
//!   with the helper runtime.
//! - When a tokio resource becomes ready, the helper thread wakes the aioloop task; that wake
//!   crosses threads through the loop's remote queue. Nothing polls in a loop.
//! - At process exit the helper runtime is shut down (its tasks dropped, its sockets closed),
//!   waiting at most a second.
//!
//! # What it costs, and when to prefer a native path
//! One thread for the whole process, and a cross-thread wake (a queue push and an eventfd
//! write, a microsecond or two) for every readiness event of a tokio resource, where aioloop's
//! own sockets and timers wake on the loop's thread for nothing. Use it for crates that have no
//! other way in. Where aioloop has the thing natively, use that: [`aioloop::sleep`](crate::sleep)
//! rather than `tokio::time::sleep`, [`aioloop::net`](crate::net) sockets, hyper's client on
//! aioloop (feature `hyper`) rather than reqwest when the call is simple, the `tokio-io`
//! feature for crates that only need tokio's `AsyncRead`/`AsyncWrite` (tokio-util codecs,
//! tokio-tungstenite, tokio-rustls).
//!
//! # Create tokio things inside the future
//! tokio types that look their runtime up when they are created (`tokio::time::sleep`,
//! `tokio::net::TcpStream::connect`, `reqwest::Client::new`, `tokio::spawn`) must be created
//! inside the future given to `with_tokio`, where the context is entered:
//! `with_tokio(async { tokio::time::sleep(d).await })`, not `with_tokio(tokio::time::sleep(d))`
//! (that argument is evaluated outside and panics). Once created, such a value may be kept and
//! awaited in later `with_tokio` calls.
//!
//! ```
//! use std::time::Duration;
//!
//! aioloop::run(async {
//!     let answer = aioloop::compat::with_tokio(async {
//!         tokio::time::sleep(Duration::from_millis(5)).await;
//!         42
//!     })
//!     .await;
//!     assert_eq!(answer, 42);
//! });
//! ```

mod helper;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs `future`, which needs a tokio runtime, from an aioloop task, and returns its output.
///
/// The returned future polls `future` on the current thread inside the context of a tokio
/// runtime that lives on a helper thread (started by the first call). See the
/// [module docs](self) for how, what it costs and the rule that tokio things are created
/// inside `future`.
///
/// # Panics
/// If the helper thread or its tokio runtime cannot be started (the OS refuses a thread or an
/// epoll instance).
///
/// ```
/// aioloop::run(async {
///     // tokio::spawn needs a runtime: inside with_tokio it finds the helper's.
///     let out = aioloop::compat::with_tokio(async {
///         tokio::spawn(async { 6 * 7 }).await.unwrap()
///     })
///     .await;
///     assert_eq!(out, 42);
/// });
/// ```
pub fn with_tokio<F: Future>(future: F) -> WithTokio<F> {
    WithTokio {
        future,
        handle: helper::handle(),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`with_tokio`]: polls the inner future inside the helper tokio runtime's
    /// context.
    #[must_use = "futures do nothing unless awaited"]
    pub struct WithTokio<F> {
        #[pin]
        future: F,
        handle: tokio::runtime::Handle,
    }
}

impl<F: Future> Future for WithTokio<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _context = this.handle.enter();
        this.future.poll(cx)
    }
}

impl<F> fmt::Debug for WithTokio<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithTokio").finish_non_exhaustive()
    }
}
