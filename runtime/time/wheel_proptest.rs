//! Property test of the timer wheel: arbitrary operation sequences (shrunk to a minimal failing
//! case by proptest) against a `BTreeMap` of `(deadline, sequence)`.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::{FireMark, TimerKey, Wheel};

#[derive(Debug, Clone)]
enum Op {
    /// Insert at `now + offset` (offset may be 0: due at once).
    Insert(u64),
    /// Insert overdue, at `now - offset`.
    InsertPast(u64),
    /// Remove the n-th live entry (modulo the count).
    Remove(usize),
    /// Move the n-th live entry to `now + offset`, or to `now - offset` when the flag is set.
    Reset(usize, u64, bool),
    /// Advance the clock by this much and check what fired.
    Advance(u64),
}

fn offset() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..64u64,
        0..5_000u64,
        0..10_000_000u64,
        Just(u64::MAX / 2),
        Just(u64::MAX)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => offset().prop_map(Op::Insert),
        2 => offset().prop_map(Op::InsertPast),
        1 => any::<usize>().prop_map(Op::Remove),
        1 => (any::<usize>(), offset(), any::<bool>()).prop_map(|(i, o, p)| Op::Reset(i, o, p)),
        3 => offset().prop_map(Op::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    #[cfg_attr(miri, ignore = "256 random cases of safe code; the differential test runs under Miri")]
    fn wheel_matches_model(ops in proptest::collection::vec(op(), 1..300)) {
        let mut wheel = Wheel::new();
        let mut model: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        let mut live: Vec<(TimerKey, (u64, u64), u64, FireMark)> = Vec::new(); // key, model key, value, mark
        // Start away from 0 so that overdue deadlines have room below `now`.
        let (mut now, mut seq) = (1u64 << 40, 0u64);
        prop_assert!(wheel.poll_expired(now).is_none());
        for op in ops {
            match op {
                Op::Insert(off) | Op::InsertPast(off) => {
                    seq += 1;
                    let deadline = match op {
                        Op::Insert(_) => now.saturating_add(off),
                        _ => now.saturating_sub(off),
                    };
                    let key = wheel.insert(deadline, seq);
                    model.insert((deadline, seq), seq);
                    live.push((key, (deadline, seq), seq, wheel.mark(deadline)));
                }
                Op::Remove(i) if !live.is_empty() => {
                    let (key, model_key, value, _) = live.swap_remove(i % live.len());
                    prop_assert_eq!(wheel.remove(key), Some(value));
                    model.remove(&model_key);
                }
                Op::Reset(i, off, past) if !live.is_empty() => {
                    let i = i % live.len();
                    let (key, model_key, value, _) = live[i];
                    let new_deadline = match past {
                        false => now.saturating_add(off),
                        true => now.saturating_sub(off),
                    };
                    prop_assert!(wheel.reset(key, new_deadline));
                    model.remove(&model_key);
                    seq += 1; // a reset counts as a fresh insertion for ordering
                    model.insert((new_deadline, seq), value);
                    live[i] = (key, (new_deadline, seq), value, wheel.mark(new_deadline));
                }
                Op::Advance(step) => {
                    now = now.saturating_add(step);
                    let mut fired = Vec::new();
                    while let Some((_, v)) = wheel.poll_expired(now) {
                        fired.push(v);
                    }
                    let due: Vec<(u64, u64)> = model.range(..=(now, u64::MAX)).map(|(k, _)| *k).collect();
                    let expected: Vec<u64> = due.iter().map(|k| model[k]).collect();
                    prop_assert_eq!(&fired, &expected, "wrong firings at now={}", now);
                    for k in due {
                        model.remove(&k);
                    }
                    // Drained: every entry set ahead of the clock and now fired is known fired
                    // by its mark alone (but at `u64::MAX`, the mark of entries set due).
                    for (_, (deadline, _), value, mark) in &live {
                        if fired.contains(value) && mark.0 == *deadline && *deadline < u64::MAX {
                            prop_assert!(wheel.surely_fired(*mark), "fired entry {} not known fired", value);
                        }
                    }
                    live.retain(|(_, _, value, _)| !fired.contains(value));
                }
                _ => {}
            }
            let model_min = model.keys().next().map(|&(d, _)| d.max(now));
            // The loop sleeps until next_wakeup: never past the earliest deadline.
            let wake = wheel.next_wakeup();
            prop_assert_eq!(wake.is_some(), model_min.is_some());
            if let (Some(wake), Some(min)) = (wake, model_min) {
                prop_assert!(wake <= min && wake >= now, "wakeup {} outside [{}, {}]", wake, now, min);
            }
            prop_assert_eq!(wheel.next_deadline(), model_min);
            prop_assert_eq!(wheel.len(), model.len());
            for (_, _, value, mark) in &live {
                prop_assert!(!wheel.surely_fired(*mark), "pending entry {} marked fired", value);
            }
        }
    }
}

/// Sleeping until `next_wakeup` and advancing reaches the earliest deadline in a few hops (one
/// per level cascaded), firing nothing early.
#[test]
fn hopping_by_next_wakeup_reaches_the_deadline() {
    for deadline in [
        1u64,
        63,
        64,
        4_095,
        1 << 20,
        20_000_000,
        1 << 40,
        u64::MAX / 3,
        u64::MAX,
    ] {
        let mut wheel = Wheel::new();
        wheel.insert(deadline, ());
        let mut hops = 0;
        let fired_at = loop {
            let wake = wheel.next_wakeup().expect("an entry is pending");
            assert!(wake <= deadline);
            if wheel.poll_expired(wake).is_some() {
                break wake;
            }
            hops += 1;
            assert!(hops <= 11, "too many hops for {deadline}");
        };
        assert_eq!(fired_at, deadline);
    }
}
