//! [`Extensions`]: a loop's typed extension slots, the per-loop state of a module the loop
//! itself does not know (the signal dispatcher, runtime/signal/driver.rs; `add_reader`'s
//! watches, runtime/fd_watch/watch.rs). One value per type, created on first use, shared as an
//! `Rc`; a module reaches its value through the loop's `Core` ([`Core::extensions`]).
//!
//! **Dropped at close.** Closing the loop takes every value out and drops it once the loop's
//! tasks, pending callbacks and timers are dropped (runtime/event_loop/close.rs), before the
//! reactor closes: so a value may own what no task owns (a watch, a handler) and deregister
//! its sources, and a value's `Drop` is its module's close step. A panic there goes to the
//! exception handler. What is inserted after that (a destructor run at close may insert again)
//! is dropped with the `Core`.
//!
//! **Re-entrancy.** The map's `RefCell` is borrowed only to look up, insert or take out, never
//! while a value is made or dropped: a value's destructor (or a callback it owns) is user code,
//! which may reach the loop's extensions again.
//!
//! [`Core::extensions`]: super::core::Core::extensions

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// One loop's extension values, one per type.
#[derive(Default)]
pub(crate) struct Extensions {
    values: RefCell<HashMap<TypeId, Rc<dyn Any>>>,
}

impl Extensions {
    /// The loop's `T`, if it has one.
    pub(crate) fn get<T: 'static>(&self) -> Option<Rc<T>> {
        let value = self.values.borrow().get(&TypeId::of::<T>())?.clone();
        Some(Rc::downcast(value).unwrap_or_else(|_| unreachable!("a value is kept under its type")))
    }

    /// The loop's `T`, made by `make` if it has none (or the error of `make`). `make` runs
    /// outside the borrow; should it have made a `T` itself (re-entrantly), that one is kept.
    pub(crate) fn get_or_try_insert_with<T: 'static, E>(
        &self,
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<Rc<T>, E> {
        if let Some(value) = self.get::<T>() {
            return Ok(value);
        }
        let made = Rc::new(make()?);
        if let Some(value) = self.get::<T>() {
            drop(made); // outside the borrow: its destructor may reach the extensions
            return Ok(value);
        }
        let value: Rc<dyn Any> = made.clone();
        self.values.borrow_mut().insert(TypeId::of::<T>(), value);
        Ok(made)
    }

    /// The loop's `T`, made by `make` if it has none ([`Extensions::get_or_try_insert_with`]).
    pub(crate) fn get_or_insert_with<T: 'static>(&self, make: impl FnOnce() -> T) -> Rc<T> {
        let made = self.get_or_try_insert_with(|| Ok::<T, std::convert::Infallible>(make()));
        made.unwrap_or_else(|never| match never {})
    }

    /// Takes every value out (the loop closes): the caller drops them, outside the borrow.
    pub(crate) fn take_all(&self) -> Vec<Rc<dyn Any>> {
        let values = std::mem::take(&mut *self.values.borrow_mut());
        values.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use crate::EventLoop;

    /// Records `name` in `log` when dropped.
    struct Logs {
        name: &'static str,
        log: Rc<RefCell<Vec<&'static str>>>,
    }

    impl Drop for Logs {
        fn drop(&mut self) {
            self.log.borrow_mut().push(self.name);
        }
    }

    /// A loop's extension whose destructor reaches the loop's extensions again.
    struct Reenters {
        event_loop: crate::Loop,
        saw: Rc<Cell<Option<bool>>>,
    }

    impl Drop for Reenters {
        fn drop(&mut self) {
            let extensions = self.event_loop.core.extensions();
            // Taken out already: neither itself nor its neighbour is found, and a new value
            // may be made (dropped with the core).
            let found = extensions.get::<Reenters>().is_some() || extensions.get::<u32>().is_some();
            extensions.get_or_insert_with(|| 7u64);
            self.saw.set(Some(found));
        }
    }

    #[test]
    fn values_are_dropped_at_close_after_the_tasks() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let event_loop = EventLoop::builder().build().unwrap();
        let handle = event_loop.clone_handle();
        let core = &handle.core;
        let task_log = Logs {
            name: "task",
            log: log.clone(),
        };
        let _task = core.spawn(
            async move {
                let _keep = &task_log;
                std::future::pending::<()>().await;
            },
            None,
        );
        let value = core.extensions().get_or_insert_with(|| Logs {
            name: "extension",
            log: log.clone(),
        });
        let again = core
            .extensions()
            .get_or_insert_with(|| -> Logs { unreachable!() });
        assert!(Rc::ptr_eq(&value, &again), "one value per type");
        drop((value, again));
        assert!(log.borrow().is_empty());
        core.close();
        assert_eq!(*log.borrow(), ["task", "extension"]);
        assert!(core.extensions().get::<Logs>().is_none());
    }

    #[test]
    fn a_destructor_may_reach_the_extensions_at_close() {
        let event_loop = EventLoop::builder().build().unwrap();
        let core = event_loop.clone_handle().core.clone();
        let saw = Rc::new(Cell::new(None));
        core.extensions().get_or_insert_with(|| Reenters {
            event_loop: event_loop.clone_handle(),
            saw: saw.clone(),
        });
        core.extensions().get_or_insert_with(|| 1u32);
        drop(event_loop);
        assert_eq!(saw.get(), Some(false), "the destructor ran, and found nothing");
        assert_eq!(core.extensions().get::<u64>().as_deref(), Some(&7));
    }

    /// An extension whose destructor panics.
    struct Panics;

    impl Drop for Panics {
        fn drop(&mut self) {
            panic!("dropping the extension");
        }
    }

    #[test]
    fn a_panicking_destructor_goes_to_the_exception_handler() {
        let reports = Rc::new(RefCell::new(Vec::new()));
        let sink = reports.clone();
        let event_loop = EventLoop::builder()
            .exception_handler(move |ctx| sink.borrow_mut().push(ctx.to_string()))
            .build()
            .unwrap();
        let handle = event_loop.clone_handle();
        handle.core.extensions().get_or_insert_with(|| Panics);
        drop(event_loop);
        let reports = reports.borrow();
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(reports[0].contains("dropping the extension"), "{reports:?}");
    }

    #[test]
    fn a_failed_make_inserts_nothing() {
        let event_loop = EventLoop::builder().build().unwrap();
        let handle = event_loop.clone_handle();
        let extensions = handle.core.extensions();
        let failed = extensions.get_or_try_insert_with(|| Err::<u8, _>("no"));
        assert_eq!(failed.err(), Some("no"));
        assert!(extensions.get::<u8>().is_none());
    }

    #[test]
    fn two_loops_on_one_thread_keep_their_own_values() {
        let first = EventLoop::builder().build().unwrap();
        let second = EventLoop::builder().build().unwrap();
        let (first_core, second_core) = (first.clone_handle().core, second.clone_handle().core);
        first_core.extensions().get_or_insert_with(|| 1u32);
        let other = second_core.extensions().get_or_insert_with(|| 2u32);
        assert_eq!(*other, 2);
        let mine = first_core.extensions().get::<u32>();
        assert_eq!(mine.as_deref(), Some(&1));
        drop(first);
        assert!(first_core.extensions().get::<u32>().is_none());
        let kept = second_core.extensions().get::<u32>();
        assert_eq!(kept.as_deref(), Some(&2), "closing one loop leaves the other's");
    }
}
