//! Chained coroutines: async fns awaiting async fns compute f(x) = x² + 3 for the first 100
//! naturals, one small step at a time.
//!
//! `cargo run --release --example pipeline`

use aioloop::yield_now;

/// The first stage: x².
async fn square(x: u64) -> u64 {
    yield_now().await;
    x * x
}

/// The second stage: + 3.
async fn add_three(x: u64) -> u64 {
    yield_now().await;
    x + 3
}

/// The whole chain for one x.
async fn f(x: u64) -> u64 {
    let squared = square(x).await;
    add_three(squared).await
}

#[aioloop::main]
async fn main() {
    let tasks: Vec<_> = (0..100).map(|x| (x, aioloop::spawn(f(x)))).collect();
    let mut total = 0;
    for (x, task) in tasks {
        let y = task.await.unwrap();
        total += y;
        if x % 10 == 9 {
            println!("f({x}) = {y}");
        }
    }
    println!("sum of f(x) for x in 0..100 = {total}");
}
