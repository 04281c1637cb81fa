//! A wake from another thread wakes a loop blocked in poll.

use std::future::poll_fn;
use std::sync::mpsc;
use std::task::Poll;
use std::time::{Duration, Instant};

#[test]
fn a_wake_from_another_thread_wakes_a_blocked_loop() {
    let (tx, rx) = mpsc::channel();
    let elapsed = aioloop::run(async move {
        let start = Instant::now();
        let mut woken = false;
        poll_fn(move |cx| {
            if woken {
                return Poll::Ready(());
            }
            woken = true;
            let waker = cx.waker().clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                tx.send(()).unwrap();
                waker.wake();
            });
            Poll::Pending
        })
        .await;
        start.elapsed()
    });
    rx.recv().unwrap();
    assert!(elapsed >= Duration::from_millis(50));
    assert!(
        elapsed < Duration::from_secs(5),
        "the loop stayed blocked: {elapsed:?}"
    );
}

#[test]
fn a_task_woken_from_another_thread_many_times() {
    let count = aioloop::run(async {
        let mut count = 0;
        for _ in 0..200 {
            let mut sent = false;
            poll_fn(|cx| {
                if sent {
                    return Poll::Ready(());
                }
                sent = true;
                let waker = cx.waker().clone();
                std::thread::spawn(move || {
                    waker.wake_by_ref();
                    waker.wake();
                });
                Poll::Pending
            })
            .await;
            count += 1;
        }
        count
    });
    assert_eq!(count, 200);
}
