//! Tests of the timer wheel: edge cases, and an invariant checker that reads the wheel's private
//! state (also used by the differential test in wheel_differential.rs).

use super::*;

#[path = "wheel_differential.rs"]
mod differential;

use differential::Rng;

/// Checks every invariant of the module docs; panics with a message on the first violation.
fn check<T>(w: &Wheel<T>) {
    assert!(w.drained_through <= w.now, "drained beyond the clock");
    let mut seen = 0;
    // Where each live index sits, read off the lists (O(n), which Miri can afford).
    let mut at = std::collections::HashMap::new();
    // One pass over the lists. Most are blank and are passed over with one comparison: under
    // Miri, the walk over all 449 dominated the cost of the tests that call this.
    for (list, slots) in w.lists.iter().enumerate() {
        let list = list as u16;
        let bit = list != READY && {
            let (level, slot) = (usize::from(list) / SLOTS, usize::from(list) % SLOTS);
            w.occupied[level] >> slot & 1 == 1
        };
        if slots.is_blank() {
            assert!(!bit, "occupied bit set on an empty slot");
            continue;
        }
        let mut last = 0;
        let items: Vec<u32> = slots.iter().collect();
        for &index in &items {
            let e = &w.entries[index as usize];
            assert_eq!(e.list, list, "entry records the wrong list");
            if list == READY {
                assert!(e.deadline <= w.now, "ready entry not due");
                assert!(
                    e.deadline >= last || !w.ready_sorted,
                    "ready list out of order but not marked unsorted"
                );
                last = e.deadline;
            } else {
                assert!(e.deadline > w.now, "due entry left in a slot");
                // Independent of `place`: the lowest level whose span contains both ticks.
                let level = (0..LEVELS)
                    .find(|&l| {
                        let shift = 6 * (l as u32 + 1);
                        u128::from(e.deadline) >> shift == u128::from(w.now) >> shift
                    })
                    .unwrap();
                let slot = (e.deadline >> (6 * level)) as usize % SLOTS;
                assert_eq!(usize::from(list), level * SLOTS + slot, "entry in the wrong slot");
            }
            seen += 1;
        }
        if list != READY {
            assert_eq!(bit, !items.is_empty(), "occupied bit disagrees with slot");
        }
        for (pos, index) in slots.iter_positions() {
            assert!(
                at.insert(index, (list, pos)).is_none(),
                "index {index} listed twice"
            );
        }
    }
    assert_eq!(
        w.lists.len(),
        usize::from(READY) + 1,
        "a list per slot, and the ready list"
    );
    for (index, e) in w.entries.iter() {
        let found = at.get(&(index as u32)).copied();
        assert_eq!(found, Some((e.list, e.pos)), "entry's list or position is stale");
    }
    assert_eq!(seen, w.entries.len(), "entries missing from the lists");
    if let MinCache::Known(min) = w.min_cache.get() {
        let real = w
            .entries
            .iter()
            .filter(|(_, e)| e.list != READY)
            .map(|(_, e)| e.deadline)
            .min();
        assert_eq!(min, real, "stale minimum cache");
    }
}

/// Polls everything due at `now`, returning the values in firing order.
fn drain<T>(w: &mut Wheel<T>, now: u64) -> Vec<T> {
    let mut out = Vec::new();
    while let Some((_, v)) = w.poll_expired(now) {
        out.push(v);
    }
    check(w);
    out
}

#[test]
fn deadline_equal_to_now() {
    let mut w = Wheel::new();
    assert!(w.poll_expired(500).is_none());
    let k = w.insert(500, 'a');
    assert_eq!(w.deadline(k), Some(500));
    assert_eq!(w.next_deadline(), Some(500));
    check(&w);
    assert_eq!(w.poll_expired(500), Some((k, 'a')));
    assert!(w.poll_expired(500).is_none());
}

#[test]
fn deadline_zero_on_fresh_wheel() {
    let mut w = Wheel::new();
    let k = w.insert(0, 1);
    assert_eq!(w.next_deadline(), Some(0));
    assert_eq!(w.poll_expired(0), Some((k, 1)));
    assert!(w.is_empty());
    assert_eq!(w.next_deadline(), None);
}

