//! Many connections (included by benches/compare.rs): TCP echo of 64-byte round trips and
//! HTTP/1.1 "Hello, World!" requests to hyper's server, at 50 and 500 persistent connections,
//! client and server on one loop; an op is one round trip (one request).

use crate::{http_hello, tcp_echo, timed, Workload};

fn echo(conns: usize, rounds: usize) -> Workload {
    let (t, a) = (
        tcp_echo::TokioEcho::with(conns, rounds),
        tcp_echo::AioloopEcho::with(conns, rounds),
    );
    Workload::new(
        format!("TCP echo ({conns} conns x 64 B round trips)"),
        (conns * rounds) as u64,
        Box::new(move || timed(|| t.run())),
        Box::new(move || timed(|| a.run())),
    )
}

fn http(conns: usize, rounds: usize) -> Workload {
    let (t, a) = (
        http_hello::TokioHttp::new(conns, rounds),
        http_hello::AioloopHttp::new(conns, rounds),
    );
    Workload::new(
        format!("HTTP/1.1 hello, hyper ({conns} conns)"),
        (conns * rounds) as u64,
        Box::new(move || timed(|| t.run())),
        Box::new(move || timed(|| a.run())),
    )
}

/// The connection rows, in table order: 5,000 (50 conns) or 10,000 (500 conns) per round.
pub(crate) fn workloads() -> Vec<Workload> {
    vec![echo(50, 100), echo(500, 20), http(50, 100), http(500, 20)]
}
