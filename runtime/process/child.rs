//! [`Child`]: a spawned child process, with an async [`Child::wait`].

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::process::{Child as StdChild, ExitStatus, Output};
use std::task::{Context, Poll};

use super::exit::ExitWatch;
use super::pipes::{poll_drain, ChildStderr, ChildStdin, ChildStdout};
use super::reaper::Orphan;

/// A child process spawned by [`Command::spawn`](super::Command::spawn): asyncio's `Process`.
///
/// Its exit is noticed through the loop's reactor. Dropping a `Child` does not wait for the
/// process (and does not kill it unless [`Command::kill_on_drop`](super::Command::kill_on_drop)
/// was set), but it is still reaped later by the loop, so no zombie is left behind.
///
/// A `Child` belongs to the loop that spawned it.
pub struct Child {
    /// The child's standard input, if it was [`Stdio::piped`](super::Stdio::piped).
    pub stdin: Option<ChildStdin>,
    /// The child's standard output, if it was [`Stdio::piped`](super::Stdio::piped).
    pub stdout: Option<ChildStdout>,
    /// The child's standard error, if it was [`Stdio::piped`](super::Stdio::piped).
    pub stderr: Option<ChildStderr>,
    state: State,
    pid: u32,
    kill_on_drop: bool,
}

/// Running until reaped, then its exit status.
enum State {
    Running(Running),
    Exited(ExitStatus),
}

/// The process and its exit watch.
struct Running {
    child: StdChild,
    watch: ExitWatch,
}

impl Child {
    /// Wraps a freshly spawned std child: registers its pipes and its exit watch.
    #[track_caller]
    pub(crate) fn new(mut child: StdChild, kill_on_drop: bool, sigchld: bool) -> io::Result<Self> {
        let pid = child.id();
        let watch = if sigchld {
            ExitWatch::sigchld()
        } else {
            ExitWatch::new(pid)
        };
        let stdin = child.stdin.take().map(ChildStdin::new).transpose();
        let stdout = child.stdout.take().map(ChildStdout::new).transpose();
        let stderr = child.stderr.take().map(ChildStderr::new).transpose();
        match (watch, stdin, stdout, stderr) {
            (Ok(watch), Ok(stdin), Ok(stdout), Ok(stderr)) => Ok(Child {
                stdin,
                stdout,
                stderr,
                state: State::Running(Running { child, watch }),
                pid,
                kill_on_drop,
            }),
            (watch, stdin, stdout, stderr) => {
                // The child runs but cannot be driven by this loop: kill and reap it.
                let _ = child.kill();
                Orphan::new(child, watch.ok()).reap();
                Err([stdin.err(), stdout.err(), stderr.err()]
                    .into_iter()
                    .flatten()
                    .next()
                    .unwrap_or_else(|| io::Error::other("aioloop: cannot watch the child's exit")))
            }
        }
    }

    /// The OS process id, until the child has been reaped (then `None`: the id may belong to
    /// another process by now).
    pub fn id(&self) -> Option<u32> {
        matches!(self.state, State::Running(_)).then_some(self.pid)
    }

