//! Second audit against CPython's Lib/test/test_asyncio/test_subprocess.py (3.12+): the
//! `SubprocessMixin` tests the first audit (audit_asyncio_subprocess.rs) and the process_*
//! tests do not port. Each test is named after the CPython test it ports and says what it
//! checks; where aioloop differs on purpose (docs/asyncio.md), it asserts aioloop's behaviour
//! and says so.
//!
//! asyncio's tests run `sys.executable -c ...`; these run `sh`, `cat`, `wc`, `sleep`, `echo`.
//! `create_subprocess_exec(...)` is `Command::new(..).spawn()`, `proc.returncode` is
//! `status.code()` (or `status.signal()` where asyncio's is `-signum`).

mod support;

use std::cell::Cell;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::rc::Rc;
use std::time::Duration;

use aioloop::process::{Command, Stdio};
use aioloop::{gather, sleep, spawn, yield_now};
use support::process::piped_cat;

/// The state letter of `/proc/<pid>/stat` (`None` once the process is gone, reaped).
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next())
}

/// Waits (at most 10 s) until `pid` is gone: killed and reaped.
async fn until_gone(pid: u32) {
    for _ in 0..1000 {
        if proc_state(pid).is_none() {
            return;
        }
        sleep(Duration::from_millis(10)).await;
    }
    panic!("process {pid} still there after 10 s: {:?}", proc_state(pid));
}

/// test_subprocess.py `test_stdin_stdout`: data written to the child's stdin, which is then
/// closed, comes back on its stdout; the exit code is 0.
#[aioloop::test]
async fn test_stdin_stdout() {
    let mut child = piped_cat();
    let stdin = child.stdin.take().unwrap();
    stdin.write_all(b"some data").await.unwrap();
    drop(stdin); // proc.stdin.close()
    let mut data = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut data).await.unwrap();
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(data, b"some data");
}

/// test_subprocess.py `test_communicate_none_input`: `communicate()` without input on a child
/// with a piped stdin closes it: `cat` reads EOF at once and exits 0 with no output.
#[aioloop::test]
async fn test_communicate_none_input() {
    let child = piped_cat();
    let out = aioloop::wait_for(child.wait_with_output(), Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"");
}

/// test_subprocess.py `test_start_new_session`: a child started in a new session (here: a new
/// process group, through `as_std_mut()`; `start_new_session` is `setsid`) runs and reports
/// its exit code.
#[aioloop::test]
async fn test_start_new_session() {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "exit 8"]);
    cmd.as_std_mut().process_group(0);
    let status = cmd.spawn().unwrap().wait().await.unwrap();
    assert_eq!(status.code(), Some(8));
}

/// test_subprocess.py `test_kill`: `kill()` on a blocked child; `wait()` reports SIGKILL
/// (asyncio's `returncode == -SIGKILL`).
#[aioloop::test]
async fn test_kill() {
    let mut child = Command::new("sleep")
        .arg("3600")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert_eq!(status.signal(), Some(9));
    assert_eq!(status.code(), None);
}

