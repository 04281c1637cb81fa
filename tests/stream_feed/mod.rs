//! A `StreamReader` source fed by the test, asyncio's `feed_data` / `feed_eof` /
//! `set_exception`, shared by the audit_asyncio_streams and audit2_asyncio_streams tests.

#![allow(dead_code)] // each test file uses a subset

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use aioloop::streams::{IncompleteReadError, LimitOverrunError, StreamError, StreamReader};

/// A byte source fed by the test, asyncio's `feed_data` / `feed_eof`: each read returns one
/// fed chunk (the least favourable split for a separator), and waits when none is left.
#[derive(Clone, Default)]
pub struct Feed(Rc<RefCell<FeedState>>);

#[derive(Default)]
struct FeedState {
    /// The fed chunks, and errors (`feed_error`) in the order they were fed.
    chunks: VecDeque<Result<Vec<u8>, io::ErrorKind>>,
    eof: bool,
    waker: Option<Waker>,
}

impl Feed {
    fn push(&self, item: Result<Vec<u8>, io::ErrorKind>) {
        let mut state = self.0.borrow_mut();
        state.chunks.push_back(item);
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }

    pub fn feed_data(&self, data: &[u8]) {
        self.push(Ok(data.to_vec()));
    }

    /// An error the next read after the chunks fed so far returns, once (asyncio's
    /// `set_exception`, as a socket reports it).
    pub fn feed_error(&self, kind: io::ErrorKind) {
        self.push(Err(kind));
    }

    pub fn feed_eof(&self) {
        let mut state = self.0.borrow_mut();
        state.eof = true;
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }

    pub fn reader(&self, limit: Option<usize>) -> StreamReader {
        let mut reader = StreamReader::new(self.clone());
        if let Some(limit) = limit {
            reader.set_limit(limit);
        }
        reader
    }
}

impl futures_io::AsyncRead for Feed {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut state = self.0.borrow_mut();
        match state.chunks.pop_front() {
            Some(Ok(mut chunk)) => {
                let n = chunk.len().min(buf.len());
                buf[..n].copy_from_slice(&chunk[..n]);
                if n < chunk.len() {
                    state.chunks.push_front(Ok(chunk.split_off(n)));
                }
                Poll::Ready(Ok(n))
            }
            Some(Err(kind)) => Poll::Ready(Err(io::Error::new(kind, "fed error"))),
            None if state.eof => Poll::Ready(Ok(0)),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A new feed and a reader on it (with `limit`, if any): asyncio's
/// `stream = asyncio.StreamReader(limit=...)`.
pub fn new_reader(limit: Option<usize>) -> (Feed, StreamReader) {
    let feed = Feed::default();
    let stream = feed.reader(limit);
    (feed, stream)
}

/// [`new_reader`] with `data` fed already (asyncio's `stream.feed_data(data)` next).
pub fn fed_reader(data: &[u8], limit: Option<usize>) -> (Feed, StreamReader) {
    let (feed, stream) = new_reader(limit);
    feed.feed_data(data);
    (feed, stream)
}

pub fn incomplete(err: StreamError) -> IncompleteReadError {
    match err {
        StreamError::IncompleteRead(err) => err,
        other => panic!("expected IncompleteReadError, got {other:?}"),
    }
}

pub fn overrun(err: StreamError) -> LimitOverrunError {
    match err {
        StreamError::LimitOverrun(err) => err,
        other => panic!("expected LimitOverrunError, got {other:?}"),
    }
}
