//! A hierarchical hashed timer wheel: the loop's store of pending timers.
//!
//! [`Wheel<T>`] is a pure data structure: no wakers, no I/O, no clock. Time is an abstract `u64`
//! tick (the loop uses nanoseconds since it started); deadlines may be anywhere in
//! `0..=u64::MAX`.
//!
//! # Levels and slot choice
//! There are `LEVELS` = 11 levels of 64 slots. Level `L` slot `s` holds entries whose deadline
//! has `s` in bits `6L..6L + 6`, so a slot of level `L` spans `64^L` ticks and the whole level
//! spans `64^(L + 1)` ticks (level 10 sees only the top 4 bits and spans all of `u64`). As in
//! tokio's wheel, a pending entry with deadline `d > now` lives at the level of the highest bit
//! in which `d` and `now` differ, divided by 6, and in the slot `(d >> 6L) & 63` of that level.
//! So `d` and `now` agree above bit `6L + 6`, and `d`'s slot index at level `L` is strictly
//! greater than `now`'s: everything at level `L - 1` is due before the first slot of level `L`
//! starts, and the next thing to happen is the first occupied slot (found with `trailing_zeros`
//! on the level's occupied bitmap) of the lowest non-empty level.
//!
//! # Cascading
//! Advancing the clock jumps from one occupied slot to the next, never tick by tick: the clock is
//! set to the slot's start and the slot's entries are re-placed relative to that new `now`. A
//! level-0 slot covers one tick, so its entries are due and go to the *ready list*; an upper
//! slot's entries fall to a lower level (or to the ready list if their deadline is exactly the
//! slot's start). Each entry cascades at most once per level, so expiry is amortised O(1), and
//! a jump of any size costs time proportional to the occupied slots crossed, not to the
//! distance. When no further slot starts at or before the target, the clock is set to the target.
//!
//! A slot that also *ends* at or before the target is wholly due: its entries skip the lower
//! levels and go to the ready list at once, sorted by `(deadline, position in the slot)`, and
//! the clock is set to the slot's last tick. When the loop looks at the wheel late (100k timers
//! due by the time it does), nearly every entry goes this way, read once instead of re-placed
//! once per level; only the last, partly due slots cascade.
//!
//! # Ordering
//! Entries fire in `(deadline, insertion sequence)` order; a `reset` counts as a fresh
//! insertion. No sequence number is stored: order is kept by the lists themselves.
//! * Slot choice depends only on `(now, deadline)`, so all pending entries sharing a deadline
//!   sit in the same list. Inserting appends to that list's tail, cascading walks a whole list
//!   front to back, appending to the tails of lower lists that hold no entry of those deadlines,
//!   and removing leaves a tombstone: restricted to one deadline, every list stays in insertion
//!   order. A level-0 slot holds a single deadline, so it is fully ordered.
//! * Level-0 slots are moved to the ready list tick by tick, so cascading appends to the ready
//!   list in `(deadline, sequence)` order, after every entry already there (those are due at
//!   the old `now`). An entry inserted (or reset) with `deadline <= now` is *overdue*: it keeps
//!   its deadline and is appended to the ready list too, which may leave the list unsorted.
//!   The wheel notes that (one comparison with the largest deadline appended so far) and, before
//!   the next [`Wheel::poll_expired`] takes an entry, stable-sorts the list by deadline. Arrival
//!   order in the ready list is insertion order among equal deadlines (an entry of deadline `d`
//!   inserted while `d > now` arrives by cascading before `now` passes `d`, so before any entry
//!   of deadline `d` inserted overdue), so the stable sort yields `(deadline, sequence)` order.
//!   Rust's sort finds the sorted runs, so the common case (a sorted list and a few overdue
//!   entries appended) costs O(n) once per batch, and nothing at all when no entry is overdue.
//!
//! # Invariants
//! 1. An entry in the ready list has `deadline <= now`; any other entry has `deadline > now` and
//!    sits in the list chosen by the rule above for the current `now`.
//! 2. Bit `s` of `occupied[L]` is set exactly when slot `s` of level `L` has a live entry.
//! 3. Each list, restricted to one deadline, is in insertion order; the ready list is sorted
//!    by deadline unless `ready_sorted` is false (then it is sorted before the next pop).
//! 4. `min_cache`, when known, is the minimum deadline outside the ready list.
//! 5. A key's generation is unique for the wheel's lifetime (a `u64` counter), so a stale key
//!    never matches a later entry that reuses its index.
//!
//! 6. An entry's `(list, pos)` names the one live item of its index in the lists.
//! 7. `drained_through <= now`, and no entry with a deadline `<= drained_through` that was
//!    inserted or reset while its deadline was after `now` is still in the wheel: when
//!    `drained_through` was set, the ready list was empty, so every entry left was after it;
//!    and `now` never moves back, so one set later is after it too ([`Wheel::surely_fired`]).
//!
//! Entries live in an [`EntryStore`]; each list is a [`SlotList`] of `u32` indices (see there why not a
//! linked list), so insert, remove and reset are O(1). Per entry: the value, the deadline, the
//! generation, a list number and a position (22 bytes of bookkeeping, 24 with padding for a
//! small `T`, plus an `Option` tag), and 4 bytes in its list.