#[test]
fn deadline_u64_max() {
    let mut w = Wheel::new();
    let k = w.insert(u64::MAX, "max");
    w.insert(u64::MAX - 1, "max-1");
    check(&w);
    assert_eq!(w.next_deadline(), Some(u64::MAX - 1));
    assert!(w.poll_expired(u64::MAX - 2).is_none());
    check(&w);
    assert_eq!(drain(&mut w, u64::MAX - 1), ["max-1"]);
    assert_eq!(w.deadline(k), Some(u64::MAX));
    assert_eq!(w.next_deadline(), Some(u64::MAX));
    assert_eq!(drain(&mut w, u64::MAX), ["max"]);
    // At the end of time everything is due at once.
    let k = w.insert(3, "late");
    assert_eq!(w.deadline(k), Some(3));
    assert_eq!(drain(&mut w, 0), ["late"]);
}

#[test]
fn deadline_past_top_level_span() {
    // Distances of 2^60 and more need the top level, whose slots span 2^60 ticks each; the last
    // deadline lies beyond the span of the level-9 block that contains `now`.
    let mut w = Wheel::new();
    assert!(w.poll_expired(7).is_none());
    let ds = [1 << 60, (1 << 60) + 1, 3 << 61, u64::MAX - 5, (1 << 63) + 12_345];
    for (i, &d) in ds.iter().enumerate() {
        w.insert(d, i);
    }
    check(&w);
    assert_eq!(w.next_deadline(), Some(1 << 60));
    assert!(w.poll_expired((1 << 60) - 1).is_none());
    check(&w);
    assert_eq!(drain(&mut w, 1 << 60), [0]);
    assert_eq!(w.next_deadline(), Some((1 << 60) + 1));
    assert_eq!(drain(&mut w, u64::MAX), [1, 2, 4, 3]);
}

#[test]
fn reset_after_expiry_returns_false() {
    let mut w = Wheel::new();
    let k = w.insert(10, ());
    assert_eq!(w.poll_expired(10), Some((k, ())));
    assert!(!w.reset(k, 20));
    assert!(w.is_empty());
    assert_eq!(w.next_deadline(), None);
}

#[test]
fn remove_after_expiry_returns_none() {
    let mut w = Wheel::new();
    let k = w.insert(10, 5);
    assert_eq!(drain(&mut w, 100), [5]);
    assert_eq!(w.remove(k), None);
    assert_eq!(w.deadline(k), None);
    assert_eq!(w.get_mut(k), None);
}

#[test]
fn stale_key_after_slot_reuse() {
    let mut w = Wheel::new();
    let old = w.insert(10, "old");
    assert_eq!(w.remove(old), Some("old"));
    let new = w.insert(20, "new");
    assert_eq!(new.index, old.index, "the slab should reuse the index");
    assert_ne!(new, old);
    assert_eq!(w.remove(old), None);
    assert!(!w.reset(old, 5));
    assert_eq!(w.get_mut(old), None);
    assert_eq!(w.deadline(old), None);
    assert_eq!(w.deadline(new), Some(20));
    check(&w);
    assert_eq!(w.poll_expired(20), Some((new, "new")));
}

#[test]
fn equal_deadlines_cascaded_then_direct_keep_insertion_order() {
    let mut w = Wheel::new();
    // `a` starts at level 2, is cascaded twice; `b` joins at level 1, `c` directly at level 0.
    let a = w.insert(5000, 'a');
    assert_eq!(w.entries[a.index as usize].list, (2 * SLOTS + 1) as u16);
    assert!(w.poll_expired(4100).is_none());
    let b = w.insert(5000, 'b');
    assert_eq!(w.entries[a.index as usize].list, w.entries[b.index as usize].list);
    assert!((SLOTS..2 * SLOTS).contains(&usize::from(w.entries[b.index as usize].list)));
    assert!(w.poll_expired(4995).is_none());
    let c = w.insert(5000, 'c');
    assert!(usize::from(w.entries[c.index as usize].list) < SLOTS);
    // `d` was inserted before all of them but reset afterwards: it counts as the newest.
    let d = w.insert(4999, 'd');
    assert!(w.reset(d, 5000));
    check(&w);
    assert_eq!(drain(&mut w, 5000), ['a', 'b', 'c', 'd']);

    // Same with one jump across the cascade points, and an earlier deadline in between.
    let mut w = Wheel::new();
    w.insert(100, 'x');
    assert!(w.poll_expired(70).is_none()); // `x` fell from level 1 to level 0
    w.insert(100, 'y');
    w.insert(99, 'w');
    assert_eq!(drain(&mut w, 1000), ['w', 'x', 'y']);
}

