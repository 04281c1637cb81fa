//! Issue 20, "a per-stream cap on held receive buffers": on the io_uring driver's completion
//! form a stream whose reader does not read stops its multishot receive at a cap (64 KiB), so
//! a peer flooding a connection nobody reads neither takes the loop's buffer ring from the
//! other streams nor holds unbounded memory; the bytes beyond wait in the socket, and once the
//! stream is read every byte arrives, in order, across each stop and restart of the receive.
//! Runs on every driver the machine has (epoll holds nothing: the same answers).

mod io_uring_support;

use io_uring_support::flood::flooded_unread_stream_holds_at_most;

/// The most received bytes the unread stream may hold (without the cap it takes the whole
/// 4 MiB ring): from Linux 6.17 the 64 KiB cap plus the one buffer the multishot receive that
/// reaches its total may fill; before (no total for a multishot receive, single receives of
/// the room left instead) the cap exactly, as tests/io_uring_recv_cap_fallback.rs checks.
fn held_bound() -> usize {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut version = release
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|v| v.parse::<u32>().ok());
    match (version.next().unwrap_or(0), version.next().unwrap_or(0)) {
        v if v >= (6, 17) => 64 * 1024 + 2 * 4096,
        _ => 64 * 1024,
    }
}

/// A peer floods a connection the application read once and then leaves alone: the stream
/// holds at most its cap (the sender's count minus what waits in either socket), another
/// connection echoes meanwhile, and the flooded stream, read at last, yields every byte in
/// order.
#[test]
fn issue20_a_flooded_unread_stream_holds_its_cap_and_loses_nothing() {
    flooded_unread_stream_holds_at_most(held_bound());
}