use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt;

use super::entry_store::EntryStore;
use super::slot_list::{SlotList, TakenItems};

/// Bits of the deadline each level consumes.
const BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << BITS;
/// Levels needed to cover all of `u64` with 6 bits each (`ceil(64 / 6)`).
const LEVELS: usize = 11;
/// How many ready entries ahead of the one it takes [`Wheel::poll_expired`] prefetches.
const PREFETCH_AHEAD: usize = 8;
/// From how many entries a wholly due slot is sorted by radix rather than by comparisons.
const RADIX_MIN: usize = 256;
/// List number of the ready list; lists `0..READY` are slot `s` of level `L` at `L * 64 + s`.
const READY: u16 = (LEVELS * SLOTS) as u16;

/// Names one timer inserted in a [`Wheel`]: its store index and generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TimerKey {
    /// The entry's index in the store.
    index: u32,
    /// The generation given at insertion, unique for the wheel's lifetime.
    gen: u64,
}

/// Lets [`Wheel::surely_fired`] tell that an entry has fired without reading the entry: taken
/// with [`Wheel::mark`] right after the entry was inserted or reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FireMark(u64);

impl FireMark {
    /// Whether the entry was set ahead of the clock (only such a mark can ever tell "fired").
    pub(crate) fn is_ahead(self) -> bool {
        self.0 != u64::MAX
    }

    /// The mark of an entry set for `deadline`, from [`FireMark::is_ahead`] of the mark
    /// taken then: a holder that keeps the deadline anyway stores one bit, not the mark.
    pub(crate) fn rebuild(deadline: u64, ahead: bool) -> FireMark {
        FireMark(if ahead { deadline } else { u64::MAX })
    }
}

/// One pending timer as stored in the store.
struct Entry<T> {
    /// The caller's value.
    value: T,
    /// The deadline as given (an overdue one included: it orders the ready list).
    deadline: u64,
    /// Generation matched against [`TimerKey::gen`].
    gen: u64,
    /// The entry's position in its list.
    pos: u32,
    /// The list the entry is in (a slot number or [`READY`]).
    list: u16,
}

/// The cached minimum deadline of the entries outside the ready list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MinCache {
    /// Must be recomputed by scanning the earliest occupied slot.
    Unknown,
    /// The minimum, or `None` when no entry is outside the ready list.
    Known(Option<u64>),
}

