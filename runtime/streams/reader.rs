//! [`StreamReader`]: asyncio's buffered reader.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::error::{IncompleteReadError, LimitOverrunError, StreamError};
use super::writer::WriterLink;
use super::DEFAULT_LIMIT;
use crate::task::coop;

/// The smallest free space a read into the buffer gets.
const MIN_READ: usize = 16 * 1024;

/// What a reader reads from.
pub(super) type Source = Pin<Box<dyn futures_io::AsyncRead>>;

/// A buffered reader over a byte stream: asyncio's `StreamReader`, as returned by
/// [`open_connection`](super::open_connection) and handed to a
/// [`start_server`](super::start_server) handler.
///
/// `readuntil` and `readline` look for their separator within a limit (64 KiB unless set
/// otherwise), as asyncio does, so a peer cannot make the buffer grow without bound.
///
/// asyncio's reader is fed by its transport as data arrives; this one reads its source when a
/// method needs data, and also, without ever waiting, takes in what the source already holds
/// where asyncio's answer depends on it: when a method empties the buffer (so that
/// [`at_eof`](StreamReader::at_eof) sees an EOF that arrived with the data) and before
/// `readuntil` reports a separator missing beyond the limit (so that a retry sees new data).
pub struct StreamReader {
    source: Source,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// An error met by a read that did not wait (see [`StreamReader::take_in_ready`]), handed
    /// to the next method that reads.
    error: Option<io::Error>,
    limit: usize,
    /// The writer of the same connection, told of a failure (asyncio's `connection_lost(exc)`
    /// reaches both): `None` for [`StreamReader::new`].
    writer: Option<WriterLink>,
}

impl StreamReader {
    /// A reader over any `futures_io::AsyncRead`, with the default limit.
    pub fn new(source: impl futures_io::AsyncRead + 'static) -> Self {
        StreamReader {
            source: Box::pin(source),
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            error: None,
            limit: DEFAULT_LIMIT,
            writer: None,
        }
    }

    /// A reader paired with the writer `link` leads to (see [`StreamWriter::drain`]).
    ///
    /// [`StreamWriter::drain`]: super::StreamWriter::drain
    pub(super) fn paired(source: impl futures_io::AsyncRead + 'static, link: WriterLink) -> Self {
        StreamReader {
            writer: Some(link),
            ..StreamReader::new(source)
        }
    }

