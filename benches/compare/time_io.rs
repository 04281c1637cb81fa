//! The summary's virtual-clock timer rows and a yield with a socket registered (included by
//! benches/compare.rs; the real-clock timers are in timers.rs, the connections in net.rs).

use std::time::Duration;

use crate::shapes::poll_once;
use crate::Workload;

/// The timer and I/O workloads, in table order.
pub(crate) fn workloads() -> Vec<Workload> {
    vec![
        workload!(
            "yield, socket registered (1 task x 100k)",
            100_000,
            paused = false,
            tokio = || async {
                let _socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                for _ in 0..100_000 {
                    tokio::task::yield_now().await;
                }
            },
            aioloop = || async {
                let _socket = aioloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                for _ in 0..100_000 {
                    aioloop::yield_now().await;
                }
            }
        ),
        workload!(
            "timer register+cancel (200k)",
            200_000,
            paused = false,
            tokio = || async {
                for i in 0..200_000u64 {
                    poll_once(tokio::time::sleep(Duration::from_millis(1 + i % 1000))).await;
                }
            },
            aioloop = || async {
                for i in 0..200_000u64 {
                    poll_once(aioloop::sleep(Duration::from_millis(1 + i % 1000))).await;
                }
            }
        ),
        workload!(
            "timers to completion (100k over 20 ms, virtual clock)",
            100_000,
            paused = true,
            tokio = || async {
                for t in (0..100_000u64)
                    .map(|i| tokio::spawn(tokio::time::sleep(Duration::from_micros(i * 7919 % 20_000))))
                    .collect::<Vec<_>>()
                {
                    t.await.unwrap();
                }
            },
            aioloop = || async {
                for t in (0..100_000u64)
                    .map(|i| aioloop::spawn(aioloop::sleep(Duration::from_micros(i * 7919 % 20_000))))
                    .collect::<Vec<_>>()
                {
                    t.await.unwrap();
                }
            }
        ),
        workload!(
            "sleep(1ms) actual",
            10,
            paused = false,
            tokio = || async {
                for _ in 0..10 {
                    tokio::time::sleep(Duration::from_millis(1)).await
                }
            },
            aioloop = || async {
                for _ in 0..10 {
                    aioloop::sleep(Duration::from_millis(1)).await
                }
            }
        ),
    ]
}
