//! The smallest aioloop program: two tasks taking turns on one loop.
//!
//! Run it with `cargo run --release --example hello`.

use aioloop::{spawn, yield_now};

async fn greeter(name: &'static str, times: u32) -> u32 {
    for i in 1..=times {
        println!("{name}: hello #{i}");
        yield_now().await; // asyncio's `await asyncio.sleep(0)`
    }
    times
}

#[aioloop::main]
async fn main() {
    let ping = spawn(greeter("ping", 3));
    let pong = spawn(greeter("pong", 3));
    let total = ping.await.unwrap() + pong.await.unwrap();
    println!("{total} greetings, one thread, no Send bounds");
}
