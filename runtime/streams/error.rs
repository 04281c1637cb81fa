//! The errors of [`StreamReader`](super::StreamReader): asyncio's `IncompleteReadError` and
//! `LimitOverrunError`, and I/O errors.

use std::fmt;
use std::io;

/// The stream ended before the read was satisfied: asyncio's `IncompleteReadError`. The bytes
/// read so far were consumed from the reader and are in [`partial`](IncompleteReadError::partial).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteReadError {
    /// The bytes read before EOF.
    pub partial: Vec<u8>,
    /// How many bytes were expected (`None` for `readuntil`: the separator was expected).
    pub expected: Option<usize>,
}

impl fmt::Display for IncompleteReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expected {
            Some(expected) => write!(
                f,
                "{} bytes read on a total of {expected} expected bytes",
                self.partial.len()
            ),
            None => write!(
                f,
                "{} bytes read on a total of undefined expected bytes",
                self.partial.len()
            ),
        }
    }
}

impl std::error::Error for IncompleteReadError {}

/// The separator was not found within the reader's limit: asyncio's `LimitOverrunError`. For
/// `readuntil` the data stays in the reader's buffer and can be read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitOverrunError {
    /// How many bytes would have to be consumed (asyncio's `consumed`).
    pub consumed: usize,
    /// True if the separator was found (beyond the limit), false if it was not found at all.
    pub separator_found: bool,
}

impl fmt::Display for LimitOverrunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.separator_found {
            f.write_str("separator is found, but chunk is longer than limit")
        } else {
            f.write_str("separator is not found, and chunk exceed the limit")
        }
    }
}

impl std::error::Error for LimitOverrunError {}

/// What a [`StreamReader`](super::StreamReader) read can fail with.
#[derive(Debug)]
pub enum StreamError {
    /// EOF came first (with the partial data).
    IncompleteRead(IncompleteReadError),
    /// The limit was reached before the separator.
    LimitOverrun(LimitOverrunError),
    /// The socket failed (for example `ConnectionReset`). Bytes read before the failure stay
    /// in the reader's buffer ([`StreamReader::buffer`](super::StreamReader::buffer)), as in
    /// asyncio.
    Io(io::Error),
}

impl StreamError {
    /// The `io::ErrorKind` this error maps to (`UnexpectedEof`, `InvalidData` or the I/O
    /// error's own kind).
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            StreamError::IncompleteRead(_) => io::ErrorKind::UnexpectedEof,
            StreamError::LimitOverrun(_) => io::ErrorKind::InvalidData,
            StreamError::Io(err) => err.kind(),
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::IncompleteRead(err) => err.fmt(f),
            StreamError::LimitOverrun(err) => err.fmt(f),
            StreamError::Io(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for StreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StreamError::IncompleteRead(err) => Some(err),
            StreamError::LimitOverrun(err) => Some(err),
            StreamError::Io(err) => Some(err),
        }
    }
}

impl From<io::Error> for StreamError {
    fn from(err: io::Error) -> Self {
        StreamError::Io(err)
    }
}

impl From<StreamError> for io::Error {
    fn from(err: StreamError) -> Self {
        match err {
            StreamError::Io(err) => err,
            other => io::Error::new(other.kind(), other),
        }
    }
}
