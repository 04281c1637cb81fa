//! A signal nobody on any loop is interested in any more takes its default action again.
//!
//! A default action may end the process, so each case runs in a child: this test binary run
//! again with `AIOLOOP_SIGNAL_CASE` naming the case, through the `child` test below (which does
//! nothing in the parent). A child that survives the signal prints what it saw and exits 0;
//! the parent waits for it at most 60 s, then kills it and fails.

use std::cell::Cell;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aioloop::signal::{signal, SignalKind};

const CASE: &str = "AIOLOOP_SIGNAL_CASE";

/// Runs `case` in a child process; returns its exit status and what it printed.
fn run_case(case: &str) -> (ExitStatus, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CASE, case)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("case {case}: the child hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    (status, out)
}

/// Asserts that `case` ended its child by `sig`.
fn dies_by(case: &str, sig: libc::c_int) {
    let (status, out) = run_case(case);
    assert_eq!(
        status.signal(),
        Some(sig),
        "case {case}: {status}, printed:\n{out}"
    );
}

/// Asserts that `case`'s child survived and printed `seen`.
fn survives(case: &str, seen: &str) {
    let (status, out) = run_case(case);
    assert!(status.success(), "case {case}: {status}, printed:\n{out}");
    assert!(out.contains(seen), "case {case} printed:\n{out}");
}

/// Sends `sig` to this (child) process.
fn kill_self(sig: libc::c_int) {
    // SAFETY: kill/getpid are plain syscalls.
    assert_eq!(unsafe { libc::kill(libc::getpid(), sig) }, 0);
}

/// Sends `sig` to the child process and gives a default action time to end it; prints
/// "survived" if it did not.
fn raise_and_linger(sig: libc::c_int) {
    kill_self(sig);
    std::thread::sleep(Duration::from_millis(500));
    println!("survived");
}

/// Waits (at most 10 s) on the running loop until `flag` is set.
async fn until(flag: &Cell<bool>) {
    aioloop::wait_for(
        async {
            while !flag.get() {
                aioloop::sleep(Duration::from_millis(1)).await;
            }
        },
        Duration::from_secs(10),
    )
    .await
    .expect("the signal did not arrive in 10 s");
}

