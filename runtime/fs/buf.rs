//! [`Buf`]: the buffer a [`File`](super::File) hands to the blocking pool and back: the bytes of
//! a read not yet taken, or of a write not yet done.

use std::io::{self, Read, Write};

/// The largest read or write a [`File`](super::File) sends to the pool at once, by default
/// (tokio's value).
pub(super) const DEFAULT_MAX_BUF_SIZE: usize = 2 * 1024 * 1024;

#[derive(Debug, Default)]
pub(super) struct Buf {
    bytes: Vec<u8>,
    /// How much of `bytes` was taken already.
    pos: usize,
}

impl Buf {
    /// Bytes not taken yet.
    pub(super) fn len(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves as many unread bytes as fit into `dst`.
    pub(super) fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = self.len().min(dst.len());
        dst[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == self.bytes.len() {
            self.clear();
        }
        n
    }

    /// Fills an empty buffer with up to `max` bytes of `src`, for a write.
    pub(super) fn copy_from(&mut self, src: &[u8], max: usize) -> usize {
        debug_assert!(self.is_empty());
        let n = src.len().min(max);
        self.bytes.extend_from_slice(&src[..n]);
        n
    }

    /// Forgets the unread bytes; returns how far the file's cursor is ahead of the reader's
    /// (as a negative offset, to seek back by).
    pub(super) fn discard_read(&mut self) -> i64 {
        let ahead = -(self.len() as i64);
        self.clear();
        ahead
    }

    /// Reads up to `max` bytes from `file` into the (empty) buffer.
    pub(super) fn read_from(&mut self, mut file: &std::fs::File, max: usize) -> io::Result<usize> {
        debug_assert!(self.is_empty());
        self.bytes.resize(max, 0);
        let result = loop {
            match file.read(&mut self.bytes) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.bytes.truncate(*result.as_ref().unwrap_or(&0));
        result
    }

    /// Writes every byte of the buffer to `file`, then empties it (also on error).
    pub(super) fn write_to(&mut self, mut file: &std::fs::File) -> io::Result<()> {
        let result = file.write_all(&self.bytes[self.pos..]);
        self.clear();
        result
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.pos = 0;
    }
}