    /// Polls for the child's exit (the building block of [`Child::wait`]); does not close stdin.
    pub fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        let running = match &mut self.state {
            State::Running(running) => running,
            State::Exited(status) => return Poll::Ready(Ok(*status)),
        };
        let status = std::task::ready!(running.watch.poll_exit(cx, &mut running.child))?;
        self.state = State::Exited(status);
        Poll::Ready(Ok(status))
    }

    /// Waits for the child to exit and returns its status. Closes the child's stdin first (as
    /// tokio and asyncio do), so a child that reads until EOF can finish.
    ///
    /// Cancel-safe: dropping the future leaves the child running and waitable.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        self.stdin = None;
        poll_fn(|cx| self.poll_wait(cx)).await
    }

    /// The exit status if the child has exited (reaping it), without waiting.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        let running = match &mut self.state {
            State::Running(running) => running,
            State::Exited(status) => return Ok(Some(*status)),
        };
        let status = running.child.try_wait()?;
        if let Some(status) = status {
            self.state = State::Exited(status);
        }
        Ok(status)
    }

    /// Sends `SIGKILL` to the child without waiting for it to exit.
    ///
    /// # Errors
    /// On a child already reaped (its exit status was taken by [`wait`](Child::wait) or
    /// [`try_wait`](Child::try_wait)): an error of raw OS code `ESRCH` ("No such process"),
    /// asyncio's `ProcessLookupError` (tokio's `start_kill` returns `Ok` there). A child that
    /// has exited but is not reaped yet takes the signal harmlessly.
    pub fn start_kill(&mut self) -> io::Result<()> {
        match &mut self.state {
            State::Running(running) => running.child.kill(),
            State::Exited(_) => Err(no_such_process()),
        }
    }

    /// Sends `signal` to the child without waiting for it to exit: asyncio's
    /// `Process.send_signal(sig)`; `send_signal(SignalKind::terminate())` is asyncio's
    /// `terminate()`.
    ///
    /// # Errors
    /// If the signal number is invalid (`EINVAL`); as [`start_kill`](Child::start_kill), on a
    /// child already reaped (`ESRCH`, asyncio's `ProcessLookupError`).
    pub fn send_signal(&mut self, signal: impl Into<crate::signal::SignalKind>) -> io::Result<()> {
        if let State::Exited(_) = self.state {
            return Err(no_such_process());
        }
        let pid =
            libc::pid_t::try_from(self.pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `kill(2)` takes two integers and touches no memory of ours. The child is not
        // reaped while `state` is `Running` (only `poll_wait`, `try_wait` and the orphan reaper,
        // which takes the child with it, reap it), so `pid` still names our child, possibly a
        // zombie, and cannot have been reused by another process.
        if unsafe { libc::kill(pid, signal.into().as_raw()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Kills the child (`SIGKILL`) and waits for it to exit: asyncio's `Process.kill()` and
    /// `wait()` together.
    ///
    /// # Errors
    /// As [`start_kill`](Child::start_kill): on a child already reaped, `ESRCH`.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Writes `input` to the child's stdin (if piped) and closes it, while reading all of its
    /// stdout and stderr (those that are piped) concurrently, then waits for it to exit:
    /// asyncio's `communicate(input)`. As asyncio's, a child that exits (or closes its stdin)
    /// before it read all the input is no error: `BrokenPipe` and `ConnectionReset` on stdin
    /// are ignored. With empty input this is [`wait_with_output`](Child::wait_with_output).
    pub async fn communicate(mut self, input: &[u8]) -> io::Result<Output> {
        let stdin = self.stdin.take();
        let feed = async move {
            let Some(stdin) = stdin else { return Ok(()) };
            match stdin.write_all(input).await {
                Err(err)
                    if !matches!(
                        err.kind(),
                        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                    ) =>
                {
                    Err(err)
                }
                _ => Ok(()), // dropping `stdin` closes it: the child reads EOF
            }
        };
        let mut feed = std::pin::pin!(feed);
        let mut fed = None;
        let output = self.wait_with_output();
        let mut output = std::pin::pin!(output);
        let output = poll_fn(|cx| {
            if fed.is_none() {
                if let Poll::Ready(result) = feed.as_mut().poll(cx) {
                    fed = Some(result);
                }
            }
            output.as_mut().poll(cx)
        })
        .await?;
        // Not fed to the end only if the child exited first, with its output read: the write
        // then failed with `BrokenPipe`, ignored above. Any other failure is reported.
        fed.unwrap_or(Ok(()))?;
        Ok(output)
    }

    /// Waits for the child to exit while reading all of its stdout and stderr (those that are
    /// piped) concurrently: asyncio's `communicate()` without input. Closes stdin first.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        self.stdin = None;
        let (mut stdout, mut stderr) = (self.stdout.take(), self.stderr.take());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        poll_fn(|cx| {
            // Both are polled every time, so each registers its waker.
            let out_done = poll_drain(&mut stdout, cx, &mut out)?;
            let err_done = poll_drain(&mut stderr, cx, &mut err)?;
            if out_done.is_ready() && err_done.is_ready() {
                Poll::Ready(Ok::<_, io::Error>(()))
            } else {
                Poll::Pending
            }
        })
        .await?;
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout: out,
            stderr: err,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // The status put in its place is never read: the child is being dropped.
        let State::Running(mut running) =
            std::mem::replace(&mut self.state, State::Exited(ExitStatus::default()))
        else {
            return;
        };
        if self.kill_on_drop {
            let _ = running.child.kill();
        }
        // Close our pipe ends before reaping: a child blocked writing to them then gets EPIPE.
        self.stdin = None;
        self.stdout = None;
        self.stderr = None;
        Orphan::new(running.child, Some(running.watch)).reap();
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.pid)
            .field(
                "status",
                &match self.state {
                    State::Running(_) => None,
                    State::Exited(status) => Some(status),
                },
            )
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}

/// The error of signalling a child already reaped: `ESRCH`, which Python maps to
/// `ProcessLookupError`.
fn no_such_process() -> io::Error {
    io::Error::from_raw_os_error(libc::ESRCH)
}