/// test_subprocess.py `test_kill_issue43884`: a shell running `sleep 1; sleep 1` with its
/// stdout piped is killed while a grandchild `sleep` holds that pipe open: `wait()` still
/// reports the shell's SIGKILL (it waits for the process, not for the pipe's EOF).
#[aioloop::test]
async fn test_kill_issue43884() {
    let mut child = Command::new("sh")
        .args(["-c", "sleep 1; sleep 1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    sleep(Duration::from_millis(100)).await;
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert_eq!(status.signal(), Some(9));
}

/// test_subprocess.py `test_stdin_not_inheritable` (asyncio issue #209): the parent's end of
/// the stdin pipe is not inherited by the child, or `communicate` would hang: the child reads
/// EOF after the input and prints its length.
#[aioloop::test]
async fn test_stdin_not_inheritable() {
    let child = Command::new("sh")
        .args(["-c", "wc -c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = aioloop::wait_for(child.communicate(b"abc"), Duration::from_secs(60))
        .await
        .expect("communicate did not hang")
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3");
    assert_eq!(out.status.code(), Some(0));
}

/// test_subprocess.py `test_devstdin_input`: the child can open `/dev/stdin` (it is a pipe,
/// not a socket, which Linux cannot reopen) and reads the input through it.
#[aioloop::test]
async fn test_devstdin_input() {
    let child = Command::new("sh")
        .args(["-c", "wc -c < /dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.communicate(b"abc").await.unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3", "{out:?}");
    assert_eq!(out.status.code(), Some(0));
}

/// test_subprocess.py `test_cancel_process_wait` (issue #23140): a `wait()` that is cancelled
/// (dropped as a cancellation, here by `wait_for`'s timeout; asyncio cancels a task awaiting
/// it) leaves the child running and waitable; `kill()` then ends it and `wait()` reports the
/// SIGKILL.
#[aioloop::test]
async fn test_cancel_process_wait() {
    let mut proc = Command::new("sleep")
        .arg("3600")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    assert!(aioloop::wait_for(proc.wait(), Duration::from_millis(10))
        .await
        .is_err());
    assert!(proc.try_wait().unwrap().is_none(), "still running");
    proc.kill().await.unwrap();
    assert_eq!(proc.wait().await.unwrap().signal(), Some(9));
}

/// test_subprocess.py `test_close_kill_running`: asyncio's `transport.close()` kills a child
/// that still runs. aioloop's `Child` is dropped instead of closed; a `Command` with
/// `kill_on_drop(true)` kills the child when its `Child` is dropped, and the reaper reaps it
/// (no zombie). Documented difference (docs/asyncio.md, subprocess row): without
/// `kill_on_drop` a dropped `Child` leaves the process running, as tokio's.
#[aioloop::test]
async fn test_close_kill_running() {
    let child = Command::new("sleep")
        .arg("3600")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    assert!(matches!(proc_state(pid), Some(c) if c != 'Z'));
    drop(child);
    until_gone(pid).await;

    // Not holding the test harness's stdout, in case the test fails before the `kill`.
    let detached = Command::new("sleep")
        .arg("3600")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = detached.id().unwrap();
    drop(detached);
    sleep(Duration::from_millis(50)).await;
    assert!(matches!(proc_state(pid), Some(c) if c != 'Z'), "still running");
    let status = Command::new("kill").args(["-9", &pid.to_string()]).status().await;
    assert!(status.unwrap().success());
    until_gone(pid).await;
}

/// test_subprocess.py `test_popen_error_with_stdin_pipe` (issue #35721) and `test_popen_error`:
/// a spawn that fails (no such program) with every stream piped is an error and closes the
/// pipes it made: many such failures leave no descriptor behind.
#[test]
fn test_popen_error_with_stdin_pipe() {
    fn open_fds() -> usize {
        std::fs::read_dir("/proc/self/fd").unwrap().count()
    }
    aioloop::run(async {
        let before = open_fds();
        for _ in 0..200 {
            let spawned = Command::new("/nonexistent/aioloop-no-such-program")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn();
            match spawned {
                Err(err) => assert_eq!(err.kind(), std::io::ErrorKind::NotFound),
                // Under valgrind the exec failure happens inside valgrind's own child, which
                // then exits with an error instead of the spawn failing.
                Ok(child) => assert!(!child.wait_with_output().await.unwrap().status.success()),
            }
        }
        // Other tests run in parallel and hold descriptors for a while: a leak of three per
        // failed spawn would be 600.
        let after = open_fds();
        assert!(after < before + 100, "{before} -> {after}");
    });
}

/// test_subprocess.py `test_create_subprocess_exec_with_path`: the program and the arguments
/// may be paths (`os.PathLike`).
#[aioloop::test]
async fn test_create_subprocess_exec_with_path() {
    let sh = std::path::PathBuf::from("/bin/sh");
    let status = Command::new(&sh).args(["-c", "exit 0"]).status().await.unwrap();
    assert!(status.success());
    let status = Command::new("ls")
        .arg(std::path::Path::new("."))
        .stdout(Stdio::null())
        .status()
        .await
        .unwrap();
    assert!(status.success());
}

/// test_subprocess.py `test_create_subprocess_env_shell`: an environment variable set for a
/// shell child reaches it (`communicate()` gives it back, exit code 0).
#[aioloop::test]
async fn test_create_subprocess_env_shell() {
    let child = Command::new("sh")
        .args(["-c", "printf %s \"$FOO\""])
        .env("FOO", "bar")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.stdout, b"bar");
    assert_eq!(out.status.code(), Some(0));
}

/// test_subprocess.py `test_create_subprocess_env_exec` and `check_stdout_output`: the
/// variable reaches an exec'd child; once the child exited, `wait()` in a new task completes in
/// that task's first step (asyncio: `task.result()` after one `sleep(0)`).
#[aioloop::test]
async fn test_create_subprocess_env_exec() {
    let mut child = Command::new("printenv")
        .arg("FOO")
        .env("FOO", "baz")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).await.unwrap();
    let code = child.wait().await.unwrap().code();
    assert_eq!(out, b"baz\n");
    assert_eq!(code, Some(0));
    let mut task = spawn(async move { child.wait().await.unwrap().code() });
    yield_now().await;
    assert_eq!(task.result().map(Result::unwrap), Some(code));
}

/// test_subprocess.py `test_subprocess_concurrent_wait`: after `communicate`, every `wait()`
/// reports the same return code. `wait` takes `&mut Child` (one waiter at a time, as tokio's),
/// so the ten waits of asyncio's gather are ten waits in a row here.
#[aioloop::test]
async fn test_subprocess_concurrent_wait() {
    let mut child = piped_cat();
    child.stdin.take().unwrap().write_all(b"some data").await.unwrap();
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).await.unwrap();
    assert_eq!(out, b"some data");
    let code = child.wait().await.unwrap().code();
    assert_eq!(code, Some(0));
    for _ in 0..10 {
        assert_eq!(child.wait().await.unwrap().code(), code);
    }
}

/// test_subprocess.py `test_subprocess_communicate_stdout` (gh-100133): ten children whose
/// `communicate` runs concurrently each give back their own output.
#[aioloop::test]
async fn test_subprocess_communicate_stdout() {
    let outputs: Vec<String> = (0..10).map(|i| format!("foo{i}")).collect();
    let runs = outputs.iter().map(|out| {
        let out = out.clone();
        async move {
            let child = Command::new("echo")
                .arg(&out)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let res = child.wait_with_output().await.unwrap();
            String::from_utf8(res.stdout).unwrap().trim().to_owned()
        }
    });
    let res: Vec<String> = aioloop::gather(runs).await;
    assert_eq!(res, outputs);
}

/// test_subprocess.py `test_create_subprocess_with_pidfd`: a child spawned and communicated
/// with from a loop running in another thread (`to_thread(asyncio.run, ...)`) works there.
#[aioloop::test]
async fn test_create_subprocess_with_pidfd() {
    let (code, stdout) = aioloop::to_thread(|| {
        aioloop::run(async {
            let child = piped_cat();
            let out = child.communicate(b"some data").await.unwrap();
            (out.status.code(), out.stdout)
        })
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0));
    assert_eq!(stdout, b"some data");
}

/// test_subprocess.py `test_subprocess_protocol_events`, in stream terms (gh-108973): a child
/// writing to stdout and stderr gives each pipe its data, then its EOF, and the exit is seen
/// too, whatever the order between pipes.
#[aioloop::test]
async fn test_subprocess_protocol_events() {
    let mut child = Command::new("sh")
        .args(["-c", "printf stdout; printf stderr >&2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let eofs = Rc::new(Cell::new(0));
    let (e1, e2) = (eofs.clone(), eofs.clone());
    let (o, e) = gather!(
        async move {
            let mut buf = Vec::new();
            out.read_to_end(&mut buf).await.unwrap();
            e1.set(e1.get() + 1);
            buf
        },
        async move {
            let mut buf = Vec::new();
            err.read_to_end(&mut buf).await.unwrap();
            e2.set(e2.get() + 1);
            buf
        }
    )
    .await;
    assert_eq!((o.as_slice(), e.as_slice()), (&b"stdout"[..], &b"stderr"[..]));
    assert_eq!(eofs.get(), 2);
    assert!(child.wait().await.unwrap().success());
}
