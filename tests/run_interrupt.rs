//! Ctrl-C during `aioloop::run`, as asyncio.run handles it: CPython's
//! Lib/test/test_asyncio/test_runners.py `test_interrupt_call_soon`, `test_interrupt_wait`,
//! `test_interrupt_cancelled_task`, and what `Runner._on_sigint` does around them (a second
//! Ctrl-C, a program that handles SIGINT itself, a run off the main thread, an ignored SIGINT).
//!
//! asyncio handles Ctrl-C only on the main thread, and a test harness runs each test on a
//! thread of its own, so this file has no harness (`harness = false` in Cargo.toml): its `main`
//! runs every case as a child process of itself (the case named by an environment variable,
//! played on the child's main thread) and checks how the child ended and what it printed. An
//! argument that is not a flag runs only the cases whose name contains it.

use std::cell::Cell;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use aioloop::signal::SignalKind;
use aioloop::{call_later, current_task, sleep, spawn, until_cancelled, yield_now};

/// The environment variable naming the case a child plays.
const CASE: &str = "AIOLOOP_RUN_INTERRUPT_CASE";

/// Sends SIGINT to this process (as Ctrl-C in a terminal does), after `delay`.
fn interrupt_after(delay: Duration) {
    call_later(delay, interrupt_now);
}

fn interrupt_now() {
    // SAFETY: kill and getpid are plain system calls; SIGINT's disposition is what each case
    // sets up.
    unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
}

/// A leftover task whose async cleanup prints when `run` cancels it at its end.
fn leftover_with_cleanup() {
    drop(spawn(async {
        if until_cancelled(std::future::pending::<()>()).await.is_err() {
            println!("leftover cleanup");
        }
    }));
}

