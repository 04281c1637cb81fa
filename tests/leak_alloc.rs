//! Leak checks with a counting global allocator: live heap bytes return to the baseline after
//! 100k spawn/complete cycles and after dropping a loop with pending tasks, timers,
//! callbacks and sockets. One test in its own binary, so nothing else allocates concurrently.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::time::Duration;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn spawn_complete_cycles(n: u32) {
    aioloop::run(async move {
        for i in 0..n {
            let task = aioloop::spawn(async move { i });
            assert_eq!(task.await.unwrap(), i);
        }
    });
}

fn loop_with_pending_work() {
    let lp = aioloop::EventLoop::new().unwrap();
    lp.run_until_complete(async {
        for i in 0..1000u64 {
            drop(aioloop::spawn(async move {
                aioloop::sleep(Duration::from_secs(3600 + i)).await;
            }));
            drop(aioloop::spawn(std::future::pending::<()>()));
            let payload = vec![i; 4];
            aioloop::call_later(Duration::from_secs(60), move || drop(payload));
            let fut: aioloop::Future<Vec<u8>> = aioloop::Future::new();
            drop(aioloop::spawn(async move { fut.await.ok() }));
        }
        aioloop::call_soon(|| {});
        // Sockets: a listener, a connected pair, and a task blocked reading from one end.
        let listener = aioloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = aioloop::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        drop(aioloop::spawn(async move {
            let mut buf = [0u8; 16];
            let _ = server.read(&mut buf).await;
        }));
        drop(aioloop::spawn(async move {
            let _keep = (listener, client);
            std::future::pending::<()>().await;
        }));
        aioloop::yield_now().await;
    });
    drop(lp);
}

#[test]
fn heap_returns_to_baseline() {
    // Warm up once: the global loop registry and std's thread-locals keep their capacity.
    spawn_complete_cycles(10);
    loop_with_pending_work();
    let baseline = LIVE.load(Relaxed);

    spawn_complete_cycles(100_000);
    let after_cycles = LIVE.load(Relaxed);
    assert_eq!(
        after_cycles - baseline,
        0,
        "bytes leaked by 100k spawn/complete cycles"
    );

    loop_with_pending_work();
    let after_drop = LIVE.load(Relaxed);
    assert_eq!(
        after_drop - baseline,
        0,
        "bytes leaked by dropping a loop with pending work"
    );
}
