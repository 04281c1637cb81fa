//! Unit tests of the threadsafe door.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::*;
use crate::EventLoop;

/// The eventfd is written only by the first submission after the loop parks: a burst sent
/// while the loop is busy costs no syscall at all, and one sent to a parked loop one write
/// per park.
#[test]
fn a_burst_costs_no_eventfd_write_while_the_loop_runs() {
    const BURST: usize = 100_000;
    let event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let remote = event_loop.core.remote_queue().clone();
    let ran = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(AtomicBool::new(false));
    let (sent_tx, sent_rx) = mpsc::channel();
    let producer = {
        let (handle, ran, release) = (handle.clone(), ran.clone(), release.clone());
        std::thread::spawn(move || {
            // Wait until the loop is busy (running the task below), then send the burst.
            sent_rx.recv().unwrap();
            for _ in 0..BURST {
                let ran = ran.clone();
                handle
                    .call_soon_threadsafe(move || {
                        ran.fetch_add(1, Ordering::Relaxed);
                    })
                    .unwrap();
            }
            release.store(true, Ordering::SeqCst);
        })
    };
    let before = remote.wakeups();
    event_loop.run_until_complete(async {
        sent_tx.send(()).unwrap();
        // Busy on the loop's thread while the burst arrives.
        while !release.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
        while ran.load(Ordering::Relaxed) < BURST {
            crate::yield_now().await;
        }
    });
    producer.join().unwrap();
    assert_eq!(
        remote.wakeups() - before,
        0,
        "the loop never parked during the burst"
    );

    // A parked loop: one submission, one write.
    let h = handle.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30)); // the loop parks meanwhile
        h.stop().unwrap();
    });
    let before = remote.wakeups();
    event_loop.run_forever();
    stopper.join().unwrap();
    assert_eq!(remote.wakeups() - before, 1);
}

/// A burst at a parked loop: at most one write per park, far fewer than the submissions.
#[test]
fn a_burst_at_a_parked_loop_costs_one_write_per_park() {
    const BURST: usize = 100_000;
    let event_loop = EventLoop::new().unwrap();
    let handle = event_loop.handle();
    let remote = event_loop.core.remote_queue().clone();
    let ran = Arc::new(AtomicUsize::new(0));
    let producer = {
        let ran = ran.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30)); // the loop parks meanwhile
            for _ in 0..BURST {
                let ran = ran.clone();
                handle
                    .call_soon_threadsafe(move || {
                        ran.fetch_add(1, Ordering::Relaxed);
                    })
                    .unwrap();
            }
            handle.stop().unwrap();
        })
    };
    let before = remote.wakeups();
    event_loop.run_forever();
    producer.join().unwrap();
    event_loop.run_until_complete(crate::yield_now());
    assert_eq!(ran.load(Ordering::Relaxed), BURST);
    let writes = remote.wakeups() - before;
    eprintln!("{BURST} submissions at a parked loop: {writes} eventfd writes");
    assert!(
        (1..=(BURST / 20) as u64).contains(&writes),
        "{writes} eventfd writes"
    );
}
