//! Second audit against CPython's Lib/test/test_asyncio/test_futures.py and test_futures2.py
//! (3.13/main): the `Future` tests the first audit (audit_asyncio_futures.rs), future.rs and
//! task_model_future.rs do not port. Each test is named after the CPython test it ports and
//! says what it checks.
//!
//! The Rust spelling: `loop.create_future()` is `aioloop::Future::new()`, `f.result()` is
//! `f.result()` (`None` while pending: asyncio's `InvalidStateError`), `f.done()` is
//! `is_done()`, a done callback is removed by the id `add_done_callback` returned (closures have
//! no identity), and `test_utils.run_briefly(loop)` is one `yield_now()`.

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use aioloop::{call_soon, spawn, yield_now, EventLoop, Future};
use support::reports_of;

/// A callback that appends `thing` to `bag`: test_futures.py's `_make_callback`.
fn appender(bag: &Rc<RefCell<Vec<i32>>>, thing: i32) -> impl FnOnce(&Future<&'static str>) + 'static {
    let bag = bag.clone();
    move |_| bag.borrow_mut().push(thing)
}

/// test_futures.py `test_initial_state`: a new future is neither done nor cancelled; once
/// cancelled it is.
#[aioloop::test]
async fn test_initial_state() {
    let f = Future::<i32>::new();
    assert!(!f.is_cancelled());
    assert!(!f.is_done());
    assert!(f.result().is_none());
    f.cancel();
    assert!(f.is_cancelled());
}

/// test_futures.py `test_yield_from_twice`: a future awaited a second time after it is done
/// gives the same result again, without suspending.
#[aioloop::test]
async fn test_yield_from_twice() {
    let f = Future::<i32>::new();
    let setter = f.clone();
    call_soon(move || setter.set_result(42).unwrap());
    let x = f.clone().await.unwrap();
    let y = f.clone().await.unwrap();
    assert_eq!((x, y), (42, 42));
}

/// test_futures.py `test_future_stop_iteration_args`: a tuple result comes back whole (asyncio
/// once unpacked it through `StopIteration.args`).
#[aioloop::test]
async fn test_future_stop_iteration_args() {
    let f = Future::<(i32, i32)>::new();
    f.set_result((1, 2)).unwrap();
    assert_eq!(f.await, Ok((1, 2)));
}

/// test_futures.py `test_set_result_unless_cancelled`: setting a result on a cancelled future
/// is refused and the future stays cancelled (asyncio's `_set_result_unless_cancelled` checks
/// first; aioloop's `set_result` returns `InvalidStateError` instead of raising).
#[aioloop::test]
async fn test_set_result_unless_cancelled() {
    let f = Future::<i32>::new();
    f.cancel();
    assert!(f.set_result(2).is_err());
    assert!(f.is_cancelled());
    assert!(f.result().unwrap().is_err());
}

/// test_futures.py `test_tb_logger_abandoned`: a pending future dropped unawaited reports
/// nothing.
#[test]
fn test_tb_logger_abandoned() {
    let reports = reports_of(async {
        let f = Future::<i32>::new();
        f.add_done_callback(|_| unreachable!("never done"));
        drop(f);
        yield_now().await;
    });
    assert!(reports.is_empty(), "{reports:?}");
}

/// test_futures.py `test_tb_logger_result_unretrieved` and `test_tb_logger_result_retrieved`:
/// a future with a result nobody read reports nothing when dropped, nor one whose result was
/// read.
#[test]
fn test_tb_logger_result_unretrieved() {
    let reports = reports_of(async {
        let f = Future::<i32>::new();
        f.set_result(42).unwrap();
        drop(f);
        let g = Future::<i32>::new();
        g.set_result(42).unwrap();
        assert_eq!(g.result(), Some(Ok(42)));
        drop(g);
        yield_now().await;
    });
    assert!(reports.is_empty(), "{reports:?}");
}

/// test_futures.py `test_tb_logger_not_called_after_cancel`: a cancelled future dropped without
/// anyone reading it reports nothing.
#[test]
fn test_tb_logger_not_called_after_cancel() {
    let reports = reports_of(async {
        let f = Future::<i32>::new();
        f.cancel();
        drop(f);
        yield_now().await;
    });
    assert!(reports.is_empty(), "{reports:?}");
}

/// test_futures.py `test_callbacks_remove_first_callback`: the first of three callbacks removed
/// (twice: the second removal finds nothing) leaves the other two, which run in order after
/// `set_result`, not inside it.
#[aioloop::test]
async fn test_callbacks_remove_first_callback() {
    let bag = Rc::new(RefCell::new(Vec::new()));
    let f = Future::new();
    let cb1 = f.add_done_callback(appender(&bag, 42));
    f.add_done_callback(appender(&bag, 17));
    f.add_done_callback(appender(&bag, 100));
    assert!(f.remove_done_callback(cb1));
    assert!(!f.remove_done_callback(cb1));
    assert!(bag.borrow().is_empty());
    f.set_result("foo").unwrap();
    assert!(bag.borrow().is_empty());
    yield_now().await;
    assert_eq!(*bag.borrow(), [17, 100]);
    assert_eq!(f.result(), Some(Ok("foo")));
}

/// test_futures.py `test_callbacks_remove_first_and_second_callback`: with the first two
/// removed, only the third runs.
#[aioloop::test]
async fn test_callbacks_remove_first_and_second_callback() {
    let bag = Rc::new(RefCell::new(Vec::new()));
    let f = Future::new();
    let cb1 = f.add_done_callback(appender(&bag, 42));
    let cb2 = f.add_done_callback(appender(&bag, 17));
    f.add_done_callback(appender(&bag, 100));
    assert!(f.remove_done_callback(cb1));
    assert!(f.remove_done_callback(cb2));
    assert!(!f.remove_done_callback(cb1));
    f.set_result("foo").unwrap();
    yield_now().await;
    assert_eq!(*bag.borrow(), [100]);
    assert_eq!(f.result(), Some(Ok("foo")));
}

/// test_futures.py `test_callbacks_remove_third_callback`: with the last removed, the first two
/// run in order.
#[aioloop::test]
async fn test_callbacks_remove_third_callback() {
    let bag = Rc::new(RefCell::new(Vec::new()));
    let f = Future::new();
    f.add_done_callback(appender(&bag, 42));
    f.add_done_callback(appender(&bag, 17));
    let cb3 = f.add_done_callback(appender(&bag, 100));
    assert!(f.remove_done_callback(cb3));
    assert!(!f.remove_done_callback(cb3));
    f.set_result("foo").unwrap();
    yield_now().await;
    assert_eq!(*bag.borrow(), [42, 17]);
    assert_eq!(f.result(), Some(Ok("foo")));
}

/// test_futures.py `test_remove_done_callback`'s later half: callbacks added after a removal
/// keep their place (one removed from the middle of several; only the remaining ones run, in
/// order).
#[aioloop::test]
async fn test_remove_done_callback() {
    let bag = Rc::new(RefCell::new(Vec::new()));
    let f = Future::new();
    let mut ones = vec![f.add_done_callback(appender(&bag, 1))];
    let two = f.add_done_callback(appender(&bag, 2));
    assert!(f.remove_done_callback(two));
    f.add_done_callback(appender(&bag, 2));
    for _ in 0..5 {
        ones.push(f.add_done_callback(appender(&bag, 1)));
    }
    assert_eq!(
        ones.into_iter().filter(|id| f.remove_done_callback(*id)).count(),
        6
    );
    f.set_result("foo").unwrap();
    yield_now().await;
    assert_eq!(*bag.borrow(), [2]);
}

/// test_futures.py `test_schedule_callbacks_list_mutation_1` (bpo-28963): a callback that
/// removes a later callback when it runs removes nothing: every callback was scheduled when the
/// future was done, so all three run.
#[aioloop::test]
async fn test_schedule_callbacks_list_mutation_1() {
    let bag = Rc::new(RefCell::new(Vec::new()));
    let f = Future::new();
    let later: Rc<Cell<Option<aioloop::DoneCallbackId>>> = Rc::default();
    let (l, b) = (later.clone(), bag.clone());
    f.add_done_callback(move |f: &Future<&str>| {
        b.borrow_mut().push(0);
        let removed = f.remove_done_callback(l.get().unwrap());
        b.borrow_mut().push(if removed { -1 } else { 1 });
    });
    later.set(Some(f.add_done_callback(appender(&bag, 2))));
    f.add_done_callback(appender(&bag, 3));
    f.set_result("x").unwrap();
    yield_now().await;
    assert_eq!(*bag.borrow(), [0, 1, 2, 3]);
}

/// test_futures.py `test_schedule_callbacks_list_mutation_2` (bpo-30828), in Rust terms: a
/// callback that adds callbacks to its (done) future while running schedules them after the
/// ones already scheduled; nothing is lost or run twice.
#[aioloop::test]
async fn test_schedule_callbacks_list_mutation_2() {
    let bag = Rc::new(RefCell::new(Vec::new()));
    let f = Future::new();
    let b = bag.clone();
    f.add_done_callback(move |f: &Future<&str>| {
        b.borrow_mut().push(0);
        for i in 10..13 {
            f.add_done_callback(appender(&b, i));
        }
    });
    for i in 1..64 {
        f.add_done_callback(appender(&bag, i));
    }
    f.set_result("x").unwrap();
    yield_now().await;
    yield_now().await;
    let expected: Vec<i32> = (0..64).chain(10..13).collect();
    assert_eq!(*bag.borrow(), expected);
}

/// test_futures2.py `test_future_traceback`, without the traceback: a failed task awaited five
/// times (through a `SharedTask`, asyncio's `await future` from one coroutine again and again)
/// raises the same error every time.
#[aioloop::test]
async fn test_future_traceback() {
    let future = spawn(async { panic!("TypeError(42)") }).shared();
    for _ in 0..5 {
        let err = future.clone().await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("TypeError(42)"));
    }
}