#[test]
fn insert_remove_and_reset_during_poll_loop() {
    let mut w = Wheel::new();
    w.insert(10, "a");
    let b = w.insert(20, "b");
    w.insert(30, "c");
    let e = w.insert(22, "e");
    assert_eq!(w.poll_expired(25).map(|(_, v)| v), Some("a"));
    w.insert(5, "late"); // overdue: fires first, in deadline order among the due entries
    w.insert(25, "now");
    w.insert(26, "next"); // not due in this loop
    assert!(w.reset(e, 1_000)); // moved out of the due set
    let mut fired = vec!["a"];
    while let Some((k, v)) = w.poll_expired(25) {
        if k == b {
            let k = w.insert(0, "from-callback");
            assert_eq!(w.deadline(k), Some(0));
        }
        fired.push(v);
    }
    assert_eq!(fired, ["a", "late", "b", "from-callback", "now"]);
    assert_eq!(w.next_deadline(), Some(26));

    assert_eq!(drain(&mut w, 26), ["next"]);
    assert_eq!(drain(&mut w, 30), ["c"]);

    // A callback cancelling a timer that is already due: it never fires.
    w.insert(40, "g");
    let h = w.insert(40, "h");
    assert_eq!(w.poll_expired(40).map(|(_, v)| v), Some("g"));
    assert_eq!(w.remove(h), Some("h"));
    assert!(w.poll_expired(40).is_none());
    assert_eq!(drain(&mut w, 2_000), ["e"]);
}

#[test]
fn advance_backwards_is_a_no_op() {
    let mut w = Wheel::new();
    w.insert(150, 1);
    assert!(w.poll_expired(100).is_none());
    assert!(w.poll_expired(50).is_none());
    assert_eq!(w.now(), 100);
    let k = w.insert(60, 2);
    assert_eq!(w.deadline(k), Some(60));
    assert_eq!(w.next_deadline(), Some(100));
    assert_eq!(drain(&mut w, 0), [2]);
    assert_eq!(w.now(), 100);
    assert_eq!(w.next_deadline(), Some(150));
    assert_eq!(drain(&mut w, 150), [1]);
}

#[test]
fn next_deadline_on_empty_is_none() {
    let mut w: Wheel<()> = Wheel::new();
    assert_eq!(w.next_deadline(), None);
    let k = w.insert(1_000_000, ());
    w.remove(k);
    assert_eq!(w.next_deadline(), None);
    assert!(w.poll_expired(u64::MAX).is_none());
    assert_eq!(w.next_deadline(), None);
}

#[test]
fn next_deadline_is_exact_inside_upper_slots() {
    let mut w = Wheel::new();
    w.insert(1_000_003, 'b');
    let a = w.insert(1_000_001, 'a');
    w.insert(1_048_000, 'c');
    assert_eq!(w.next_deadline(), Some(1_000_001));
    assert_eq!(w.remove(a), Some('a'));
    assert_eq!(w.next_deadline(), Some(1_000_003));
    assert!(w.poll_expired(1_000_002).is_none());
    assert_eq!(w.next_deadline(), Some(1_000_003));
    assert_eq!(drain(&mut w, 1_000_003), ['b']);
    assert_eq!(w.next_deadline(), Some(1_048_000));
    check(&w);
}

#[test]
fn huge_jumps_fire_everything_in_order() {
    let mut rng = Rng(42);
    let mut w = Wheel::new();
    let mut expect = Vec::new();
    for i in 0..if cfg!(miri) { 100u64 } else { 20_000 } {
        let d = rng.next() >> rng.below(64);
        w.insert(d, i);
        expect.push((d, i));
    }
    check(&w);
    expect.sort_unstable();
    // Two jumps across all of u64: bounded work (a tick-by-tick wheel would never finish).
    let mut fired = drain(&mut w, u64::MAX / 3);
    fired.extend(drain(&mut w, u64::MAX));
    let expect: Vec<u64> = expect.iter().map(|&(_, i)| i).collect();
    let first_bad = fired.iter().zip(&expect).position(|(a, b)| a != b);
    assert_eq!((fired.len(), first_bad), (expect.len(), None));
    // An empty wheel crosses all of time at once.
    let mut w: Wheel<()> = Wheel::new();
    assert!(w.poll_expired(u64::MAX).is_none());
    assert_eq!(w.now(), u64::MAX);
}

#[test]
fn entries_stay_small() {
    assert!(std::mem::size_of::<Entry<()>>() <= 24);
    assert_eq!(std::mem::size_of::<TimerKey>(), 16);
}

