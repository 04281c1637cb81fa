//! What every runtime runs: the workload list, their sizes, and the pieces that do not depend
//! on a runtime (a yield for runtimes without one, the sleep delays).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// One workload; an op is one task, one yield, one timer or one round trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// 100k tasks spawned, then joined in order.
    SpawnJoin,
    /// 200 tasks, each yielding 1,000 times.
    Yield,
    /// 100k tasks each sleeping a distinct delay in [0, 20 ms) on the real clock.
    Sleeps,
    /// TCP echo, 50 persistent connections x 100 round trips of 64 B.
    Echo50,
    /// TCP echo, 500 persistent connections x 20 round trips of 64 B.
    Echo500,
}

impl Shape {
    pub const ALL: [Shape; 5] = [
        Shape::SpawnJoin,
        Shape::Yield,
        Shape::Sleeps,
        Shape::Echo50,
        Shape::Echo500,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Shape::SpawnJoin => "spawn+join 100k",
            Shape::Yield => "yield 200 x 1,000",
            Shape::Sleeps => "100k real-clock sleeps over 20 ms",
            Shape::Echo50 => "TCP echo 50 conns x 64 B",
            Shape::Echo500 => "TCP echo 500 conns x 64 B",
        }
    }

    pub fn ops(self) -> u64 {
        match self {
            Shape::SpawnJoin | Shape::Sleeps => SPAWNS,
            Shape::Yield => (YIELD_TASKS * YIELDS) as u64,
            Shape::Echo50 => 50 * 100,
            Shape::Echo500 => 500 * 20,
        }
    }

    /// Connections and round trips per connection of an echo shape.
    pub fn echo(self) -> Option<(usize, usize)> {
        match self {
            Shape::Echo50 => Some((50, 100)),
            Shape::Echo500 => Some((500, 20)),
            _ => None,
        }
    }
}

pub const SPAWNS: u64 = 100_000;
pub const YIELD_TASKS: usize = 200;
pub const YIELDS: usize = 1_000;
pub const MSG: usize = 64;

/// The `i`-th of the 100k sleeps: distinct, 200 ns apart, in scattered order (7919 is prime
/// and does not divide 100,000).
pub fn delay(i: u64) -> Duration {
    Duration::from_nanos((i * 7919 % SPAWNS) * 200)
}

/// Yields once: wakes itself and returns `Pending` the first time (for runtimes without a
/// `yield_now` of their own; tokio's, smol's and aioloop's do the same).
pub fn yield_now() -> impl Future<Output = ()> {
    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    YieldNow(false)
}

/// A runtime's persistent echo connections, per connection count.
pub struct EchoConns<S>(Vec<(usize, Vec<S>)>);

impl<S> EchoConns<S> {
    pub fn new() -> Self {
        EchoConns(Vec::new())
    }

    /// Runs one timed echo round on the `conns` connections: `connect(conns)` opens them the
    /// first time (not timed), `round` runs the round trips and hands the streams back.
    pub fn run(
        &mut self,
        conns: usize,
        connect: impl FnOnce(usize) -> Vec<S>,
        round: impl FnOnce(Vec<S>) -> Vec<S>,
    ) -> Duration {
        let streams = self.take(conns).unwrap_or_else(|| connect(conns));
        let start = std::time::Instant::now();
        let back = round(streams);
        let d = start.elapsed();
        self.put(conns, back);
        d
    }

    /// The `conns` connections, if they were opened before.
    pub fn take(&mut self, conns: usize) -> Option<Vec<S>> {
        let i = self.0.iter().position(|e| e.0 == conns)?;
        Some(self.0.swap_remove(i).1)
    }

    /// Keeps `streams` for the next round.
    pub fn put(&mut self, conns: usize, streams: Vec<S>) {
        self.0.push((conns, streams));
    }
}
