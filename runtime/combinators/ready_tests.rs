use std::sync::Arc;
use std::task::Waker;

use super::ReadyList;
use crate::wake_counter::{wake_counter as counter, WakeCounter};

fn wakes(counter: &WakeCounter) -> usize {
    counter.wakes()
}

#[test]
fn children_come_out_in_wake_order_once_each() {
    let list = ReadyList::new(5);
    let (count, parent) = counter();
    list.register(&parent);
    for i in [3, 1, 4, 1, 0, 3] {
        list.waker(i).wake_by_ref();
    }
    assert_eq!(
        wakes(&count),
        1,
        "only the push onto an empty list wakes the parent"
    );
    assert_eq!(list.take().collect::<Vec<_>>(), [3, 1, 4, 0]);
    assert_eq!(list.take().count(), 0);
    list.waker(2).wake_by_ref();
    assert_eq!(wakes(&count), 2);
    assert_eq!(list.take().collect::<Vec<_>>(), [2]);
}

#[test]
fn a_wake_during_the_childs_poll_queues_it_again() {
    let list = ReadyList::new(3);
    let (count, parent) = counter();
    list.register(&parent);
    list.waker(0).wake_by_ref();
    list.waker(1).wake_by_ref();
    let mut batch = list.take();
    assert_eq!(batch.next(), Some(0));
    // Child 0 wakes itself while "being polled"; child 1, still in the batch, is woken too.
    list.waker(0).wake_by_ref();
    list.waker(1).wake_by_ref();
    assert_eq!(batch.next(), Some(1));
    assert_eq!(batch.next(), None);
    drop(batch);
    assert_eq!(list.take().collect::<Vec<_>>(), [0]);
    assert_eq!(wakes(&count), 2);
}

#[test]
fn an_unfinished_batch_gives_its_children_back() {
    let list = ReadyList::new(4);
    let (_count, parent) = counter();
    list.register(&parent);
    for i in 0..4 {
        list.waker(i).wake_by_ref();
    }
    let mut batch = list.take();
    assert_eq!(batch.next(), Some(0));
    drop(batch);
    let mut rest = list.take().collect::<Vec<_>>();
    rest.sort_unstable();
    assert_eq!(rest, [1, 2, 3]);
}

#[test]
fn owned_wakers_count_references_and_outlive_the_list() {
    let list = ReadyList::new(2);
    let (count, parent) = counter();
    list.register(&parent);
    let kept = list.waker(1).clone();
    let also = kept.clone();
    assert!(kept.will_wake(&also));
    assert!(!kept.will_wake(&list.waker(0)));
    drop(list);
    // The list is gone: the wakers keep its memory alive and wake nobody.
    kept.wake_by_ref();
    also.wake();
    kept.wake();
    assert_eq!(wakes(&count), 0);
}

#[test]
fn wakes_from_many_threads_all_arrive() {
    // Under Miri (interpreted, threads scheduled one step at a time) a smaller run suffices.
    const CHILDREN: usize = if cfg!(miri) { 200 } else { 4000 };
    let list = ReadyList::new(CHILDREN);
    let (count, parent) = counter();
    list.register(&parent);
    let wakers: Vec<Waker> = (0..CHILDREN).map(|i| list.waker(i).clone()).collect();
    let wakers = Arc::new(wakers);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let wakers = wakers.clone();
            std::thread::spawn(move || {
                for i in (t..CHILDREN).step_by(4) {
                    wakers[i].wake_by_ref();
                    wakers[i].wake_by_ref();
                }
            })
        })
        .collect();
    let mut seen = vec![0u8; CHILDREN];
    let drain = |seen: &mut Vec<u8>| {
        for i in list.take() {
            seen[i] += 1;
        }
    };
    for t in threads {
        t.join().unwrap();
        drain(&mut seen);
    }
    drain(&mut seen);
    assert!(
        seen.iter().all(|&n| n >= 1),
        "every child woken at least once comes out"
    );
    assert!(seen.iter().all(|&n| n <= 2));
    assert!(wakes(&count) >= 1);
}
