//! Cooperative round-robin: a counter and a bogosort share one thread by yielding to each other
//! (asyncio's `await asyncio.sleep(0)`, here `yield_now()`).
//!
//! `cargo run --release --example round_robin` sorts 7 numbers; `-- --full` sorts 10, as the
//! original program does (about 3.6 million shuffles on average: seconds, not milliseconds).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use aioloop::{spawn, yield_now};

/// A tiny deterministic PRNG (xorshift), so every run shuffles the same way.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn shuffle(&mut self, items: &mut [u32]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Shuffles until sorted, yielding to the loop after every shuffle.
async fn bogosort(mut items: Vec<u32>, rng: &mut Rng, done: Rc<Cell<bool>>) -> (Vec<u32>, u64) {
    let mut shuffles = 0;
    while !items.windows(2).all(|w| w[0] <= w[1]) {
        rng.shuffle(&mut items);
        shuffles += 1;
        yield_now().await;
    }
    done.set(true);
    (items, shuffles)
}

/// Counts its turns and prints each whole second of elapsed time, until the sort is done.
async fn counter(done: Rc<Cell<bool>>) -> u64 {
    let start = Instant::now();
    let mut turns = 0u64;
    let mut printed = 0;
    while !done.get() {
        turns += 1;
        let secs = start.elapsed().as_secs();
        if secs > printed {
            printed = secs;
            println!("counter: {secs} s elapsed, {turns} turns");
        }
        yield_now().await;
    }
    turns
}

#[aioloop::main]
async fn main() {
    let len = if std::env::args().any(|a| a == "--full") {
        10
    } else {
        7
    };
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let numbers: Vec<u32> = (0..len).map(|_| (rng.next() % 100) as u32).collect();
    println!("sorting {numbers:?}");
    let done = Rc::new(Cell::new(false));
    let count = spawn(counter(done.clone()));
    let sort = spawn(async move { bogosort(numbers, &mut rng, done).await });
    let (sorted, shuffles) = sort.await.unwrap();
    let turns = count.await.unwrap();
    println!("sorted: {sorted:?} after {shuffles} shuffles; the counter had {turns} turns");
}