#[test]
fn mass_cancel_in_one_slot_compacts_and_keeps_order() {
    // 1000 entries (200 under Miri) in one upper slot (deadlines 5000..6000 from now 0 share
    // level 2 slot 1), then 90% removed in a scattered order: the slot compacts, and what is
    // left fires in deadline order, with later removals and resets still finding the right
    // entries.
    let n = if cfg!(miri) { 200 } else { 1000 };
    let mid = n / 2 + 3; // one that stays, removed later
    let mut w = Wheel::new();
    let keys: Vec<TimerKey> = (0..n as u64).map(|i| w.insert(5000 + i, i)).collect();
    for i in (0..n).filter(|i| i % 10 != 3) {
        assert_eq!(w.remove(keys[i]), Some(i as u64));
        if i % 97 == 0 {
            check(&w);
        }
    }
    check(&w);
    assert_eq!(w.remove(keys[mid]), Some(mid as u64));
    assert!(w.reset(keys[13], 1));
    check(&w);
    let fired = drain(&mut w, 10_000);
    let mut expect: Vec<u64> = (0..n as u64)
        .filter(|&i| i % 10 == 3 && i != mid as u64 && i != 13)
        .collect();
    expect.insert(0, 13);
    assert_eq!(fired, expect);
    assert!(w.is_empty());
}

/// Issue 16 item 1, CPython test_base_events `test_call_later_negative_delays`: timers set in
/// the past fire in deadline order (`b` at -2 before `a` at -1), not in insertion order; equal
/// overdue deadlines keep insertion order, and they all precede entries cascaded later.
#[test]
fn call_later_negative_delays_fire_in_deadline_order() {
    let mut w = Wheel::new();
    assert!(w.poll_expired(1_000).is_none());
    w.insert(999, "a");
    w.insert(998, "b");
    assert_eq!(drain(&mut w, 1_000), ["b", "a"]);

    // Overdue entries mixed with pending ones cascading in the same poll, ties and a reset.
    w.insert(1_500, "pending");
    w.insert(900, "c1");
    let r = w.insert(5_000, "reset");
    w.insert(100, "d");
    w.insert(900, "c2");
    assert!(w.reset(r, 950));
    w.insert(1_000, "at-now");
    check(&w);
    assert_eq!(w.next_deadline(), Some(1_000));
    assert_eq!(
        drain(&mut w, 2_000),
        ["d", "c1", "c2", "reset", "at-now", "pending"]
    );

    // Far in the past, across the whole range, after a large jump.
    assert!(w.poll_expired(u64::MAX / 2).is_none());
    w.insert(u64::MAX / 4, "2");
    w.insert(0, "0");
    w.insert(1 << 40, "1");
    w.insert(u64::MAX / 2, "3");
    assert_eq!(drain(&mut w, u64::MAX / 2), ["0", "1", "2", "3"]);
}

/// Inserts `(deadline, value)` pairs; returns the values in the order they must fire:
/// by deadline, then insertion.
fn insert_all(w: &mut Wheel<u32>, entries: &[(u64, u32)]) -> Vec<u32> {
    for &(d, v) in entries {
        w.insert(d, v);
    }
    let mut order = entries.to_vec();
    order.sort_by_key(|&(d, _)| d); // stable: insertion order among equal deadlines
    order.into_iter().map(|(_, v)| v).collect()
}

/// Scattered deadlines in one level-2 slot seen from tick 0 (`8192..12288`), with ties: 200
/// entries on 150 deadlines (48 on 36 under Miri, each step ~1,000x slower there).
fn one_slot_entries() -> Vec<(u64, u32)> {
    let n = if cfg!(miri) { 48 } else { 200u32 };
    let distinct = n * 3 / 4;
    let step = 4096 / u64::from(distinct);
    (0..n)
        .map(|i| (8192 + u64::from(i * 7919 % distinct) * step, i))
        .collect()
}

#[test]
fn wholly_due_slot_fires_in_deadline_then_insertion_order() {
    let mut w = Wheel::new();
    let entries = one_slot_entries();
    let expect = insert_all(&mut w, &entries);
    check(&w);
    assert_eq!(w.next_wakeup(), Some(8192), "the slot's start");
    // Past the slot's last tick (12287): the slot is wholly due and leaves in one batch.
    assert_eq!(drain(&mut w, 12_288), expect);
    assert!(w.is_empty());
    // Exactly at the slot's last tick, with removals (tombstones) in the slot.
    let mut w = Wheel::new();
    let keys: Vec<_> = entries.iter().map(|&(d, v)| (w.insert(d, v), v)).collect();
    for &(key, v) in keys.iter().filter(|(_, v)| v % 3 == 0) {
        assert_eq!(w.remove(key), Some(v));
    }
    let expect: Vec<u32> = expect.into_iter().filter(|v| v % 3 != 0).collect();
    assert_eq!(drain(&mut w, 12_287), expect);
}

