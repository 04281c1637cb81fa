//! [`Command`]: `std::process::Command` with async `spawn`/`status`/`output`.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command as StdCommand, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::child::Child;

/// A process builder mirroring [`std::process::Command`], whose children are driven by the
/// running event loop: asyncio's `create_subprocess_exec`.
///
/// ```
/// use aioloop::process::{Command, Stdio};
///
/// aioloop::run(async {
///     // Capture a child's output.
///     let out = Command::new("echo").arg("hello").output().await.unwrap();
///     assert!(out.status.success());
///     assert_eq!(out.stdout, b"hello\n");
///
///     // Feed its stdin and read its stdout as it runs.
///     let mut cat = Command::new("cat")
///         .stdin(Stdio::piped())
///         .stdout(Stdio::piped())
///         .spawn()
///         .unwrap();
///     let stdin = cat.stdin.take().unwrap();
///     stdin.write_all(b"ping").await.unwrap();
///     drop(stdin); // EOF for cat
///     let mut echoed = Vec::new();
///     cat.stdout.as_ref().unwrap().read_to_end(&mut echoed).await.unwrap();
///     assert_eq!(echoed, b"ping");
///     assert!(cat.wait().await.unwrap().success());
/// });
/// ```
pub struct Command {
    std: StdCommand,
    kill_on_drop: bool,
    sigchld: bool,
    stdin_set: bool,
    stdout_set: bool,
    stderr_set: bool,
    /// Set by [`Command::stderr_to_stdout`], read by the child between its fork and its exec.
    stderr_to_stdout: Option<Arc<AtomicBool>>,
}

