//! The engine under every combinator: N children, each with its own waker, and a shared list of
//! the children that were woken. The parent polls only those, so a wake costs O(1) however many
//! children there are (naive `join_all` polls every child on every wake: O(N) per wake).
//!
//! Layout: one `Arc<Shared>` holds the list head, the parent's waker and a boxed slice of nodes,
//! one per child. A child's waker is a pointer to its node; the node points back to `Shared`,
//! whose strong count the waker holds (clone increments it, drop decrements it). So creating a
//! combinator over N children costs two allocations, not N, and polling a child with its waker
//! costs nothing (the parent lends it without touching the count).
//!
//! The ready list is an intrusive Treiber stack of node indices (`head`, `Node::next`). Wakers
//! may run on any thread (a child can hand its waker to a blocking pool), so pushing is a CAS
//! loop; the parent, the only consumer, takes the whole stack with one swap and reverses it, so
//! children are polled in the order they were woken. There is no ABA problem: nodes are only
//! pushed one at a time and popped all at once.
//!
//! Invariants:
//! 1. `Node::queued` is true exactly from the wake that pushes the node until the parent, holding
//!    the node in a taken batch, is about to poll that child: a node is on the list at most once,
//!    and a wake that arrives while the child is being polled pushes it again.
//! 2. The parent is woken by the push that finds the list empty. A push onto a non-empty list
//!    needs no wake: the push that made the list non-empty woke the parent, which has not taken
//!    the list since. The parent registers its waker before taking the list (as `AtomicWaker`
//!    users do), so a wake is never lost when the parent's waker changes.
//! 3. A waker that outlives its combinator keeps `Shared` alive: waking it pushes onto a list
//!    nobody reads and wakes no one (the combinator clears the parent waker when it is dropped).

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{ControlFlow, Deref};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, RawWaker, RawWakerVTable, Waker};

use crate::waker_slot::WakerSlot;

/// The end of the list.
const NIL: u32 = u32::MAX;

struct Node {
    /// The `Shared` this node lives in (its strong count is what a waker holds).
    shared: *const Shared,
    index: u32,
    queued: AtomicBool,
    next: AtomicU32,
}

struct Shared {
    head: AtomicU32,
    parent: Mutex<WakerSlot>,
    nodes: Box<[Node]>,
}

// SAFETY: the only non-thread-safe field is `Node::shared`, a pointer to the `Shared` itself that
// is written once at construction and only read afterwards (to reach the atomics and the mutex,
// all thread-safe).
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Shared {
    /// A child's wake: push its node unless it is queued already, and wake the parent if the
    /// list was empty (invariant 2).
    fn push(&self, node: &Node) {
        if node.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            node.next.store(head, Ordering::Relaxed);
            match self
                .head
                .compare_exchange_weak(head, node.index, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(actual) => head = actual,
            }
        }
        if head == NIL {
            let parent = self
                .parent
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get()
                .cloned();
            if let Some(parent) = parent {
                parent.wake();
            }
        }
    }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone_raw, wake_raw, wake_by_ref_raw, drop_raw);

// The four functions below receive a data word made by `ReadyList::waker`: a pointer to a node
// of a live `Shared` whose strong count the waker owns (or, for a lent waker, the lender's
// `Arc` keeps alive for the lend).