/// The cases, as children play them: each prints what the parent checks.
fn play(case: &str) {
    match case {
        // test_interrupt_call_soon: a main task that never waits on a future (it only yields)
        // is cancelled, observes it, runs its cleanup, and `run` ends as Ctrl-C does, after the
        // leftover tasks' cleanup.
        "interrupt_call_soon" => {
            aioloop::run(async {
                leftover_with_cleanup();
                interrupt_after(Duration::from_millis(100));
                let spun = until_cancelled(async {
                    loop {
                        yield_now().await;
                    }
                })
                .await;
                if spun.is_err() {
                    println!("main cancelled");
                }
            });
            println!("run returned");
        }
        // test_interrupt_wait: interrupting while the main task waits on a future cancels both.
        "interrupt_wait" => {
            let fut = aioloop::Future::<()>::new();
            let waited = fut.clone();
            aioloop::run(async move {
                interrupt_after(Duration::from_millis(100));
                if until_cancelled(waited).await.is_err() {
                    println!("main cancelled, future cancelled: {}", fut.is_cancelled());
                }
            });
            println!("run returned");
        }
        // test_interrupt_cancelled_task: a Ctrl-C that comes while the main task is already
        // being cancelled by another task is no KeyboardInterrupt: `run` reports the ordinary
        // cancellation (asyncio raises CancelledError; here the cancelled main task's panic).
        "interrupt_cancelled_task" => {
            let _ = std::panic::catch_unwind(|| {
                aioloop::run(async {
                    let main = current_task().unwrap();
                    drop(spawn(async move {
                        yield_now().await;
                        main.cancel();
                        interrupt_now();
                    }));
                    sleep(Duration::from_secs(10)).await;
                })
            })
            .map_err(|payload| {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()));
                println!("run panicked: {}", message.unwrap_or_default());
            });
            println!("still alive");
        }
        // `Runner._on_sigint`'s second Ctrl-C raises KeyboardInterrupt at once, wherever the
        // program is: here, while the main task blocks the loop, the process ends without
        // waiting for it (and without the cleanup the loop cannot run).
        "second_interrupt_ends_at_once" => {
            aioloop::run(async {
                leftover_with_cleanup();
                yield_now().await; // the leftover task starts
                interrupt_now();
                std::thread::sleep(Duration::from_millis(300));
                interrupt_now();
                std::thread::sleep(Duration::from_secs(10));
                println!("blocking main finished");
            });
        }
        // A program listening for SIGINT itself gets it; `run` steps aside (in asyncio, a
        // handler the program installs replaces the runner's).
        "program_awaits_ctrl_c" => {
            let out = aioloop::run(async {
                interrupt_after(Duration::from_millis(100));
                aioloop::signal::ctrl_c().await.unwrap();
                println!("ctrl_c received");
                sleep(Duration::from_millis(50)).await;
                7
            });
            println!("run returned {out}");
        }
        "program_adds_signal_handler" => {
            let out = aioloop::run(async {
                let lp = aioloop::get_running_loop();
                let seen = Rc::new(Cell::new(false));
                let flag = seen.clone();
                lp.add_signal_handler(SignalKind::interrupt(), move || flag.set(true))
                    .unwrap();
                interrupt_after(Duration::from_millis(100));
                while !seen.get() {
                    sleep(Duration::from_millis(5)).await;
                }
                println!("handler ran");
                assert!(lp.remove_signal_handler(SignalKind::interrupt()));
                8
            });
            println!("run returned {out}");
        }
        // A main task that observes the cancellation and takes it back returns its value, and
        // `run` returns it (asyncio returns a value the main coroutine returns after catching
        // CancelledError).
        "main_swallows_interrupt" => {
            let out = aioloop::run(async {
                interrupt_after(Duration::from_millis(100));
                if until_cancelled(std::future::pending::<()>()).await.is_err() {
                    println!("main cancelled");
                    current_task().unwrap().uncancel();
                }
                9
            });
            println!("run returned {out}");
        }
        // Off the main thread nothing is installed (asyncio: only the main thread): SIGINT
        // keeps its default action and ends the process at once.
        "off_main_thread" => {
            std::thread::spawn(|| {
                aioloop::run(async {
                    interrupt_now();
                    sleep(Duration::from_secs(10)).await;
                    println!("not interrupted");
                })
            })
            .join()
            .unwrap();
        }
        // An ignored SIGINT stays ignored (asyncio installs its handler only over the default
        // one).
        "ignored_stays_ignored" => {
            // SAFETY: setting SIGINT to SIG_IGN before any other thread exists.
            unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
            let out = aioloop::run(async {
                interrupt_now();
                sleep(Duration::from_millis(100)).await;
                3
            });
            println!("run returned {out}");
        }
        // A run that was not interrupted leaves SIGINT's default action in place; the next run
        // of the process handles Ctrl-C again.
        "default_back_between_runs" => {
            assert_eq!(aioloop::run(async { 1 }), 1);
            println!("first run returned");
            aioloop::run(async {
                interrupt_after(Duration::from_millis(50));
                if until_cancelled(std::future::pending::<()>()).await.is_err() {
                    println!("second run's main cancelled");
                }
            });
            println!("run returned");
        }
        "default_back_after_run" => {
            assert_eq!(aioloop::run(async { 1 }), 1);
            println!("run returned");
            interrupt_now();
            std::thread::sleep(Duration::from_secs(10));
            println!("not interrupted");
        }
        // asyncio.Runner: each `run` handles Ctrl-C; an interrupted one closes the runner
        // (its leftover tasks' cleanup runs, also of tasks an earlier run left) and ends the
        // process.
        "runner_interrupt" => {
            let mut runner = aioloop::Runner::new();
            runner.run(async {
                leftover_with_cleanup();
                yield_now().await;
            });
            println!("first run returned");
            runner.run(async {
                interrupt_after(Duration::from_millis(50));
                if until_cancelled(std::future::pending::<()>()).await.is_err() {
                    println!("second run's main cancelled");
                }
            });
            println!("run returned");
        }
        other => panic!("no case {other}"),
    }
}

/// How a child ended.
struct Ended {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Ended {
    fn by_sigint(&self) -> bool {
        self.status.signal() == Some(libc::SIGINT)
    }