impl Command {
    /// A command running `program` (looked up in `PATH` if it has no `/`), with no arguments,
    /// the parent's environment and working directory, and inherited standard streams (for
    /// [`spawn`](Command::spawn) and [`status`](Command::status)).
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        StdCommand::new(program).into()
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds several arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Sets several environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Clears the child's environment (nothing is inherited).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's standard input: [`Stdio::piped`] gives [`Child::stdin`].
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// The child's standard output: [`Stdio::piped`] gives [`Child::stdout`].
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// The child's standard error: [`Stdio::piped`] gives [`Child::stderr`].
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self.stderr_set = true;
        self.set_stderr_to_stdout(false);
        self
    }

    /// Sends the child's standard error where its standard output goes, as `2>&1` in a shell:
    /// asyncio's `stderr=asyncio.subprocess.STDOUT`. With [`Stdio::piped`] standard output,
    /// both streams arrive, interleaved as the child wrote them, in [`Child::stdout`], and
    /// [`Child::stderr`] is `None`. A later [`stderr`](Command::stderr) call replaces it.
    ///
    /// ```
    /// use aioloop::process::{Command, Stdio};
    ///
    /// aioloop::run(async {
    ///     let out = Command::new("sh")
    ///         .args(["-c", "echo out; echo err >&2"])
    ///         .stdout(Stdio::piped())
    ///         .stderr_to_stdout()
    ///         .output()
    ///         .await
    ///         .unwrap();
    ///     assert_eq!(out.stdout, b"out\nerr\n");
    ///     assert!(out.stderr.is_empty());
    /// });
    /// ```
    pub fn stderr_to_stdout(&mut self) -> &mut Command {
        // No pipe of its own for stderr: the child's descriptor 2 becomes a copy of 1 after
        // std has set up the streams, just before `exec`.
        self.std.stderr(Stdio::inherit());
        self.stderr_set = true;
        self.set_stderr_to_stdout(true);
        self
    }

    /// Turns the `2>&1` of [`stderr_to_stdout`](Command::stderr_to_stdout) on or off; the
    /// hook into the child is installed once, on first use, and reads the flag.
    fn set_stderr_to_stdout(&mut self, on: bool) {
        if let Some(flag) = &self.stderr_to_stdout {
            flag.store(on, Ordering::Relaxed);
            return;
        }
        if !on {
            return;
        }
        let flag = Arc::new(AtomicBool::new(true));
        let in_child = Arc::clone(&flag);
        self.stderr_to_stdout = Some(flag);
        let redirect = move || {
            if in_child.load(Ordering::Relaxed) {
                // SAFETY: `dup2(2)` takes two integers and touches no memory of ours; it is
                // async-signal-safe, as code between `fork` and `exec` must be.
                if unsafe { libc::dup2(libc::STDOUT_FILENO, libc::STDERR_FILENO) } == -1 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        };
        // SAFETY: `pre_exec` asks that the closure only do what is safe in a forked child of a
        // possibly multi-threaded process: it reads an atomic and calls `dup2`, allocating
        // nothing and taking no lock.
        unsafe {
            self.std.pre_exec(redirect);
        }
    }

    /// If true, dropping the [`Child`] before it was reaped kills it (`SIGKILL`). Either way a
    /// dropped child is reaped by the loop once it exits.
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// Notices the child's exit through `SIGCHLD` even where a pidfd is available (the
    /// fallback path, forced for tests).
    #[doc(hidden)]
    pub fn watch_with_sigchld(&mut self, yes: bool) -> &mut Command {
        self.sigchld = yes;
        self
    }

    /// The underlying `std::process::Command`, for options this type does not mirror.
    pub fn as_std(&self) -> &StdCommand {
        &self.std
    }

    /// The underlying `std::process::Command`, mutably (e.g. for `std::os::unix::process::
    /// CommandExt`).
    pub fn as_std_mut(&mut self) -> &mut StdCommand {
        &mut self.std
    }

    /// Starts the child. Its pipes and its exit are registered with the running loop.
    ///
    /// # Panics
    /// If no loop is running on this thread.
    #[track_caller]
    pub fn spawn(&mut self) -> io::Result<Child> {
        let core = crate::context::expect_current("process::Command::spawn");
        drop(core);
        let child = self.std.spawn()?;
        Child::new(child, self.kill_on_drop, self.sigchld)
    }

    /// Pipes each standard stream not configured: asyncio's `subprocess_exec` defaults
    /// (`stdin=PIPE, stdout=PIPE, stderr=PIPE`), for the subprocess transport.
    pub(crate) fn pipe_unconfigured(&mut self) {
        self.default_stdio(Stdio::piped);
    }

    /// Sets the standard streams not configured: stdin to `stdin()`, stdout and stderr piped.
    fn default_stdio(&mut self, stdin: fn() -> Stdio) {
        if !self.stdin_set {
            self.std.stdin(stdin());
        }
        if !self.stdout_set {
            self.std.stdout(Stdio::piped());
        }
        if !self.stderr_set {
            self.std.stderr(Stdio::piped());
        }
    }

    /// Runs the child to completion and returns its exit status. Standard streams not
    /// configured are inherited; a piped stdin is closed at once.
    #[track_caller]
    pub fn status(&mut self) -> impl std::future::Future<Output = io::Result<ExitStatus>> + '_ {
        let child = self.spawn();
        async move {
            let mut child = child?;
            child.wait().await
        }
    }

    /// Runs the child to completion, capturing its stdout and stderr (piped unless configured
    /// otherwise; stdin is null unless configured), as `std::process::Command::output` does.
    /// The configuration stays on the command.
    #[track_caller]
    pub fn output(&mut self) -> impl std::future::Future<Output = io::Result<Output>> + '_ {
        self.default_stdio(Stdio::null);
        let child = self.spawn();
        async move { child?.wait_with_output().await }
    }
}

impl From<StdCommand> for Command {
    /// Wraps a configured `std::process::Command`. Its standard streams count as not
    /// configured for [`Command::output`].
    fn from(std: StdCommand) -> Command {
        Command {
            std,
            kill_on_drop: false,
            sigchld: false,
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
            stderr_to_stdout: None,
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}
