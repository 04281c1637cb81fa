//! `!Send` spawns: 100k tasks each holding an `Rc`, spawned and joined, on tokio's `LocalSet`
//! (in a current_thread runtime) and on its `LocalRuntime` (stable since tokio 1.51), against
//! aioloop's plain `spawn` (every aioloop task may be `!Send`). Warm and fresh loops, as the
//! other task rows (included by benches/compare.rs).

use std::rc::Rc;

use crate::{timed, tokio_rt, Workload};

const N: u64 = 100_000;

async fn tokio_body() {
    let hs: Vec<_> = (0..N)
        .map(|i| {
            let v = Rc::new(i);
            tokio::task::spawn_local(async move { *v })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
}

async fn aioloop_body() {
    let hs: Vec<_> = (0..N)
        .map(|i| {
            let v = Rc::new(i);
            aioloop::spawn(async move { *v })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
}

fn local_runtime() -> tokio::runtime::LocalRuntime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build_local(Default::default())
        .unwrap()
}

fn aioloop_warm() -> crate::Run {
    let lp = aioloop::EventLoop::new().unwrap();
    Box::new(move || timed(|| lp.run_until_complete(aioloop_body())))
}

fn aioloop_fresh() -> crate::Run {
    Box::new(|| {
        let lp = aioloop::EventLoop::new().unwrap();
        let d = timed(|| lp.run_until_complete(aioloop_body()));
        drop(lp);
        d
    })
}

/// The `!Send` rows, in table order.
pub(crate) fn workloads() -> Vec<Workload> {
    let (rt, set) = (tokio_rt(false), tokio::task::LocalSet::new());
    let lrt = local_runtime();
    vec![
        Workload::new(
            "spawn+join 100k !Send (tokio LocalSet)",
            N,
            Box::new(move || timed(|| rt.block_on(set.run_until(tokio_body())))),
            aioloop_warm(),
        ),
        Workload::new(
            "spawn+join 100k !Send (tokio LocalSet, fresh loop)",
            N,
            Box::new(|| {
                let (rt, set) = (tokio_rt(false), tokio::task::LocalSet::new());
                let d = timed(|| rt.block_on(set.run_until(tokio_body())));
                drop((set, rt));
                d
            }),
            aioloop_fresh(),
        ),
        Workload::new(
            "spawn+join 100k !Send (tokio LocalRuntime)",
            N,
            Box::new(move || timed(|| lrt.block_on(tokio_body()))),
            aioloop_warm(),
        ),
        Workload::new(
            "spawn+join 100k !Send (tokio LocalRuntime, fresh loop)",
            N,
            Box::new(|| {
                let lrt = local_runtime();
                let d = timed(|| lrt.block_on(tokio_body()));
                drop(lrt);
                d
            }),
            aioloop_fresh(),
        ),
    ]
}