    fn printed(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// Runs `case` in a child process of this binary; kills it after 30 s (a hang is a failure).
fn child(case: &str) -> Ended {
    use std::io::Read;
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CASE, case)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        out.read_to_string(&mut text).map(|_| text)
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        err.read_to_string(&mut text).map(|_| text)
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ended {
        status,
        stdout: stdout.join().unwrap().unwrap(),
        stderr: stderr.join().unwrap().unwrap(),
        took: started.elapsed(),
    }
}

/// Each case and what its child must show.
fn check(case: &str, ended: &Ended) -> Result<(), String> {
    let printed = ended.printed();
    let expect = |ok: bool, what: &str| -> Result<(), String> {
        match ok {
            true => Ok(()),
            false => Err(what.to_string()),
        }
    };
    match case {
        "interrupt_call_soon" => {
            expect(
                ended.by_sigint(),
                "the process ends killed by SIGINT, as Ctrl-C ends it",
            )?;
            expect(
                printed == ["main cancelled", "leftover cleanup"],
                "the main task's cleanup, then the leftover task's, and run does not return",
            )
        }
        "interrupt_wait" => {
            expect(ended.by_sigint(), "the process ends killed by SIGINT")?;
            expect(
                printed == ["main cancelled, future cancelled: true"],
                "the awaited future is cancelled with the main task",
            )
        }
        "interrupt_cancelled_task" => {
            expect(
                ended.status.success(),
                "no SIGINT death: the cancellation was not Ctrl-C's",
            )?;
            expect(printed.len() == 2, "run panicked, then the process went on")?;
            expect(
                printed[0].starts_with("run panicked: aioloop: the main task was cancelled"),
                "run reports the main task's ordinary cancellation",
            )?;
            expect(printed[1] == "still alive", "the process goes on after run")
        }
        "second_interrupt_ends_at_once" => {
            expect(ended.by_sigint(), "the process ends killed by SIGINT")?;
            expect(
                printed.is_empty(),
                "nothing more runs: neither main's end nor any cleanup",
            )?;
            expect(
                ended.took < Duration::from_secs(8),
                "the second Ctrl-C ends it at once, not once the blocking main returns",
            )
        }
        "program_awaits_ctrl_c" => {
            expect(
                ended.status.success(),
                "the program handled Ctrl-C and ended normally",
            )?;
            expect(
                printed == ["ctrl_c received", "run returned 7"],
                "main was not cancelled",
            )
        }
        "program_adds_signal_handler" => {
            expect(
                ended.status.success(),
                "the program handled Ctrl-C and ended normally",
            )?;
            expect(
                printed == ["handler ran", "run returned 8"],
                "main was not cancelled",
            )
        }
        "main_swallows_interrupt" => {
            expect(
                ended.status.success(),
                "run returned: the main task took the cancel back",
            )?;
            expect(
                printed == ["main cancelled", "run returned 9"],
                "run returns main's value",
            )
        }
        "off_main_thread" => {
            expect(ended.by_sigint(), "SIGINT's default action ends the process")?;
            expect(
                printed.is_empty(),
                "no cancellation, no cleanup off the main thread",
            )
        }
        "ignored_stays_ignored" => {
            expect(ended.status.success(), "an ignored SIGINT does nothing")?;
            expect(printed == ["run returned 3"], "run returns normally")
        }
        "default_back_between_runs" => {
            expect(ended.by_sigint(), "the second run handled Ctrl-C")?;
            expect(
                printed == ["first run returned", "second run's main cancelled"],
                "the second run cancels its main task",
            )
        }
        "default_back_after_run" => {
            expect(ended.by_sigint(), "after run, SIGINT ends the process at once")?;
            expect(printed == ["run returned"], "nothing catches it after run")
        }
        "runner_interrupt" => {
            expect(ended.by_sigint(), "the process ends killed by SIGINT")?;
            expect(
                printed
                    == [
                        "first run returned",
                        "second run's main cancelled",
                        "leftover cleanup",
                    ],
                "the interrupted run's cleanup, then the runner's close",
            )
        }
        other => Err(format!("no check for {other}")),
    }
}

const CASES: &[&str] = &[
    "interrupt_call_soon",
    "interrupt_wait",
    "interrupt_cancelled_task",
    "second_interrupt_ends_at_once",
    "program_awaits_ctrl_c",
    "program_adds_signal_handler",
    "main_swallows_interrupt",
    "off_main_thread",
    "ignored_stays_ignored",
    "default_back_between_runs",
    "default_back_after_run",
    "runner_interrupt",
];

fn main() {
    if let Ok(case) = std::env::var(CASE) {
        play(&case);
        return;
    }
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let list = std::env::args().any(|a| a == "--list");
    let cases: Vec<&str> = CASES
        .iter()
        .copied()
        .filter(|case| filters.is_empty() || filters.iter().any(|f| case.contains(f.as_str())))
        .collect();
    if list {
        for case in &cases {
            println!("{case}: test");
        }
        return;
    }
    println!("\nrunning {} tests", cases.len());
    let mut failed = Vec::new();
    for case in &cases {
        let ended = child(case);
        match check(case, &ended) {
            Ok(()) => println!("test {case} ... ok"),
            Err(why) => {
                println!("test {case} ... FAILED");
                failed.push(format!(
                    "{case}: {why}\n  status: {:?}\n  stdout: {:?}\n  stderr: {}",
                    ended.status, ended.stdout, ended.stderr
                ));
            }
        }
    }
    let _ = std::io::stdout().flush();
    if !failed.is_empty() {
        eprintln!("\nfailures:\n{}", failed.join("\n"));
        std::process::exit(101);
    }
    println!("\ntest result: ok. {} passed", cases.len());
}