/// A hierarchical hashed timer wheel mapping deadlines to values of type `T`.
pub(crate) struct Wheel<T> {
    /// All entries, pending or ready.
    entries: EntryStore<Entry<T>>,
    /// `LEVELS * SLOTS` slot lists followed by the ready list.
    lists: Box<[SlotList]>,
    /// Per level, bit `s` is set when slot `s` is non-empty.
    occupied: [u64; LEVELS],
    /// The tick the wheel has been advanced to.
    now: u64,
    /// The generation the next inserted entry gets.
    next_gen: u64,
    /// Cache behind `Wheel::next_deadline` (test builds) and [`Wheel::next_wakeup`], so that
    /// `&self` suffices.
    min_cache: Cell<MinCache>,
    /// The largest deadline appended to the ready list since it was last empty.
    ready_max: u64,
    /// Whether the ready list is sorted by deadline (invariant 3).
    ready_sorted: bool,
    /// Scratch for [`Wheel::expire_slot`] (sort keys, and the slot's live indices) and the
    /// cascade in [`Wheel::advance`] (the indices), kept for their allocations; empty between
    /// calls.
    batch: (Vec<u64>, Vec<u32>),
    /// The radix sort's working space (keys and counters), kept for its allocations.
    radix: (Vec<u64>, Vec<u32>),
    /// A tick by which every entry has fired (invariant 7): `now` when the last
    /// [`Wheel::poll_expired`] or [`Wheel::take_expired`] found nothing more due.
    drained_through: u64,
}

impl<T> Wheel<T> {
    /// Creates an empty wheel at tick 0.
    pub(crate) fn new() -> Self {
        Self::with_capacity(0)
    }

