//! 10,000 sleeps of random 1–20 ms across many tasks, on aioloop and on tokio current_thread:
//! prints how late each sleep ended (p50, p99, max) and how many ended early (must be 0).
//! A measurement, not a test: run with `cargo bench --bench timer_lateness`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

const SLEEPS: usize = 10_000;

fn asked(i: usize) -> Duration {
    Duration::from_micros(1_000 + ((i * 7919) % 19_000) as u64)
}

fn report(name: &str, mut late: Vec<i128>) {
    let early = late.iter().filter(|&&ns| ns < 0).count();
    late.sort_unstable();
    let pct = |p: f64| late[((late.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
    println!(
        "{name:8} lateness over {SLEEPS} sleeps of 1-20 ms: p50 {:8.1} us  p99 {:8.1} us  max {:8.1} us  early: {early}",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let late = Rc::new(RefCell::new(Vec::with_capacity(SLEEPS)));
    rt.block_on(async {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let tasks: Vec<_> = (0..SLEEPS)
                    .map(|i| {
                        let late = late.clone();
                        tokio::task::spawn_local(async move {
                            let start = Instant::now();
                            tokio::time::sleep(asked(i)).await;
                            let got = start.elapsed().as_nanos() as i128 - asked(i).as_nanos() as i128;
                            late.borrow_mut().push(got);
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            })
            .await
    });
    report("tokio", late.take());

    aioloop::run(async {
        let tasks: Vec<_> = (0..SLEEPS)
            .map(|i| {
                let late = late.clone();
                aioloop::spawn(async move {
                    let start = Instant::now();
                    aioloop::sleep(asked(i)).await;
                    let got = start.elapsed().as_nanos() as i128 - asked(i).as_nanos() as i128;
                    late.borrow_mut().push(got);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    report("aioloop", late.take());
}
