//! [`ReadyQueue`]: the loop's FIFO of [`Runnable`]s, stored in 8-byte entries.
//!
//! A `Runnable` is 24 bytes because of its rarer variants: `Callback` holds a pointer and
//! `Call`, a callback sent from another thread, a fat `Box<dyn FnOnce()>`. The queue stores
//! each runnable as an [`Entry`] (8 bytes: a tag, and a task's key and generation) and keeps
//! the callbacks' payloads in a second FIFO beside it. Both are first-in first-out and the
//! *n*-th callback entry stands for the *n*-th payload, so popping gives back the runnables in
//! the order they were pushed. A spawn or a wake writes, and a step reads, a third of a
//! `Runnable`'s memory.

use std::collections::VecDeque;
use std::rc::Rc;

use super::callback::CallbackCell;
use super::scheduler::Runnable;

/// One queued runnable: a [`Runnable`] whose callback, if it is one, waits in
/// [`ReadyQueue::callbacks`].
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
    entries: VecDeque<Entry>,
    /// The payloads of the `Callback` entries, in queue order.
    callbacks: VecDeque<Callback>,
}

impl ReadyQueue {
    /// An empty queue with room for `capacity` runnables.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        ReadyQueue {
            entries: VecDeque::with_capacity(capacity),
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
        self.entries.push_back(entry);
    }

    /// Takes the runnable at the front.
    #[inline]
    pub(super) fn pop(&mut self) -> Option<Runnable> {
        let entry = self.entries.pop_front()?;
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
            Entry::Task { key, gen } => Some((*key, *gen)),
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
        self.entries.is_empty()
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
        let mut queue = ReadyQueue::with_capacity(2);
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
        let mut queue = ReadyQueue::with_capacity(0);
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
}
