//! The wheel's differential test: at least 1,000,000 random insert / remove / reset / advance
//! operations against a reference model (a `BTreeMap` keyed by `(deadline, sequence)`), with
//! the invariant checker run along the way.

use std::collections::{BTreeMap, HashMap};

use super::super::{TimerKey, Wheel};
use super::check;

/// xorshift64* with a fixed seed: deterministic and dependency-free.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    /// The next pseudo-random value.
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n > 0`).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Reference model: pending entries keyed by `(deadline, sequence)`, overdue ones included.
#[derive(Default)]
struct Model {
    now: u64,
    seq: u64,
    order: BTreeMap<(u64, u64), u64>,
    by_id: HashMap<u64, (u64, u64)>,
}

impl Model {
    fn insert(&mut self, id: u64, deadline: u64) {
        let key = (deadline, self.seq);
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
            // Overdue by far more: past deadlines fire in deadline order too.
            30..=32 => now.saturating_sub(self.rng.below(1 << 40)),
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
