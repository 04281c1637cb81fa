//! Sending a file over a stream: asyncio's `loop.sock_sendfile` (the socket level, here), which
//! the streams' [`StreamWriter::sendfile`](crate::streams::StreamWriter::sendfile) and the
//! protocols build on. One mechanism, two paths:
//!
//! - **native** ([`send_native`], Linux): `sendfile(2)` from a regular file straight into the
//!   non-blocking socket, at most [`MAX_PER_CALL`] bytes a call, waiting for writability through
//!   the stream's readiness ([`PollEvented::poll_io`], as its writes do) whenever the socket's
//!   buffer is full. On the io_uring driver's completion form the stream's writes wait in its
//!   send buffer until the end of the iteration, so before each call the native path waits
//!   for that buffer's sends ([`PollEvented::poll_flush_send`]; nothing to wait for on epoll):
//!   the file's bytes never overtake bytes written before them.
//! - **fallback** ([`FallbackReader`], everywhere): the file is read in chunks of
//!   [`FALLBACK_CHUNK`] on the loop's blocking pool (a pipe's read may block, a disk's may be
//!   slow: asyncio reads through `run_in_executor` too) and the chunks are written through the
//!   stream's (or the TLS session's, or the transport's) own writes. Taken for a file that is not
//!   a regular file, where `sendfile(2)` refuses the pair before anything was sent (`EINVAL`,
//!   `ENOSYS`, `EOPNOTSUPP`), on systems other than Linux, and over TLS.
//!
//! Either way the call returns the bytes sent, and the file's position ends right after them
//! (`offset` + sent, as asyncio seeks it; unchanged when nothing was sent). The position is set
//! as the bytes go out, after each `sendfile(2)` and after each write of a chunk, so a call
//! dropped before it completes (a timeout, a losing `select!` branch) leaves the position right
//! after the last byte the socket took: sending again from the position loses nothing and
//! repeats nothing. (A file that cannot seek, a pipe, has no position: what the fallback read
//! from it and did not send when the call was dropped is lost with the call.)

use std::fs::File;
use std::future::poll_fn;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
#[cfg(target_os = "linux")]
use std::task::{ready, Poll};

#[cfg(target_os = "linux")]
use crate::io::Direction;
use crate::io::PollEvented;

/// How many bytes the fallback reads at a time (asyncio's `SENDFILE_FALLBACK_READBUFFER_SIZE`).
pub(crate) const FALLBACK_CHUNK: usize = 256 * 1024;

/// The most `sendfile(2)` transfers in one call on Linux (`MAX_RW_COUNT`).
#[cfg(target_os = "linux")]
pub(crate) const MAX_PER_CALL: u64 = 0x7fff_f000;

/// asyncio's `_check_sendfile_params` for `count` (`offset` is unsigned here).
///
/// # Errors
/// `InvalidInput` for `Some(0)`: "count must be a positive integer (got 0)".
pub(crate) fn check_count(count: Option<u64>) -> io::Result<()> {
    if count == Some(0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "count must be a positive integer (got 0)",
        ));
    }
    Ok(())
}

/// asyncio's `SendfileNotAvailableError`: an error of kind `Unsupported` saying why.
pub(crate) fn not_available(why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("sendfile is not available: {why}"),
    )
}

/// True for asyncio's `SendfileNotAvailableError` ([`not_available`]).
pub(crate) fn is_not_available(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::Unsupported
}