    /// Takes the source out for a TLS upgrade (`StreamWriter::start_tls`), with the bytes read
    /// ahead and not consumed (the first bytes of the peer's handshake, if any); reads fail
    /// with `NotConnected` until [`set_source`](Self::set_source).
    ///
    /// # Errors
    /// The error a read met and not reported yet, or `InvalidInput` after the peer's EOF.
    #[cfg(feature = "tls")]
    pub(super) fn take_source(&mut self) -> io::Result<(Source, Vec<u8>)> {
        if let Some(err) = self.error.take() {
            return Err(err);
        }
        if self.eof {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "start_tls: the peer closed the connection (EOF read)",
            ));
        }
        let ahead = self.buf[self.start..self.end].to_vec();
        self.start = 0;
        self.end = 0;
        let upgrading = io::Error::new(io::ErrorKind::NotConnected, "the connection is in a TLS upgrade");
        let source = std::mem::replace(&mut self.source, Box::pin(Failed(Some(upgrading))));
        Ok((source, ahead))
    }

    /// Reads go to `source` from now on (after a TLS upgrade: the TLS session; after a failed
    /// one: a source that fails with the handshake's error).
    #[cfg(feature = "tls")]
    pub(super) fn set_source(&mut self, source: impl futures_io::AsyncRead + 'static) {
        self.source = Box::pin(source);
    }

    /// True if this reader was made paired with the writer `is_writer` recognises.
    #[cfg(feature = "tls")]
    pub(super) fn is_paired_with(&self, is_writer: impl FnOnce(&WriterLink) -> bool) -> bool {
        self.writer.as_ref().is_some_and(is_writer)
    }

    /// Sets the limit of `readuntil` / `readline` (asyncio's `limit=` argument).
    ///
    /// # Panics
    /// If `limit` is 0.
    pub fn set_limit(&mut self, limit: usize) {
        assert!(limit > 0, "aioloop: a StreamReader's limit must be positive");
        self.limit = limit;
    }

    /// The limit of `readuntil` / `readline`.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The bytes received and not yet consumed.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// True once the peer closed its side and the buffer is empty: asyncio's `at_eof()`. An EOF
    /// that had arrived when the last read method emptied the buffer counts, with no further
    /// read call (a peer that sends `"last\n"` and shuts down: after `readline()` returns the
    /// line, `at_eof()` is true).
    pub fn at_eof(&self) -> bool {
        self.eof && self.start == self.end
    }

    /// Reads once more from the source into the buffer; returns the number of new bytes
    /// (0 at EOF).
    async fn fill(&mut self) -> io::Result<usize> {
        poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// Reads from the source into the buffer only if it has something (data, EOF or an error)
    /// at once; returns the number of new bytes (0 at EOF or when nothing was waiting). Never
    /// waits, so it adds no suspension point (nor a yield for the budget, task/coop.rs).
    async fn take_in_ready(&mut self) -> io::Result<usize> {
        poll_fn(|cx| match coop::with_unconstrained(|| self.poll_fill(cx)) {
            Poll::Pending => Poll::Ready(Ok(0)),
            ready => ready,
        })
        .await
    }

    /// Once a method has emptied the buffer, takes in an EOF (or data) that is already waiting,
    /// so that [`at_eof`](Self::at_eof) answers as asyncio's does. An error is kept for the
    /// next read: the bytes this method returns were read fine.
    async fn look_ahead_if_empty(&mut self) {
        if self.start == self.end && !self.eof && self.error.is_none() {
            if let Err(err) = self.take_in_ready().await {
                self.error = Some(err);
            }
        }
    }

    /// [`fill`](Self::fill) as a poll.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if let Some(err) = self.error.take() {
            return Poll::Ready(Err(err));
        }
        if self.eof {
            return Poll::Ready(Ok(0));
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.buf.len() - self.end < MIN_READ {
            if self.start > 0 && self.start >= (self.end - self.start) {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() - self.end < MIN_READ {
                let grown = (self.buf.len() * 2).max(self.end + MIN_READ);
                self.buf.resize(grown, 0);
            }
        }
        let end = self.end;
        let n = match std::task::ready!(self.source.as_mut().poll_read(cx, &mut self.buf[end..])) {
            Ok(n) => n,
            Err(err) => {
                if let Some(writer) = &self.writer {
                    if err.kind() != io::ErrorKind::Interrupted {
                        writer.reader_failed(&err);
                    }
                }
                return Poll::Ready(Err(err));
            }
        };
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        Poll::Ready(Ok(n))
    }

    /// Takes `n` buffered bytes.
    fn take(&mut self, n: usize) -> Vec<u8> {
        let out = self.buf[self.start..self.start + n].to_vec();
        self.start += n;
        out
    }

    /// Reads up to `n` bytes: what is buffered, or else what one read from the socket brings.
    /// An empty `Vec` means EOF (or `n == 0`). asyncio's `read(n)`.
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped before it completes, no data is lost: what it read
    /// from the source stays in the reader's buffer, and the next call returns it.
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        coop::proceed().await;
        if n == 0 {
            return Ok(Vec::new());
        }
        if self.start == self.end {
            self.fill().await?;
        }
        let n = n.min(self.end - self.start);
        let data = self.take(n);
        self.look_ahead_if_empty().await;
        Ok(data)
    }

    /// Reads until EOF: asyncio's `read()` / `read(-1)`.
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped before it completes, no data is lost: what it read
    /// from the source stays in the reader's buffer, and the next call returns it.
    pub async fn read_to_eof(&mut self) -> io::Result<Vec<u8>> {
        while self.fill().await? > 0 {}
        let n = self.end - self.start;
        Ok(self.take(n))
    }

    /// Reads exactly `n` bytes: asyncio's `readexactly(n)`. At EOF before `n` bytes, the bytes
    /// read are consumed and returned in [`StreamError::IncompleteRead`]; on an I/O error they
    /// stay in the [`buffer`](StreamReader::buffer).
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped before it completes, no data is lost: what it read
    /// from the source stays in the reader's buffer, and the next call returns it.
    pub async fn readexactly(&mut self, n: usize) -> Result<Vec<u8>, StreamError> {
        coop::proceed().await;
        while self.end - self.start < n {
            if self.eof {
                let partial = self.take(self.end - self.start);
                return Err(StreamError::IncompleteRead(IncompleteReadError {
                    partial,
                    expected: Some(n),
                }));
            }
            self.fill().await?;
        }
        let data = self.take(n);
        self.look_ahead_if_empty().await;
        Ok(data)
    }

    /// Reads up to and including `separator`: asyncio's `readuntil(sep)`.
    ///
    /// - EOF first: the buffered bytes are consumed and returned in
    ///   [`StreamError::IncompleteRead`] (`expected: None`).
    /// - No separator within the [limit](StreamReader::limit): [`StreamError::LimitOverrun`],
    ///   and the data stays in the buffer (it can be read again, with `read` for instance).
    ///   Before saying the separator is missing, the reader takes in what the source already
    ///   holds (one read that does not wait), as asyncio's buffer would have received it: a
    ///   retry after more data arrived sees it (`separator_found: true` if the separator came).
    ///
    /// For several separators (asyncio's `readuntil((b"\r\n", b"\n"))`), see
    /// [`readuntil_any`](Self::readuntil_any).
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped before it completes, no data is lost: what it read
    /// from the source stays in the reader's buffer, and the next call returns it.
    ///
    /// # Panics
    /// If `separator` is empty (asyncio's `ValueError`).
    #[inline]
    pub fn readuntil<'a>(
        &'a mut self,
        separator: &'a [u8],
    ) -> impl Future<Output = Result<Vec<u8>, StreamError>> + 'a {
        self.read_through(OneSeparator::new(separator))
    }

    /// Reads up to and including the first of several separators to end in the stream:
    /// asyncio's `readuntil(separator=(sep1, sep2, ...))` (Python 3.13).
    ///
    /// The data returned is the shortest that ends with one of `separators`: of the matches,
    /// the one that ends first wins, even if another (longer) one starts earlier, and of two
    /// that end at the same byte, the shorter separator wins. The order of `separators` does
    /// not matter. To know which one ended the data, look at its end (`ends_with`).
    ///
    /// The errors are [`readuntil`](Self::readuntil)'s, as in asyncio: EOF first is
    /// [`StreamError::IncompleteRead`] with the buffered bytes consumed; a match that starts
    /// beyond the [limit](StreamReader::limit) is [`StreamError::LimitOverrun`] with
    /// `separator_found: true` (the match that ends first counts, ties to the shorter
    /// separator), and none within the limit is `separator_found: false`, the data left in the
    /// buffer. Whether none is within the limit is judged as asyncio does, by the longest
    /// separator: the data searched past the limit by more than the longest separator's length
    /// less one.
    ///
    /// The search is incremental: each wait for data resumes it where it stopped, less the
    /// longest separator's length minus one bytes (a match may straddle the old end).
    ///
    /// ```
    /// use aioloop::net::UnixStream;
    /// use aioloop::streams::StreamReader;
    ///
    /// aioloop::run(async {
    ///     let (a, b) = UnixStream::pair().unwrap();
    ///     a.write_all(b"dos\r\nunix\nlast").await.unwrap();
    ///     drop(a);
    ///     let mut reader = StreamReader::new(b);
    ///     let ends: &[&[u8]] = &[b"\r\n", b"\n"];
    ///     assert_eq!(reader.readuntil_any(ends).await.unwrap(), b"dos\r\n");
    ///     assert_eq!(reader.readuntil_any(ends).await.unwrap(), b"unix\n");
    ///     // EOF before a separator: the rest comes back in the error.
    ///     let err = reader.readuntil_any(ends).await.unwrap_err();
    ///     assert!(matches!(err, aioloop::streams::StreamError::IncompleteRead(e) if e.partial == b"last"));
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe, as [`readuntil`](Self::readuntil).
    ///
    /// # Panics
    /// If `separators` is empty, or one of them is (asyncio's `ValueError`s).
    #[inline]
    pub fn readuntil_any<'a>(
        &'a mut self,
        separators: &'a [&'a [u8]],
    ) -> impl Future<Output = Result<Vec<u8>, StreamError>> + 'a {
        self.read_through(Separators::new(separators))
    }

    /// [`readuntil_any`](Self::readuntil_any)'s loop, asyncio's `readuntil`: the one
    /// implementation of both `readuntil`s.
    async fn read_through(&mut self, separators: impl Separator) -> Result<Vec<u8>, StreamError> {
        coop::proceed().await;
        // No separator starts before `offset` (asyncio's): the search resumes there.
        let mut offset = 0;
        let mut took_in = false;
        loop {
            let data = self.buffer();
            // Only once the shortest separator fits past `offset` can a new match be there.
            if data.len() - offset >= separators.shortest() {
                if let Some((start, end)) = separators.first_end(&data[offset..]) {
                    let start = offset + start;
                    if start > self.limit {
                        return Err(StreamError::LimitOverrun(LimitOverrunError {
                            consumed: start,
                            separator_found: true,
                        }));
                    }
                    let line = self.take(offset + end);
                    self.look_ahead_if_empty().await;
                    return Ok(line);
                }
                // A match starting before this would have ended within `data`, and none did.
                offset = (data.len() + 1).saturating_sub(separators.longest());
                if offset > self.limit {
                    // Once per call, so that a flooding peer cannot keep one call reading.
                    if !took_in && !self.eof {
                        took_in = true;
                        if self.take_in_ready().await? > 0 {
                            continue;
                        }
                    }
                    return Err(StreamError::LimitOverrun(LimitOverrunError {
                        consumed: offset,
                        separator_found: false,
                    }));
                }
            }
            if self.eof {
                let partial = self.take(self.end - self.start);
                return Err(StreamError::IncompleteRead(IncompleteReadError {
                    partial,
                    expected: None,
                }));
            }
            self.fill().await?;
        }
    }

    /// Reads one line, `\n` included: asyncio's `readline()`. At EOF it returns what is left
    /// (possibly nothing) without an error. A line longer than the limit is an error,
    /// [`StreamError::LimitOverrun`], and (as in asyncio, unlike `readuntil`) the overlong data
    /// is discarded: up to and including its `\n` if that is buffered, else the whole buffer.
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped before it completes, no data is lost: what it read
    /// from the source stays in the reader's buffer, and the next call returns it.
    /// (The overlong data is discarded only as the error is returned.)
    pub async fn readline(&mut self) -> Result<Vec<u8>, StreamError> {
        match self.readuntil(b"\n").await {
            Ok(line) => Ok(line),
            Err(StreamError::IncompleteRead(err)) => Ok(err.partial),
            Err(StreamError::LimitOverrun(err)) => {
                let data = self.buffer();
                let discard = match find(data, b"\n") {
                    Some(at) => at + 1,
                    None => data.len(),
                };
                self.start += discard;
                Err(StreamError::LimitOverrun(err))
            }
            Err(err) => Err(err),
        }
    }

    /// The next line, or `None` at EOF: asyncio's `async for line in reader`, as
    /// `while let Some(line) = reader.next_line().await`. A [`readline`](Self::readline) that
    /// returns nothing ends the iteration, as asyncio's `__anext__` does; its errors are
    /// `Some(Err(..))`, and the iteration may go on after them.
    ///
    /// ```
    /// use aioloop::net::UnixStream;
    /// use aioloop::streams::StreamReader;
    ///
    /// aioloop::run(async {
    ///     let (a, b) = UnixStream::pair().unwrap();
    ///     a.write_all(b"one\ntwo").await.unwrap();
    ///     drop(a);
    ///     let mut reader = StreamReader::new(b);
    ///     let mut lines = Vec::new();
    ///     while let Some(line) = reader.next_line().await {
    ///         lines.push(line.unwrap());
    ///     }
    ///     assert_eq!(lines, [&b"one\n"[..], b"two"]);
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe, as [`readline`](Self::readline).
    pub async fn next_line(&mut self) -> Option<Result<Vec<u8>, StreamError>> {
        match self.readline().await {
            Ok(line) if line.is_empty() => None,
            other => Some(other),
        }
    }
}

