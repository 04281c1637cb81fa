//! The summary's timer and I/O workloads (included by benches/compare.rs).

use std::time::Duration;

use crate::shapes::poll_once;
use crate::{tcp_echo, timed, tokio_rt, Workload};

/// TCP echo as in benches/net.rs: 50 connections x 100 round trips of 64 bytes, client and
/// server on one loop; an op is one round trip.
fn tcp_echo_workload() -> Workload {
    let (t, a) = (tcp_echo::TokioEcho::new(), tcp_echo::AioloopEcho::new());
    Workload {
        name: "TCP echo (50 conns x 64 B round trips)",
        ops: (tcp_echo::CONNS * tcp_echo::ROUNDS) as u64,
        tokio: Box::new(move || timed(|| t.run())),
        aioloop: Box::new(move || timed(|| a.run())),
    }
}

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
            "timers to completion (100k, virtual)",
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
        tcp_echo_workload(),
    ]
}
