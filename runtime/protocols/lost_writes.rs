//! [`LostWrites`]: the writes a transport ignores once its connection is lost, counted and,
//! from the fifth on, reported to the loop's exception handler (asyncio's `_conn_lost` count
//! and the warning it logs from `LOG_THRESHOLD_FOR_CONNLOST_WRITES` on). The stream
//! transport's writes and the datagram transport's sends share it.

use std::cell::Cell;

/// The ignored write from which on each one is reported (asyncio's
/// `constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES`).
const REPORT_FROM: u32 = 5;

/// How many writes a transport ignored since its connection was lost.
#[derive(Default)]
pub(in crate::protocols) struct LostWrites(Cell<u32>);

impl LostWrites {
    /// Counts one more ignored write; from the fifth on, reports `message(count)` to the
    /// running loop's exception handler (where asyncio logs its warning).
    pub(in crate::protocols) fn ignore(&self, message: impl FnOnce(u32) -> String) {
        let ignored = self.0.get() + 1;
        self.0.set(ignored);
        if ignored >= REPORT_FROM {
            if let Some(core) = crate::context::current() {
                core.report(&message(ignored), None, None);
            }
        }
    }
}
