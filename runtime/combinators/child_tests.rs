//! The children machinery without a loop (so Miri can check the pinning and the wakers):
//! futures that wake themselves, driven by hand with a no-op parent waker.

use std::cell::Cell;
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::super::tuple::GatherTuple;
use super::{ChildSet, MaybeDone};

/// Wakes itself `n` times, then returns `value`; counts drops.
struct Yields {
    left: usize,
    value: String,
    dropped: Rc<Cell<usize>>,
}

impl Future for Yields {
    type Output = String;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<String> {
        if self.left == 0 {
            return Poll::Ready(std::mem::take(&mut self.value));
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for Yields {
    fn drop(&mut self) {
        self.dropped.set(self.dropped.get() + 1);
    }
}

fn yields(left: usize, dropped: &Rc<Cell<usize>>) -> Yields {
    Yields {
        left,
        value: format!("v{left}"),
        dropped: dropped.clone(),
    }
}

#[test]
fn a_child_set_polls_woken_children_until_all_finish() {
    let dropped = Rc::new(Cell::new(0));
    let mut set = ChildSet::new([3, 0, 5, 1].map(|n| yields(n, &dropped)));
    let mut cx = Context::from_waker(Waker::noop());
    let mut finished = Vec::new();
    let mut rounds = 0;
    while set.pending > 0 {
        let _ = set.poll_woken(&mut cx, |_, index| {
            finished.push(index);
            std::ops::ControlFlow::Continue(())
        });
        rounds += 1;
    }
    assert_eq!(rounds, 6);
    assert_eq!(finished, [1, 3, 0, 2]);
    assert_eq!(dropped.get(), 4, "finished children are dropped in place");
    assert_eq!(set.take_all(), ["v3", "v0", "v5", "v1"]);
}

#[test]
fn clearing_a_child_set_drops_running_children() {
    let dropped = Rc::new(Cell::new(0));
    let mut set = ChildSet::new([1, 9, 9].map(|n| yields(n, &dropped)));
    let mut cx = Context::from_waker(Waker::noop());
    let _ = set.poll_woken(&mut cx, |_, _| std::ops::ControlFlow::Continue(()));
    let _ = set.poll_woken(&mut cx, |_, _| std::ops::ControlFlow::Continue(()));
    assert_eq!(dropped.get(), 1);
    set.clear();
    assert_eq!(dropped.get(), 3);
}

#[test]
fn a_tuple_gather_polls_in_place_and_keeps_argument_order() {
    let dropped = Rc::new(Cell::new(0));
    let mut gather = pin!(GatherTuple::new((
        MaybeDone::new(yields(4, &dropped)),
        MaybeDone::new(async { 7u8 }),
        MaybeDone::new(yields(1, &dropped)),
    )));
    let mut cx = Context::from_waker(Waker::noop());
    let out = loop {
        if let Poll::Ready(out) = gather.as_mut().poll(&mut cx) {
            break out;
        }
    };
    assert_eq!(out, ("v4".to_string(), 7, "v1".to_string()));
    assert_eq!(dropped.get(), 2);
}
