//! [`File`]: an open file whose reads, writes and seeks run on the blocking pool.
//!
//! The state machine is tokio's (fs/file.rs): a file is `Idle`, holding a [`Buf`], or `Busy`,
//! the buffer lent to one blocking operation on the pool. A read fills the buffer on the pool
//! and hands out what fits, keeping the rest for the next read; a write copies the caller's
//! bytes into the buffer and returns at once, the pool writing them behind (write-behind): the
//! next operation waits for it, and its error comes out of the next write, flush or seek. A
//! seek or write after a read first seeks back over the unread bytes.

use std::fmt;
use std::fs::Metadata;
use std::future::Future;
use std::io::{self, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::buf::{Buf, DEFAULT_MAX_BUF_SIZE};
use super::{asyncify, pool_error, OpenOptions};
use crate::blocking::OnClose;
use crate::threadsafe::to_thread_on_close;
use crate::ToThread;

/// An open file, asyncio's `to_thread(open(...))` made a type: tokio's `fs::File`. Reads,
/// writes and seeks run on the loop's blocking pool (see [the module](crate::fs)).
///
/// It implements `futures_io::{AsyncRead, AsyncWrite, AsyncSeek}` (and tokio's traits under
/// the `tokio-io` feature), and has the common methods itself: [`read`](File::read),
/// [`read_to_end`](File::read_to_end), [`write_all`](File::write_all),
/// [`flush`](File::flush), [`seek`](File::seek).
///
/// **Writes are buffered behind.** A write returns as soon as its bytes are copied into the
/// file's buffer; the pool writes them while you go on, and the next operation on the file
/// waits for that. An error of a write comes out of the next write, flush or seek. So
/// [`flush`](File::flush) (or `sync_all`) before dropping a file whose write errors you care
/// about: a file dropped with a write in flight still completes it on the pool, but nobody
/// hears how it went. Closing the loop does not lose a write behind: the close runs the
/// writes still queued on the pool and waits for them (as tokio's runtime waits for its
/// file writes and asyncio's `run` for its executor). Only one operation is in flight
/// at a time; every method takes `&mut self`.
///
/// A `File` belongs to the loop running on its thread: reading, writing or seeking it (even
/// through the traits) with no running loop panics, as [`to_thread`](crate::to_thread) does.
///
/// ```
/// use std::io::SeekFrom;
/// use aioloop::fs::File;
///
/// let path = std::env::temp_dir().join(format!("aioloop-file-doc-{}", std::process::id()));
/// aioloop::run(async {
///     let mut file = File::create(&path).await.unwrap();
///     file.write_all(b"hello, file").await.unwrap();
///     file.flush().await.unwrap();
///
///     let mut file = File::open(&path).await.unwrap();
///     file.seek(SeekFrom::Start(7)).await.unwrap();
///     let mut rest = Vec::new();
///     file.read_to_end(&mut rest).await.unwrap();
///     assert_eq!(rest, b"file");
/// });
/// std::fs::remove_file(&path).unwrap();
/// ```
pub struct File {
    std: Arc<std::fs::File>,
    state: State,
    /// A write behind failed; the next write, flush or seek reports it.
    last_write_err: Option<io::Error>,
    /// A seek was started (`start_seek`) and its outcome not yet returned.
    seeking: bool,
    /// The position after the last seek.
    pos: u64,
    max_buf_size: usize,
}

enum State {
    Idle(Buf),
    Busy(ToThread<(Operation, Buf)>),
}

#[derive(Debug)]
enum Operation {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    Seek(io::Result<u64>),
}

impl File {
    /// Opens `path` for reading (`std::fs::File::open`).
    ///
    /// # Panics
    /// If no loop is running on this thread.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens `path` for writing, creating it or truncating it (`std::fs::File::create`).
    ///
    /// # Panics
    /// If no loop is running on this thread.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates `path` for reading and writing; fails if it exists (`File::create_new`).
    ///
    /// # Panics
    /// If no loop is running on this thread.
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// The options to open a file with: [`OpenOptions`].
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open standard file (its cursor is where the file's starts).
    pub fn from_std(std: std::fs::File) -> File {
        File {
            std: Arc::new(std),
            state: State::Idle(Buf::default()),
            last_write_err: None,
            seeking: false,
            pos: 0,
            max_buf_size: DEFAULT_MAX_BUF_SIZE,
        }
    }

    /// Waits for the operation in flight, then returns the standard file (its cursor where this
    /// file's reader is: unread buffered bytes are sought back over).
    ///
    /// # Errors
    /// The error of a write behind, or of seeking back.
    pub async fn into_std(mut self) -> io::Result<std::fs::File> {
        self.flush().await?;
        self.seek(SeekFrom::Current(0)).await?;
        // Nothing of ours is in flight now; a `metadata` or `sync_all` whose future was
        // dropped may still hold the file on the pool: then hand out a duplicate.
        Arc::try_unwrap(self.std).or_else(|std| std.try_clone())
    }

    /// Reads some bytes into `buf`: `Ok(0)` at the end of the file (or for an empty `buf`).
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_read_priv(cx, buf)).await
    }

    /// Fills `buf`; `UnexpectedEof` if the file ends first.
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        crate::net::stream_impl::read_exact(buf, |cx, buf| self.poll_read_priv(cx, buf)).await
    }

    /// Reads to the end of the file, appending to `buf`; returns how many bytes were read.
    pub async fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let start = buf.len();
        let mut chunk = vec![0; 64 * 1024];
        loop {
            match self.read(&mut chunk).await? {
                0 => return Ok(buf.len() - start),
                n => buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Writes some of `buf` (into the write-behind buffer, up to its maximum size); returns
    /// how many bytes were taken.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_write_priv(cx, buf)).await
    }

    /// Writes all of `buf` (the last part is still being written behind when this returns).
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        crate::net::stream_impl::write_all(buf, |cx, buf| self.poll_write_priv(cx, buf)).await
    }

    /// Waits until every write is done: the error of a failed write comes out here.
    pub async fn flush(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_flush_priv(cx)).await
    }

    /// Moves the cursor (after the writes in flight); returns the new position from the start.
    pub async fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        std::future::poll_fn(|cx| self.poll_seek_priv(cx, pos)).await
    }

    /// Flushes, then syncs data and metadata to the disk (`fsync`).
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.flush().await?;
        let std = self.std.clone();
        asyncify(move || std.sync_all()).await
    }

    /// Flushes, then syncs the data to the disk (`fdatasync`).
    pub async fn sync_data(&mut self) -> io::Result<()> {
        self.flush().await?;
        let std = self.std.clone();
        asyncify(move || std.sync_data()).await
    }

    /// Flushes, then truncates or extends the file to `size` bytes. The cursor does not move.
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.flush().await?;
        // Unread buffered bytes may be gone now: seek back over them first.
        self.seek(SeekFrom::Current(0)).await?;
        let std = self.std.clone();
        asyncify(move || std.set_len(size)).await
    }

    /// The file's metadata (of the open file, so current even if the path changed).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || std.metadata()).await
    }

    /// A new `File` on the same open file description (they share the cursor, as `dup` does).
    pub async fn try_clone(&self) -> io::Result<File> {
        let std = self.std.clone();
        asyncify(move || std.try_clone()).await.map(File::from_std)
    }

    /// Sets the largest read or write sent to the pool at once (default 2 MiB).
    ///
    /// # Panics
    /// If `max_buf_size` is 0.
    pub fn set_max_buf_size(&mut self, max_buf_size: usize) {
        assert!(
            max_buf_size > 0,
            "aioloop::fs::File::set_max_buf_size: the size must not be 0"
        );
        self.max_buf_size = max_buf_size;
    }

    /// The largest read or write sent to the pool at once.
    pub fn max_buf_size(&self) -> usize {
        self.max_buf_size
    }

    /// Sends `op` to the pool with the buffer; the file is busy until it returns. A write
    /// is sent with [`OnClose::Finish`]: closing the loop still runs it and waits for it.
    fn start(
        &mut self,
        buf: Buf,
        on_close: OnClose,
        op: impl FnOnce(&std::fs::File, &mut Buf) -> Operation + Send + 'static,
    ) {
        let std = self.std.clone();
        let call = to_thread_on_close(
            move || {
                let mut buf = buf;
                let op = op(&std, &mut buf);
                (op, buf)
            },
            on_close,
        );
        self.state = State::Busy(call);
    }

    /// Waits for the operation in flight, if any, and returns it (the file is then idle).
    fn poll_busy(&mut self, cx: &mut Context<'_>) -> Poll<Option<Operation>> {
        let State::Busy(call) = &mut self.state else {
            return Poll::Ready(None);
        };
        let outcome = ready!(std::pin::Pin::new(call).poll(cx));
        Poll::Ready(Some(match outcome {
            Ok((op, buf)) => {
                self.state = State::Idle(buf);
                op
            }
            Err(error) => {
                // The pool did not run it: the buffer is gone with the closure.
                self.state = State::Idle(Buf::default());
                Operation::Write(Err(pool_error(error)))
            }
        }))
    }

    /// The idle file's buffer.
    fn idle_buf(&mut self) -> &mut Buf {
        match &mut self.state {
            State::Idle(buf) => buf,
            State::Busy(_) => unreachable!("aioloop::fs::File: busy where idle was checked"),
        }
    }

    pub(super) fn poll_read_priv(&mut self, cx: &mut Context<'_>, dst: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            match ready!(self.poll_busy(cx)) {
                None => {}
                Some(Operation::Read(Ok(_))) => return Poll::Ready(Ok(self.idle_buf().copy_to(dst))),
                Some(Operation::Read(Err(err))) => return Poll::Ready(Err(err)),
                Some(Operation::Write(Err(err))) => self.last_write_err = Some(err),
                Some(Operation::Write(Ok(()))) => {}
                Some(Operation::Seek(result)) => self.seek_done(result),
            }
            let max = self.max_buf_size.min(dst.len());
            let buf = self.idle_buf();
            if !buf.is_empty() || dst.is_empty() {
                return Poll::Ready(Ok(buf.copy_to(dst)));
            }
            let buf = std::mem::take(buf);
            self.start(buf, OnClose::Drop, move |std, buf| {
                Operation::Read(buf.read_from(std, max))
            });
        }
    }

    pub(super) fn poll_write_priv(&mut self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(err) = self.last_write_err.take() {
            return Poll::Ready(Err(err));
        }
        match ready!(self.poll_busy(cx)) {
            None => {}
            Some(Operation::Write(Err(err))) => return Poll::Ready(Err(err)),
            Some(Operation::Seek(result)) => self.seek_done(result),
            Some(Operation::Read(_) | Operation::Write(Ok(()))) => {}
        }
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let max = self.max_buf_size;
        let buf = self.idle_buf();
        // Unread bytes of a read: the file's cursor is ahead of ours by that much.
        let seek_back = (!buf.is_empty()).then(|| SeekFrom::Current(buf.discard_read()));
        let n = buf.copy_from(src, max);
        let buf = std::mem::take(buf);
        self.start(buf, OnClose::Finish, move |mut std, buf| {
            let sought = match seek_back {
                Some(pos) => std.seek(pos).map(drop),
                None => Ok(()),
            };
            Operation::Write(sought.and_then(|()| buf.write_to(std)))
        });
        Poll::Ready(Ok(n))
    }

    pub(super) fn poll_flush_priv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(err) = self.last_write_err.take() {
            return Poll::Ready(Err(err));
        }
        loop {
            match ready!(self.poll_busy(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Operation::Write(Err(err))) => return Poll::Ready(Err(err)),
                Some(Operation::Seek(result)) => self.seek_done(result),
                Some(Operation::Read(_) | Operation::Write(Ok(()))) => {}
            }
        }
    }

    /// Starts a seek on an idle file (tokio's `start_seek`).
    ///
    /// # Errors
    /// If another operation is in flight: complete it first (`poll_complete`).
    pub(super) fn start_seek_priv(&mut self, mut pos: SeekFrom) -> io::Result<()> {
        let State::Idle(buf) = &mut self.state else {
            return Err(io::Error::other(
                "aioloop::fs::File: another operation is in flight; call poll_complete before start_seek",
            ));
        };
        if !buf.is_empty() {
            let ahead = buf.discard_read();
            if let SeekFrom::Current(offset) = &mut pos {
                *offset += ahead;
            }
        }
        let buf = std::mem::take(buf);
        self.seeking = true;
        self.start(buf, OnClose::Drop, move |mut std, _| {
            Operation::Seek(std.seek(pos))
        });
        Ok(())
    }

    /// Completes the operation in flight (tokio's `poll_complete`): the outcome of a started
    /// seek, else the position after the last seek.
    pub(super) fn poll_complete_priv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        loop {
            match ready!(self.poll_busy(cx)) {
                None => return Poll::Ready(Ok(self.pos)),
                Some(Operation::Seek(result)) => {
                    let result = result.inspect(|&pos| self.pos = pos);
                    self.seeking = false;
                    return Poll::Ready(result);
                }
                Some(Operation::Write(Err(err))) => self.last_write_err = Some(err),
                Some(Operation::Read(_) | Operation::Write(Ok(()))) => {}
            }
        }
    }

    /// A whole seek (futures-io's `poll_seek`): completes what is in flight, starts the seek
    /// (unless this call started it already) and waits for it.
    pub(super) fn poll_seek_priv(&mut self, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>> {
        if !self.seeking {
            loop {
                match ready!(self.poll_busy(cx)) {
                    None => break,
                    Some(Operation::Write(Err(err))) => self.last_write_err = Some(err),
                    Some(Operation::Seek(result)) => self.seek_done(result),
                    Some(Operation::Read(_) | Operation::Write(Ok(()))) => {}
                }
            }
            if let Some(err) = self.last_write_err.take() {
                return Poll::Ready(Err(err));
            }
            self.start_seek_priv(pos)?;
        }
        self.poll_complete_priv(cx)
    }

    /// A seek finished that nobody waits for any more (its future was dropped).
    fn seek_done(&mut self, result: io::Result<u64>) {
        self.seeking = false;
        if let Ok(pos) = result {
            self.pos = pos;
        }
    }
}

impl From<std::fs::File> for File {
    fn from(std: std::fs::File) -> Self {
        File::from_std(std)
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle(buf) if buf.is_empty() => "idle",
            State::Idle(_) => "idle, bytes read ahead",
            State::Busy(_) => "busy",
        };
        f.debug_struct("File")
            .field("std", &self.std)
            .field("state", &state)
            .finish()
    }
}

impl std::os::fd::AsRawFd for File {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.std.as_raw_fd()
    }
}

impl std::os::fd::AsFd for File {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.std.as_fd()
    }
}
