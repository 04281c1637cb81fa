//! Issue 20, "a per-stream cap on held receive buffers": on the io_uring driver's completion
//! form a stream whose reader does not read stops its multishot receive at a cap (64 KiB), so
//! a peer flooding a connection nobody reads neither takes the loop's buffer ring from the
//! other streams nor holds unbounded memory; the bytes beyond wait in the socket, and once the
//! stream is read every byte arrives, in order, across each stop and restart of the receive.
//! Runs on every driver the machine has (epoll holds nothing: the same answers).

mod io_uring_support;

use io_uring_support::flood::flooded_unread_stream_holds_at_most;

/// The most received bytes the unread stream may hold (without the cap it takes the whole
/// 4 MiB ring): the 64 KiB cap, to the byte, on every kernel (from 6.17 a multishot receive's
/// total less the one buffer the kernel may pass it by, then single receives of the room
/// left; before, single receives: tests/io_uring_recv_cap_fallback.rs).
const HELD_BOUND: usize = 64 * 1024;

/// A peer floods a connection the application read once and then leaves alone: the stream
/// holds at most its cap (the sender's count minus what waits in either socket), another
/// connection echoes meanwhile, and the flooded stream, read at last, yields every byte in
/// order.
#[test]
fn issue20_a_flooded_unread_stream_holds_its_cap_and_loses_nothing() {
    flooded_unread_stream_holds_at_most(HELD_BOUND, 1);
}

/// The same flood after a large read (64 KiB: a bulk receive's end is left to the reader,
/// U9): the stream still holds at most its cap and, read at last, yields every byte in order.
#[test]
fn issue20_a_flooded_stream_of_a_large_reader_holds_its_cap_and_loses_nothing() {
    flooded_unread_stream_holds_at_most(HELD_BOUND, 64 * 1024);
}
