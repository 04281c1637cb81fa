//! The slab of task slots, and the side table of task diagnostics beside it.
//!
//! A slot holds a task's cell (its pinned future, later its outcome), its id and flags packed
//! into one word (state.rs), and the waker of whoever awaits it: 40 bytes, the slab's entry
//! tag included. Names, spawn locations, spawn times and poll counts live in the side table
//! (meta.rs), which only named tasks and tasks spawned in debug mode use.
//!
//! Invariants the loop keeps:
//! - **T2.** `scheduled` is true exactly while one entry for this slot sits in the ready queue,
//!   so a task is queued at most once however often it is woken.
//! - **T3.** A slot is freed when its task is done and nobody will read the outcome: the handle
//!   took it, the handle was dropped (detached), or the loop closed. Freeing it removes its
//!   side-table entry. A finished outcome survives the loop's close, so a `Task` that outlives
//!   its loop still gets its value.
//! - **T4.** A slot's generation (its id's low 16 bits) differs from that of the previous
//!   occupant of the same key, since every insert takes the next id; it wraps at 2^16, so a
//!   waker that survives 65,536 reuses of one key can at most cause one spurious poll, which
//!   the `Future` contract allows.
//! - **T5.** `cell` holds the vacant stand-in ([`vacant_cell`], zero-sized: its `Box`
//!   allocates nothing, and it leaves the cell pointer's niche to the slab's entry tag) only
//!   while the loop is polling or dropping that task's real cell outside the borrow (T1).

use std::collections::HashMap;

use super::cell::vacant_cell;
use super::cell_box::CellBox;
use super::meta::{self, TaskMeta};
use super::slot_store::SlotStore;
use super::state::SlotState;
use super::TaskId;
use super::TaskLabel;
use crate::prefetch::prefetch_read;
use crate::task::waker::MAIN_KEY;
use crate::waker_slot::WakerSlot;

/// One task's bookkeeping.
pub(crate) struct Slot {
    pub(crate) cell: CellBox,
    pub(crate) join_waker: WakerSlot,
    pub(crate) state: SlotState,
}

/// A slot taken out of the table with its side-table entry (closing the loop), so the caller
/// can report the task and drop its contents (user code) after releasing the borrow.
pub(crate) struct Freed {
    pub(crate) slot: Slot,
    pub(crate) meta: Option<TaskMeta>,
}

impl Freed {
    /// The task's identity for error reports.
    pub(crate) fn label(&self) -> TaskLabel {
        meta::label(self.slot.state.id(), self.meta.as_ref())
    }
}

/// All tasks of one loop.
#[derive(Default)]
pub(crate) struct TaskTable {
    slots: SlotStore<Slot>,
    /// The diagnostics of every slot whose `has_meta` flag is set, by key.
    meta: HashMap<u32, TaskMeta>,
    next_id: u64,
}

impl TaskTable {
    /// Stores a new task, with its diagnostics if it has any, and returns its key, generation
    /// and id.
    ///
    /// # Panics
    /// If the loop already holds 2^32 - 1 tasks (the key must fit the waker's 32 bits), or has
    /// handed out 2^53 - 1 task ids.
    pub(crate) fn insert(&mut self, cell: CellBox, meta: Option<Box<TaskMeta>>) -> (u32, u16, TaskId) {
        self.insert_with(cell, meta, false, false)
    }

    /// [`TaskTable::insert`] for a task that its caller queues at once: the slot is born
    /// `scheduled` (T2), so queuing it needs no second lookup.
    // Always inlined, as is `insert_with`: the usual spawn passes no meta.
    #[inline(always)]
    pub(crate) fn insert_scheduled(
        &mut self,
        cell: CellBox,
        meta: Option<Box<TaskMeta>>,
    ) -> (u32, u16, TaskId) {
        self.insert_with(cell, meta, true, false)
    }

    /// [`TaskTable::insert_scheduled`] for a task nobody holds a handle to: the slot is born
    /// detached too (no second lookup to mark it).
    pub(crate) fn insert_detached(&mut self, cell: CellBox, meta: Option<Box<TaskMeta>>) -> (u32, u16) {
        let (key, gen, _) = self.insert_with(cell, meta, true, true);
        (key, gen)
    }

