//! Audit against tokio's tests/signal_*.rs: the behaviour of each upstream test, through
//! `aioloop::signal`, under the upstream test's name. Signals are process-wide: every test
//! that sends one or listens holds [`serial`].
//!
//! Not ported: signal_drop_recv.rs `drop_then_get_a_signal` (a divergence already tested: with
//! its only listener dropped, `SIGUSR1` takes its default action again, as after asyncio's
//! `remove_signal_handler`, and the process dies; tokio keeps catching it for ever; see
//! tests/signal_default.rs `dropping_the_last_listener_brings_the_default_back`),
//! signal_info.rs (`SIGINFO`: the BSDs and macOS), signal_panic.rs (see
//! `signal_panic_caller` below: an error here, not a panic).

mod support;

use std::sync::mpsc::channel;
use std::time::Duration;

use aioloop::signal::{signal, SignalKind};
use aioloop::EventLoop;
use support::signal::{kill_self, serial, within};

/// signal_ctrl_c.rs `ctrl_c`: `ctrl_c()` sees a `SIGINT` sent by a task after it started
/// listening.
#[test]
fn ctrl_c() {
    let _serial = serial();
    aioloop::run(async {
        let mut ctrl_c = std::pin::pin!(aioloop::signal::ctrl_c());
        // aioloop's `ctrl_c` listens from its first poll (tokio's from the call).
        assert!(support::sockets::poll_once(ctrl_c.as_mut()).await.is_pending());
        let _sender = aioloop::spawn(async { kill_self(libc::SIGINT) });
        within(ctrl_c).await.unwrap();
    });
}

/// signal_drop_rt.rs `dropping_loops_does_not_cause_starvation`: two loops on one thread
/// listen for `SIGUSR1`; after the first loop and its listener are gone, the second still
/// gets the next delivery.
///
/// The second loop takes the first delivery too before the first loop goes (upstream leaves
/// it pending): otherwise its last `recv` could return that first delivery while the second
/// signal is still on its way, and once the test dropped the last listener that signal would
/// take its default action (here, unlike tokio, the default comes back) and kill the process.
#[test]
fn dropping_loops_does_not_cause_starvation() {
    let _serial = serial();
    let kind = SignalKind::user_defined1();
    let first_rt = EventLoop::new().unwrap();
    let mut first_signal = first_rt.run_until_complete(async { signal(kind).unwrap() });
    let second_rt = EventLoop::new().unwrap();
    let mut second_signal = second_rt.run_until_complete(async { signal(kind).unwrap() });
    kill_self(libc::SIGUSR1);
    first_rt
        .run_until_complete(async { within(first_signal.recv()).await })
        .expect("failed to await first signal");
    second_rt
        .run_until_complete(async { within(second_signal.recv()).await })
        .expect("the second loop gets the first delivery too");
    drop(first_rt);
    drop(first_signal);
    kill_self(libc::SIGUSR1);
    second_rt
        .run_until_complete(async { within(second_signal.recv()).await })
        .unwrap();
}

/// signal_drop_signal.rs `dropping_signal_does_not_deregister_any_other_instances`: two
/// duplicate listeners dropped leave the third listening.
#[test]
fn dropping_signal_does_not_deregister_any_other_instances() {
    let _serial = serial();
    aioloop::run(async {
        let kind = SignalKind::user_defined1();
        let first_duplicate_signal = signal(kind).unwrap();
        let mut sig = signal(kind).unwrap();
        let second_duplicate_signal = signal(kind).unwrap();
        drop(first_duplicate_signal);
        drop(second_duplicate_signal);
        kill_self(libc::SIGUSR1);
        within(sig.recv()).await.unwrap();
    });
}

/// signal_multi_rt.rs `multi_loop`: ten rounds of four loops on four threads, each listening
/// for `SIGHUP`; one delivery per round reaches all four.
#[test]
fn multi_loop() {
    let _serial = serial();
    let (sender, receiver) = channel();
    for _ in 0..10 {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let sender = sender.clone();
                std::thread::spawn(move || {
                    aioloop::run(async {
                        let mut signal = signal(SignalKind::hangup()).unwrap();
                        sender.send(()).unwrap();
                        within(signal.recv()).await.unwrap();
                    })
                })
            })
            .collect();
        for _ in &threads {
            receiver.recv().unwrap();
        }
        kill_self(libc::SIGHUP);
        for t in threads {
            t.join().unwrap();
        }
    }
}

/// signal_no_rt.rs `no_runtime_panics_creating_signals`.
#[test]
#[should_panic(expected = "signal::signal")]
fn no_runtime_panics_creating_signals() {
    let _ = signal(SignalKind::hangup());
}

/// signal_notify_both.rs `notify_both`: one delivery reaches both listeners of a signal.
#[test]
fn notify_both() {
    let _serial = serial();
    aioloop::run(async {
        let kind = SignalKind::user_defined2();
        let mut signal1 = signal(kind).unwrap();
        let mut signal2 = signal(kind).unwrap();
        kill_self(libc::SIGUSR2);
        within(signal1.recv()).await.unwrap();
        within(signal2.recv()).await.unwrap();
    });
}

/// signal_panic.rs `signal_panic_caller`, a divergence: tokio panics (at the caller) for a
/// signal number that is no signal; aioloop's `signal` returns `InvalidInput`, as
/// `add_signal_handler` does (asyncio's `ValueError`).
#[aioloop::test]
async fn signal_panic_caller() {
    let err = signal(SignalKind::from_raw(-1)).err().unwrap();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err:?}");
}

/// signal_realtime.rs `signal_realtime`: each of the real-time signals `SIGRTMIN` to
/// `SIGRTMIN+27` (or `SIGRTMAX`) gets a listener, is sent once, and reaches its listener
/// within 5 s.
#[cfg(target_os = "linux")]
#[test]
fn signal_realtime() {
    let _serial = serial();
    aioloop::run(async {
        let max = libc::SIGRTMAX().min(libc::SIGRTMIN() + 27);
        let mut signals: Vec<_> = (libc::SIGRTMIN()..=max)
            .map(|signum| {
                let sig = signal(SignalKind::from_raw(signum))
                    .unwrap_or_else(|e| panic!("SIGRTMIN+{}: {e}", signum - libc::SIGRTMIN()));
                (signum, sig)
            })
            .collect();
        for signum in libc::SIGRTMIN()..=max {
            kill_self(signum);
        }
        let mut missing = Vec::new();
        for (signum, sig) in &mut signals {
            if aioloop::wait_for(sig.recv(), Duration::from_secs(5))
                .await
                .is_err()
            {
                missing.push(format!("SIGRTMIN+{}", *signum - libc::SIGRTMIN()));
            }
        }
        assert!(missing.is_empty(), "no signals received for: {missing:?}");
    });
}

/// signal_twice.rs `twice`: two deliveries, each awaited before the next is sent, are two.
#[test]
fn twice() {
    let _serial = serial();
    aioloop::run(async {
        let mut sig = signal(SignalKind::user_defined1()).unwrap();
        for _ in 0..2 {
            kill_self(libc::SIGUSR1);
            assert!(within(sig.recv()).await.is_some());
        }
    });
}

/// signal_usr1.rs `signal_usr1`.
#[test]
fn signal_usr1() {
    let _serial = serial();
    aioloop::run(async {
        let mut signal = signal(SignalKind::user_defined1()).unwrap();
        kill_self(libc::SIGUSR1);
        within(signal.recv()).await.unwrap();
    });
}