/// What `readuntil` looks for: one separator or several. `read_through` is generic over it, so
/// that the one-separator form compiles to a plain search (and a future no larger than its
/// argument needs).
trait Separator {
    /// The length of the shortest separator.
    fn shortest(&self) -> usize;
    /// The length of the longest separator.
    fn longest(&self) -> usize;
    /// The match in `haystack` that ends first, as `(start, end)`; of two that end at the same
    /// byte, the shorter separator's (asyncio sorts its separators by length and keeps a match
    /// only if it ends strictly earlier).
    fn first_end(&self, haystack: &[u8]) -> Option<(usize, usize)>;
}

/// `readuntil`'s separator, checked.
struct OneSeparator<'a>(&'a [u8]);

impl<'a> OneSeparator<'a> {
    /// # Panics
    /// If `separator` is empty.
    fn new(separator: &'a [u8]) -> Self {
        assert!(
            !separator.is_empty(),
            "aioloop: readuntil needs a non-empty separator"
        );
        OneSeparator(separator)
    }
}

impl Separator for OneSeparator<'_> {
    fn shortest(&self) -> usize {
        self.0.len()
    }

    fn longest(&self) -> usize {
        self.0.len()
    }

    fn first_end(&self, haystack: &[u8]) -> Option<(usize, usize)> {
        find(haystack, self.0).map(|start| (start, start + self.0.len()))
    }
}

