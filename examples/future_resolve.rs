//! A Future resolved by another coroutine: `foo` awaits an `aioloop::Future` (asyncio's
//! `loop.create_future()`) that `bar` resolves after a sleep. The pair runs twice: first as two
//! futures inside one `gather!`, then as two spawned tasks. The lines come out in the same
//! order both times.
//!
//! `cargo run --release --example future_resolve` sleeps 100 ms; `-- --full` (or
//! `AIOLOOP_FULL=1`) sleeps 3 s.

use std::time::{Duration, Instant};

use aioloop::{gather, sleep, spawn, Future};

/// Waits for the future and prints what it resolved to.
async fn foo(fut: Future<String>) {
    println!("foo: awaiting the future");
    let value = fut.await.expect("nobody cancels the future");
    println!("foo: the future resolved to {value:?}");
}

/// Sleeps, then resolves the future; `foo` runs after `bar`'s step ends.
async fn bar(fut: Future<String>, delay: Duration) {
    println!("bar: sleeping {delay:?}");
    sleep(delay).await;
    println!("bar: resolving the future");
    fut.set_result("hello from bar".to_string())
        .expect("the future is set once");
    println!("bar: done");
}

#[aioloop::main]
async fn main() {
    let full =
        std::env::args().any(|a| a == "--full") || std::env::var_os("AIOLOOP_FULL").is_some_and(|v| v != "0");
    let delay = if full {
        Duration::from_secs(3)
    } else {
        Duration::from_millis(100)
    };

    println!("-- with gather!");
    let start = Instant::now();
    let fut = Future::new();
    gather!(foo(fut.clone()), bar(fut, delay)).await;
    println!("-- gather! done in {:.2?}", start.elapsed());

    println!("-- with two spawned tasks");
    let start = Instant::now();
    let fut = Future::new();
    let waiter = spawn(foo(fut.clone()));
    let resolver = spawn(bar(fut, delay));
    resolver.await.unwrap();
    waiter.await.unwrap();
    println!("-- tasks done in {:.2?}", start.elapsed());
}
