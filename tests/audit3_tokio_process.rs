//! Audit against tokio's tests/process_*.rs: the behaviour of each upstream test, through
//! `aioloop::process`, under the upstream test's name.
//!
//! Not ported: process_raw_handle.rs (Windows only).

mod support;

use std::io::ErrorKind;
use std::os::unix::process::CommandExt;
use std::time::Duration;

use aioloop::process::{Command, Stdio};

/// process_arg0.rs `arg0`: `argv[0]` set through the std command (`as_std_mut`; aioloop's
/// `Command` has no `arg0` of its own) is the child's `$0`.
#[aioloop::test]
async fn arg0() {
    let mut cmd = Command::new("sh");
    cmd.as_std_mut().arg0("test_string");
    cmd.arg("-c").arg("echo $0");
    let output = cmd.output().await.unwrap();
    assert_eq!(output.stdout, b"test_string\n");
}

/// process_change_of_runtime.rs `process_spawned_and_wait_in_different_runtime`, a
/// divergence: tokio waits, on a second runtime, for a child spawned on a first. An aioloop
/// `Child` belongs to the loop that spawned it, as its sockets and pipes do (asyncio's
/// subprocess transport is bound to its loop too, and awaiting its future from another loop
/// raises `RuntimeError`): waiting on another loop panics, saying so, rather than waiting for
/// ever on a reactor nobody polls.
#[test]
#[should_panic(expected = "polled after its event loop was closed")]
fn process_spawned_and_wait_in_different_runtime() {
    let mut child = aioloop::run(async {
        Command::new("sleep")
            .arg("1")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    });
    aioloop::run(async { support::sockets::within(child.wait()).await.unwrap() });
}

/// process_change_of_runtime.rs `process_spawned_outside_runtime`: spawning with no loop
/// running panics, naming the call.
#[test]
#[should_panic(expected = "process::Command::spawn")]
fn process_spawned_outside_runtime() {
    let _ = Command::new("true")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn();
}

/// process_issue_2174.rs `issue_2174`: a task writing to the stdin of a child that does not
/// read fills the pipe and waits; killing the child ends the wait with an error (`BrokenPipe`)
/// instead of a hang.
#[aioloop::test]
async fn issue_2174() {
    let mut child = Command::new("sleep")
        .arg("2")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let input = child.stdin.take().unwrap();
    let handle = aioloop::spawn(async move {
        let data = [0u8; 8192];
        loop {
            if let Err(err) = input.write_all(&data).await {
                return err;
            }
        }
    });
    aioloop::sleep(Duration::from_secs(1)).await;
    child.kill().await.unwrap();
    let err = support::sockets::within(handle).await.unwrap();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err:?}");
}

/// process_issue_42.rs `issue_42`: ten tasks each spawn ten children that exit at about the
/// same time and wait for them all: no exit is missed.
#[aioloop::test]
async fn issue_42() {
    let join_handles = (0..10usize).map(|_| {
        aioloop::spawn(async {
            let processes = (0..10usize).map(|i| {
                let mut child = Command::new("echo")
                    .arg(format!("I am spawned process #{i}"))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .kill_on_drop(true)
                    .spawn()
                    .unwrap();
                async move { child.wait().await }
            });
            for status in futures::future::join_all(processes).await {
                assert!(status.unwrap().success());
            }
        })
    });
    for result in support::sockets::within(futures::future::join_all(join_handles)).await {
        result.unwrap();
    }
}

/// process_issue_7144.rs `issue_7144`: twenty `strace -D sleep 5` children, each sent
/// `SIGINT` after 100 ms, are all waited for (strace detaches, and its exit is seen). Skipped
/// where `strace` is not installed, as upstream.
#[aioloop::test]
async fn issue_7144() {
    if Command::new("strace").arg("-V").output().await.is_err() {
        eprintln!("no strace here: issue_7144 skipped");
        return;
    }
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            aioloop::spawn(async {
                let mut t = Command::new("strace")
                    .args("-o /dev/null -D sleep 5".split(' '))
                    .spawn()
                    .unwrap();
                aioloop::sleep(Duration::from_millis(100)).await;
                t.send_signal(libc::SIGINT).unwrap();
                support::sockets::within(t.wait()).await.unwrap();
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

/// process_kill_after_wait.rs `kill_after_wait`, a divergence: tokio's `start_kill` and
/// `kill` on a child already waited for are `Ok`. aioloop's give `ESRCH`, as asyncio's
/// `kill()` raises `ProcessLookupError` once the process was reaped; before the wait, a
/// `start_kill` of a child that exited is fine in both.
#[aioloop::test]
async fn kill_after_wait() {
    let mut child = Command::new("sh").arg("-c").arg("exit 2").spawn().unwrap();
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let err = child.start_kill().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ESRCH), "{err:?}");
    let err = child.kill().await.unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ESRCH), "{err:?}");
}

/// process_kill_on_drop.rs `kill_on_drop`: dropping a `kill_on_drop` child kills it (it never
/// says "hello from beyond the grave"), but not the grandchild it forked and disowned, whose
/// output still comes through the inherited pipe.
#[aioloop::test]
async fn kill_on_drop() {
    let mut cmd = Command::new("bash");
    cmd.args([
        "-c",
        "
       # Fork another child that won't get killed
       sh -c 'sleep 1; echo child ran' &
       disown -a

       # Await our death
       sleep 5
       echo hello from beyond the grave
    ",
    ]);
    let e = cmd.kill_on_drop(true).stdout(Stdio::piped()).spawn();
    if e.as_ref().is_err_and(|e| e.kind() == ErrorKind::NotFound) {
        eprintln!("bash not available; skipping test");
        return;
    }
    let mut child = e.unwrap();
    aioloop::sleep(Duration::from_secs(2)).await;
    let out = child.stdout.take().unwrap();
    drop(child);
    let mut msg = Vec::new();
    support::sockets::within(out.read_to_end(&mut msg)).await.unwrap();
    assert_eq!("child ran\n", String::from_utf8(msg).unwrap());
}

/// process_smoke.rs `simple`: the exit code comes back; `wait` again gives the same status
/// (fused, as std's); the id is gone once the child was reaped; a `kill` future dropped
/// unpolled does nothing.
#[aioloop::test]
async fn simple() {
    let mut child = Command::new("sh").arg("-c").arg("exit 2").spawn().unwrap();
    let id = child.id().expect("missing id");
    assert!(id > 0);
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(2));
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(2));
    assert_eq!(child.id(), None);
    drop(child.kill());
}
