//! Issue 20, "a per-stream cap on held receive buffers", on the path kernels before 6.17 take
//! ("an exact cap before 6.17"): with `AIOLOOP_IO_URING_RECV_TOTAL=0` no multishot receive
//! is armed with a total, and a multishot receive without one brings any number of buffers
//! in one burst between two looks of the loop (it took the whole 4 MiB ring in one run of
//! three), so the stream receives with single receives, each of at most the room left under
//! its cap. The same flood as tests/io_uring_recv_cap.rs: the stream holds at most its cap,
//! to the byte, the receive starts again once the stream is read, and not a byte is lost or
//! reordered across the stops and restarts. (Its own test binary: the variable is set before
//! any loop of the process reads it.)

mod io_uring_support;

use io_uring_support::flood::flooded_unread_stream_holds_at_most;

/// The cap, exactly: a single receive reads at most the room left under it, and none is
/// armed once the stream holds it (runtime/io/uring/recv.rs `CAP_BYTES`).
const HELD_BOUND: usize = 64 * 1024;

#[test]
fn issue20_the_cap_without_the_kernels_total_is_exact_and_loses_nothing() {
    std::env::set_var("AIOLOOP_IO_URING_RECV_TOTAL", "0");
    flooded_unread_stream_holds_at_most(HELD_BOUND);
}
