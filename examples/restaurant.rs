//! The restaurant with a progress indicator: Listing 2 of the tutorial "On demand data in Python,
//! Part 3: Coroutines and asyncio", ported line by line.
//!
//! One server serves three tables concurrently on one thread: each `serve_table(n)` awaits the
//! steps of a meal (menus, order, kitchen, eating, payment), each a random number of "minutes"
//! of sleep; while one table eats, the server takes another's order. A progress indicator
//! prints a dot every half minute and stops once it is the only unfinished task left.
//!
//! The Python original, beside each line of the port below:
//!
//! ```python
//! async def progress_indicator(delay, loop):
//!     while True:
//!         try:
//!             await asyncio.sleep(delay)
//!         except asyncio.CancelledError:
//!             break
//!         print('.', end='', flush=True)
//!         num_active_tasks = [task for task in asyncio.Task.all_tasks(loop) if not task.done()]
//!         if len(num_active_tasks) == 1:
//!             break
//!
//! loop = asyncio.get_event_loop()
//! gathered_coroutines = asyncio.gather(serve_table(1), serve_table(2), serve_table(3),
//!                                      progress_indicator(0.5, loop))
//! loop.run_until_complete(gathered_coroutines)
//! ```
//!
//! As in asyncio, `gather` runs each coroutine as a task of its own, and the gather itself
//! (handed to `run_until_complete`) is awaited as it is, not wrapped in a fifth task: so while
//! the tables are served `all_tasks()` holds four tasks, and when the last table leaves, one.
//!
//! `cargo run --release --example restaurant` runs with one minute = 10 ms (about a quarter of
//! a second in all); `-- --full` (or `AIOLOOP_FULL=1`) with one minute = 1 s, as the original;
//! `-- --paused` on the loop's paused (virtual) clock, which finishes at once.

use std::cell::Cell;
use std::io::Write;
use std::time::Duration;

use aioloop::{all_tasks, gather, sleep, until_cancelled, EventLoop};

const DISHES: [&str; 5] = ["pad thai", "ramen", "risotto", "tacos", "green curry"];

thread_local! {
    /// The state of a tiny deterministic PRNG (xorshift), so every run serves the same meals.
    static RNG: Cell<u64> = const { Cell::new(0x2545_f491_4f6c_dd1d) };
    /// True while the progress dots have left the cursor in the middle of a line.
    static MID_LINE: Cell<bool> = const { Cell::new(false) };
}

/// Prints one line of news, on a line of its own after any progress dots.
fn say(line: std::fmt::Arguments<'_>) {
    if MID_LINE.with(|m| m.replace(false)) {
        println!();
    }
    println!("{line}");
}

/// A pseudo-random number in `lo..=hi`.
fn random(lo: u64, hi: u64) -> u64 {
    RNG.with(|rng| {
        let mut x = rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rng.set(x);
        lo + x % (hi - lo + 1)
    })
}

fn flag(name: &str, env: &str) -> bool {
    std::env::args().any(|a| a == name) || std::env::var_os(env).is_some_and(|v| v != "0")
}

/// The length of one "minute" of the restaurant.
fn minute() -> Duration {
    if flag("--full", "AIOLOOP_FULL") {
        Duration::from_secs(1)
    } else {
        Duration::from_millis(10)
    }
}

/// Waits between `lo` and `hi` minutes; returns how many.
async fn minutes(lo: u64, hi: u64) -> u64 {
    let n = random(lo, hi);
    sleep(minute() * n as u32).await;
    n
}

async fn get_menus(table: u32) {
    let n = minutes(1, 2).await;
    say(format_args!("table {table}: got the menus after {n} min"));
}

async fn get_order(table: u32) -> &'static str {
    let n = minutes(2, 5).await;
    let dish = DISHES[random(0, DISHES.len() as u64 - 1) as usize];
    say(format_args!("table {table}: ordered {dish} after {n} min"));
    dish
}

async fn prepare_order(table: u32, dish: &str) {
    let n = minutes(5, 10).await;
    say(format_args!(
        "table {table}: {dish} served after {n} min in the kitchen"
    ));
}

async fn eat(table: u32) {
    let n = minutes(10, 20).await;
    say(format_args!("table {table}: finished eating after {n} min"));
}

async fn get_payment(table: u32) {
    let n = minutes(1, 3).await;
    say(format_args!("table {table}: paid after {n} min"));
}

/// One table's meal, step by step: `async def serve_table(n)`.
async fn serve_table(table: u32) {
    let start = aioloop::get_running_loop().time();
    get_menus(table).await;
    let dish = get_order(table).await;
    prepare_order(table, dish).await;
    eat(table).await;
    get_payment(table).await;
    let took = (aioloop::get_running_loop().time() - start).as_secs_f64() / minute().as_secs_f64();
    say(format_args!("table {table}: left after {took:.1} min"));
}

/// `async def progress_indicator(delay, loop)`, line by line.
async fn progress_indicator(delay: Duration) {
    loop {
        // try: await asyncio.sleep(delay) / except asyncio.CancelledError: break
        if until_cancelled(sleep(delay)).await.is_err() {
            break;
        }
        print!(".");
        std::io::stdout().flush().ok();
        MID_LINE.with(|m| m.set(true));
        let num_active_tasks: Vec<_> = all_tasks().into_iter().filter(|task| !task.is_done()).collect();
        if num_active_tasks.len() == 1 {
            break;
        }
    }
}

fn main() {
    let unit = minute();
    println!("opening the restaurant (one minute = {unit:?})");
    let event_loop = EventLoop::builder()
        .start_paused(flag("--paused", "AIOLOOP_PAUSED"))
        .build()
        .expect("an event loop");
    let opened = event_loop.time();
    let gathered_coroutines = gather!(
        serve_table(1),
        serve_table(2),
        serve_table(3),
        progress_indicator(unit / 2),
    );
    event_loop.run_until_complete(gathered_coroutines);
    let took = (event_loop.time() - opened).as_secs_f64() / unit.as_secs_f64();
    say(format_args!("closing the restaurant after {took:.1} min"));
}
