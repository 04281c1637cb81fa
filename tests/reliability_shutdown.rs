//! Re-entrancy while the loop closes: destructors that spawn, wake, cancel and drop other tasks
//! must not hit a RefCell borrow error, and everything is dropped exactly once.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Waker;

use aioloop::{spawn, yield_now, EventLoop, Task};

struct Chaos {
    victim: Option<Task<()>>,
    to_drop: Option<Task<()>>,
    waker: Rc<RefCell<Option<Waker>>>,
    drops: Rc<Cell<u32>>,
}

impl Drop for Chaos {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
        if let Some(victim) = &self.victim {
            victim.cancel();
        }
        drop(self.to_drop.take());
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
        let drops = self.drops.clone();
        drop(spawn(async move {
            drops.set(drops.get() + 100);
        }));
    }
}

struct Counted(Rc<Cell<u32>>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn destructors_spawn_wake_cancel_and_drop_during_close() {
    let drops = Rc::new(Cell::new(0));
    let counted = Rc::new(Cell::new(0));
    let stashed_waker = Rc::new(RefCell::new(None));
    let lp = EventLoop::builder().debug(false).build().unwrap();
    lp.run_until_complete(async {
        let pending = |c: &Rc<Cell<u32>>| {
            let guard = Counted(c.clone());
            spawn(async move {
                let _g = guard;
                std::future::pending::<()>().await;
            })
        };
        let victim = pending(&counted);
        let to_drop = pending(&counted);
        let w = stashed_waker.clone();
        let woken = {
            let guard = Counted(counted.clone());
            spawn(std::future::poll_fn(move |cx| {
                let _ = &guard;
                *w.borrow_mut() = Some(cx.waker().clone());
                std::task::Poll::<()>::Pending
            }))
        };
        let chaos = Chaos {
            victim: Some(victim),
            to_drop: Some(to_drop),
            waker: stashed_waker.clone(),
            drops: drops.clone(),
        };
        drop(spawn(async move {
            let _chaos = chaos;
            std::future::pending::<()>().await;
        }));
        drop(woken);
        yield_now().await;
        yield_now().await;
    });
    drop(lp);
    assert_eq!(
        drops.get(),
        1,
        "Chaos dropped once; the task it spawned was dropped unrun"
    );
    assert_eq!(counted.get(), 3, "every pending future dropped exactly once");
}

#[test]
fn dropping_task_handles_of_a_closed_loop_is_harmless() {
    let lp = EventLoop::new().unwrap();
    let tasks: Vec<Task<u32>> = (0..10).map(|i| lp.spawn(async move { i })).collect();
    let pending = lp.spawn(std::future::pending::<()>());
    lp.run_until_complete(yield_now());
    drop(lp);
    assert!(pending.is_done());
    drop(pending);
    drop(tasks);
}
