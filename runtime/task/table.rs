//! The slab of task slots.
//!
//! A slot holds a task's cell (its pinned future, later its outcome), its generation, flags, its
//! name and the waker of whoever awaits it. Invariants the loop keeps:
//! 1. `cell` is `None` only while the loop is polling or dropping that task outside the borrow.
//! 2. `scheduled` is true exactly while one entry for this slot sits in the ready queue, so a
//!    task is queued at most once however often it is woken.
//! 3. A slot is freed when its task is done and nobody will read the outcome: the handle took
//!    it, the handle was dropped, or the loop closed.
//! 4. A slot's generation differs from that of the previous occupant of the same key (it wraps
//!    at 2^16; a waker that survives 65,536 reuses of one key can at most cause one spurious poll).

use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Waker;
use std::time::Instant;

use slab::Slab;

use super::cell::RawTask;
use super::TaskId;
use crate::exception::TaskLabel;
use crate::task::waker::MAIN_KEY;

/// One task's bookkeeping.
pub(crate) struct Slot {
    pub(crate) cell: Option<Pin<Box<dyn RawTask>>>,
    pub(crate) gen: u16,
    pub(crate) scheduled: bool,
    pub(crate) done: bool,
    /// `cancel()` was called and the task has not finished yet.
    pub(crate) cancel_requested: bool,
    /// The outcome was `Cancelled` (kept for `is_cancelled` after the fact).
    pub(crate) cancelled: bool,
    /// The `Task` handle was dropped: nobody will take the outcome.
    pub(crate) detached: bool,
    pub(crate) join_waker: Option<Waker>,
    pub(crate) id: TaskId,
    pub(crate) name: Option<Rc<str>>,
    /// Where the task was spawned (`#[track_caller]`), for debugging output.
    pub(crate) location: &'static Location<'static>,
    /// How many times the task has been polled.
    pub(crate) polls: u32,
    /// When it was spawned; recorded in debug mode only (reading the clock costs).
    pub(crate) spawned_at: Option<Instant>,
}

/// What a spawn records about a task besides its future.
pub(crate) struct SpawnMeta {
    pub(crate) name: Option<Rc<str>>,
    pub(crate) location: &'static Location<'static>,
    pub(crate) spawned_at: Option<Instant>,
}

impl Slot {
    /// The task's identity for error reports.
    pub(crate) fn label(&self) -> TaskLabel {
        TaskLabel {
            id: self.id,
            name: self.name(),
            location: self.location,
        }
    }

    /// The task's name: the one it was given, or asyncio's default `Task-<id>`.
    pub(crate) fn name(&self) -> String {
        match &self.name {
            Some(name) => name.to_string(),
            None => format!("Task-{}", self.id.0),
        }
    }
}

/// All tasks of one loop.
#[derive(Default)]
pub(crate) struct TaskTable {
    slots: Slab<Slot>,
    next_gen: u16,
    next_id: u64,
}

impl TaskTable {
    /// Stores a new task and returns its key and generation.
    ///
    /// # Panics
    /// If the loop already holds 2^32 - 1 tasks (the key must fit the waker's 32 bits).
    pub(crate) fn insert(&mut self, cell: Pin<Box<dyn RawTask>>, meta: SpawnMeta) -> (u32, u16, TaskId) {
        self.next_gen = self.next_gen.wrapping_add(1);
        self.next_id += 1;
        let gen = self.next_gen;
        let id = TaskId(self.next_id);
        let key = self.slots.insert(Slot {
            cell: Some(cell),
            gen,
            scheduled: false,
            done: false,
            cancel_requested: false,
            cancelled: false,
            detached: false,
            join_waker: None,
            id,
            name: meta.name,
            location: meta.location,
            polls: 0,
            spawned_at: meta.spawned_at,
        });
        match u32::try_from(key) {
            Ok(key) if key != MAIN_KEY => (key, gen, id),
            _ => panic!("aioloop: too many live tasks on one loop (limit 2^32 - 1)"),
        }
    }

    /// The slot at `key` if it still holds the occupant of generation `gen`.
    pub(crate) fn get(&self, key: u32, gen: u16) -> Option<&Slot> {
        self.slots.get(key as usize).filter(|slot| slot.gen == gen)
    }

    /// Mutable form of [`TaskTable::get`].
    pub(crate) fn get_mut(&mut self, key: u32, gen: u16) -> Option<&mut Slot> {
        self.slots.get_mut(key as usize).filter(|slot| slot.gen == gen)
    }

    /// Frees the slot of generation `gen` at `key` and returns it, so the caller can drop its
    /// contents after releasing the borrow.
    pub(crate) fn remove(&mut self, key: u32, gen: u16) -> Option<Slot> {
        self.get(key, gen)?;
        Some(self.slots.remove(key as usize))
    }

    /// Takes out every slot whose task has not finished (closing the loop). Finished slots stay,
    /// so a `Task` handle that outlives its loop can still take the outcome.
    pub(crate) fn remove_unfinished(&mut self) -> Vec<Slot> {
        let keys: Vec<usize> = self
            .slots
            .iter()
            .filter(|(_, slot)| !slot.done)
            .map(|(key, _)| key)
            .collect();
        keys.into_iter().map(|key| self.slots.remove(key)).collect()
    }

    /// Number of slots in use.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Every slot with its key, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Slot)> {
        self.slots.iter().map(|(key, slot)| (key as u32, slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::cell::new_cell;

    #[track_caller]
    fn meta(name: Option<&str>) -> SpawnMeta {
        SpawnMeta {
            name: name.map(Rc::from),
            location: Location::caller(),
            spawned_at: None,
        }
    }

    #[test]
    fn reused_key_gets_a_new_generation() {
        let mut table = TaskTable::default();
        let (key, gen, id) = table.insert(new_cell(async {}), meta(None));
        assert!(table.remove(key, gen).is_some());
        let (key2, gen2, id2) = table.insert(new_cell(async {}), meta(Some("x")));
        assert_eq!(key, key2, "the slab reuses the freed key");
        assert_ne!(gen, gen2);
        assert_ne!(id, id2);
        assert!(
            table.get(key, gen).is_none(),
            "the stale generation finds nothing"
        );
        assert!(table.remove(key, gen).is_none(), "a stale remove frees nothing");
        assert_eq!(table.get(key2, gen2).unwrap().name(), "x");
    }

    #[test]
    fn default_name_follows_asyncio() {
        let mut table = TaskTable::default();
        let (key, gen, id) = table.insert(new_cell(async {}), meta(None));
        assert_eq!(table.get(key, gen).unwrap().name(), format!("Task-{}", id.0));
    }

    #[test]
    fn generation_wraps_without_panicking() {
        let mut table = TaskTable::default();
        let mut last = None;
        for _ in 0..if cfg!(miri) { 700 } else { 70_000 } {
            let (key, gen, _) = table.insert(new_cell(async {}), meta(None));
            if let Some(prev) = last {
                assert_ne!(prev, gen);
            }
            last = Some(gen);
            table.remove(key, gen).unwrap();
        }
        assert_eq!(table.len(), 0);
    }
}

#[cfg(test)]
mod size {
    /// The slot's size is part of the per-task memory (docs/benchmarks.md); keep it in view.
    #[test]
    fn slot_stays_small() {
        // The slab stores `enum Entry { Vacant(usize), Occupied(Slot) }`: a Slot plus a tag at most.
        let size = std::mem::size_of::<Option<super::Slot>>();
        println!("task slot: {size} bytes");
        assert!(size <= 112, "task slot grew to {size} bytes");
    }
}
