//! Registration churn with events pending: a socket that is dropped while the kernel has
//! readiness queued for it, then replaced by a new socket in the same registration slot (and
//! usually the same file descriptor), must never make the new socket look ready.
//!
//! 1,000,000 cycles under `--release` (`cargo test --release --test net_stale_tokens`); the
//! debug build runs 100,000 so the suite stays within a few seconds. `AIOLOOP_STALE_CYCLES`
//! overrides either.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

use aioloop::net::UdpSocket;

fn cycles() -> usize {
    std::env::var("AIOLOOP_STALE_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) {
            100_000
        } else {
            1_000_000
        })
}

/// Polls `fut` once; true if it completed.
async fn completes_now<F: Future>(fut: std::pin::Pin<&mut F>) -> bool {
    let mut fut = fut;
    poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_ready())).await
}

#[test]
fn no_event_reaches_the_wrong_socket() {
    let cycles = cycles();
    aioloop::run(async move {
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut reused_fd = 0usize;
        for cycle in 0..cycles {
            let old = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            // Readiness queued in the kernel for `old`, never consumed.
            sender.send_to(b"stale", old.local_addr().unwrap()).unwrap();
            if cycle % 2 == 0 {
                // Half the time, let the loop poll so the event is in flight through the
                // reactor too before the socket goes away.
                aioloop::yield_now().await;
            }
            let old_fd = std::os::fd::AsRawFd::as_raw_fd(&old);
            drop(old);
            let new = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            if std::os::fd::AsRawFd::as_raw_fd(&new) == old_fd {
                reused_fd += 1;
            }
            let mut readable = pin!(new.readable());
            assert!(
                !completes_now(readable.as_mut()).await,
                "cycle {cycle}: a fresh socket was reported readable"
            );
            aioloop::yield_now().await; // one iteration: the reactor polls
            assert!(
                !completes_now(readable.as_mut()).await,
                "cycle {cycle}: a stale event reached the new socket"
            );
            if cycle % 1000 == 0 {
                // And a real event does reach it.
                sender.send_to(b"fresh", new.local_addr().unwrap()).unwrap();
                readable.await.unwrap();
                let mut buf = [0; 8];
                let (n, _) = new.recv_from(&mut buf).await.unwrap();
                assert_eq!(&buf[..n], b"fresh");
            }
        }
        assert!(
            reused_fd > cycles / 2,
            "the test relies on fd reuse: {reused_fd}/{cycles}"
        );
    });
}