    #[inline(always)]
    fn insert_with(
        &mut self,
        cell: CellBox,
        meta: Option<Box<TaskMeta>>,
        scheduled: bool,
        detached: bool,
    ) -> (u32, u16, TaskId) {
        let id = TaskId(self.next_id + 1);
        let mut state = SlotState::new(id);
        state.set_scheduled(scheduled);
        state.set_detached(detached);
        self.next_id = id.0;
        if let Some(meta) = &meta {
            state.set_has_meta(true);
            state.set_traced(meta.trace.is_some());
            state.set_has_context(meta.context.is_some());
        }
        let key = self.slots.insert_with(|| Slot {
            cell,
            join_waker: WakerSlot::new(),
            state,
        });
        let key = match u32::try_from(key) {
            Ok(key) if key != MAIN_KEY => key,
            _ => panic!("aioloop: too many live tasks on one loop (limit 2^32 - 1)"),
        };
        if let Some(meta) = meta {
            self.meta.insert(key, *meta);
        }
        (key, state.gen(), id)
    }

    /// The slot at `key` if it still holds the occupant of generation `gen`.
    #[inline]
    pub(crate) fn get(&self, key: u32, gen: u16) -> Option<&Slot> {
        self.slots
            .get(key as usize)
            .filter(|slot| slot.state.gen() == gen)
    }

    /// Mutable form of [`TaskTable::get`].
    #[inline]
    pub(crate) fn get_mut(&mut self, key: u32, gen: u16) -> Option<&mut Slot> {
        self.slots
            .get_mut(key as usize)
            .filter(|slot| slot.state.gen() == gen)
    }

    /// A cache hint for the slot at `key` (slot_store.rs): the loop will touch it soon.
    #[inline]
    pub(crate) fn prefetch_slot(&self, key: u32) {
        self.slots.prefetch(key as usize);
    }

    /// A cache hint for the cell of the task at `key`/`gen`, whose step comes soon. Reads its
    /// slot (hinted earlier, by [`TaskTable::prefetch_slot`]).
    #[inline]
    pub(crate) fn prefetch_cell(&self, key: u32, gen: u16) {
        if let Some(slot) = self.get(key, gen) {
            prefetch_read(&*slot.cell);
        }
    }

    /// The side-table entry of `slot`, which sits at `key`.
    pub(crate) fn meta_of(&self, key: u32, slot: &Slot) -> Option<&TaskMeta> {
        if slot.state.has_meta() {
            self.meta.get(&key)
        } else {
            None
        }
    }

    /// The side-table entry of the task at `key`/`gen`, made if it has none (cancel bookkeeping,
    /// done callbacks).
    pub(crate) fn meta_mut(&mut self, key: u32, gen: u16) -> Option<&mut TaskMeta> {
        let slot = self.get_mut(key, gen)?;
        slot.state.set_has_meta(true);
        Some(self.meta.entry(key).or_default())
    }

    /// The side-table entry of the task at `key`/`gen`, if it has one.
    pub(crate) fn meta_at(&self, key: u32, gen: u16) -> Option<&TaskMeta> {
        let slot = self.get(key, gen)?;
        self.meta_of(key, slot)
    }

    /// The context of the task at `key`/`gen`, if it has one: a clone (the same context), which
    /// a step or the drop of its future makes current while the entry keeps it, so
    /// `get_context` from anywhere finds it (context_var.rs).
    pub(crate) fn context_of(&self, key: u32, gen: u16) -> Option<crate::context_var::Context> {
        let slot = self.get(key, gen)?;
        if !slot.state.has_context() {
            return None;
        }
        self.meta.get(&key)?.context.clone()
    }

    /// Takes the context of the task at `key`/`gen` out of its side-table entry, if it has one
    /// (a detached task's slot is about to be freed: the caller drops it outside the borrow).
    pub(crate) fn take_context(&mut self, key: u32, gen: u16) -> Option<crate::context_var::Context> {
        let slot = self.get_mut(key, gen)?;
        if !slot.state.has_context() {
            return None;
        }
        slot.state.set_has_context(false);
        self.meta.get_mut(&key)?.context.take()
    }