/// The socket level (`TcpStream::sendfile`, `UnixStream::sendfile`): the native path, or, if
/// it is not available for this file and `fallback`, the chunks written through `io`'s writes.
///
/// # Errors
/// [`check_count`]'s; `Unsupported` if the native path is not available and not `fallback`;
/// a read's or a send's error (the file's position then follows what was sent).
pub(crate) async fn sock_sendfile<E>(
    io: &PollEvented<E>,
    file: &File,
    offset: u64,
    count: Option<u64>,
    fallback: bool,
) -> io::Result<u64>
where
    E: mio::event::Source + AsRawFd,
    for<'a> &'a E: Write,
{
    check_count(count)?;
    match send_native(io, file, offset, count).await {
        Err(err) if fallback && is_not_available(&err) => {}
        done => return done,
    }
    let mut reader = FallbackReader::new(file, offset, count)?;
    loop {
        let chunk = reader.chunk().await?;
        if chunk.is_empty() {
            return Ok(reader.sent());
        }
        let n = poll_fn(|cx| io.poll_send(cx, chunk)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        reader.consume(n)?;
    }
}

/// The native path: `sendfile(2)` until `count` bytes or the file's end were sent.
///
/// # Errors
/// `Unsupported` ([`not_available`]) if `file` is not a regular file, on systems other than
/// Linux, or if the first `sendfile(2)` fails with `EINVAL`, `ENOSYS` or `EOPNOTSUPP`; a send's
/// error otherwise (after some bytes went out, the position follows them).
pub(crate) async fn send_native<E>(
    io: &PollEvented<E>,
    file: &File,
    offset: u64,
    count: Option<u64>,
) -> io::Result<u64>
where
    E: mio::event::Source + AsRawFd,
    for<'a> &'a E: Write,
{
    let mut send = NativeSend::new(file, offset, count)?;
    poll_fn(|cx| send.poll(io, cx, file)).await
}

/// One native send in progress: the state [`send_native`] polls, which a caller that cannot
/// hold its stream across an await (a protocol transport's socket sits in a `RefCell`) polls
/// itself, lending the stream for each poll.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // built on Linux only
pub(crate) struct NativeSend {
    offset: u64,
    count: Option<u64>,
    sent: u64,
    /// Nothing to send: an empty file (asyncio's shortcut, no call).
    empty: bool,
}

impl NativeSend {
    /// Checks `count` and `file` for the native path.
    ///
    /// # Errors
    /// [`check_count`]'s; `Unsupported` ([`not_available`]) if `file` is not a regular file,
    /// or on systems other than Linux.
    pub(crate) fn new(file: &File, offset: u64, count: Option<u64>) -> io::Result<Self> {
        check_count(count)?;
        if cfg!(not(target_os = "linux")) {
            return Err(not_available("sendfile(2) is used on Linux only"));
        }
        let metadata = file.metadata().map_err(|_| not_available("not a regular file"))?;
        if !metadata.file_type().is_file() {
            return Err(not_available("not a regular file"));
        }
        Ok(NativeSend {
            offset,
            count,
            sent: 0,
            empty: count.is_none() && metadata.len() == 0,
        })
    }

    /// Polls the send on `io` (the stream it started on) from `file` (the one it was made
    /// for): ready with the bytes sent once `count` of them or the file's end went out.
    ///
    /// # Errors
    /// As [`send_native`]'s.
    pub(crate) fn poll<E>(
        &mut self,
        io: &PollEvented<E>,
        cx: &mut std::task::Context<'_>,
        file: &File,
    ) -> std::task::Poll<io::Result<u64>>
    where
        E: mio::event::Source + AsRawFd,
        for<'a> &'a E: Write,
    {
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (io, cx, file);
            std::task::Poll::Ready(Err(not_available("sendfile(2) is used on Linux only")))
        }
        #[cfg(target_os = "linux")]
        {
            if self.empty {
                return Poll::Ready(Ok(0)); // the position stays
            }
            let in_fd = file.as_raw_fd();
            loop {
                let len = match self.count {
                    Some(count) if self.sent >= count => return Poll::Ready(Ok(self.sent)),
                    Some(count) => (count - self.sent).min(MAX_PER_CALL),
                    None => MAX_PER_CALL,
                };
                // Bytes the stream took before (the io_uring completion form's send buffer) go
                // first; at once on epoll.
                ready!(io.poll_flush_send(cx))?;
                let at = self.offset + self.sent;
                // `poll_io`, not `poll_transfer`: a call that sends less than asked may have
                // met the file's end rather than a full socket, so the readiness is cleared
                // only by a `WouldBlock`.
                let result = ready!(io.poll_io(cx, Direction::Write, |socket| {
                    sendfile_once(socket.as_raw_fd(), in_fd, at, len)
                }));
                match result {
                    Ok(0) => return Poll::Ready(Ok(self.sent)), // the file's end
                    Ok(n) => {
                        self.sent += n as u64;
                        // Set as the bytes go out: a dropped call loses nothing already sent.
                        let mut handle = file;
                        handle.seek(SeekFrom::Start(self.offset + self.sent))?;
                    }
                    Err(err) if self.sent == 0 && refuses_pair(&err) => {
                        return Poll::Ready(Err(not_available(&format!("sendfile(2) failed: {err}"))));
                    }
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(err) => return Poll::Ready(Err(err)),
                }
            }
        }
    }
}

