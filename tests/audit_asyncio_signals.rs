//! Audit against CPython's Lib/test/test_asyncio/test_unix_events.py (the signal tests of
//! `SelectorEventLoopSignalTests`) and Lib/asyncio/unix_events.py: `add_signal_handler` /
//! `remove_signal_handler` and their answers, invalid signals, the thread the handler runs on,
//! deliveries that coalesce. Each test is named after the CPython test it ports, or says which
//! part of asyncio it checks. Divergences on purpose are in docs/asyncio.md.
//!
//! Signals are process-wide: these tests live in their own binary (so no other test file sees
//! their signals), use only SIGUSR1 and SIGUSR2, and take a lock to run one at a time, as
//! tests/signal_delivery.rs does (both with the helpers of tests/support/signal.rs).

mod support;

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use aioloop::signal::{signal, SignalKind};
use support::protocols::open_fds;
use support::signal::{counting_handler, kill_self, serial, until, within};

/// CPython `test_check_signal` and `test_add_signal_handler_install_error*`: a number that
/// is no signal (0, negative, past the last one) is refused with a clear error (asyncio:
/// `ValueError('sig 1000 out of range(1, 65)')`), and so is a signal that cannot be caught
/// (asyncio: `RuntimeError('sig 9 cannot be caught')`). Nothing is set up for them.
#[test]
fn test_check_signal() {
    let _serial = serial();
    aioloop::run(async {
        let lp = aioloop::get_running_loop();
        let fds = open_fds();
        for signum in [0, -1, 1000, libc::c_int::MAX] {
            let err = lp.add_signal_handler(signum, || {}).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{signum}: {err}");
            assert!(err.to_string().contains("out of range"), "{signum}: {err}");
            let err = signal(SignalKind::from_raw(signum)).unwrap_err();
            assert!(err.to_string().contains("out of range"), "{signum}: {err}");
        }
        for signum in [libc::SIGKILL, libc::SIGSTOP] {
            let err = lp.add_signal_handler(signum, || {}).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{signum}: {err}");
            assert!(err.to_string().contains("cannot be caught"), "{signum}: {err}");
        }
        assert_eq!(
            open_fds(),
            fds,
            "a signal self-pipe was created for signals that were refused"
        );
        // asyncio's remove_signal_handler raises ValueError for a number out of range;
        // here there is just no handler to remove.
        assert!(!lp.remove_signal_handler(1000));
        assert!(!lp.remove_signal_handler(libc::SIGKILL));
    });
}

/// CPython `test_add_signal_handler` and `test_remove_signal_handler`: adding answers nothing
/// (`Ok`), removing answers whether there was a handler: true once, then false.
#[test]
fn test_add_and_remove_signal_handler() {
    let _serial = serial();
    aioloop::run(async {
        let lp = aioloop::get_running_loop();
        // Another signal has a handler, so the loop's signal machinery exists.
        lp.add_signal_handler(libc::SIGUSR2, || {}).unwrap();
        assert!(!lp.remove_signal_handler(libc::SIGUSR1), "never added");
        lp.add_signal_handler(libc::SIGUSR1, || {}).unwrap();
        assert!(lp.remove_signal_handler(libc::SIGUSR1));
        assert!(!lp.remove_signal_handler(libc::SIGUSR1));
        assert!(lp.remove_signal_handler(libc::SIGUSR2));
    });
}

/// asyncio runs a signal handler as a callback of its loop (`_handle_signal` →
/// `call_soon_threadsafe`), never inside the C handler and never on another thread: here the
/// signal is sent from another thread, which the kernel may pick to run the OS handler, and
/// the callback still runs on the loop's thread.
#[test]
fn the_handler_runs_on_the_loop_thread() {
    let _serial = serial();
    aioloop::run(async {
        let lp = aioloop::get_running_loop();
        let loop_thread = std::thread::current().id();
        let hits = Rc::new(Cell::new(0));
        let counter = hits.clone();
        lp.add_signal_handler(libc::SIGUSR1, move || {
            assert_eq!(std::thread::current().id(), loop_thread);
            counter.set(counter.get() + 1);
        })
        .unwrap();
        std::thread::spawn(|| kill_self(libc::SIGUSR1)).join().unwrap();
        until(&hits, 1).await;
        assert!(lp.remove_signal_handler(libc::SIGUSR1));
    });
}

/// Several deliveries of one signal before the loop reads them coalesce into one call of the
/// handler (tokio's signal streams do the same). asyncio calls the handler once per byte its
/// C handler wrote to the wakeup fd (`_process_self_data`), so once per delivery here; the
/// kernel itself merges a signal sent while the same one is pending, so neither counts
/// deliveries exactly (docs/asyncio.md).
#[test]
fn deliveries_before_the_loop_reads_them_coalesce() {
    let _serial = serial();
    aioloop::run(async {
        let lp = aioloop::get_running_loop();
        let hits = counting_handler(libc::SIGUSR2);
        // raise() runs the OS handler before it returns: three deliveries, one iteration.
        for _ in 0..3 {
            // SAFETY: raise only sends a signal to this thread, whose SIGUSR2 is caught now.
            assert_eq!(unsafe { libc::raise(libc::SIGUSR2) }, 0);
        }
        until(&hits, 1).await;
        aioloop::sleep(Duration::from_millis(20)).await;
        assert_eq!(hits.get(), 1);
        // The next delivery is a new call.
        // SAFETY: as above.
        assert_eq!(unsafe { libc::raise(libc::SIGUSR2) }, 0);
        until(&hits, 2).await;
        assert!(lp.remove_signal_handler(libc::SIGUSR2));
    });
}

/// CPython `test_handle_signal_no_handler` and `test_remove_signal_handler_cleanup`-like: a
/// handler removed before its signal arrives is not called, while a `signal()` listener of
/// the same loop still sees the delivery.
#[test]
fn test_handle_signal_no_handler() {
    let _serial = serial();
    aioloop::run(async {
        let lp = aioloop::get_running_loop();
        let hits = counting_handler(libc::SIGUSR1);
        let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
        assert!(lp.remove_signal_handler(libc::SIGUSR1));
        kill_self(libc::SIGUSR1);
        within(usr1.recv()).await.unwrap();
        for _ in 0..5 {
            aioloop::yield_now().await;
        }
        assert_eq!(hits.get(), 0);
    });
}
