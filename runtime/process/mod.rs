//! Subprocesses: asyncio's `create_subprocess_exec`, as [`Command`] and [`Child`].
//!
//! A [`Command`] mirrors `std::process::Command`; [`Command::spawn`] returns a [`Child`] whose
//! piped standard streams ([`ChildStdin`], [`ChildStdout`], [`ChildStderr`]) implement the same
//! async I/O traits as the sockets, and whose exit is noticed through the reactor: a pidfd on
//! Linux, `SIGCHLD` elsewhere, never a timer. A `Child` dropped before it exits is reaped by
//! the loop later (see [`Child`]), so no zombie is left behind.

mod child;
mod command;
mod exit;
mod pipes;
mod reaper;

pub use child::Child;
pub use command::Command;
pub use pipes::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};
