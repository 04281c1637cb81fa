//! Heap bytes per spawned empty task and per pending `sleep`, on aioloop and on tokio's
//! current_thread runtime, measured with a counting global allocator.
//! Run with `cargo bench --bench memory`.
//!
//! Two task rows: what one spawn allocates once the runtime is warm (aioloop's task slab then
//! reuses its slots), and what a live task holds, counting the task storage the runtime keeps
//! for it (aioloop's slab slot, which the warm row cannot see). Past 128 KiB, aioloop's task
//! table is a mapping of its own on Linux (runtime/task/slot_store/table_buf.rs), which the counting
//! allocator does not see: the live row adds the resident bytes of that mapping, read from
//! `/proc/self/smaps`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::task::Poll;
use std::time::Duration;

struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static FREED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts bytes requested.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        FREED.fetch_add(layout.size(), Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const N: usize = 10_000;

/// Live tasks for the "live empty task" row: a power of two, so a slab `Vec` that doubles
/// from 4 ends with exactly this many slots and no spare capacity is counted; aioloop's table
/// is a mapping by then, whose touched pages hold exactly these 8,192 40-byte slots (80 pages).
const N_LIVE: usize = 8192;

/// Bytes allocated by `f`, divided by `N`.
fn per_item(f: impl FnOnce()) -> f64 {
    let before = ALLOCATED.load(Relaxed);
    f();
    (ALLOCATED.load(Relaxed) - before) as f64 / N as f64
}

/// Heap bytes allocated and not freed (a `realloc` counts as alloc + free) by `f`, divided by `n`.
fn live_per_item(n: usize, f: impl FnOnce()) -> f64 {
    let live = || ALLOCATED.load(Relaxed) as f64 - FREED.load(Relaxed) as f64;
    let before = live();
    f();
    (live() - before) / n as f64
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let lp = aioloop::EventLoop::new().unwrap();

    // Warm up: let queues and slabs reach their size, so the measurement counts per-task cost.
    for _ in 0..2 {
        rt.block_on(async {
            let v: Vec<_> = (0..N).map(|_| tokio::spawn(async {})).collect();
            for h in v {
                h.await.unwrap();
            }
        });
        lp.run_until_complete(async {
            let v: Vec<_> = (0..N).map(|_| aioloop::spawn(async {})).collect();
            for h in v {
                h.await.unwrap();
            }
        });
    }
    let mut handles = Vec::with_capacity(N);
    let tokio_task =
        per_item(|| rt.block_on(async { handles.extend((0..N).map(|_| tokio::spawn(async {}))) }));
    rt.block_on(async {
        for h in handles.drain(..) {
            h.await.unwrap();
        }
    });
    let mut tasks = Vec::with_capacity(N);
    let aioloop_task =
        per_item(|| lp.run_until_complete(async { tasks.extend((0..N).map(|_| aioloop::spawn(async {}))) }));
    lp.run_until_complete(async {
        for t in tasks.drain(..) {
            t.await.unwrap();
        }
    });

    let (tokio_live, aioloop_live) = live_tasks(&rt);

    let mut sleeps: Vec<Pin<Box<tokio::time::Sleep>>> = Vec::with_capacity(N);
    let mut naps: Vec<Pin<Box<aioloop::time::Sleep>>> = Vec::with_capacity(N);
    // Warm up the timer stores the same way (aioloop's wheel keeps entries in a slab).
    for _ in 0..2 {
        pending_sleeps_tokio(&rt, &mut sleeps);
        sleeps.clear();
        pending_sleeps_aioloop(&lp, &mut naps);
        naps.clear();
    }
    let tokio_sleep = per_item(|| pending_sleeps_tokio(&rt, &mut sleeps));
    let aioloop_sleep = per_item(|| pending_sleeps_aioloop(&lp, &mut naps));
    println!("heap bytes allocated per item ({N} items, after warm-up; a boxed Sleep includes the Box)");
    println!("| item | tokio current_thread | aioloop |");
    println!("|---|---|---|");
    println!("| spawned empty task (allocated per spawn) | {tokio_task:.0} | {aioloop_task:.0} |");
    println!(
        "| live empty task (held per task, task storage included) | {tokio_live:.0} | {aioloop_live:.0} |"
    );
    println!("| pending sleep (boxed, polled once) | {tokio_sleep:.0} | {aioloop_sleep:.0} |");
    drop((sleeps, naps));
}

/// Heap held per live empty task, waiting for its first poll, on runtimes whose ready queues
/// are warm: tokio's (already warm) and a new aioloop loop whose queue is warmed by callbacks,
/// so its task slab starts empty and its growth is counted.
fn live_tasks(rt: &tokio::runtime::Runtime) -> (f64, f64) {
    let mut handles = Vec::with_capacity(N_LIVE);
    let tokio_live = live_per_item(N_LIVE, || {
        rt.block_on(async { handles.extend((0..N_LIVE).map(|_| tokio::spawn(async {}))) })
    });
    rt.block_on(async {
        for h in handles.drain(..) {
            h.await.unwrap();
        }
    });

    let lp = aioloop::EventLoop::new().unwrap();
    for _ in 0..=N_LIVE {
        lp.call_soon(|| {});
    }
    lp.run_until_complete(async {});
    let mut tasks = Vec::with_capacity(N_LIVE);
    // The coroutine given to `run_until_complete` is a task too (asyncio's model): it takes one
    // slot of the slab, so N_LIVE - 1 spawns make N_LIVE live tasks and the slab ends full.
    let mapped_before = task_table_mappings();
    let aioloop_live = live_per_item(N_LIVE, || {
        lp.run_until_complete(async { tasks.extend((1..N_LIVE).map(|_| aioloop::spawn(async {}))) })
    }) + (task_table_mappings() - mapped_before) / N_LIVE as f64;
    lp.run_until_complete(async {
        for t in tasks.drain(..) {
            t.await.unwrap();
        }
    });
    (tokio_live, aioloop_live)
}

/// Resident bytes of the process's task-table mappings: the anonymous mappings of 1 GiB or
/// more (a table reserves 1 GiB of address space, of which it touches what it uses; nothing
/// else in this bench maps that much). 0 where there is no `/proc/self/smaps`.
fn task_table_mappings() -> f64 {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0.0;
    };
    let (mut total, mut anonymous, mut size_kb) = (0.0, false, 0u64);
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let (Some(first), second) = (words.next(), words.next()) else {
            continue;
        };
        let kb = || second.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        if first.contains('-') && !first.ends_with(':') {
            // A mapping's header: `start-end perms offset dev inode [path]`.
            anonymous = line.split_whitespace().nth(5).is_none();
            size_kb = 0;
        } else if first == "Size:" {
            size_kb = kb();
        } else if first == "Rss:" && anonymous && size_kb >= 1 << 20 {
            total += (kb() * 1024) as f64;
        }
    }
    total
}

fn pending_sleeps_tokio(rt: &tokio::runtime::Runtime, sleeps: &mut Vec<Pin<Box<tokio::time::Sleep>>>) {
    rt.block_on(async {
        for i in 0..N {
            let mut s = Box::pin(tokio::time::sleep(Duration::from_secs(60 + i as u64)));
            poll_fn(|cx| {
                let _ = s.as_mut().poll(cx);
                Poll::Ready(())
            })
            .await;
            sleeps.push(s);
        }
    })
}

fn pending_sleeps_aioloop(lp: &aioloop::EventLoop, naps: &mut Vec<Pin<Box<aioloop::time::Sleep>>>) {
    lp.run_until_complete(async {
        for i in 0..N {
            let mut s = Box::pin(aioloop::sleep(Duration::from_secs(60 + i as u64)));
            poll_fn(|cx| {
                let _ = s.as_mut().poll(cx);
                Poll::Ready(())
            })
            .await;
            naps.push(s);
        }
    })
}