#[test]
fn partly_due_slot_fires_only_what_is_due() {
    let mut w = Wheel::new();
    let entries = one_slot_entries();
    let expect = insert_all(&mut w, &entries);
    let cut = 10_000;
    let due = expect.iter().filter(|&&v| entries[v as usize].0 <= cut).count();
    assert!(
        due > 0 && due < expect.len(),
        "the cut falls inside the slot's entries"
    );
    let first = drain(&mut w, cut);
    assert_eq!(first, expect[..due], "the due part, in order");
    assert_eq!(w.len(), expect.len() - due, "the rest is pending");
    assert_eq!(drain(&mut w, 20_000), expect[due..]);
}

#[test]
fn wholly_due_slots_follow_overdue_entries_in_deadline_order() {
    let mut w = Wheel::new();
    assert!(w.poll_expired(5_000).is_none());
    // Due slots at levels 0, 1 and 2, then an overdue entry inserted after them.
    let late = [(5_001, 0), (5_070, 1), (9_000, 2), (5_070, 3), (9_000, 4)];
    let mut expect = insert_all(&mut w, &late);
    w.insert(4_000, 5);
    expect.insert(0, 5);
    assert_eq!(drain(&mut w, 1 << 20), expect);
}

#[test]
fn cancel_and_reset_between_fire_and_poll() {
    let mut w = Wheel::new();
    let a = w.insert(9_000, 'a');
    let b = w.insert(9_001, 'b');
    let c = w.insert(9_002, 'c');
    let d = w.insert(9_003, 'd');
    assert_eq!(w.poll_expired(20_000), Some((a, 'a')));
    // `b` and `c` are due but not popped: one is cancelled, one moved later.
    assert_eq!(w.remove(b), Some('b'));
    assert!(w.reset(c, 30_000));
    check(&w);
    assert_eq!(drain(&mut w, 20_000), ['d']);
    assert!(!w.reset(d, 40_000), "a fired timer cannot be reset");
    assert_eq!(drain(&mut w, 40_000), ['c']);
}

#[test]
fn fire_marks_tell_fired_only_after_the_drain() {
    let mut w = Wheel::new();
    assert!(w.poll_expired(100).is_none());
    let a = w.insert(200, 'a');
    let mark_a = w.mark(200);
    let b = w.insert(200, 'b');
    let mark_b = w.mark(200);
    let c = w.insert(50, 'c'); // overdue when set
    let mark_c = w.mark(50);
    assert!(!w.surely_fired(mark_a));
    assert_eq!(w.poll_expired(300), Some((c, 'c')));
    assert_eq!(w.poll_expired(300), Some((a, 'a')));
    assert!(!w.surely_fired(mark_b), "not drained yet: b is still due");
    assert_eq!(w.get_mut(b), Some(&mut 'b'));
    assert_eq!(w.poll_expired(300), Some((b, 'b')));
    assert!(w.poll_expired(300).is_none());
    assert!(w.surely_fired(mark_a) && w.surely_fired(mark_b));
    assert!(
        !w.surely_fired(mark_c),
        "an entry set overdue is never known this way"
    );
    // A reset takes a new mark; the old one would claim too early.
    let d = w.insert(400, 'd');
    assert!(w.reset(d, 900));
    let mark_d = w.mark(900);
    assert!(w.poll_expired(500).is_none());
    assert!(!w.surely_fired(mark_d));
    assert_eq!(drain(&mut w, 900), ['d']);
    assert!(w.surely_fired(mark_d));
}