/// test_futures2.py `test_task_exc_handler_correct_context` (gh-96704), without the context
/// variable: a task nobody keeps that fails reaches the loop's exception handler, by the end of
/// the iteration after it was created.
#[test]
fn test_task_exc_handler_correct_context() {
    let called = Rc::new(Cell::new(false));
    let flag = called.clone();
    EventLoop::builder()
        .build()
        .unwrap()
        .run_until_complete(async move {
            let lp = aioloop::get_running_loop();
            lp.set_exception_handler(move |ctx| {
                assert!(ctx.to_string().contains("1/0"), "{ctx}");
                flag.set(true);
            });
            drop(spawn(async { panic!("1/0") }));
            yield_now().await;
            yield_now().await;
        });
    assert!(called.get());
}

/// test_futures2.py `test_handle_exc_handler_correct_context` (gh-96704), without the context
/// variable: a `call_soon` callback that fails reaches the exception handler, and the loop
/// runs on.
#[test]
fn test_handle_exc_handler_correct_context() {
    let called = Rc::new(Cell::new(false));
    let flag = called.clone();
    EventLoop::builder()
        .build()
        .unwrap()
        .run_until_complete(async move {
            let lp = aioloop::get_running_loop();
            lp.set_exception_handler(move |ctx| {
                assert!(ctx.to_string().contains("1/0"), "{ctx}");
                flag.set(true);
            });
            call_soon(|| panic!("1/0"));
            yield_now().await;
        });
    assert!(called.get());
}
