//! A stable sort of the timer wheel's batch keys by their high bits: an LSD radix sort.
//!
//! A wholly due wheel slot goes to the ready list sorted by deadline ([`super::wheel`]); its
//! keys are `offset << 32 | index`, the offset of the deadline in the slot in the high
//! half. When the loop looks at the wheel late, one slot holds thousands of timers (100k when
//! every timer of a burst is due at once), and a comparison sort costs about `log2(n)`
//! comparisons of ~25 instructions per key. A radix sort counts and scatters the keys once per
//! digit of at most [`MAX_DIGIT`] bits: two or three passes of a few instructions per key for
//! the offsets of up to 30 bits that levels 1 to 5 have.

/// The widest digit: 2,048 counters (8 KiB), which stay in the L1 cache.
const MAX_DIGIT: u32 = 11;

/// Sorts `keys` by bits `32..32 + bits` (every key's bits above those are zero), stably, so
/// keys with equal high bits keep their order. `scratch` and `counts` are working space,
/// kept by the caller for their allocations (left in an unspecified state).
pub(crate) fn sort_by_high_bits(
    keys: &mut Vec<u64>,
    scratch: &mut Vec<u64>,
    counts: &mut Vec<u32>,
    bits: u32,
) {
    debug_assert!(bits <= 32 && keys.len() < u32::MAX as usize);
    if bits == 0 {
        return;
    }
    let passes = bits.div_ceil(MAX_DIGIT);
    let digit = bits.div_ceil(passes);
    let mask = (1u64 << digit) - 1;
    scratch.clear();
    scratch.resize(keys.len(), 0);
    counts.clear();
    counts.resize(1 << digit, 0);
    for pass in 0..passes {
        let shift = 32 + pass * digit;
        let bucket = |key: u64| ((key >> shift) & mask) as usize;
        counts.fill(0);
        for &key in keys.iter() {
            counts[bucket(key)] += 1;
        }
        // Each bucket's first position.
        let mut next = 0;
        for count in counts.iter_mut() {
            let n = *count;
            *count = next;
            next += n;
        }
        for &key in keys.iter() {
            let slot = &mut counts[bucket(key)];
            scratch[*slot as usize] = key;
            *slot += 1;
        }
        std::mem::swap(keys, scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(
        miri,
        ignore = "safe integer arithmetic on a Vec, nothing for Miri to check; over a minute there"
    )]
    fn sorts_like_a_stable_sort_of_the_high_bits_for_every_width() {
        let (mut scratch, mut counts) = (Vec::new(), Vec::new());
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for bits in [1, 5, 6, 11, 12, 18, 23, 24, 30, 32] {
            for n in [0, 1, 2, 100, 3_000] {
                let mut keys: Vec<u64> = (0..n as u64)
                    .map(|position| {
                        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        // Few distinct values, so that equal high halves are common.
                        let high = (seed >> 33) % (n as u64 / 3 + 1) * 7_919 % (1u64 << bits);
                        high << 32 | position
                    })
                    .collect();
                let mut want = keys.clone();
                want.sort_by_key(|key| key >> 32); // stable
                sort_by_high_bits(&mut keys, &mut scratch, &mut counts, bits);
                assert_eq!(keys, want, "{bits} bits, {n} keys");
            }
        }
    }
}
