//! Subprocesses through the public API: captured output, stdin/stdout streaming, exit codes
//! and signals, kill, env and cwd, the futures-io traits.

mod support;

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use aioloop::process::{Command, Stdio};
use futures_util::{AsyncReadExt, AsyncWriteExt};
use support::process::piped_cat;

#[test]
fn echo_output_is_captured() {
    let out = aioloop::run(async {
        Command::new("echo")
            .args(["hello", "world"])
            .output()
            .await
            .unwrap()
    });
    assert!(out.status.success());
    assert_eq!(out.stdout, b"hello world\n");
    assert!(out.stderr.is_empty());
}

#[test]
fn stderr_is_captured_apart() {
    let out = aioloop::run(async {
        Command::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 7"])
            .output()
            .await
            .unwrap()
    });
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
}

/// asyncio's `create_subprocess_exec(..., stdout=PIPE, stderr=STDOUT)`: both streams in one
/// pipe, in the order the child wrote them, and no stderr pipe.
#[test]
fn stderr_to_stdout_merges_both_streams_into_stdout() {
    aioloop::run(async {
        let mut child = Command::new("sh")
            .args(["-c", "echo one; echo two >&2; echo three; echo four >&2"])
            .stdout(Stdio::piped())
            .stderr_to_stdout()
            .spawn()
            .unwrap();
        assert!(child.stderr.is_none(), "no stderr pipe");
        let mut merged = String::new();
        let mut stdout = child.stdout.take().unwrap();
        stdout.read_to_string(&mut merged).await.unwrap();
        assert_eq!(merged, "one\ntwo\nthree\nfour\n");
        assert!(child.wait().await.unwrap().success());

        // `output()` too: everything in `stdout`, nothing in `stderr`.
        let out = Command::new("sh")
            .args(["-c", "echo out; echo err >&2"])
            .stderr_to_stdout()
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"out\nerr\n");
        assert!(out.stderr.is_empty());
    });
}

/// A later `stderr(...)` replaces `stderr_to_stdout`, on the same command and its next spawn.
#[test]
fn stderr_after_stderr_to_stdout_replaces_it() {
    aioloop::run(async {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2"]);
        command.stderr_to_stdout();
        let merged = command.output().await.unwrap();
        assert_eq!(merged.stdout, b"out\nerr\n");

        command.stderr(Stdio::piped());
        let apart = command.output().await.unwrap();
        assert_eq!(apart.stdout, b"out\n");
        assert_eq!(apart.stderr, b"err\n");

        command.stderr_to_stdout();
        let merged_again = command.output().await.unwrap();
        assert_eq!(merged_again.stdout, b"out\nerr\n");
        assert!(merged_again.stderr.is_empty());
    });
}

#[test]
fn cat_echoes_one_mib_written_and_read_concurrently() {
    const LEN: usize = 1 << 20;
    let data: Vec<u8> = (0..LEN).map(|i| (i * 31 % 251) as u8).collect();
    let expected = data.clone();
    let echoed = aioloop::run(async move {
        let mut child = piped_cat();
        let mut stdin = child.stdin.take().unwrap();
        // The pipes hold 64 KiB: writing all before reading would deadlock.
        let writer = aioloop::spawn(async move {
            // Through the futures-io traits (the inherent methods would shadow them).
            for chunk in data.chunks(100_000) {
                AsyncWriteExt::write_all(&mut stdin, chunk).await.unwrap();
            }
            AsyncWriteExt::close(&mut stdin).await.unwrap();
        });
        let mut stdout = child.stdout.take().unwrap();
        let mut echoed = Vec::new();
        AsyncReadExt::read_to_end(&mut stdout, &mut echoed).await.unwrap();
        writer.await.unwrap();
        assert!(child.wait().await.unwrap().success());
        echoed
    });
    assert_eq!(echoed.len(), LEN);
    assert!(echoed == expected, "cat echoed different bytes");
}

#[test]
fn exit_codes_and_signals_are_reported() {
    aioloop::run(async {
        let status = Command::new("sh").args(["-c", "exit 3"]).status().await.unwrap();
        assert_eq!(status.code(), Some(3));
        assert!(!status.success());

        let status = Command::new("true").status().await.unwrap();
        assert!(status.success());

        let status = Command::new("sh")
            .args(["-c", "kill -TERM $$"])
            .status()
            .await
            .unwrap();
        assert_eq!(status.code(), None);
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    });
}

#[test]
fn kill_ends_a_long_sleep() {
    aioloop::run(async {
        let start = Instant::now();
        let mut child = Command::new("sleep").arg("100").spawn().unwrap();
        let pid = child.id().unwrap();
        aioloop::sleep(Duration::from_millis(20)).await;
        assert_eq!(child.try_wait().unwrap(), None);
        child.kill().await.unwrap();
        assert_eq!(child.id(), None, "the child was reaped");
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists() || !is_zombie(pid));
    });
}

#[test]
fn wait_is_cancel_safe_under_wait_for() {
    aioloop::run(async {
        let mut child = Command::new("sleep").arg("0.2").spawn().unwrap();
        let timed_out = aioloop::wait_for(child.wait(), Duration::from_millis(10)).await;
        assert!(timed_out.is_err());
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn env_and_current_dir_reach_the_child() {
    let out = aioloop::run(async {
        Command::new("sh")
            .args(["-c", "echo $AIOLOOP_TEST_VAR; pwd"])
            .env("AIOLOOP_TEST_VAR", "forty-two")
            .current_dir("/")
            .output()
            .await
            .unwrap()
    });
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "forty-two\n/\n");
}

#[test]
fn a_missing_program_is_an_error() {
    let err = aioloop::run(async { Command::new("/nonexistent/aioloop-test").spawn().unwrap_err() });
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn wait_closes_stdin_so_cat_can_finish() {
    aioloop::run(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn sigchld_fallback_notices_exits() {
    aioloop::run(async {
        let out = Command::new("sh")
            .args(["-c", "sleep 0.05; echo done"])
            .watch_with_sigchld(true)
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"done\n");
        let mut child = Command::new("sleep")
            .arg("100")
            .watch_with_sigchld(true)
            .spawn()
            .unwrap();
        child.kill().await.unwrap();
    });
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'))
        })
        .unwrap_or(false)
}
