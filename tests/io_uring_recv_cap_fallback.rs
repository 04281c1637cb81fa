//! Issue 20, "a per-stream cap on held receive buffers", on the path kernels before 6.17 take:
//! with `AIOLOOP_IO_URING_RECV_TOTAL=0` a multishot receive is armed without a total, so the
//! cap is kept by cancelling the receive when a completion reaches it. The same flood as
//! tests/io_uring_recv_cap.rs: the completions the kernel posts before the cancellation
//! still queue, in order, the receive is armed again once the stream is read, and not a byte
//! is lost or reordered across the stops and restarts. (Its own test binary: the variable is
//! set before any loop of the process reads it.)

mod io_uring_support;

use io_uring_support::flood::flooded_unread_stream_holds_at_most;

/// Without the kernel's total the cap is seen only as the loop takes completions in, and one
/// burst of the kernel between two looks may fill the loop's whole buffer ring (4 MiB; seen
/// on 6.18 with the total turned off, in about one run of three): the ring is the bound here.
const HELD_BOUND: usize = 4 << 20;

#[test]
fn issue20_the_cap_without_the_kernels_total_loses_nothing() {
    std::env::set_var("AIOLOOP_IO_URING_RECV_TOTAL", "0");
    flooded_unread_stream_holds_at_most(HELD_BOUND);
}