    /// Creates an empty wheel at tick 0 with room for `n` entries before reallocating.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Wheel {
            entries: EntryStore::with_capacity(n),
            lists: (0..=READY).map(|_| SlotList::default()).collect(),
            occupied: [0; LEVELS],
            now: 0,
            next_gen: 0,
            min_cache: Cell::new(MinCache::Known(None)),
            ready_max: 0,
            ready_sorted: true,
            batch: (Vec::new(), Vec::new()),
            radix: (Vec::new(), Vec::new()),
            drained_through: 0,
        }
    }

    /// The tick the wheel has been advanced to.
    #[cfg(test)]
    pub(crate) fn now(&self) -> u64 {
        self.now
    }

    /// The number of entries that have neither fired nor been removed.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Inserts an entry. A deadline `<= now()` is overdue: it fires on the next
    /// [`poll_expired`](Self::poll_expired), in deadline order among the due entries.
    ///
    /// # Panics
    /// Only if more than `u32::MAX - 1` entries are live at once.
    #[inline]
    pub(crate) fn insert(&mut self, deadline: u64, value: T) -> TimerKey {
        let gen = self.next_gen;
        self.next_gen = self.next_gen.wrapping_add(1);
        let index = u32::try_from(self.entries.next_index())
            .ok()
            .filter(|&i| i != super::slot_list::TOMB)
            .expect("timer wheel holds more than u32::MAX - 1 entries");
        // Linked first, so that the entry is written once, with its place (one store access).
        let (list, pos) = self.link(index, deadline);
        let stored = self.entries.insert_with(|| Entry {
            value,
            deadline,
            gen,
            pos,
            list,
        });
        debug_assert_eq!(stored, index as usize);
        TimerKey { index, gen }
    }

    /// Removes an entry that has not fired yet and returns its value. Stale keys (fired, removed,
    /// slot reused) return `None` and change nothing.
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<T> {
        let entry = self
            .entries
            .remove_if(key.index as usize, |entry| entry.gen == key.gen)?;
        self.unlink(entry.pos, entry.list, entry.deadline);
        Some(entry.value)
    }

    /// The value of a pending entry, or `None` for a stale key.
    pub(crate) fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        match self.entries.get_mut(key.index as usize) {
            Some(entry) if entry.gen == key.gen => Some(&mut entry.value),
            _ => None,
        }
    }

    /// The deadline of a pending entry as inserted or reset, or `None` for a stale key.
    pub(crate) fn deadline(&self, key: TimerKey) -> Option<u64> {
        self.entry(key).map(|entry| entry.deadline)
    }

    /// Moves a pending entry to a new deadline; for ordering it counts as a fresh insertion. The
    /// key stays valid. Returns `false` (changing nothing) for a stale key.
    pub(crate) fn reset(&mut self, key: TimerKey, deadline: u64) -> bool {
        let Some(&Entry {
            pos,
            list,
            deadline: old,
            ..
        }) = self.entry(key)
        else {
            return false;
        };
        self.unlink(pos, list, old);
        let (list, pos) = self.link(key.index, deadline);
        let entry = &mut self.entries[key.index as usize];
        entry.deadline = deadline;
        entry.list = list;
        entry.pos = pos;
        true
    }

    /// The mark of an entry just inserted or reset with `deadline` (before the clock moves).
    pub(crate) fn mark(&self, deadline: u64) -> FireMark {
        FireMark(if deadline > self.now { deadline } else { u64::MAX })
    }

    /// True when the entry `mark` was taken for has certainly fired (or been removed, or
    /// reset since, which takes a new mark): [`poll_expired`](Self::poll_expired) has
    /// drained everything due at a tick at or after its deadline. False means "look it up":
    /// an entry set when already due is never known fired this way. Reads no entry, so a
    /// sleep learns it has ended without a cache miss on the store.
    pub(crate) fn surely_fired(&self, mark: FireMark) -> bool {
        mark.0 <= self.drained_through
    }

    /// A tick at which the wheel next has work to do, without scanning any slot: the exact
    /// earliest deadline when it is known (due entries, a level-0 slot, the cached minimum),
    /// otherwise the start of the earliest occupied upper-level slot, where advancing cascades
    /// that slot's entries down. Never later than the earliest deadline, and always after `now`
    /// unless something is due, so a caller that sleeps until it and advances makes progress.
    /// This is what the loop sleeps until; `Wheel::next_deadline` (test builds) may scan a
    /// whole slot, which costs O(slot size) after each expiry when many timers share an upper
    /// slot.
    pub(crate) fn next_wakeup(&self) -> Option<u64> {
        if !self.lists[usize::from(READY)].is_empty() {
            return Some(self.now);
        }
        if let MinCache::Known(min) = self.min_cache.get() {
            return min;
        }
        self.next_slot().map(|(_, _, start)| start.max(self.now))
    }

    /// The earliest deadline of any pending entry (exact), or `None` when empty. Due entries
    /// report `now()`.
    ///
    /// Takes `&self` but caches through a [`Cell`]: O(1) unless the cache was invalidated (by
    /// removing the earliest entry or by expiry), when it scans the earliest occupied slot once.
    #[cfg(test)]
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        if !self.lists[usize::from(READY)].is_empty() {
            return Some(self.now);
        }
        if let MinCache::Known(min) = self.min_cache.get() {
            return min;
        }
        let min = self.next_slot().map(|(level, slot, start)| {
            if level == 0 {
                return start;
            }
            self.lists[level * SLOTS + slot]
                .iter()
                .map(|index| self.entries[index as usize].deadline)
                .min()
                .expect("an occupied slot holds a live entry")
        });
        self.min_cache.set(MinCache::Known(min));
        min
    }

    /// Advances the clock to `now` (a smaller value leaves the clock alone) and removes and
    /// returns the next entry whose deadline `<= now`, in `(deadline, insertion sequence)`
    /// order, or `None` when no more are due. Between calls the caller may insert, remove or
    /// reset entries; one inserted due fires in the same loop, in deadline order among the
    /// entries still due.
    pub(crate) fn poll_expired(&mut self, now: u64) -> Option<(TimerKey, T)> {
        self.catch_up(now);
        let index = self.pop_ready()?;
        let entry = self.entries.remove(index as usize);
        Some((
            TimerKey {
                index,
                gen: entry.gen,
            },
            entry.value,
        ))
    }

    /// [`Wheel::poll_expired`] for a batch: advances the clock to `now` and appends the values
    /// of the entries due at it to `out`, in the same order, until `out` holds `max_len` or
    /// nothing due is left. Each value goes from its entry straight into `out`, where a loop
    /// of `poll_expired` calls builds each `(key, value)` on the stack and copies it again
    /// (stores of one width read back with another: a store-forwarding stall per timer).
    pub(crate) fn take_expired(&mut self, now: u64, out: &mut VecDeque<T>, max_len: usize) {
        self.catch_up(now);
        while out.len() < max_len {
            match self.pop_ready() {
                Some(index) => out.push_back(self.entries.remove(index as usize).value),
                None => break,
            }
        }
    }

    /// Advances the clock to `now` (a smaller value leaves it alone) and sorts the ready list
    /// if an overdue entry left it unsorted: what [`Wheel::pop_ready`] expects.
    #[inline]
    fn catch_up(&mut self, now: u64) {
        if now > self.now {
            self.advance(now);
        }
        if !self.ready_sorted {
            self.sort_ready();
        }
    }

    /// Takes the index of the first entry of the (sorted) ready list out of it, for the
    /// caller to remove from the store; or, when nothing due is left, notes that everything
    /// due at `now` has fired. (The index alone: a returned `(index, entry)` went through
    /// stack copies at mismatched widths.)
    #[inline(always)]
    fn pop_ready(&mut self) -> Option<u32> {
        let ready = &mut self.lists[usize::from(READY)];
        // The entry taken below is a cache miss when many are due (they sit in the store in
        // insertion order, taken in deadline order): start loading one a few places ahead.
        if let Some(ahead) = ready.peek(PREFETCH_AHEAD) {
            self.entries.prefetch(ahead as usize);
        }
        let Some(index) = ready.pop_front() else {
            // Nothing due is left (invariant 1: every other entry is after `now`). Below
            // `u64::MAX`, which `mark` gives entries that were due when set.
            self.drained_through = self.now.min(u64::MAX - 1);
            return None;
        };
        Some(index)
    }

    /// Sorts the ready list by deadline (stable: equal deadlines keep their arrival order, which
    /// is insertion order) and records the entries' new positions.
    #[cold]
    fn sort_ready(&mut self) {
        let entries = &mut self.entries;
        let items = self.lists[usize::from(READY)].sort_by_key(|&index| entries[index as usize].deadline);
        for (index, pos) in items {
            entries[index as usize].pos = pos;
        }
        self.ready_sorted = true;
    }

    /// Moves the clock forward to `target`, cascading every slot that starts at or before it.
    /// A slot that also ends at or before `target` is wholly due: its entries go to the ready
    /// list at once (see [`Wheel::expire_slot`]) instead of falling level by level.
    fn advance(&mut self, target: u64) {
        while let Some((level, slot, start)) = self.next_slot() {
            if start > target {
                break;
            }
            debug_assert!(start > self.now, "an occupied slot lies in the past");
            // The slot's last tick (a level-10 slot ends at `u64::MAX`, no overflow).
            let end = start | ((1 << (level as u32 * BITS)) - 1);
            let items = self.lists[level * SLOTS + slot].take();
            self.occupied[level] &= !(1 << slot);
            let expired = if end <= target {
                self.now = end;
                self.expire_slot(level, start, &items);
                true
            } else {
                self.now = start;
                let mut expired = false;
                // The slot's entries lie scattered over the store: hint the one
                // `PREFETCH_AHEAD` places later, so that the misses of `place`'s loads
                // overlap (the live indices gathered first: a second walk of the blocks to
                // look ahead cost more than the copy).
                let (keys, mut indices) = std::mem::take(&mut self.batch);
                indices.extend(items.iter().filter(|&index| index != super::slot_list::TOMB));
                for (seq, &index) in indices.iter().enumerate() {
                    if let Some(&ahead) = indices.get(seq + PREFETCH_AHEAD) {
                        self.entries.prefetch(ahead as usize);
                    }
                    expired |= self.place(index);
                }
                indices.clear();
                self.batch = (keys, indices);
                expired
            };
            self.lists[level * SLOTS + slot].restore(items);
            if expired {
                self.min_cache.set(MinCache::Unknown);
            }
        }
        self.now = target;
    }

    /// Appends the entries of a slot that is wholly due (`now` is its last tick) to the ready
    /// list in `(deadline, insertion sequence)` order: every lower level is empty (that is
    /// why the slot was chosen), every later slot starts after it, and the ready list holds
    /// only deadlines before the slot's start, so the order of the ready list is kept. The
    /// slot lists each deadline's entries in insertion order (invariant 3): sorting by
    /// `(deadline, position in the slot)` gives the firing order. One read of each entry,
    /// where cascading would re-place it once per level down to 0.
    fn expire_slot(&mut self, level: usize, start: u64, items: &TakenItems) {
        let live = items.iter().filter(|&index| index != super::slot_list::TOMB);
        if level == 0 {
            // One tick: a single deadline, already in insertion order.
            for index in live {
                self.push_ready(index);
            }
            return;
        }
        if level > 5 {
            // Slots of 68 s and more: offsets need more than 30 bits (rare: the loop would
            // have to look at the wheel a minute late).
            let mut batch: Vec<(u64, u32, u32)> = live
                .enumerate()
                .map(|(seq, index)| (self.entries[index as usize].deadline, seq as u32, index))
                .collect();
            batch.sort_unstable_by_key(|&(deadline, seq, _)| (deadline, seq));
            for (_, _, index) in batch {
                self.push_ready(index);
            }
            return;
        }
        // One `u64` per entry, `(deadline - start) << 32 | index`: the offset fits in the
        // level's 6 * level <= 30 bits and the index in 32, and a sort of plain integers is
        // several times cheaper than one of tuples. The sorts are stable by offset and the
        // keys arrive in position order, so equal deadlines keep it; and the index comes
        // back out of the key, where a position would be looked up in a list of the slot's
        // indices, in the scattered order of the sort (a load that missed the L1 cache on
        // big slots: a tenth of `advance`'s samples, perf).
        // The slot's entries lie scattered over the store (it lists them in insertion order,
        // the store holds them in index order): both passes below hint the entry they reach
        // `PREFETCH_AHEAD` places later, so the misses overlap.
        let (mut keys, mut indices) = std::mem::take(&mut self.batch);
        indices.extend(live);
        for (seq, &index) in indices.iter().enumerate() {
            if let Some(&ahead) = indices.get(seq + PREFETCH_AHEAD) {
                self.entries.prefetch(ahead as usize);
            }
            let offset = self.entries[index as usize].deadline - start;
            keys.push(offset << 32 | u64::from(index));
        }
        if keys.len() >= RADIX_MIN {
            let (scratch, counts) = &mut self.radix;
            super::radix::sort_by_high_bits(&mut keys, scratch, counts, level as u32 * BITS);
        } else {
            keys.sort_by_key(|&key| key >> 32);
        }
        for (at, &key) in keys.iter().enumerate() {
            if let Some(&ahead) = keys.get(at + PREFETCH_AHEAD) {
                self.entries.prefetch(ahead as u32 as usize);
            }
            // The deadline comes from the key (`start` plus its offset): no load of the entry
            // before the write of its place.
            let index = key as u32;
            let pos = self.link_ready(index, start + (key >> 32));
            self.set_place(index, READY, pos);
        }
        keys.clear();
        indices.clear();
        self.batch = (keys, indices);
    }

    /// The first occupied slot of the lowest non-empty level as `(level, slot, start tick)`.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        (0..LEVELS).find_map(|level| {
            let shift = level as u32 * BITS;
            let current = (self.now >> shift) & (SLOTS as u64 - 1);
            let pending = self.occupied[level] & (u64::MAX << current);
            if pending == 0 {
                return None;
            }
            let slot = u64::from(pending.trailing_zeros());
            // Bits above this level come from `now`; for the top level there are none.
            let above = shift + BITS;
            let base = if above >= u64::BITS {
                0
            } else {
                self.now >> above << above
            };
            Some((level, slot as usize, base | slot << shift))
        })
    }

    /// Links an unlinked entry at the tail of the list its deadline calls for, updating the
    /// bitmap and the minimum cache. Returns whether it went to the ready list.
    fn place(&mut self, index: u32) -> bool {
        let deadline = self.entries[index as usize].deadline;
        let (list, pos) = self.link(index, deadline);
        self.set_place(index, list, pos);
        list == READY
    }

    /// Appends index `index`, of an entry with `deadline`, to the list its deadline calls for,
    /// updating the bitmap and the minimum cache, and returns that list and the position in
    /// it, for the caller to record in the entry (invariant 6). Reads no entry.
    #[inline]
    fn link(&mut self, index: u32, deadline: u64) -> (u16, u32) {
        if deadline <= self.now {
            return (READY, self.link_ready(index, deadline));
        }
        let level = (u64::BITS - 1 - (deadline ^ self.now).leading_zeros()) / BITS;
        let slot = (deadline >> (level * BITS)) as usize & (SLOTS - 1);
        self.occupied[level as usize] |= 1 << slot;
        if let MinCache::Known(min) = self.min_cache.get() {
            let min = min.map_or(deadline, |m| m.min(deadline));
            self.min_cache.set(MinCache::Known(Some(min)));
        }
        let list = (level as usize * SLOTS + slot) as u16;
        (list, self.lists[usize::from(list)].push(index))
    }

    /// Appends a due entry (`deadline <= now`) to the ready list, noting whether the list
    /// stays sorted (invariant 3).
    fn push_ready(&mut self, index: u32) {
        let deadline = self.entries[index as usize].deadline;
        let pos = self.link_ready(index, deadline);
        self.set_place(index, READY, pos);
    }

    /// [`Wheel::push_ready`] without the entry: appends `index` to the ready list and returns
    /// its position there.
    fn link_ready(&mut self, index: u32, deadline: u64) -> u32 {
        debug_assert!(deadline <= self.now, "a ready entry must be due");
        if self.lists[usize::from(READY)].is_empty() {
            self.ready_max = deadline;
            self.ready_sorted = true;
        } else if deadline >= self.ready_max {
            self.ready_max = deadline;
        } else {
            self.ready_sorted = false;
        }
        self.lists[usize::from(READY)].push(index)
    }

    /// Records an entry's list and position.
    fn set_place(&mut self, index: u32, list: u16, pos: u32) {
        let entry = &mut self.entries[index as usize];
        entry.list = list;
        entry.pos = pos;
    }

    /// Takes the entry at `pos` of `list`, with `deadline`, out of its list, updating the
    /// bitmap and the minimum cache. Reads no entry (a compaction writes the moved ones).
    fn unlink(&mut self, pos: u32, list: u16, deadline: u64) {
        let slot_list = &mut self.lists[usize::from(list)];
        let emptied = slot_list.kill(pos);
        if !emptied && slot_list.needs_compaction() {
            let entries = &mut self.entries;
            slot_list.compact(|index, pos| entries[index as usize].pos = pos);
        }
        if list == READY {
            return;
        }
        if emptied {
            let (level, slot) = (usize::from(list) / SLOTS, usize::from(list) % SLOTS);
            self.occupied[level] &= !(1 << slot);
        }
        if self.min_cache.get() == MinCache::Known(Some(deadline)) {
            self.min_cache.set(MinCache::Unknown);
        }
    }

    /// The entry `key` names, if it is still the one that key was issued for.
    fn entry(&self, key: TimerKey) -> Option<&Entry<T>> {
        self.entries
            .get(key.index as usize)
            .filter(|entry| entry.gen == key.gen)
    }
}

impl<T> Default for Wheel<T> {
    /// An empty wheel at tick 0.
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Wheel<T> {
    /// Shows the clock and the number of entries, not the values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("now", &self.now)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "wheel_proptest.rs"]
mod proptests;

#[cfg(test)]
#[path = "wheel_tests.rs"]
mod tests;
