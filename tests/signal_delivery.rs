//! Signals through the public API. Signals are process-wide, so these tests live in their own
//! binary and take a lock to run one at a time.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use aioloop::signal::{ctrl_c, signal, SignalKind};
use support::protocols::open_fds;
use support::signal::{counting_handler, kill_self, serial, until, within};

#[test]
fn sigusr1_reaches_signal_and_a_handler_and_removal_stops_the_handler() {
    let _serial = serial();
    aioloop::run(async {
        let lp = aioloop::get_running_loop();
        let hits = counting_handler(SignalKind::user_defined1());
        let mut usr1 = signal(SignalKind::user_defined1()).unwrap();

        // SAFETY: raise only sends a signal to this thread, whose SIGUSR1 is caught now.
        assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
        within(usr1.recv()).await.unwrap();
        until(&hits, 1).await;
        assert_eq!(hits.get(), 1);

        assert!(lp.remove_signal_handler(SignalKind::user_defined1()));
        assert!(!lp.remove_signal_handler(SignalKind::user_defined1()));
        kill_self(libc::SIGUSR1);
        within(usr1.recv()).await.unwrap();
        for _ in 0..10 {
            aioloop::yield_now().await;
        }
        assert_eq!(hits.get(), 1, "a removed handler was called");
    });
}

#[test]
fn a_handler_replaces_the_previous_one_and_may_panic_without_killing_the_loop() {
    let _serial = serial();
    let reported = Rc::new(Cell::new(0));
    let seen = reported.clone();
    let event_loop = aioloop::EventLoop::builder()
        .exception_handler(move |_| seen.set(seen.get() + 1))
        .build()
        .unwrap();
    let first = Rc::new(Cell::new(0));
    let f = first.clone();
    event_loop
        .add_signal_handler(libc::SIGUSR2, move || f.set(f.get() + 1))
        .unwrap();
    event_loop
        .add_signal_handler(libc::SIGUSR2, || panic!("handler panics"))
        .unwrap();
    event_loop.run_until_complete(async {
        let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
        kill_self(libc::SIGUSR2);
        within(usr2.recv()).await.unwrap();
        until(&reported, 1).await;
    });
    assert_eq!(first.get(), 0, "the replaced handler ran");
    assert_eq!(reported.get(), 1);
}

#[test]
fn ctrl_c_sees_sigint() {
    let _serial = serial();
    aioloop::run(async {
        let waiter = aioloop::spawn(ctrl_c());
        aioloop::yield_now().await; // the listener exists once the task has been polled
        kill_self(libc::SIGINT);
        within(waiter).await.unwrap().unwrap();
    });
}

#[test]
fn several_loops_on_several_threads_each_get_the_signal() {
    let _serial = serial();
    const LOOPS: usize = 4;
    let ready = Arc::new(Barrier::new(LOOPS + 1));
    let threads: Vec<_> = (0..LOOPS)
        .map(|_| {
            let ready = ready.clone();
            std::thread::spawn(move || {
                aioloop::run(async move {
                    let mut hup = signal(SignalKind::hangup()).unwrap();
                    ready.wait();
                    within(hup.recv()).await.unwrap();
                })
            })
        })
        .collect();
    ready.wait();
    kill_self(libc::SIGHUP);
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn deliveries_before_listening_are_not_seen_and_others_go_on_after_a_drop() {
    let _serial = serial();
    aioloop::run(async {
        let mut first = signal(SignalKind::user_defined2()).unwrap();
        kill_self(libc::SIGUSR2);
        within(first.recv()).await.unwrap();
        // A listener created after that delivery was read does not see it.
        let mut second = signal(SignalKind::user_defined2()).unwrap();
        let early = aioloop::wait_for(second.recv(), Duration::from_millis(50)).await;
        assert!(early.is_err(), "a listener saw a delivery from before it existed");
        drop(first);
        kill_self(libc::SIGUSR2);
        within(second.recv()).await.unwrap();
    });
}

#[test]
fn uncatchable_signals_are_refused() {
    let _serial = serial();
    aioloop::run(async {
        assert!(signal(SignalKind::from_raw(libc::SIGKILL)).is_err());
        assert!(signal(SignalKind::from_raw(libc::SIGSEGV)).is_err());
        let lp = aioloop::get_running_loop();
        assert!(lp.add_signal_handler(libc::SIGSTOP, || {}).is_err());
    });
}

#[test]
fn signals_is_a_stream() {
    use futures_core::Stream;
    let _serial = serial();
    aioloop::run(async {
        let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
        kill_self(libc::SIGUSR2);
        let item = within(std::future::poll_fn(|cx| {
            std::pin::Pin::new(&mut usr2).poll_next(cx)
        }))
        .await;
        assert_eq!(item, Some(()));
    });
}

#[test]
fn removing_a_handler_from_a_loop_that_never_caught_a_signal_sets_nothing_up() {
    let _serial = serial(); // no other test opens descriptors meanwhile
    aioloop::run(async {
        let lp = aioloop::get_running_loop();
        let before = open_fds();
        assert!(!lp.remove_signal_handler(SignalKind::user_defined2()));
        assert_eq!(open_fds(), before, "a self-pipe was created just to answer false");
    });
}

/// asyncio's signal handling is no task: a debug-mode loop that closes with a handler or a
/// listener in place reports no pending task, and the dispatcher is not in `all_tasks()`.
#[test]
fn the_signal_dispatcher_is_no_task() {
    let _serial = serial();
    let reported = Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = reported.clone();
    let event_loop = aioloop::EventLoop::builder()
        .debug(true)
        .exception_handler(move |ctx| sink.borrow_mut().push(ctx.message().to_string()))
        .build()
        .unwrap();
    let hits = Rc::new(Cell::new(0));
    let counter = hits.clone();
    event_loop
        .add_signal_handler(SignalKind::user_defined1(), move || {
            counter.set(counter.get() + 1)
        })
        .unwrap();
    let (listener, tasks) = event_loop.run_until_complete(async {
        let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
        kill_self(libc::SIGUSR2);
        within(usr2.recv()).await.unwrap();
        kill_self(libc::SIGUSR1);
        until(&hits, 1).await;
        (usr2, format!("{:?}", aioloop::all_tasks()))
    });
    drop(event_loop);
    drop(listener);
    assert!(
        reported.borrow().is_empty(),
        "closing reported {:?}",
        reported.borrow()
    );
    assert_eq!(
        tasks.matches("TaskRef").count(),
        1,
        "not only the main task: {tasks}"
    );
}
