//! The restaurant: one server, three tables, and a progress indicator.
//!
//! The server serves three tables concurrently on one thread: each `serve_table(n)` awaits the
//! steps of a meal (menus, order, kitchen, eating, payment), each a random number of "minutes"
//! of sleep; while one table eats, the server takes another's order. A progress task prints a
//! dot every half minute and exits by itself once it is the last task left, found with
//! `aioloop::all_tasks()`.
//!
//! `cargo run --release --example restaurant` runs with one minute = 10 ms (about a quarter of
//! a second in all); `-- --full` (or `AIOLOOP_FULL=1`) with one minute = 1 s, as the original.

use std::cell::Cell;
use std::io::Write;
use std::time::{Duration, Instant};

use aioloop::{all_tasks, current_task, gather, sleep, spawn, wait_for};

const DISHES: [&str; 5] = ["pad thai", "ramen", "risotto", "tacos", "green curry"];

thread_local! {
    /// The state of a tiny deterministic PRNG (xorshift), so every run serves the same meals.
    static RNG: Cell<u64> = const { Cell::new(0x2545_f491_4f6c_dd1d) };
}

thread_local! {
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

/// The length of one "minute" of the restaurant.
fn minute() -> Duration {
    let full =
        std::env::args().any(|a| a == "--full") || std::env::var_os("AIOLOOP_FULL").is_some_and(|v| v != "0");
    if full {
        Duration::from_secs(1)
    } else {
        Duration::from_millis(10)
    }
}

/// Waits between `lo` and `hi` minutes; returns how many.
async fn minutes(unit: Duration, lo: u64, hi: u64) -> u64 {
    let n = random(lo, hi);
    sleep(unit * n as u32).await;
    n
}

async fn get_menus(unit: Duration, table: u32) {
    let n = minutes(unit, 1, 2).await;
    say(format_args!("table {table}: got the menus after {n} min"));
}

async fn get_order(unit: Duration, table: u32) -> &'static str {
    let n = minutes(unit, 2, 5).await;
    let dish = DISHES[random(0, DISHES.len() as u64 - 1) as usize];
    say(format_args!("table {table}: ordered {dish} after {n} min"));
    dish
}

async fn prepare_order(unit: Duration, table: u32, dish: &str) {
    let n = minutes(unit, 5, 10).await;
    say(format_args!(
        "table {table}: {dish} served after {n} min in the kitchen"
    ));
}

async fn eat(unit: Duration, table: u32) {
    let n = minutes(unit, 10, 20).await;
    say(format_args!("table {table}: finished eating after {n} min"));
}

async fn get_payment(unit: Duration, table: u32) {
    let n = minutes(unit, 1, 3).await;
    say(format_args!("table {table}: paid after {n} min"));
}

/// One table's meal, step by step: asyncio's `async def serve_table(n)`.
async fn serve_table(unit: Duration, table: u32) -> &'static str {
    let start = Instant::now();
    get_menus(unit, table).await;
    let dish = get_order(unit, table).await;
    prepare_order(unit, table, dish).await;
    eat(unit, table).await;
    get_payment(unit, table).await;
    let took = start.elapsed().as_secs_f64() / unit.as_secs_f64();
    say(format_args!("table {table}: served in {took:.0} min"));
    dish
}

/// Prints a dot every half minute; returns the number of dots once it is the last task left.
///
/// The future given to `#[aioloop::main]` (or `aioloop::run`) is not a task, so "the last task
/// left" means that `all_tasks()` holds only this one. Like every task, it can be cancelled at
/// any `await`; the guard then says so.
async fn progress(unit: Duration) -> u32 {
    struct Cancelled;
    impl Drop for Cancelled {
        fn drop(&mut self) {
            say(format_args!("progress: cancelled"));
        }
    }
    let guard = Cancelled;
    let me = current_task().expect("progress runs as a task").id();
    let mut dots = 0;
    loop {
        sleep(unit / 2).await;
        let tasks = all_tasks();
        if tasks.len() == 1 && tasks[0].id() == me {
            break;
        }
        print!(".");
        std::io::stdout().flush().ok();
        MID_LINE.with(|m| m.set(true));
        dots += 1;
    }
    std::mem::forget(guard);
    say(format_args!(
        "progress: the last task left, exiting after {dots} dots"
    ));
    dots
}

#[aioloop::main]
async fn main() {
    let unit = minute();
    let start = Instant::now();
    println!("opening the restaurant (one minute = {unit:?})");
    let mut indicator = spawn(progress(unit));
    // The tables are tasks (not plain futures inside the gather), so that all_tasks() sees them.
    let (a, b, c) = gather!(
        spawn(serve_table(unit, 1)),
        spawn(serve_table(unit, 2)),
        spawn(serve_table(unit, 3)),
    )
    .await;
    let dishes = [a.unwrap(), b.unwrap(), c.unwrap()];
    // The indicator notices within half a minute that it is alone. If it did not, cancel it:
    // its future is dropped at its current `await`, and awaiting it gives `Cancelled`.
    if wait_for(&mut indicator, unit * 10).await.is_err() {
        indicator.cancel();
        assert!(indicator.await.unwrap_err().is_cancelled());
    }
    let took = start.elapsed().as_secs_f64() / unit.as_secs_f64();
    println!("all 3 tables served ({}) in {took:.0} min", dishes.join(", "));
}