unsafe fn clone_raw(data: *const ()) -> RawWaker {
    // SAFETY: see above; the new waker owns one more strong count.
    unsafe {
        let node = &*(data as *const Node);
        Arc::increment_strong_count(node.shared);
    }
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake_raw(data: *const ()) {
    // SAFETY: see above; `wake` consumes the waker, so its count is released after the push.
    unsafe {
        wake_by_ref_raw(data);
        drop_raw(data);
    }
}

unsafe fn wake_by_ref_raw(data: *const ()) {
    // SAFETY: see above.
    unsafe {
        let node = &*(data as *const Node);
        (*node.shared).push(node);
    }
}

unsafe fn drop_raw(data: *const ()) {
    // SAFETY: see above. The pointer is read before the count is released, since releasing the
    // last count frees the node.
    unsafe {
        let shared = (*(data as *const Node)).shared;
        Arc::decrement_strong_count(shared);
    }
}

/// N children's wakers and the list of those woken. Owned by one combinator (the consumer).
pub(crate) struct ReadyList {
    shared: Arc<Shared>,
}

impl ReadyList {
    /// A list for `len` children, none queued.
    ///
    /// # Panics
    /// If `len` does not fit in a `u32` below the end marker (4 billion children).
    pub(crate) fn new(len: usize) -> Self {
        assert!(
            len < NIL as usize,
            "aioloop: a combinator takes at most 2^32 - 2 children"
        );
        let shared = Arc::new_cyclic(|weak| {
            let ptr = weak.as_ptr();
            Shared {
                head: AtomicU32::new(NIL),
                parent: Mutex::new(WakerSlot::new()),
                nodes: (0..len as u32)
                    .map(|index| Node {
                        shared: ptr,
                        index,
                        queued: AtomicBool::new(false),
                        next: AtomicU32::new(NIL),
                    })
                    .collect(),
            }
        });
        ReadyList { shared }
    }

    /// Remembers the parent's waker (call at the start of every poll, before [`take`]).
    ///
    /// [`take`]: ReadyList::take
    pub(crate) fn register(&self, waker: &Waker) {
        let mut parent = self.shared.parent.lock().unwrap_or_else(PoisonError::into_inner);
        let old = parent.register(waker);
        drop(parent);
        drop(old);
    }

    /// Forgets the parent's waker: wakes from children that outlive the combinator go nowhere.
    pub(crate) fn clear_parent(&self) {
        let old = self
            .shared
            .parent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(old);
    }

    /// The waker of child `index`, lent for one poll (no reference count is touched).
    pub(crate) fn waker(&self, index: usize) -> WakerRef<'_> {
        let node: *const Node = &self.shared.nodes[index];
        // SAFETY: the data word points at a node of `self.shared`, which outlives the `WakerRef`
        // (it borrows `self`), and `ManuallyDrop` keeps the lent waker from releasing a count it
        // does not own. Clones made by the child own their count (see `clone_raw`).
        let waker = unsafe { Waker::from_raw(RawWaker::new(node.cast(), &VTABLE)) };
        WakerRef {
            waker: ManuallyDrop::new(waker),
            _list: PhantomData,
        }
    }

    /// One polling round of a combinator over `len` children: every child, in order, on the
    /// first round (`started` is then set), else every child woken since the last round, in
    /// the order they were woken. `poll_child` polls child `index` with the context it is given
    /// (the child's own waker) and may stop the round early; the children not polled then stay
    /// queued (no wake is lost), and the parent's waker is forgotten first, since the
    /// combinator is finishing and queuing them again must not wake it for nothing.
    pub(crate) fn poll_round(
        &self,
        started: &mut bool,
        len: usize,
        mut poll_child: impl FnMut(usize, &mut Context<'_>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        // One loop, so `poll_child` is inlined at a single call site.
        let mut order = if *started {
            Order::Woken(self.take())
        } else {
            *started = true;
            Order::All(0..len)
        };
        for index in &mut order {
            let waker = self.waker(index);
            if poll_child(index, &mut Context::from_waker(&waker)).is_break() {
                self.clear_parent();
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }

    /// Takes every child woken since the last `take`, in the order they were woken.
    pub(crate) fn take(&self) -> Batch<'_> {
        let nodes = &self.shared.nodes;
        let mut cur = self.shared.head.swap(NIL, Ordering::AcqRel);
        // Reverse the stack in place: we own these nodes now (they are queued, so no wake
        // touches their `next`).
        let mut prev = NIL;
        while cur != NIL {
            let node = &nodes[cur as usize];
            let next = node.next.load(Ordering::Relaxed);
            node.next.store(prev, Ordering::Relaxed);
            prev = cur;
            cur = next;
        }
        Batch {
            nodes,
            shared: &self.shared,
            cur: prev,
        }
    }
}

impl Drop for ReadyList {
    fn drop(&mut self) {
        self.clear_parent();
    }
}

/// A child's waker lent for one poll; derefs to `Waker`.
pub(crate) struct WakerRef<'a> {
    waker: ManuallyDrop<Waker>,
    _list: PhantomData<&'a ReadyList>,
}

impl Deref for WakerRef<'_> {
    type Target = Waker;

    fn deref(&self) -> &Waker {
        &self.waker
    }
}

/// The children taken by [`ReadyList::take`], yielded oldest wake first. Each child's node is
/// unqueued just before it is yielded, so a wake during its poll queues it again. Children not
/// yielded when the batch is dropped are queued again, so no wake is ever lost.
pub(crate) struct Batch<'a> {
    nodes: &'a [Node],
    shared: &'a Shared,
    cur: u32,
}

/// The children one round polls: all of them in order (the first round), or those woken.
enum Order<'a> {
    All(std::ops::Range<usize>),
    Woken(Batch<'a>),
}

impl Iterator for Order<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        match self {
            Order::All(all) => all.next(),
            Order::Woken(woken) => woken.next(),
        }
    }
}

impl Iterator for Batch<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.cur == NIL {
            return None;
        }
        let node = &self.nodes[self.cur as usize];
        self.cur = node.next.load(Ordering::Relaxed);
        // Acquire: pairs with the waking thread's swap, so the child sees what the waker saw.
        node.queued.swap(false, Ordering::AcqRel);
        Some(node.index as usize)
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        while let Some(index) = self.next() {
            self.shared.push(&self.nodes[index]);
        }
    }
}

#[cfg(test)]
#[path = "ready_tests.rs"]
mod tests;