/// Every sort path of a wholly due slot (levels up to 5 pack `(offset, index)` into one
/// `u64`, sorted by comparisons or, when long, by radix; higher levels sort tuples): deadline order, insertion order among equal deadlines,
/// offsets up to the slot's last tick.
#[test]
fn wholly_due_slots_of_every_level_keep_deadline_then_insertion_order() {
    // 200 entries take the comparison sort, 3,000 the radix sort (levels 1 to 5). Under Miri
    // (each step ~1,000x slower, and no unsafe code below) 12 entries per level: the
    // comparison sorts only, the radix sort's hundreds of entries being left to native runs.
    const { assert!(RADIX_MIN > 200 && RADIX_MIN <= 3_000) };
    let cases: Vec<(u32, u64)> = if cfg!(miri) {
        (1..=7u32).map(|level| (level, 12)).collect()
    } else {
        (1..=7u32)
            .flat_map(|level| [(level, 200), (level, 3_000)])
            .collect()
    };
    for (level, n) in cases {
        let span = 1u64 << (6 * level);
        let start = span; // slot 1 of `level`, seen from tick 0
        let mut w = Wheel::new();
        // Store indices that fall as insertion goes on (the free stack hands out the last
        // freed first; one live entry keeps the store from starting over at 0), so that a
        // sort that broke ties by index instead of by position would show.
        let keep = w.insert(u64::MAX, u64::MAX);
        let spare: Vec<TimerKey> = (0..n).map(|_| w.insert(u64::MAX - 1, 0)).collect();
        for key in spare {
            assert_eq!(w.remove(key), Some(0));
        }
        let mut expect = Vec::new();
        for i in 0..n {
            // Scattered offsets, every fourth equal to the one before, the last tick included.
            let offset = match i {
                0 => span - 1,
                _ if i % 4 == 3 => (i - 1) * 7_919 % span,
                _ => i * 7_919 % span,
            };
            w.insert(start + offset, i);
            expect.push((start + offset, i));
        }
        check(&w);
        expect.sort_by_key(|&(deadline, i)| (deadline, i));
        let expect: Vec<u64> = expect.into_iter().map(|(_, i)| i).collect();
        // Straight from the slot to the ready list in order (the sort before a pop would
        // hide a wrong batch order).
        w.advance(start + span - 1);
        assert!(w.ready_sorted, "level {level}, {n} entries: batch out of order");
        assert_eq!(
            drain(&mut w, start + span - 1),
            expect,
            "level {level}, {n} entries"
        );
        assert_eq!(w.remove(keep), Some(u64::MAX));
        assert!(w.is_empty());
    }
}

/// `take_expired` (the loop's batch path) fires what `poll_expired` fires, in the same order
/// (deadline, then insertion, overdue entries sorted in), stops at `max_len` without losing
/// anything, fires nothing early, and marks the wheel drained only once nothing due is left.
#[test]
fn take_expired_fires_in_poll_expired_order_in_batches() {
    let entries = one_slot_entries();
    let fill = |w: &mut Wheel<u32>| {
        let mut marks = Vec::new();
        for &(d, v) in &entries {
            w.insert(d, v);
            marks.push(w.mark(d));
        }
        // Overdue once the clock has moved: they sort in among the due ones.
        assert!(w.poll_expired(8_000).is_none());
        w.insert(7_000, 1_000);
        w.insert(9_000, 1_001);
        w.insert(7_000, 1_002);
        marks
    };
    let (mut by_poll, mut by_batch) = (Wheel::new(), Wheel::new());
    fill(&mut by_poll);
    let marks = fill(&mut by_batch);
    // Due by 10,000: part of the slot; the rest is not due yet.
    let expect = drain(&mut by_poll, 10_000);
    // More than one batch of 16 is due (Miri's smaller slot too: 21 of 48), not all.
    assert!(expect.len() > 16 && expect.len() < entries.len());
    let mut got = std::collections::VecDeque::new();
    by_batch.take_expired(10_000, &mut got, 16);
    assert_eq!(got.len(), 16, "stops at max_len");
    assert!(
        !marks.iter().any(|&m| by_batch.surely_fired(m)),
        "not drained: more is due"
    );
    check(&by_batch);
    // The caller consumes part of its batch between calls, as `fire_due` does.
    let mut fired: Vec<u32> = got.drain(..5).collect();
    loop {
        let before = got.len();
        by_batch.take_expired(10_000, &mut got, 16);
        check(&by_batch);
        if got.len() == before {
            break;
        }
        fired.extend(got.drain(..));
    }
    fired.extend(got.drain(..));
    assert_eq!(fired, expect);
    assert_eq!(by_batch.len(), by_poll.len());
    for (&(d, _), &m) in entries.iter().zip(&marks) {
        assert_eq!(by_batch.surely_fired(m), d <= 10_000, "deadline {d}");
    }
    assert_eq!(drain(&mut by_batch, 12_288), drain(&mut by_poll, 12_288));
    assert!(by_batch.is_empty());
}
