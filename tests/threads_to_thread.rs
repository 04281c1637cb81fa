//! `to_thread` through the public API: work runs on the blocking pool while the loop stays
//! responsive, and the pool is bounded by the builder.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use aioloop::EventLoop;

mod thread_support;

use thread_support::watchdog;

#[test]
fn to_thread_runs_on_the_pool_and_keeps_the_loop_responsive() {
    watchdog(30, || {
        aioloop::run(async {
            let loop_thread = thread::current().id();
            let blocking = aioloop::to_thread(move || {
                thread::sleep(Duration::from_millis(50));
                thread::current().id()
            });
            // The loop keeps running tasks meanwhile.
            let mut turns = 0;
            while turns < 10 {
                aioloop::yield_now().await;
                turns += 1;
            }
            let ran_on = blocking.await.unwrap();
            assert_ne!(ran_on, loop_thread);

            let err = aioloop::run_in_executor(|| -> u8 { panic!("blocking boom") })
                .await
                .unwrap_err();
            assert_eq!(err.panic_message(), Some("blocking boom"));
        });
    });
}

#[test]
fn to_thread_is_bounded_by_the_builder() {
    watchdog(30, || {
        let builder = EventLoop::builder()
            .blocking_threads(2)
            .blocking_keep_alive(Duration::from_millis(100));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (r, p) = (running.clone(), peak.clone());
        let start = Instant::now();
        builder.run(async move {
            let calls: Vec<_> = (0..6)
                .map(|i| {
                    let (running, peak) = (r.clone(), p.clone());
                    aioloop::to_thread(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        thread::sleep(Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                        i
                    })
                })
                .collect();
            for (i, call) in calls.into_iter().enumerate() {
                assert_eq!(call.await.unwrap(), i);
            }
        });
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert!(
            start.elapsed() >= Duration::from_millis(90),
            "6 calls × 30 ms on 2 threads"
        );
    });
}