/// One `sendfile(2)` of up to `len` bytes of `in_fd` from `offset` into the socket `out_fd`
/// (the file's own position is not used nor moved).
#[cfg(target_os = "linux")]
fn sendfile_once(out_fd: i32, in_fd: i32, offset: u64, len: u64) -> io::Result<usize> {
    let mut off = libc::off_t::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large for off_t"))?;
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    // SAFETY: `off` is a live local the call reads and writes; both descriptors are open for
    // the call (the socket is held by the caller's `PollEvented`, the file by its `&File`).
    let n = unsafe { libc::sendfile(out_fd, in_fd, &mut off, len) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// The errors by which `sendfile(2)` refuses this pair of descriptors (rather than failing a
/// send): the fallback can do what it cannot.
#[cfg(target_os = "linux")]
fn refuses_pair(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    )
}

/// The fallback's side of the file: reads chunks of it on the blocking pool and sets its
/// position as the caller reports bytes sent ([`FallbackReader::consume`]).
pub(crate) struct FallbackReader<'a> {
    file: &'a File,
    offset: u64,
    count: Option<u64>,
    sent: u64,
    /// The file can seek (a regular file, a block device): read with `pread` at
    /// `offset + sent`, its position set after each write. Otherwise (a pipe) read in order.
    seekable: bool,
    /// The chunk read; `buf[taken..filled]` is not sent yet.
    buf: Vec<u8>,
    taken: usize,
    filled: usize,
    /// A duplicate of the file's descriptor for the pool's reads (taken at the first read).
    dup: Option<File>,
}

impl<'a> FallbackReader<'a> {
    /// A reader of `count` bytes (to the end if `None`) of `file` from `offset`.
    ///
    /// # Errors
    /// [`check_count`]'s; `InvalidInput` for an `offset` in a file that cannot seek.
    pub(crate) fn new(file: &'a File, offset: u64, count: Option<u64>) -> io::Result<Self> {
        check_count(count)?;
        let mut handle = file;
        let seekable = handle.stream_position().is_ok();
        if !seekable && offset != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "sendfile: an offset in a file that cannot seek",
            ));
        }
        Ok(FallbackReader {
            file,
            offset,
            count,
            sent: 0,
            seekable,
            buf: Vec::new(),
            taken: 0,
            filled: 0,
            dup: None,
        })
    }

    /// How many bytes were reported sent.
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// The bytes read and not sent yet, reading the next chunk when there are none: empty
    /// once `count` bytes were sent or the file ended.
    ///
    /// # Errors
    /// The read's; `Other` if the blocking pool could not run it.
    pub(crate) async fn chunk(&mut self) -> io::Result<&[u8]> {
        if self.taken == self.filled {
            self.fill().await?;
        }
        Ok(&self.buf[self.taken..self.filled])
    }

    /// Reads the next chunk on the blocking pool.
    async fn fill(&mut self) -> io::Result<()> {
        let want = match self.count {
            Some(count) => usize::try_from(count - self.sent)
                .unwrap_or(usize::MAX)
                .min(FALLBACK_CHUNK),
            None => FALLBACK_CHUNK,
        };
        self.taken = 0;
        self.filled = 0;
        if want == 0 {
            return Ok(());
        }
        let dup = match self.dup.take() {
            Some(dup) => dup,
            None => self.file.try_clone()?,
        };
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(want, 0);
        let at = self.seekable.then_some(self.offset + self.sent);
        let (dup, buf, read) = crate::threadsafe::to_thread(move || {
            let read = read_chunk(&dup, &mut buf, at);
            (dup, buf, read)
        })
        .await
        .map_err(|err| io::Error::other(format!("sendfile: the blocking pool failed: {err}")))?;
        self.dup = Some(dup);
        self.buf = buf;
        self.filled = read?;
        Ok(())
    }

    /// `n` bytes of the chunk were sent: counted, and the file's position set after them.
    ///
    /// # Errors
    /// The seek's.
    pub(crate) fn consume(&mut self, n: usize) -> io::Result<()> {
        debug_assert!(n <= self.filled - self.taken);
        self.taken += n;
        self.sent += n as u64;
        if self.seekable && n > 0 {
            let mut handle = self.file;
            handle.seek(SeekFrom::Start(self.offset + self.sent))?;
        }
        Ok(())
    }
}

/// One read into `buf` (on a pool thread): at `at` for a file that seeks, else in order.
fn read_chunk(file: &File, buf: &mut [u8], at: Option<u64>) -> io::Result<usize> {
    loop {
        let read = match at {
            Some(at) => file.read_at(buf, at),
            None => {
                let mut handle = file;
                handle.read(buf)
            }
        };
        match read {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            read => return read,
        }
    }
}

/// A stream whose native path a writer over it can take (`TcpStream`, `UnixStream`): the
/// streams' [`StreamWriter`](crate::streams::StreamWriter) keeps a weak handle on its socket as
/// this (its sink is type-erased).
pub(crate) trait NativeSendfile {
    /// [`send_native`] on this stream.
    fn sendfile_native<'a>(
        &'a self,
        file: &'a File,
        offset: u64,
        count: Option<u64>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<u64>> + 'a>>;
}
