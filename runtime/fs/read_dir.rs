//! [`read_dir`]: the entries of a directory, read on the blocking pool a chunk at a time.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_core::{FusedStream, Stream};

use super::{asyncify, pool_error};
use crate::ToThread;

/// How many entries one trip to the pool reads (tokio's value).
const CHUNK: usize = 32;

/// Opens the directory `path` for reading its entries (`std::fs::read_dir`): a [`ReadDir`],
/// read with [`next_entry`](ReadDir::next_entry) or as a `Stream` of `io::Result<DirEntry>`.
/// Entries come in the order the OS gives them (no order), without `.` and `..`.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use aioloop::fs;
///
/// let dir = std::env::temp_dir().join(format!("aioloop-read-dir-doc-{}", std::process::id()));
/// aioloop::run(async {
///     fs::create_dir_all(dir.join("sub")).await.unwrap();
///     fs::write(dir.join("file"), "").await.unwrap();
///     let mut names = Vec::new();
///     let mut entries = fs::read_dir(&dir).await.unwrap();
///     while let Some(entry) = entries.next_entry().await.unwrap() {
///         names.push(entry.file_name().into_string().unwrap());
///     }
///     names.sort();
///     assert_eq!(names, ["file", "sub"]);
///     fs::remove_dir_all(&dir).await.unwrap();
/// });
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let iter = asyncify(move || std::fs::read_dir(path)).await?;
    Ok(ReadDir {
        state: State::Idle {
            read: VecDeque::new(),
            iter: Some(iter),
        },
    })
}

/// The entries of a directory, from [`read_dir`]: [`next_entry`](ReadDir::next_entry), or a
/// [`Stream`] of `io::Result<DirEntry>`. Entries are read on the blocking pool 32 at a time.
#[must_use = "streams do nothing unless polled"]
pub struct ReadDir {
    state: State,
}

enum State {
    /// Entries read and not handed out yet; `iter` is `None` once the directory is exhausted.
    Idle {
        read: VecDeque<io::Result<std::fs::DirEntry>>,
        iter: Option<std::fs::ReadDir>,
    },
    Busy(ToThread<Chunk>),
}

type Chunk = (VecDeque<io::Result<std::fs::DirEntry>>, Option<std::fs::ReadDir>);

impl ReadDir {
    /// The next entry: `Ok(None)` once every entry was handed out. Cancel-safe: dropping the
    /// future loses no entry.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        std::future::poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry (the building block of [`next_entry`](ReadDir::next_entry)).
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.state {
                State::Idle { read, iter } => {
                    if let Some(entry) = read.pop_front() {
                        return Poll::Ready(entry.map(|std| Some(DirEntry { std: Arc::new(std) })));
                    }
                    let Some(mut iter) = iter.take() else {
                        return Poll::Ready(Ok(None));
                    };
                    self.state = State::Busy(crate::to_thread(move || {
                        let chunk: VecDeque<_> = iter.by_ref().take(CHUNK).collect();
                        let more = chunk.len() == CHUNK;
                        (chunk, more.then_some(iter))
                    }));
                }
                State::Busy(call) => {
                    let outcome = ready!(Pin::new(call).poll(cx));
                    let (read, iter) = match outcome {
                        Ok(chunk) => chunk,
                        Err(error) => {
                            self.state = State::Idle {
                                read: VecDeque::new(),
                                iter: None,
                            };
                            return Poll::Ready(Err(pool_error(error)));
                        }
                    };
                    self.state = State::Idle { read, iter };
                }
            }
        }
    }

    fn is_done(&self) -> bool {
        matches!(&self.state, State::Idle { read, iter: None } if read.is_empty())
    }
}

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(ready!(self.get_mut().poll_next_entry(cx)).transpose())
    }
}

impl FusedStream for ReadDir {
    fn is_terminated(&self) -> bool {
        self.is_done()
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle { .. } if self.is_done() => "done",
            State::Idle { .. } => "idle",
            State::Busy(_) => "reading",
        };
        f.debug_struct("ReadDir").field("state", &state).finish()
    }
}

/// An entry of a directory, from [`ReadDir`]: `std::fs::DirEntry` with its blocking methods
/// made `async`.
#[derive(Clone)]
pub struct DirEntry {
    std: Arc<std::fs::DirEntry>,
}

impl DirEntry {
    /// The entry's full path (the directory's path joined with [`file_name`](DirEntry::file_name)).
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The entry's name within its directory.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's metadata, not following a symlink (on the blocking pool).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || std.metadata()).await
    }

    /// The entry's type, not following a symlink (usually known without a system call; else
    /// asked on the blocking pool).
    pub async fn file_type(&self) -> io::Result<FileType> {
        let std = self.std.clone();
        asyncify(move || std.file_type()).await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path()).finish()
    }
}