/// `readuntil_any`'s separators, checked.
struct Separators<'a>(&'a [&'a [u8]]);

impl<'a> Separators<'a> {
    /// # Panics
    /// If `all` is empty or one of its separators is.
    fn new(all: &'a [&'a [u8]]) -> Self {
        assert!(
            !all.is_empty(),
            "aioloop: readuntil_any needs at least one separator"
        );
        for separator in all {
            assert!(
                !separator.is_empty(),
                "aioloop: readuntil needs a non-empty separator"
            );
        }
        Separators(all)
    }
}

impl Separator for Separators<'_> {
    fn shortest(&self) -> usize {
        self.0.iter().map(|separator| separator.len()).min().unwrap_or(1)
    }

    fn longest(&self) -> usize {
        self.0.iter().map(|separator| separator.len()).max().unwrap_or(1)
    }

    fn first_end(&self, haystack: &[u8]) -> Option<(usize, usize)> {
        first_end_of_several(self.0, haystack)
    }
}

/// [`Separator::first_end`] for a list. The haystack is searched in windows that double
/// (overlapping by the longest separator's length less one), so that finding a match costs in
/// proportion to where it ends, not to the haystack's length: with `\r\n` and `\n`, a line
/// ended by `\n` is found without scanning everything buffered after it for a `\r\n`.
fn first_end_of_several(all: &[&[u8]], haystack: &[u8]) -> Option<(usize, usize)> {
    let longest = all.iter().map(|separator| separator.len()).max().unwrap_or(1);
    let mut from = 0;
    let mut to = haystack.len().min(256);
    loop {
        if let Some((start, end)) = first_end_within(all, &haystack[from..to]) {
            return Some((from + start, from + end));
        }
        if to == haystack.len() {
            return None;
        }
        // No match ends at or before `to`: one that does later starts at `to + 1 - longest` or
        // after.
        from = (to + 1).saturating_sub(longest);
        to = haystack.len().min(to * 2);
    }
}

