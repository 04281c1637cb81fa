//! Files and directories: asyncio's `to_thread(open(...).read)` pattern and tokio's `fs`,
//! built in.
//!
//! Every operation runs the standard library's blocking call on the loop's blocking pool (the
//! one [`to_thread`](crate::to_thread) uses; there is no second pool) and awaits its result, so
//! a slow disk or network file system holds up only the task that asked. This is what
//! `tokio::fs` and asyncio's `to_thread` do; aioloop does not use io_uring, so every call
//! costs a hand-off to a pool thread and back (a few microseconds): for many small operations,
//! batch them into one [`to_thread`](crate::to_thread) closure with `std::fs`.
//!
//! - Whole files and paths: [`read`], [`read_to_string`], [`write`](write()), [`copy`], [`rename`],
//!   [`remove_file`], [`metadata`], [`symlink_metadata`], [`try_exists`], [`canonicalize`],
//!   [`hard_link`], [`read_link`], [`set_permissions`].
//! - Directories: [`create_dir`], [`create_dir_all`], [`remove_dir`], [`remove_dir_all`], and
//!   [`read_dir`](fn@read_dir), whose entries come as a [`Stream`](futures_core::Stream) ([`ReadDir`]).
//! - [`File`], opened with [`File::open`], [`File::create`] or [`OpenOptions`]: implements
//!   `futures_io::{AsyncRead, AsyncWrite, AsyncSeek}` (and tokio's traits under the `tokio-io`
//!   feature), with tokio's write-behind semantics (see [`File`]).
//!
//! Every function here panics if no loop is running on this thread, as `to_thread` does.
//!
//! ```
//! use aioloop::fs;
//!
//! let dir = std::env::temp_dir().join(format!("aioloop-fs-doc-{}", std::process::id()));
//! aioloop::run(async {
//!     fs::create_dir_all(&dir).await.unwrap();
//!     let path = dir.join("hello.txt");
//!     fs::write(&path, "hello").await.unwrap();
//!     assert_eq!(fs::read_to_string(&path).await.unwrap(), "hello");
//!     assert_eq!(fs::metadata(&path).await.unwrap().len(), 5);
//!     fs::remove_dir_all(&dir).await.unwrap();
//! });
//! ```

mod buf;
mod file;
mod file_io;
mod open_options;
mod ops;
mod read_dir;

pub use file::File;
pub use open_options::OpenOptions;
pub use ops::{
    canonicalize, copy, create_dir, create_dir_all, hard_link, metadata, read, read_link, read_to_string,
    remove_dir, remove_dir_all, remove_file, rename, set_permissions, symlink_metadata, try_exists, write,
};
pub use read_dir::{read_dir, DirEntry, ReadDir};

use std::io;

use crate::task::TaskError;

/// Runs the blocking `f` on the loop's blocking pool and awaits its `io::Result`.
#[track_caller]
pub(crate) fn asyncify<T, F>(f: F) -> impl std::future::Future<Output = io::Result<T>>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let call = crate::to_thread(f);
    async move { call.await.map_err(pool_error)? }
}

/// The `io::Error` for a blocking call that did not return: the loop closed before it ran, or
/// it panicked (a bug in the closure, not an I/O failure: its message is kept).
pub(crate) fn pool_error(error: TaskError) -> io::Error {
    match error {
        TaskError::Cancelled => {
            io::Error::other("aioloop::fs: the event loop closed before the operation ran")
        }
        TaskError::Panicked(_) => {
            io::Error::other(format!("aioloop::fs: the blocking call panicked: {error}"))
        }
    }
}
