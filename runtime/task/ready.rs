//! [`ReadyQueue`]: the loop's FIFO of [`Runnable`]s, stored in 8-byte entries.
//!
//! A `Runnable` is 24 bytes because of its rarer variants: `Callback` holds a pointer and
//! `Call`, a callback sent from another thread, a fat `Box<dyn FnOnce()>`. The queue stores
//! each runnable as an [`Entry`] (8 bytes: a tag, and a task's key and generation) and keeps
//! the callbacks' payloads in a second FIFO beside it. Both are first-in first-out and the
//! *n*-th callback entry stands for the *n*-th payload, so popping gives back the runnables in
//! the order they were pushed. A spawn or a wake writes, and a step reads, a third of a
//! `Runnable`'s memory.
//!
//! The entries live in a [`BlockFifo`]: fixed blocks that a growing queue adds to without
//! copying what it holds, so a spawn while thousands of tasks are queued costs what any other
//! does.

mod block_fifo;

use std::collections::VecDeque;
use std::rc::Rc;

use super::callback::CallbackCell;
use super::scheduler::Runnable;
use block_fifo::BlockFifo;

/// One queued runnable: a [`Runnable`] whose callback, if it is one, waits in
/// [`ReadyQueue::callbacks`].
#[derive(Clone, Copy)]
enum Entry {
    Task { key: u32, gen: u16 },
    Main,
    Callback,
}

/// The payload of an [`Entry::Callback`].
enum Callback {
    Cancellable(Rc<CallbackCell>),
    Call(Box<dyn FnOnce()>),
}

/// The ready queue.
pub(super) struct ReadyQueue {
    entries: BlockFifo<Entry>,
    /// The payloads of the `Callback` entries, in queue order.
    callbacks: VecDeque<Callback>,
}

impl ReadyQueue {
    /// An empty queue.
    pub(super) fn new() -> Self {
        ReadyQueue {
            entries: BlockFifo::new(),
            callbacks: VecDeque::new(),
        }
    }

    /// Queues `runnable` behind everything queued.
    #[inline]
    pub(super) fn push(&mut self, runnable: Runnable) {
        let entry = match runnable {
            Runnable::Task { key, gen } => Entry::Task { key, gen },
            Runnable::Main => Entry::Main,
            Runnable::Callback(cell) => {
                self.callbacks.push_back(Callback::Cancellable(cell));
                Entry::Callback
            }
            Runnable::Call(call) => {
                self.callbacks.push_back(Callback::Call(call));
                Entry::Callback
            }
        };
        self.entries.push(entry);
    }

    /// Takes the runnable at the front.
    #[inline]
    pub(super) fn pop(&mut self) -> Option<Runnable> {
        let entry = self.entries.pop()?;
        Some(self.runnable(entry))
    }

    /// The runnable `entry`, just taken off the front, stands for.
    #[inline]
    fn runnable(&mut self, entry: Entry) -> Runnable {
        match entry {
            Entry::Task { key, gen } => Runnable::Task { key, gen },
            Entry::Main => Runnable::Main,
            Entry::Callback => match self.callbacks.pop_front() {
                Some(Callback::Cancellable(cell)) => Runnable::Callback(cell),
                Some(Callback::Call(call)) => Runnable::Call(call),
                None => unreachable!("aioloop: a queued callback entry without its callback (loop bug)"),
            },
        }
    }

    /// The task of the entry `index` places behind the front, if that entry is a task step.
    #[inline]
    pub(super) fn task_at(&self, index: usize) -> Option<(u32, u16)> {
        match self.entries.get(index)? {
            Entry::Task { key, gen } => Some((key, gen)),
            _ => None,
        }
    }

    /// How many runnables are queued.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if nothing is queued.
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    /// Takes every queued runnable, in order.
    pub(super) fn drain(&mut self) -> Vec<Runnable> {
        let mut all = Vec::with_capacity(self.len());
        while let Some(runnable) = self.pop() {
            all.push(runnable);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn entries_are_one_word() {
        assert_eq!(std::mem::size_of::<Entry>(), 8);
    }

    #[test]
    fn runnables_come_out_in_push_order_with_their_calls() {
        let ran = Rc::new(RefCell::new(Vec::new()));
        let call = |n: u32| {
            let ran = ran.clone();
            Runnable::Call(Box::new(move || ran.borrow_mut().push(n)))
        };
        let mut queue = ReadyQueue::new();
        queue.push(call(1));
        queue.push(Runnable::Task { key: 7, gen: 3 });
        queue.push(call(2));
        queue.push(Runnable::Main);
        queue.push(Runnable::Callback(CallbackCell::new(Box::new(|| {}))));
        queue.push(call(3));
        assert_eq!(queue.len(), 6);
        let mut order = Vec::new();
        while let Some(runnable) = queue.pop() {
            order.push(match runnable {
                Runnable::Task { key, gen } => format!("task {key}/{gen}"),
                Runnable::Main => "main".into(),
                Runnable::Callback(_) => "callback".into(),
                Runnable::Call(call) => {
                    call();
                    "call".into()
                }
            });
        }
        assert_eq!(order, ["call", "task 7/3", "call", "main", "callback", "call"]);
        assert_eq!(*ran.borrow(), [1, 2, 3]);
        assert!(queue.is_empty());
    }

    #[test]
    fn drain_keeps_the_order() {
        let mut queue = ReadyQueue::new();
        queue.push(Runnable::Call(Box::new(|| {})));
        queue.push(Runnable::Task { key: 1, gen: 1 });
        queue.push(Runnable::Call(Box::new(|| {})));
        let all = queue.drain();
        assert!(matches!(
            all[..],
            [
                Runnable::Call(_),
                Runnable::Task { key: 1, gen: 1 },
                Runnable::Call(_)
            ]
        ));
        assert!(queue.is_empty() && queue.pop().is_none());
    }
    #[test]
    fn callbacks_stay_paired_across_block_boundaries() {
        let ran = Rc::new(RefCell::new(Vec::new()));
        let mut queue = ReadyQueue::new();
        let n = 3 * block_fifo::BLOCK as u32 + 5;
        for i in 0..n {
            if i % 3 == 0 {
                let ran = ran.clone();
                queue.push(Runnable::Call(Box::new(move || ran.borrow_mut().push(i))));
            } else {
                queue.push(Runnable::Task { key: i, gen: 1 });
            }
        }
        for i in 0..n {
            match queue.pop() {
                Some(Runnable::Call(call)) if i % 3 == 0 => call(),
                Some(Runnable::Task { key, gen: 1 }) if i % 3 != 0 => assert_eq!(key, i),
                _ => panic!("runnable {i} out of order"),
            }
            assert_eq!(ran.borrow().last().copied(), Some(i / 3 * 3));
        }
        assert!(queue.pop().is_none());
    }

    #[test]
    fn dropping_a_non_empty_queue_drops_the_callbacks() {
        let token = Rc::new(());
        let mut queue = ReadyQueue::new();
        for i in 0..2 * block_fifo::BLOCK as u32 {
            let token = token.clone();
            queue.push(Runnable::Call(Box::new(move || drop(token))));
            queue.push(Runnable::Task { key: i, gen: 0 });
        }
        queue.pop();
        assert_eq!(Rc::strong_count(&token), 2 * block_fifo::BLOCK);
        drop(queue);
        assert_eq!(Rc::strong_count(&token), 1);
    }
}