/// The match in `window` that ends first (ties: the shorter separator). Each separator after
/// the first is looked for only where it could end no later than the best match so far.
fn first_end_within(all: &[&[u8]], window: &[u8]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for separator in all {
        let within = match best {
            Some((_, end)) => &window[..end],
            None => window,
        };
        if let Some(start) = find(within, separator) {
            let end = start + separator.len();
            let better = match best {
                Some((best_start, best_end)) => end < best_end || (end == best_end && start > best_start),
                None => true,
            };
            if better {
                best = Some((start, end));
            }
        }
    }
    best
}

/// The first occurrence of `needle` (not empty) in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() == 1 {
        return haystack.iter().position(|&b| b == needle[0]);
    }
    find_long(haystack, needle)
}

/// [`find`] for a needle of two bytes or more: a scan for its first byte, each candidate then
/// compared whole.
fn find_long(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    if haystack.len() < needle.len() {
        return None;
    }
    // The last position a match can start at, plus one.
    let starts = haystack.len() - rest.len();
    let mut from = 0;
    while let Some(at) = haystack[from..starts].iter().position(|&b| b == first) {
        let at = from + at;
        if haystack[at + 1..at + needle.len()] == *rest {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

impl fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamReader")
            .field("buffered", &(self.end - self.start))
            .field("eof", &self.eof)
            .field("limit", &self.limit)
            .finish()
    }
}

/// A source that fails: a reader's while its connection is in a TLS upgrade, and after a
/// failed one (with the handshake's error, once; `NotConnected` after).
#[cfg(feature = "tls")]
pub(super) struct Failed(pub(super) Option<io::Error>);

#[cfg(feature = "tls")]
impl futures_io::AsyncRead for Failed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        _buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(self.0.take().unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, "the connection's TLS upgrade failed")
        })))
    }
}
