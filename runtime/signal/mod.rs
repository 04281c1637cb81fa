//! Unix signals: tokio's `signal`/`ctrl_c` and asyncio's `loop.add_signal_handler`.
//!
//! - [`signal`] returns [`Signals`], a stream of deliveries of one signal (`recv().await`).
//! - [`ctrl_c`] waits for the next `SIGINT`.
//! - [`Loop::add_signal_handler`](crate::Loop::add_signal_handler) /
//!   [`Loop::remove_signal_handler`](crate::Loop::remove_signal_handler) run a callback on the
//!   loop per delivery.
//!
//! The OS-level handler comes from the `signal-hook` crate (async-signal-safe, it only writes to
//! a self-pipe); each loop reads its own pipe through its reactor, so several loops on several
//! threads can all listen to the same signal and each gets every delivery.
//!
//! A signal is caught only while someone is interested: once no loop has a listener or a
//! handler for it, it takes its default action again (asyncio's `remove_signal_handler`
//! restores `SIG_DFL` the same way). signal-hook never uninstalls its handler, so the default is
//! emulated from inside it (see `interest.rs`).

mod driver;
mod handler;
pub(crate) mod interest;
mod kind;
mod stream;

pub use kind::SignalKind;
pub use stream::{ctrl_c, signal, Signals};
