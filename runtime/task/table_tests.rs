use std::panic::Location;
use std::rc::Rc;

use super::*;
use crate::task::cell::new_cell;
use crate::task::meta::SpawnTrace;

/// What a spawn outside debug mode records: a name, if any.
fn meta(name: Option<&str>) -> Option<Box<TaskMeta>> {
    name.map(|name| Box::new(TaskMeta::new(Some(Rc::from(name)), None)))
}

/// What a spawn in debug mode records.
#[track_caller]
fn traced(name: Option<&str>) -> Option<Box<TaskMeta>> {
    Some(Box::new(TaskMeta::new(
        name.map(Rc::from),
        Some(SpawnTrace::new(Location::caller())),
    )))
}

fn name(table: &TaskTable, key: u32, gen: u16) -> String {
    table.label(key, gen).unwrap().name
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
    assert_eq!(name(&table, key2, gen2), "x");
}

#[test]
fn default_name_follows_asyncio() {
    let mut table = TaskTable::default();
    let (key, gen, id) = table.insert(new_cell(async {}), meta(None));
    assert_eq!(name(&table, key, gen), format!("Task-{}", id.0));
}

#[test]
fn generation_wraps_without_panicking() {
    let mut table = TaskTable::default();
    let mut last = None;
    for _ in 0..if cfg!(miri) { 700 } else { 70_000 } {
        let (key, gen, id) = table.insert(new_cell(async {}), meta(None));
        assert_eq!(gen, id.0 as u16, "the generation is the id's low 16 bits");
        if let Some(prev) = last {
            assert_ne!(prev, gen);
        }
        last = Some(gen);
        table.remove(key, gen).unwrap();
    }
    assert_eq!(table.len(), 0);
}

#[test]
fn names_follow_the_occupant_after_key_reuse() {
    let mut table = TaskTable::default();
    let (key, gen, _) = table.insert(new_cell(async {}), meta(Some("first")));
    table.remove(key, gen).unwrap();
    let (key2, gen2, id2) = table.insert(new_cell(async {}), meta(None));
    assert_eq!(key2, key);
    assert_eq!(name(&table, key2, gen2), format!("Task-{id2}"), "no stale name");
    table.remove(key2, gen2).unwrap();
    let (key3, gen3, _) = table.insert(new_cell(async {}), traced(Some("third")));
    assert_eq!(key3, key);
    assert_eq!(name(&table, key3, gen3), "third");
    assert!(table.label(key3, gen3).unwrap().location.is_some());
}

#[test]
fn the_side_table_holds_only_named_or_traced_tasks_and_empties_on_free() {
    let mut table = TaskTable::default();
    let plain = table.insert(new_cell(async {}), meta(None));
    assert_eq!(
        table.meta.len(),
        0,
        "an unnamed task outside debug mode costs no entry"
    );
    let named = table.insert(new_cell(async {}), meta(Some("n")));
    let debug = table.insert(new_cell(async {}), traced(None));
    let pending = table.insert(new_cell(async {}), traced(Some("p")));
    assert_eq!(table.meta.len(), 3);

    table.remove(named.0, named.1).unwrap();
    table.remove(plain.0, plain.1).unwrap();
    table.remove(debug.0, debug.1).unwrap();
    assert_eq!(table.meta.len(), 1);

    // Closing the loop frees what has not finished.
    let unfinished = table.remove_unfinished();
    assert_eq!(unfinished.len(), 1);
    assert_eq!(unfinished[0].label().name, "p");
    assert_eq!(unfinished[0].slot.state.id(), pending.2);
    assert_eq!(table.meta.len(), 0);
    assert_eq!(table.len(), 0);
}

#[test]
fn a_step_takes_the_cell_and_counts_polls_of_traced_tasks_only() {
    let mut table = TaskTable::default();
    let (key, gen, _) = table.insert(new_cell(async {}), traced(None));
    let (plain_key, plain_gen, _) = table.insert(new_cell(async {}), meta(Some("plain")));
    assert!(table.start_step(key, gen).is_none(), "not scheduled: no step");
    for (k, g) in [(key, gen), (plain_key, plain_gen)] {
        table.get_mut(k, g).unwrap().state.set_scheduled(true);
        let (mut cell, cancel, _) = table.start_step(k, g).unwrap();
        assert!(!cancel);
        assert!(!table.get(k, g).unwrap().state.scheduled());
        assert!(
            table.get_mut(k, g).unwrap().cell.as_mut().output_slot().is_none(),
            "the vacant stand-in holds no outcome"
        );
        assert!(
            cell.as_mut().output_slot().is_none(),
            "the real cell is still running"
        );
    }
    let polls = |table: &TaskTable, k: u32| table.meta[&k].trace.as_ref().map(|t| t.polls);
    assert_eq!(polls(&table, key), Some(1));
    assert_eq!(polls(&table, plain_key), None);
}

/// The slot's size is part of the per-task memory (docs/benchmarks.md); keep it in view.
#[test]
fn slot_stays_small() {
    let slot = std::mem::size_of::<Slot>();
    let entry = SlotStore::<Slot>::entry_size();
    println!("task slot: {slot} bytes, table entry: {entry} bytes");
    assert!(slot <= 40, "task slot grew to {slot} bytes");
    assert_eq!(entry, slot, "the table entry needs a tag beside the slot");
}
