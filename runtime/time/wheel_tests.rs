//! Tests of the timer wheel: a differential test against a `BTreeMap` model, edge cases, and an
//! invariant checker that reads the wheel's private state.

use std::collections::{BTreeMap, HashMap};

use super::*;

/// Checks every invariant of the module docs; panics with a message on the first violation.
fn check<T>(w: &Wheel<T>) {
    let mut seen = 0;
    for list in 0..=READY {
        let mut last = 0;
        let items: Vec<u32> = w.lists[usize::from(list)].iter().collect();
        for &index in &items {
            let e = &w.entries[index as usize];
            assert_eq!(e.list, list, "entry records the wrong list");
            if list == READY {
                assert!(e.deadline <= w.now, "ready entry not due");
                assert!(e.deadline >= last, "ready list out of order");
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
            let (level, slot) = (usize::from(list) / SLOTS, usize::from(list) % SLOTS);
            let bit = w.occupied[level] >> slot & 1 == 1;
            assert_eq!(bit, !items.is_empty(), "occupied bit disagrees with slot");
        }
    }
    for (index, e) in w.entries.iter() {
        let list = &w.lists[usize::from(e.list)];
        let at = list.iter_positions().find(|&(_, i)| i == index as u32);
        assert_eq!(at.map(|(pos, _)| pos), Some(e.pos), "entry's position is stale");
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

/// xorshift64* with a fixed seed: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    /// The next pseudo-random value.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Reference model: pending entries keyed by `(effective deadline, sequence)`.
#[derive(Default)]
struct Model {
    now: u64,
    seq: u64,
    order: BTreeMap<(u64, u64), u64>,
    by_id: HashMap<u64, (u64, u64)>,
}

impl Model {
    fn insert(&mut self, id: u64, deadline: u64) {
        let key = (deadline.max(self.now), self.seq);
        self.seq += 1;
        self.order.insert(key, id);
        self.by_id.insert(id, key);
    }

    fn remove(&mut self, id: u64) -> bool {
        match self.by_id.remove(&id) {
            Some(key) => self.order.remove(&key).is_some(),
            None => false,
        }
    }

    fn next_deadline(&self) -> Option<u64> {
        self.order.keys().next().map(|&(d, _)| d.max(self.now))
    }
}

/// Violation counters of the differential test.
#[derive(Debug, Default, PartialEq, Eq)]
struct Violations {
    early: u64,
    lost: u64,
    duplicated: u64,
    out_of_order: u64,
    next_deadline: u64,
    other: u64,
}

/// Drives a wheel and the model with the same random operations.
struct Harness {
    rng: Rng,
    wheel: Wheel<u64>,
    model: Model,
    /// Recently issued keys, live or stale.
    keys: Vec<(TimerKey, u64)>,
    /// Recently used deadlines.
    popular: Vec<u64>,
    next_id: u64,
    bad: Violations,
    fired: u64,
    /// Firings whose deadline equals the previous firing's: ties that ordering must break.
    ties: u64,
    last_fired: Option<u64>,
    /// Advance only by small steps, so that the population grows.
    gentle: bool,
}

impl Harness {
    fn deadline(&mut self) -> u64 {
        let now = self.model.now;
        let d = match self.rng.below(100) {
            0 | 1 => u64::MAX,
            // Reuse a recent deadline so that equal deadlines meet at different levels.
            10..=29 if !self.popular.is_empty() => {
                self.popular[self.rng.below(self.popular.len() as u64) as usize]
            }
            2..=6 => now.saturating_sub(self.rng.below(100)),
            7..=9 => self.rng.next() >> self.rng.below(64),
            r => {
                let scale = [64, 4096, 1_000_000, 1_000_000_000][r as usize % 4];
                now.saturating_add(self.rng.below(scale))
            }
        };
        if self.popular.len() < 16 {
            self.popular.push(d);
        } else if self.rng.below(8) == 0 {
            let i = self.rng.below(16) as usize;
            self.popular[i] = d;
        }
        d
    }

    fn insert(&mut self) {
        let deadline = self.deadline();
        let id = self.next_id;
        self.next_id += 1;
        let key = self.wheel.insert(deadline, id);
        self.model.insert(id, deadline);
        if self.keys.len() < 4096 {
            self.keys.push((key, id));
        } else {
            let i = self.rng.below(4096) as usize;
            self.keys[i] = (key, id);
        }
    }

    fn pick(&mut self) -> Option<(TimerKey, u64)> {
        if self.keys.is_empty() {
            return None;
        }
        Some(self.keys[self.rng.below(self.keys.len() as u64) as usize])
    }

    fn remove(&mut self) {
        let Some((key, id)) = self.pick() else { return };
        let got = self.wheel.remove(key);
        let live = self.model.remove(id);
        if got != live.then_some(id) {
            self.bad.other += 1;
        }
    }

    fn reset(&mut self) {
        let Some((key, id)) = self.pick() else { return };
        let deadline = self.deadline();
        let live = self.model.remove(id);
        if live {
            self.model.insert(id, deadline);
        }
        if self.wheel.reset(key, deadline) != live {
            self.bad.other += 1;
        }
    }

    fn inspect(&mut self) {
        let Some((key, id)) = self.pick() else { return };
        let expect = self.model.by_id.get(&id).map(|&(d, _)| d);
        if self.wheel.deadline(key) != expect || self.wheel.get_mut(key).copied() != expect.map(|_| id) {
            self.bad.other += 1;
        }
    }

    fn advance(&mut self) {
        let now = self.model.now;
        let target = match self.rng.below(20_000) {
            _ if self.gentle => now + self.rng.below(4096).min(u64::MAX - now),
            0 => u64::MAX,
            1..=200 => {
                let bits = 30 + self.rng.below(24);
                now.saturating_add(self.rng.below(1 << bits))
            }
            201..=1200 => now.saturating_sub(self.rng.below(10_000)),
            r => {
                let scale = [64, 4096, 1_000_000, 1_000_000_000][r as usize % 4];
                now.saturating_add(self.rng.below(scale))
            }
        };
        self.model.now = self.model.now.max(target);
        loop {
            match self.wheel.poll_expired(target) {
                Some((_, id)) => {
                    self.fired += 1;
                    match self.model.by_id.get(&id).copied() {
                        None => self.bad.duplicated += 1,
                        Some(key) => {
                            if key.0 > self.model.now {
                                self.bad.early += 1;
                            }
                            if self.model.order.keys().next() != Some(&key) {
                                self.bad.out_of_order += 1;
                            }
                            if Some(key.0) == self.last_fired {
                                self.ties += 1;
                            }
                            self.last_fired = Some(key.0);
                            self.model.remove(id);
                        }
                    }
                    // Timer callbacks creating and cancelling timers.
                    match self.rng.below(16) {
                        0 => self.insert(),
                        1 => self.remove(),
                        2 => self.reset(),
                        _ => {}
                    }
                    if self.wheel.next_deadline() != self.model.next_deadline() {
                        self.bad.next_deadline += 1;
                    }
                }
                None => {
                    let now = self.model.now;
                    let due: Vec<u64> = self
                        .model
                        .order
                        .range(..(now, u64::MAX))
                        .map(|(_, &id)| id)
                        .collect();
                    self.bad.lost += due.len() as u64;
                    for id in due {
                        self.model.remove(id);
                    }
                    break;
                }
            }
        }
        if self.wheel.now() != self.model.now {
            self.bad.other += 1;
        }
    }

    /// Fires everything left and counts what never fires.
    fn finish_round(&mut self) {
        self.model.now = u64::MAX;
        while let Some((_, id)) = self.wheel.poll_expired(u64::MAX) {
            self.fired += 1;
            match self.model.by_id.get(&id).copied() {
                None => self.bad.duplicated += 1,
                Some(key) => {
                    if self.model.order.keys().next() != Some(&key) {
                        self.bad.out_of_order += 1;
                    }
                    self.model.remove(id);
                }
            }
        }
        self.bad.lost += self.model.order.len() as u64;
        check(&self.wheel);
        assert!(self.wheel.is_empty());
    }
}

#[test]
fn differential_against_btreemap() {
    // Under Miri (interpreted, ~1000x slower) a smaller run still covers every operation kind.
    const OPS: u64 = if cfg!(miri) { 3_000 } else { 1_000_000 };
    let start = std::time::Instant::now();
    let mut h = Harness {
        rng: Rng(0x9e37_79b9_7f4a_7c15),
        wheel: Wheel::new(),
        model: Model::default(),
        keys: Vec::new(),
        popular: Vec::new(),
        next_id: 0,
        bad: Violations::default(),
        fired: 0,
        ties: 0,
        last_fired: None,
        gentle: false,
    };
    let mut ops = 0;
    let mut rounds = 0;
    let mut max_len = 0;
    while ops < OPS {
        // Each round starts a fresh wheel, some far from zero to exercise the upper levels.
        rounds += 1;
        h.wheel = Wheel::with_capacity(64);
        h.model = Model::default();
        h.keys.clear();
        h.popular.clear();
        // Every third round grows a larger population before draining it.
        h.gentle = rounds % 3 == 0;
        if rounds % 2 == 0 {
            let start = match rounds % 4 {
                0 => h.rng.next(),
                _ => u64::MAX - (h.rng.next() >> h.rng.below(14)),
            };
            h.model.now = start;
            assert!(h.wheel.poll_expired(start).is_none());
        }
        let end = (ops + 50_000).min(OPS);
        while ops < end && h.model.now < u64::MAX {
            ops += 1;
            match h.rng.below(100) {
                0..=39 => h.insert(),
                40..=54 => h.remove(),
                55..=69 => h.reset(),
                70..=74 => h.inspect(),
                _ => h.advance(),
            }
            if h.wheel.next_deadline() != h.model.next_deadline() {
                h.bad.next_deadline += 1;
            }
            if h.wheel.len() != h.model.order.len() {
                h.bad.other += 1;
            }
            max_len = max_len.max(h.wheel.len());
            if ops % 1000 == 0 {
                check(&h.wheel);
            }
        }
        h.finish_round();
    }
    assert_eq!(h.bad, Violations::default());
    assert!(h.fired > OPS / 4, "too few firings to mean much: {}", h.fired);
    assert!(
        h.ties > OPS / 100,
        "too few equal deadlines to mean much: {}",
        h.ties
    );
    eprintln!(
        "differential: {OPS} ops, {rounds} rounds, {} fired ({} ties), max {max_len} pending, {:?}",
        h.fired,
        h.ties,
        start.elapsed()
    );
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
    assert_eq!(w.deadline(k), Some(u64::MAX));
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
    w.insert(5, "late"); // due: treated as 25, fires after everything due before it
    w.insert(25, "now");
    w.insert(26, "next"); // not due in this loop
    assert!(w.reset(e, 1_000)); // moved out of the due set
    let mut fired = vec!["a"];
    while let Some((k, v)) = w.poll_expired(25) {
        if k == b {
            let k = w.insert(0, "from-callback");
            assert_eq!(w.deadline(k), Some(25));
        }
        fired.push(v);
    }
    assert_eq!(fired, ["a", "b", "late", "now", "from-callback"]);
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
    assert_eq!(w.deadline(k), Some(100));
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
    for i in 0..if cfg!(miri) { 2_000u64 } else { 20_000 } {
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
    // 1000 entries in one upper slot (deadlines 5000..6000 from now 0 share level 2 slot 1),
    // then 900 removed in a scattered order: the slot compacts, and what is left fires in
    // deadline order, with later removals and resets still finding the right entries.
    let mut w = Wheel::new();
    let keys: Vec<TimerKey> = (0..1000u64).map(|i| w.insert(5000 + i, i)).collect();
    for i in (0..1000).filter(|i| i % 10 != 3) {
        assert_eq!(w.remove(keys[i]), Some(i as u64));
        if i % 97 == 0 {
            check(&w);
        }
    }
    check(&w);
    assert_eq!(w.remove(keys[503]), Some(503));
    assert!(w.reset(keys[13], 1));
    check(&w);
    let fired = drain(&mut w, 10_000);
    let mut expect: Vec<u64> = (0..1000)
        .filter(|i| i % 10 == 3 && *i != 503 && *i != 13)
        .collect();
    expect.insert(0, 13);
    assert_eq!(fired, expect);
    assert!(w.is_empty());
}
