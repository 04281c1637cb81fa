//! The seed program of the threads issue, from asyncio:
//!
//! ```python
//! def blocking(fut, loop, i):
//!     time.sleep(5)                                       # a blocking call, in its own thread
//!     asyncio.run_future_threadsafe(resolve(fut, i), loop).result()
//!
//! async def main():
//!     loop = asyncio.get_running_loop()
//!     futs = [loop.create_future() for _ in range(5)]
//!     for i, fut in enumerate(futs):
//!         threading.Thread(target=blocking, args=(fut, loop, i)).start()
//!     await asyncio.gather(*futs)                         # five 5 s sleeps: 5 s in all
//! ```
//!
//! N threads each block in `std::thread::sleep`, then resolve an `aioloop::Future` on the loop
//! through `run_coroutine_threadsafe`; the loop awaits all of them. The sleeps overlap, so the
//! total is about one sleep.
//!
//! `cargo run --release --example threadsafe_sleep` runs 5 threads × 200 ms; the original
//! timing (5 threads × 5 s) with `AIOLOOP_SEED_FULL=1` or `-- --full`; any other with
//! `-- THREADS MILLIS`.

use std::thread;
use std::time::{Duration, Instant};

use aioloop::{get_running_loop, Future, LoopBound};

/// Runs the seed with `threads` threads sleeping `sleep` each and returns the total time and
/// the values the futures resolved to.
pub async fn run_seed(threads: usize, sleep: Duration) -> (Duration, Vec<usize>) {
    let start = Instant::now();
    let handle = get_running_loop().handle();
    let futures: Vec<Future<usize>> = (0..threads).map(|_| Future::new()).collect();
    for (i, fut) in futures.iter().enumerate() {
        // An aioloop::Future is not Send: it travels to the thread and back in a LoopBound.
        let fut = LoopBound::new(fut.clone());
        let handle = handle.clone();
        thread::spawn(move || {
            thread::sleep(sleep); // time.sleep(5)
            let resolve = async move { fut.into_inner().set_result(i) }; // runs on the loop
            handle
                .run_future_threadsafe(resolve)
                .result()
                .expect("the loop is running")
                .expect("each future is set once");
        });
    }
    let mut values = Vec::with_capacity(threads);
    for fut in futures {
        values.push(fut.await.expect("nobody cancels the futures"));
    }
    (start.elapsed(), values)
}

#[allow(dead_code)] // the integration test includes this file for `run_seed` only
fn config() -> (usize, Duration) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full =
        std::env::var_os("AIOLOOP_SEED_FULL").is_some_and(|v| v != "0") || args.iter().any(|a| a == "--full");
    if full {
        return (5, Duration::from_secs(5));
    }
    match (
        args.first().and_then(|a| a.parse().ok()),
        args.get(1).and_then(|a| a.parse().ok()),
    ) {
        (Some(threads), Some(millis)) => (threads, Duration::from_millis(millis)),
        (Some(threads), None) => (threads, Duration::from_millis(200)),
        _ => (5, Duration::from_millis(200)),
    }
}

#[allow(dead_code)]
#[aioloop::main]
async fn main() {
    let (threads, sleep) = config();
    let (total, values) = run_seed(threads, sleep).await;
    println!(
        "{threads} threads × {sleep:?} of blocking sleep, each resolving a Future through \
         run_coroutine_threadsafe: {total:.3?} in all (values {values:?})"
    );
}