    /// Gives the task at `key`/`gen` `context` (kept in its side-table entry, made if it has
    /// none) for its next steps. Returns what the caller drops outside the borrow (T1): the
    /// context it replaced, or `context` itself if the task is gone.
    pub(crate) fn put_context(
        &mut self,
        key: u32,
        gen: u16,
        context: crate::context_var::Context,
    ) -> Option<crate::context_var::Context> {
        let Some(slot) = self.get_mut(key, gen) else {
            return Some(context);
        };
        slot.state.set_has_context(true);
        slot.state.set_has_meta(true);
        self.meta.entry(key).or_default().context.replace(context)
    }

    /// The identity of the task at `key`/`gen` for error reports, if it is still there.
    pub(crate) fn label(&self, key: u32, gen: u16) -> Option<TaskLabel> {
        let slot = self.get(key, gen)?;
        Some(meta::label(slot.state.id(), self.meta_of(key, slot)))
    }

    /// Starts a step of the task at `key`/`gen`, if it is scheduled and not done: clears
    /// `scheduled`, counts the poll if the task is traced (debug mode), and takes its cell out,
    /// leaving the vacant stand-in (T5). Returns the cell, whether the task must be dropped
    /// for a cancel request (one it does not observe, see observe.rs), and whether it has a
    /// context (`has_context`).
    #[inline]
    pub(crate) fn start_step(&mut self, key: u32, gen: u16) -> Option<(CellBox, bool, bool)> {
        let slot = self.get_mut(key, gen)?;
        if !slot.state.scheduled() || slot.state.done() {
            return None;
        }
        slot.state.set_scheduled(false);
        let cell = std::mem::replace(&mut slot.cell, vacant_cell());
        let step = (cell, slot.state.cancel_pending(), slot.state.has_context());
        if slot.state.traced() {
            if let Some(trace) = self.meta.get_mut(&key).and_then(|m| m.trace.as_mut()) {
                trace.polls = trace.polls.wrapping_add(1);
            }
        }
        Some(step)
    }

    /// Frees the slot of generation `gen` at `key` and returns it, so the caller can drop its
    /// contents after releasing the borrow. Its diagnostics are dropped here (a name and a
    /// trace: no user code runs).
    #[inline]
    pub(crate) fn remove(&mut self, key: u32, gen: u16) -> Option<Slot> {
        self.get(key, gen)?;
        Some(self.remove_found(key))
    }

    /// [`TaskTable::remove`] for the slot at `key` that the caller has just found holding the
    /// generation it knows (through [`TaskTable::get_mut`], under the same borrow): the join
    /// of a finished task, which would otherwise look it up twice.
    ///
    /// # Panics
    /// If `key` holds no slot.
    // Not written as `self.free(key).slot`: building the `Freed` (and its `Option<TaskMeta>`)
    // on the join path cost 55 instructions per spawn+join (callgrind, 637 -> 694).
    // The flag is read in the table, before the slot moves out: read from the moved copy, a
    // one-byte load of a 16-byte store just made, it stalled every join (a failed
    // store-to-load forward).
    #[inline]
    pub(crate) fn remove_found(&mut self, key: u32) -> Slot {
        if self
            .slots
            .get(key as usize)
            .is_some_and(|slot| slot.state.has_meta())
        {
            self.meta.remove(&key);
        }
        self.slots.remove(key as usize)
    }

    /// Takes out every slot whose task has not finished (closing the loop). Finished slots stay,
    /// so a `Task` handle that outlives its loop can still take the outcome.
    pub(crate) fn remove_unfinished(&mut self) -> Vec<Freed> {
        let keys: Vec<usize> = self
            .slots
            .iter()
            .filter(|(_, slot)| !slot.state.done())
            .map(|(key, _)| key)
            .collect();
        keys.into_iter().map(|key| self.free(key)).collect()
    }

    /// Removes the occupied slot at `key` and its side-table entry.
    fn free(&mut self, key: usize) -> Freed {
        let slot = self.slots.remove(key);
        let meta = if slot.state.has_meta() {
            self.meta.remove(&(key as u32))
        } else {
            None
        };
        Freed { slot, meta }
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
#[path = "table_tests.rs"]
mod tests;