/// The child's side: runs the case named in the environment.
#[test]
fn child() {
    let Ok(case) = std::env::var(CASE) else { return };
    match case.as_str() {
        "handler_removed" => {
            aioloop::run(async {
                let lp = aioloop::get_running_loop();
                lp.add_signal_handler(SignalKind::terminate(), || {}).unwrap();
                assert!(lp.remove_signal_handler(SignalKind::terminate()));
                raise_and_linger(libc::SIGTERM); // while the loop still runs
            });
        }
        "listener_dropped" => {
            aioloop::run(async {
                let usr1 = signal(SignalKind::user_defined1()).unwrap();
                let other = signal(SignalKind::user_defined1()).unwrap();
                drop(usr1);
                drop(other);
                raise_and_linger(libc::SIGUSR1); // while the loop still runs
            });
        }
        "loop_closed_with_a_handler" => {
            let event_loop = aioloop::EventLoop::new().unwrap();
            event_loop
                .add_signal_handler(SignalKind::user_defined2(), || {})
                .unwrap();
            event_loop.run_until_complete(aioloop::yield_now());
            drop(event_loop);
            raise_and_linger(libc::SIGUSR2);
        }
        "caught_again_after_default" => {
            aioloop::run(async {
                let lp = aioloop::get_running_loop();
                lp.add_signal_handler(SignalKind::terminate(), || {}).unwrap();
                lp.remove_signal_handler(SignalKind::terminate());
                let hit = Rc::new(Cell::new(false));
                let seen = hit.clone();
                lp.add_signal_handler(SignalKind::terminate(), move || seen.set(true))
                    .unwrap();
                kill_self(libc::SIGTERM);
                until(&hit).await;
                println!("caught");
            });
        }
        "handler_on_another_thread" => {
            let (ready_tx, ready) = mpsc::channel();
            let other = std::thread::spawn(move || {
                aioloop::run(async move {
                    let hit = Rc::new(Cell::new(false));
                    let seen = hit.clone();
                    let lp = aioloop::get_running_loop();
                    lp.add_signal_handler(SignalKind::terminate(), move || seen.set(true))
                        .unwrap();
                    ready_tx.send(()).unwrap();
                    until(&hit).await;
                })
            });
            ready.recv().unwrap();
            aioloop::run(async {
                let lp = aioloop::get_running_loop();
                lp.add_signal_handler(SignalKind::terminate(), || {}).unwrap();
                lp.remove_signal_handler(SignalKind::terminate());
                drop(signal(SignalKind::terminate()).unwrap());
            });
            kill_self(libc::SIGTERM);
            other.join().unwrap();
            println!("caught on the other thread");
        }
        "ignored_by_default" => {
            aioloop::run(async {
                let lp = aioloop::get_running_loop();
                lp.add_signal_handler(SignalKind::window_change(), || {}).unwrap();
                lp.remove_signal_handler(SignalKind::window_change());
                // The SIGCHLD watch comes and goes with each child: exits are still seen.
                for _ in 0..2 {
                    let status = aioloop::process::Command::new("true")
                        .watch_with_sigchld(true)
                        .status()
                        .await
                        .unwrap();
                    assert!(status.success());
                }
            });
            raise_and_linger(libc::SIGWINCH);
            raise_and_linger(libc::SIGCHLD);
        }
        "ignored_before_aioloop" => {
            // SAFETY: setting SIGHUP to SIG_IGN before any other code touches it.
            let old = unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
            assert_ne!(old, libc::SIG_ERR);
            aioloop::run(async {
                let mut hup = signal(SignalKind::hangup()).unwrap();
                kill_self(libc::SIGHUP);
                aioloop::wait_for(hup.recv(), Duration::from_secs(10))
                    .await
                    .expect("SIGHUP not delivered in 10 s");
            });
            raise_and_linger(libc::SIGHUP);
        }
        "handler_during_run_cleanup" => {
            aioloop::run(async {
                let hit = Rc::new(Cell::new(false));
                let seen = hit.clone();
                let lp = aioloop::get_running_loop();
                lp.add_signal_handler(SignalKind::user_defined1(), move || seen.set(true))
                    .unwrap();
                // Left over when main returns: `run` cancels it, and its cleanup waits for
                // the handler added in main.
                drop(aioloop::spawn(async move {
                    let cancelled = aioloop::until_cancelled(std::future::pending::<()>()).await;
                    assert!(cancelled.is_err());
                    kill_self(libc::SIGUSR1);
                    until(&hit).await;
                    println!("handled during the cleanup");
                }));
                aioloop::yield_now().await; // the task waits in until_cancelled
            });
        }
        other => panic!("unknown case {other}"),
    }
}

#[test]
fn removing_the_last_handler_brings_the_default_back() {
    dies_by("handler_removed", libc::SIGTERM);
}

#[test]
fn dropping_the_last_listener_brings_the_default_back() {
    dies_by("listener_dropped", libc::SIGUSR1);
}

#[test]
fn closing_the_loop_that_had_the_handler_brings_the_default_back() {
    dies_by("loop_closed_with_a_handler", libc::SIGUSR2);
}

#[test]
fn a_signal_back_at_its_default_can_be_caught_again() {
    survives("caught_again_after_default", "caught");
}

#[test]
fn a_handler_on_another_loop_keeps_the_signal_caught() {
    survives("handler_on_another_thread", "caught on the other thread");
}

#[test]
fn signals_ignored_by_default_stay_ignored() {
    survives("ignored_by_default", "survived\nsurvived");
}

/// asyncio's signal handlers are no tasks: `run`'s cancelling of the leftover tasks leaves them
/// in place, and a handler added in main still runs during those tasks' cleanup.
#[test]
fn a_handler_still_runs_while_run_cancels_the_leftover_tasks() {
    survives("handler_during_run_cleanup", "handled during the cleanup");
}

#[test]
fn a_signal_ignored_before_aioloop_caught_it_is_ignored_again() {
    survives("ignored_before_aioloop", "survived");
}
