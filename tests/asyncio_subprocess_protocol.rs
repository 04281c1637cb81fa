//! asyncio's subprocess protocols (`aioloop::protocols::{subprocess_exec, subprocess_shell,
//! SubprocessProtocol, SubprocessTransport}`), porting CPython's test_asyncio/test_events.py
//! `SubprocessTestsMixin` (with its `MySubprocessProtocol` state machine) and the
//! protocol-level tests of test_subprocess.py (`SubprocessTransportTests.test_proc_exited`,
//! `test_subprocess_protocol_events`, `test_close_kill_running`, `test_cancel_post_init`,
//! `test_popen_error`), with real children: CPython's `echo.py` is `cat`, its `echo2.py` and
//! `echo3.py` are the `sh` scripts [`ECHO2`] and [`ECHO3`], `sys.executable -c 'sleep'` is
//! `sleep`.

use std::cell::RefCell;
use std::io;
use std::os::unix::process::CommandExt;
use std::rc::Rc;
use std::time::Duration;

use aioloop::process::{Command, Stdio};
use aioloop::protocols::{subprocess_exec, subprocess_shell, SubprocessProtocol, SubprocessTransport};
use aioloop::signal::SignalKind;

mod support;
use support::protocols::{
    exception_panics, exceptions, flow_failures, lost_once_cleanly, open_fds, serial, until, Made,
};

/// CPython's echo2.py: one read of stdin (up to 1024 bytes), written to stdout after `OUT:`
/// and to stderr after `ERR:`.
const ECHO2: &str =
    r#"buf=$(dd bs=1024 count=1 2>/dev/null); printf 'OUT:%s' "$buf"; printf 'ERR:%s' "$buf" >&2"#;

/// CPython's echo3.py: echoes each read of stdin to stdout after `OUT:`, until EOF; a write
/// that fails (stdout's reader gone) writes `ERR:BrokenPipeError` to stderr instead (SIGPIPE
/// ignored, as Python does).
const ECHO3: &str = r#"trap '' PIPE
while buf=$(dd bs=1024 count=1 2>/dev/null); [ -n "$buf" ]; do
  printf 'OUT:%s' "$buf" 2>/dev/null || printf 'ERR:BrokenPipeError' >&2
done"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Initial,
    Connected,
    Closed,
}

/// test_events.py `MySubprocessProtocol`: asserts the state of each call (a wrong order is a
/// panic, which fails the transport and shows in `lost`), keeps the data per fd, the pipes'
/// disconnections, the return code seen in `process_exited`, and every call in order.
#[derive(Debug)]
struct MySubprocessProtocol {
    state: State,
    transport: Option<SubprocessTransport>,
    data: [Vec<u8>; 3],
    /// `pipe_connection_lost(fd, exc)` per fd: `Some(exc)` once called.
    disconnects: [Option<Option<String>>; 3],
    returncode: Option<i32>,
    /// `connection_lost`'s argument, each call.
    lost: Vec<Option<String>>,
    events: Vec<String>,
    /// The method that panics (the fatal-error tests).
    panic_in: Option<&'static str>,
}

type Proto = Rc<RefCell<MySubprocessProtocol>>;

impl MySubprocessProtocol {
    fn new() -> Self {
        MySubprocessProtocol {
            state: State::Initial,
            transport: None,
            data: Default::default(),
            disconnects: Default::default(),
            returncode: None,
            lost: Vec::new(),
            events: Vec::new(),
            panic_in: None,
        }
    }

    fn assert_state(&self, expected: State) {
        assert_eq!(self.state, expected, "events so far: {:?}", self.events);
    }

    fn maybe_panic(&self, method: &str) {
        if self.panic_in == Some(method) {
            panic!("boom");
        }
    }
}

impl SubprocessProtocol for MySubprocessProtocol {
    fn connection_made(&mut self, transport: SubprocessTransport) {
        self.assert_state(State::Initial);
        self.transport = Some(transport);
        self.state = State::Connected;
        self.events.push("connection_made".into());
        self.maybe_panic("connection_made");
    }

    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        self.assert_state(State::Connected);
        assert!(
            self.disconnects[fd as usize].is_none(),
            "data on fd {fd} after its pipe closed"
        );
        self.maybe_panic("pipe_data_received");
        self.data[fd as usize].extend_from_slice(data);
        self.events.push(format!("pipe_data_received {fd}"));
    }

    fn pipe_connection_lost(&mut self, fd: i32, exc: Option<io::Error>) {
        self.assert_state(State::Connected);
        assert!(self.disconnects[fd as usize].is_none(), "fd {fd} lost twice");
        self.disconnects[fd as usize] = Some(exc.map(|e| e.to_string()));
        self.events.push(format!("pipe_connection_lost {fd}"));
    }

    fn process_exited(&mut self) {
        self.assert_state(State::Connected);
        self.returncode = self.transport.as_ref().unwrap().get_returncode();
        assert!(self.returncode.is_some());
        self.events.push("process_exited".into());
    }

    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.assert_state(State::Connected);
        self.state = State::Closed;
        self.lost.push(exc.map(|e| e.to_string()));
        self.events.push("connection_lost".into());
    }

    fn pause_writing(&mut self) {
        self.events.push("pause_writing".into());
    }

    fn resume_writing(&mut self) {
        self.events.push("resume_writing".into());
    }
}

fn state(p: &Proto) -> State {
    p.borrow().state
}

/// `sh -c script`.
fn sh(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.arg("-c").arg(script);
    command
}

/// `sh -c script` with stdin, stdout and stderr inherited (asyncio's `stdin=None,
/// stdout=None, stderr=None`).
fn sh_unpiped(script: &str) -> Command {
    let mut command = sh(script);
    command
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    command
}

/// `subprocess_exec(MySubprocessProtocol, command)`; connected on return.
async fn exec(command: Command) -> (SubprocessTransport, Proto) {
    let (transport, proto) = subprocess_exec(MySubprocessProtocol::new, command).await.unwrap();
    // Later calls may have run too (a child that exited at once may be done already).
    assert_ne!(
        state(&proto),
        State::Initial,
        "connection_made ran before the return"
    );
    (transport, proto)
}

/// Waits for `proto.completed` (its `connection_lost`), and checks it was the clean one.
async fn completed(proto: &Proto) {
    until(|| state(proto) == State::Closed).await;
    assert_eq!(proto.borrow().lost, [None]);
}

/// test_events.py `check_killed`.
fn check_killed(returncode: Option<i32>) {
    assert_eq!(returncode, Some(-libc::SIGKILL));
}

/// Closes the transport of a child still running: it is killed, the protocol completes.
async fn close_killed(transp: &SubprocessTransport, proto: &Proto) {
    transp.close();
    assert!(transp.is_closing());
    completed(proto).await;
    check_killed(proto.borrow().returncode);
}

/// Sends a signal with `send` to a running `cat`: the protocol completes with `returncode`.
async fn signalled(send: impl FnOnce(&SubprocessTransport) -> io::Result<()>, returncode: i32) {
    let (transp, proto) = exec(Command::new("cat")).await;
    send(&transp).unwrap();
    completed(&proto).await;
    assert_eq!(proto.borrow().returncode, Some(returncode));
    transp.close();
}

/// Runs `command` (no pipes) to its end: the protocol completes, with `code` seen in
/// `process_exited` and kept by the transport.
async fn exits_with(command: Command, code: i32) {
    let (transp, proto) = exec(command).await;
    completed(&proto).await;
    assert_eq!(proto.borrow().returncode, Some(code));
    assert_eq!(transp.get_returncode(), Some(code));
    transp.close();
}

/// The data of `fd` reached at least `len` bytes.
async fn got_data(proto: &Proto, fd: usize, len: usize) {
    until(|| proto.borrow().data[fd].len() >= len).await;
}

/// test_events.py `test_subprocess_exec`: write to the child's stdin, read its echo, close:
/// the child (still running) is killed, the protocol completes.
#[test]
fn test_subprocess_exec() {
    let _serial = serial();
    aioloop::run(async {
        let before = open_fds();
        let (transp, proto) = exec(Command::new("cat")).await;
        let stdin = transp.get_pipe_transport(0).unwrap();
        stdin.write(b"Python The Winner").unwrap();
        got_data(&proto, 1, 17).await;
        close_killed(&transp, &proto).await;
        assert_eq!(proto.borrow().data[1], b"Python The Winner");
        // Once `connection_lost` ran, the pipes and the exit watch are closed.
        assert_eq!(open_fds(), before);
    });
}

/// test_events.py `test_subprocess_interactive`: two writes, each echoed before the next.
#[test]
fn test_subprocess_interactive() {
    let _serial = serial();
    aioloop::run(async {
        let (transp, proto) = exec(Command::new("cat")).await;
        let stdin = transp.get_pipe_transport(0).unwrap();
        stdin.write(b"Python ").unwrap();
        got_data(&proto, 1, 7).await;
        assert_eq!(proto.borrow().data[1], b"Python ");
        stdin.write(b"The Winner").unwrap();
        got_data(&proto, 1, 17).await;
        assert_eq!(proto.borrow().data[1], b"Python The Winner");
        close_killed(&transp, &proto).await;
    });
}

/// test_events.py `test_subprocess_shell`: `echo Python` through the shell; closing stdin's
/// transport; every pipe disconnects, stdout has the line, stderr nothing, exit 0.
#[test]
fn test_subprocess_shell() {
    let _serial = serial();
    aioloop::run(async {
        let (transp, proto) = subprocess_shell(MySubprocessProtocol::new, "echo Python")
            .await
            .unwrap();
        assert_eq!(state(&proto), State::Connected);
        transp.get_pipe_transport(0).unwrap().close();
        completed(&proto).await;
        let p = proto.borrow();
        assert_eq!(p.returncode, Some(0));
        assert_eq!(p.disconnects, [Some(None), Some(None), Some(None)]);
        assert_eq!(p.data[1], b"Python\n");
        assert_eq!(p.data[2], b"");
        drop(p);
        transp.close();
    });
}

/// test_events.py `test_subprocess_exitcode`: `exit 7` with no pipe; the exit code.
#[test]
fn test_subprocess_exitcode() {
    let _serial = serial();
    aioloop::run(exits_with(sh_unpiped("exit 7"), 7));
}

/// test_events.py `test_subprocess_close_after_finish`: no pipe transports; closing after the
/// child finished is harmless.
#[test]
fn test_subprocess_close_after_finish() {
    let _serial = serial();
    aioloop::run(async {
        let (transp, proto) = exec(sh_unpiped("exit 7")).await;
        for fd in 0..3 {
            assert!(transp.get_pipe_transport(fd).is_none());
        }
        completed(&proto).await;
        assert_eq!(proto.borrow().returncode, Some(7));
        transp.close();
        transp.close();
        aioloop::sleep(Duration::from_millis(10)).await;
        assert_eq!(proto.borrow().lost.len(), 1);
    });
}

/// test_events.py `test_subprocess_kill`.
#[test]
fn test_subprocess_kill() {
    let _serial = serial();
    aioloop::run(signalled(SubprocessTransport::kill, -libc::SIGKILL));
}

/// test_events.py `test_subprocess_terminate`.
#[test]
fn test_subprocess_terminate() {
    let _serial = serial();
    aioloop::run(signalled(SubprocessTransport::terminate, -libc::SIGTERM));
}

/// test_events.py `test_subprocess_send_signal`: `SIGHUP` (its default action ends `cat`).
/// As CPython's test (bpo-31034), the child gets SIGHUP's default action: a parent that
/// ignores SIGHUP (`nohup`, as CI runs) would pass the ignoring on through `exec`, and `cat`
/// would never end.
#[test]
fn test_subprocess_send_signal() {
    use std::os::unix::process::CommandExt;
    let _serial = serial();
    aioloop::run(async {
        let mut cat = Command::new("cat");
        // SAFETY: between fork and exec only async-signal-safe calls are allowed; `signal` is
        // one, and the closure touches nothing of the parent's.
        unsafe {
            cat.as_std_mut().pre_exec(|| {
                libc::signal(libc::SIGHUP, libc::SIG_DFL);
                Ok(())
            });
        }
        let (transp, proto) = exec(cat).await;
        transp.send_signal(SignalKind::hangup()).unwrap();
        completed(&proto).await;
        assert_eq!(proto.borrow().returncode, Some(-libc::SIGHUP));
        transp.close();
    });
}

/// test_events.py `test_subprocess_stderr`: echo2 writes to both pipes; exit 0.
#[test]
fn test_subprocess_stderr() {
    let _serial = serial();
    aioloop::run(async {
        let (transp, proto) = exec(sh(ECHO2)).await;
        transp.get_pipe_transport(0).unwrap().write(b"test").unwrap();
        completed(&proto).await;
        transp.close();
        let p = proto.borrow();
        assert_eq!(p.data[1], b"OUT:test");
        assert!(p.data[2].starts_with(b"ERR:test"), "{:?}", p.data[2]);
        assert_eq!(p.returncode, Some(0));
    });
}

/// test_events.py `test_subprocess_stderr_redirect_to_stdout`: asyncio's `stderr=STDOUT` is
/// `Command::stderr_to_stdout`. Both writes come on fd 1; fd 2 has no transport and no data.
#[test]
fn test_subprocess_stderr_redirect_to_stdout() {
    let _serial = serial();
    aioloop::run(async {
        let mut command = sh(ECHO2);
        command.stderr_to_stdout();
        let (transp, proto) = exec(command).await;
        let stdin = transp.get_pipe_transport(0).unwrap();
        assert!(transp.get_pipe_transport(1).is_some());
        assert!(transp.get_pipe_transport(2).is_none());
        stdin.write(b"test").unwrap();
        completed(&proto).await;
        let p = proto.borrow();
        assert!(p.data[1].starts_with(b"OUT:testERR:test"), "{:?}", p.data[1]);
        assert_eq!(p.data[2], b"");
        assert_eq!(
            p.disconnects[2], None,
            "no stderr pipe, no pipe_connection_lost(2)"
        );
        drop(p);
        transp.close();
        assert_eq!(proto.borrow().returncode, Some(0));
    });
}

/// test_events.py `test_subprocess_close_client_stream`: closing the stdout transport makes
/// the child's next write fail (`EPIPE`), which it reports on stderr; closing the transport
/// then kills it.
#[test]
fn test_subprocess_close_client_stream() {
    let _serial = serial();
    aioloop::run(async {
        let (transp, proto) = exec(sh(ECHO3)).await;
        let stdin = transp.get_pipe_transport(0).unwrap();
        let stdout = transp.get_pipe_transport(1).unwrap();
        stdin.write(b"test").unwrap();
        got_data(&proto, 1, 8).await;
        assert_eq!(proto.borrow().data[1], b"OUT:test");

        stdout.close();
        until(|| proto.borrow().disconnects[1].is_some()).await;
        assert_eq!(proto.borrow().disconnects[1], Some(None));
        stdin.write(b"xxx").unwrap();
        got_data(&proto, 2, 19).await;
        assert_eq!(proto.borrow().data[2], b"ERR:BrokenPipeError");
        close_killed(&transp, &proto).await;
    });
}

/// test_events.py `test_subprocess_wait_no_same_group`: a child in its own process group
/// (asyncio's `start_new_session=True`) is still seen exiting.
#[test]
fn test_subprocess_wait_no_same_group() {
    let _serial = serial();
    aioloop::run(async {
        let mut command = sh_unpiped("exit 7");
        command.as_std_mut().process_group(0);
        exits_with(command, 7).await;
    });
}

/// test_events.py `test_subprocess_exec_invalid_args` and `test_subprocess_shell_invalid_args`
/// where they apply (the keyword arguments they reject do not exist here): a program that
/// cannot run, an argument or shell command with a NUL byte, are the call's error; the
/// protocol was made first (base_events.py calls `protocol_factory()` before the spawn).
#[test]
fn test_subprocess_exec_and_shell_invalid_args() {
    let _serial = serial();
    aioloop::run(async {
        let made = Made::default();
        let factory = || made.factory(MySubprocessProtocol::new);
        let err = subprocess_exec(factory(), Command::new("/nonexistent/aioloop-no-such-program"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let mut nul = Command::new("echo");
        nul.arg("a\0b");
        let err = subprocess_exec(factory(), &mut nul).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = subprocess_shell(factory(), "echo a\0b").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(made.count(), 3);
    });
}

/// base_events.py `subprocess_exec` / `subprocess_shell`: `protocol = protocol_factory()`
/// first, then `_make_subprocess_transport` spawns the child. A failed spawn raises with the
/// protocol made but never connected: no `connection_made`, no other call.
#[test]
fn test_subprocess_factory_called_before_a_failed_spawn() {
    let _serial = serial();
    aioloop::run(async {
        let made: Rc<RefCell<Vec<Proto>>> = Rc::default();
        let factory = || {
            let made = made.clone();
            move || {
                let p: Proto = Rc::new(RefCell::new(MySubprocessProtocol::new()));
                made.borrow_mut().push(p.clone());
                Shared(p)
            }
        };
        let err = subprocess_exec(factory(), Command::new("/nonexistent/aioloop-no-such-program"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let err = subprocess_shell(factory(), "echo a\0b").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        for _ in 0..3 {
            aioloop::yield_now().await;
        }
        let made = made.borrow();
        assert_eq!(made.len(), 2);
        for proto in made.iter() {
            assert_eq!(state(proto), State::Initial);
            assert!(proto.borrow().events.is_empty(), "{:?}", proto.borrow().events);
        }
    });
}

/// On a successful spawn too the factory runs before the child starts (asyncio's order): the
/// child, between its fork and its exec, finds the file the factory made (and fails its exec
/// without it: the spawn waits for the exec, so a factory called after the spawn would be
/// too late).
#[test]
fn test_subprocess_factory_called_before_the_child_starts() {
    let _serial = serial();
    let marker = std::env::temp_dir().join(format!("aioloop-factory-first-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let c_marker = std::ffi::CString::new(marker.to_str().unwrap()).unwrap();
    aioloop::run(async {
        let path = marker.clone();
        let factory = move || {
            std::fs::write(&path, b"made").unwrap();
            MySubprocessProtocol::new()
        };
        let mut command = sh_unpiped("exit 0");
        // SAFETY: between fork and exec only async-signal-safe calls are allowed; `access` is
        // one, and the path was made before the fork.
        unsafe {
            command.as_std_mut().pre_exec(move || {
                if libc::access(c_marker.as_ptr(), libc::F_OK) == 0 {
                    Ok(())
                } else {
                    Err(io::Error::other("the child started before the factory ran"))
                }
            });
        }
        let (transport, proto) = subprocess_exec(factory, command).await.unwrap();
        completed(&proto).await;
        assert_eq!(proto.borrow().returncode, Some(0));
        transport.close();
    });
    let _ = std::fs::remove_file(&marker);
}

/// test_subprocess.py `test_popen_error` / `test_popen_error_with_stdin_pipe`: a failed spawn
/// leaves no descriptor open (the pipes made for it are closed).
#[test]
#[cfg(target_os = "linux")]
fn test_popen_error() {
    let _serial = serial();
    aioloop::run(async {
        let before = open_fds();
        for _ in 0..3 {
            let result = subprocess_exec(MySubprocessProtocol::new, Command::new("/nonexistent/x")).await;
            assert!(result.is_err());
        }
        assert_eq!(open_fds(), before);
    });
}

/// test_subprocess.py `SubprocessTransportTests.test_proc_exited`: the child exits with 6;
/// `connection_made`, `process_exited`, `connection_lost(None)` are called, `is_closing()`
/// stays false, and once the transport is finished the signals fail with `ESRCH`
/// (`ProcessLookupError`); `close` is still harmless.
#[test]
fn test_proc_exited() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto) = exec(sh_unpiped("exit 6")).await;
        let pid = transport.get_pid();
        assert!(pid > 0);
        completed(&proto).await;
        assert_eq!(transport.get_returncode(), Some(6));
        assert_eq!(
            proto.borrow().events,
            ["connection_made", "process_exited", "connection_lost"]
        );
        assert!(!transport.is_closing());
        assert_eq!(transport.get_pid(), pid);
        let esrch = |r: io::Result<()>| r.unwrap_err().raw_os_error() == Some(libc::ESRCH);
        assert!(esrch(transport.send_signal(SignalKind::terminate())));
        assert!(esrch(transport.terminate()));
        assert!(esrch(transport.kill()));
        transport.close();
    });
}

/// test_subprocess.py `test_subprocess_protocol_events` (gh-108973): every call is made, and
/// per fd `pipe_data_received` comes before `pipe_connection_lost`; `connection_lost` last.
#[test]
fn test_subprocess_protocol_events() {
    let _serial = serial();
    aioloop::run(async {
        let mut command = sh("printf stdout; printf stderr >&2");
        command.stdin(Stdio::null());
        let (transport, proto) = exec(command).await;
        assert!(transport.get_pipe_transport(0).is_none());
        completed(&proto).await;
        transport.close();
        let p = proto.borrow();
        assert_eq!(p.data[1], b"stdout");
        assert_eq!(p.data[2], b"stderr");
        let mut events = p.events.clone();
        assert_eq!(events.first().map(String::as_str), Some("connection_made"));
        assert_eq!(events.last().map(String::as_str), Some("connection_lost"));
        for fd in 1..3 {
            let per_fd: Vec<&str> = events
                .iter()
                .filter(|e| e.ends_with(&format!(" {fd}")))
                .map(|e| e.split(' ').next().unwrap())
                .collect();
            assert_eq!(
                per_fd,
                ["pipe_data_received", "pipe_connection_lost"],
                "{events:?}"
            );
        }
        events.sort();
        let mut expected = [
            "connection_lost",
            "connection_made",
            "pipe_connection_lost 1",
            "pipe_connection_lost 2",
            "pipe_data_received 1",
            "pipe_data_received 2",
            "process_exited",
        ];
        expected.sort();
        assert_eq!(events, expected);
    });
}

/// asyncio's `_try_finish`: a child that exits while a grandchild keeps its stdout open gets
/// `process_exited` first, and `connection_lost` only once the pipe closed too.
#[test]
fn connection_lost_waits_for_the_pipes_after_the_exit() {
    let _serial = serial();
    aioloop::run(async {
        let mut command = sh("(sleep 0.3; echo late) & exit 0");
        command.stdin(Stdio::null()).stderr(Stdio::null());
        let (transport, proto) = exec(command).await;
        until(|| proto.borrow().returncode.is_some()).await;
        assert_eq!(proto.borrow().returncode, Some(0));
        assert_eq!(state(&proto), State::Connected, "the stdout pipe is still open");
        assert!(proto.borrow().disconnects[1].is_none());
        completed(&proto).await;
        let p = proto.borrow();
        assert_eq!(p.data[1], b"late\n");
        assert_eq!(
            p.events,
            [
                "connection_made",
                "process_exited",
                "pipe_data_received 1",
                "pipe_connection_lost 1",
                "connection_lost"
            ]
        );
        drop(p);
        transport.close();
    });
}

/// The other order: a child that closes its pipes and runs on gets its
/// `pipe_connection_lost`s first, and `connection_lost` once it exited.
#[test]
fn connection_lost_waits_for_the_exit_after_the_pipes() {
    let _serial = serial();
    aioloop::run(async {
        let (transport, proto) = exec(sh("exec <&- >&- 2>&-; sleep 0.3")).await;
        until(|| proto.borrow().disconnects.iter().all(Option::is_some)).await;
        assert_eq!(proto.borrow().returncode, None);
        assert_eq!(transport.get_returncode(), None);
        assert_eq!(state(&proto), State::Connected, "the child still runs");
        completed(&proto).await;
        let p = proto.borrow();
        assert_eq!(p.returncode, Some(0));
        assert_eq!(
            p.events[p.events.len() - 2..],
            ["process_exited", "connection_lost"]
        );
        drop(p);
        transport.close();
    });
}

/// test_subprocess.py `test_close_kill_running`: `close` kills a child still running; the
/// return code was `None` before.
#[test]
fn test_close_kill_running() {
    let _serial = serial();
    aioloop::run(async {
        let mut command = Command::new("sleep");
        command.arg("3600").stdin(Stdio::null());
        let (transport, proto) = exec(command).await;
        assert_eq!(transport.get_returncode(), None);
        close_killed(&transport, &proto).await;
    });
}

/// test_subprocess.py `test_cancel_post_init`: the entry point cancelled while it waits for
/// `connection_made` closes the transport: the child is killed and reaped, and the protocol
/// still completes.
#[test]
fn test_cancel_post_init() {
    let _serial = serial();
    aioloop::run(async {
        let made: Rc<RefCell<Option<Proto>>> = Rc::default();
        let m = made.clone();
        let factory = move || {
            let p: Proto = Rc::new(RefCell::new(MySubprocessProtocol::new()));
            *m.borrow_mut() = Some(p.clone());
            Shared(p)
        };
        let task = aioloop::spawn(async move {
            let mut command = Command::new("sleep");
            command.arg("3600");
            subprocess_exec(factory, command).await.map(drop)
        });
        // The task spawns the child and waits for connection_made; cancelled there.
        while made.borrow().is_none() {
            aioloop::yield_now().await;
        }
        assert!(task.cancel());
        assert!(task.await.unwrap_err().is_cancelled());
        let proto = made.borrow().clone().unwrap();
        completed(&proto).await;
        check_killed(proto.borrow().returncode);
    });
}

/// A protocol shared with the test, for the cancelled entry point whose return is lost.
#[derive(Debug)]
struct Shared(Proto);

impl SubprocessProtocol for Shared {
    fn connection_made(&mut self, transport: SubprocessTransport) {
        self.0.borrow_mut().connection_made(transport);
    }
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        self.0.borrow_mut().pipe_data_received(fd, data);
    }
    fn pipe_connection_lost(&mut self, fd: i32, exc: Option<io::Error>) {
        self.0.borrow_mut().pipe_connection_lost(fd, exc);
    }
    fn process_exited(&mut self) {
        self.0.borrow_mut().process_exited();
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.0.borrow_mut().connection_lost(exc);
    }
}

/// The stdin pipe's flow control reaches the subprocess protocol: a write above the
/// high-water mark calls `pause_writing` inside that write (the protocol is free), and the
/// drain `resume_writing`.
#[test]
fn stdin_flow_control_reaches_the_protocol() {
    let _serial = serial();
    aioloop::run(async {
        let mut command = sh("sleep 0.2; cat >/dev/null");
        command.stdout(Stdio::null()).stderr(Stdio::null());
        let (transport, proto) = exec(command).await;
        let stdin = transport.get_pipe_transport(0).unwrap();
        stdin.set_write_buffer_limits(Some(4096), Some(1024)).unwrap();
        stdin.write(&vec![b'x'; 1 << 20]).unwrap();
        assert_eq!(proto.borrow().events.last().unwrap(), "pause_writing");
        until(|| proto.borrow().events.last().unwrap() == "resume_writing").await;
        assert_eq!(stdin.get_write_buffer_size(), 0);
        stdin.close();
        completed(&proto).await;
        assert_eq!(proto.borrow().returncode, Some(0));
        transport.close();
    });
}

/// A protocol whose `pause_writing` and `resume_writing` panic ("pause boom", "resume boom"),
/// and which may write a megabyte to the child's stdin (4 KiB high-water mark) from its
/// `connection_made`.
#[derive(Default)]
struct FlowPanics {
    write_in_made: bool,
    /// The flow calls, in order ("pause", "resume").
    flow: Vec<&'static str>,
    /// `connection_lost`'s argument, each call.
    lost: Vec<Option<String>>,
}

impl SubprocessProtocol for FlowPanics {
    fn connection_made(&mut self, transport: SubprocessTransport) {
        if self.write_in_made {
            write_a_megabyte(&transport);
        }
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.lost.push(exc.map(|e| e.to_string()));
    }
    fn pause_writing(&mut self) {
        self.flow.push("pause");
        panic!("pause boom");
    }
    fn resume_writing(&mut self) {
        self.flow.push("resume");
        panic!("resume boom");
    }
}

/// Writes a megabyte to the child's stdin, above a 4 KiB high-water mark.
fn write_a_megabyte(transport: &SubprocessTransport) {
    let stdin = transport.get_pipe_transport(0).unwrap();
    stdin.set_write_buffer_limits(Some(4096), Some(1024)).unwrap();
    stdin.write(&vec![b'x'; 1 << 20]).unwrap();
}

/// asyncio's subprocess transport makes its stdin pipe's flow calls through that pipe's
/// transport (`_FlowControlMixin`): a panic in `pause_writing` or `resume_writing` goes to the
/// loop's exception handler as "protocol.pause_writing() failed", and the transport goes on,
/// as a stream connection does. The child is not killed: it reads everything, exits 0 at
/// EOF, and `connection_lost(None)` comes once. With `write_in_made`, the `pause_writing` is
/// due while `connection_made` runs, so the transport's task makes it once that returned;
/// without, it is made inside the test's write (the protocol is free).
fn stdin_flow_panics_are_reported_and_the_transport_goes_on(write_in_made: bool) {
    let _serial = serial();
    aioloop::run(async move {
        let reported = exception_panics();
        let mut command = sh("sleep 0.2; cat >/dev/null");
        command.stdout(Stdio::null()).stderr(Stdio::null());
        let factory = move || FlowPanics {
            write_in_made,
            ..FlowPanics::default()
        };
        let (transport, proto) = subprocess_exec(factory, command).await.unwrap();
        if !write_in_made {
            write_a_megabyte(&transport);
        }
        until(|| !proto.borrow().flow.is_empty()).await;
        assert!(!transport.is_closing(), "the panic closed the transport");
        until(|| proto.borrow().flow.len() == 2).await;
        assert_eq!(proto.borrow().flow, ["pause", "resume"]);
        let stdin = transport.get_pipe_transport(0).unwrap();
        assert_eq!(stdin.get_write_buffer_size(), 0);
        stdin.close();
        lost_once_cleanly(|| proto.borrow().lost.clone()).await;
        assert_eq!(transport.get_returncode(), Some(0));
        assert_eq!(*reported.borrow(), flow_failures(&["pause", "resume"]));
        transport.close();
    });
}

#[test]
fn stdin_flow_panics_in_a_write_are_reported_and_the_transport_goes_on() {
    stdin_flow_panics_are_reported_and_the_transport_goes_on(false);
}

#[test]
fn stdin_flow_panics_due_in_connection_made_are_reported_and_the_transport_goes_on() {
    stdin_flow_panics_are_reported_and_the_transport_goes_on(true);
}

/// A panic in a subprocess protocol method is the transport's fatal error, as a panic in a
/// stream protocol is the connection's: the pipes are aborted, the child is killed, nothing
/// but `connection_lost` is called after it, and `connection_lost` gets an error naming the
/// method; the panic is reported as the transport task's.
#[test]
fn a_panic_in_pipe_data_received_is_a_fatal_error_of_the_transport() {
    let _serial = serial();
    aioloop::run(async {
        let reported = exceptions();
        let panicky = || MySubprocessProtocol {
            panic_in: Some("pipe_data_received"),
            ..MySubprocessProtocol::new()
        };
        let (transport, proto) = subprocess_exec(panicky, Command::new("cat")).await.unwrap();
        transport.get_pipe_transport(0).unwrap().write(b"x").unwrap();
        until(|| state(&proto) == State::Closed).await;
        let exc = proto.borrow().lost[0]
            .clone()
            .expect("connection_lost got the error");
        assert!(
            exc.contains("pipe_data_received") && exc.contains("boom"),
            "{exc}"
        );
        assert_eq!(proto.borrow().events, ["connection_made", "connection_lost"]);
        check_killed(transport.get_returncode());
        assert!(transport.is_closing());
        until(|| reported.borrow().len() == 1).await;
    });
}

/// A panic in `connection_made` is the transport's fatal error too: the call still returns
/// the transport (asyncio logs the exception and returns), which ends with the child killed
/// and `connection_lost` naming `connection_made`.
#[test]
fn a_panic_in_connection_made_is_a_fatal_error_of_the_transport() {
    let _serial = serial();
    aioloop::run(async {
        let reported = exceptions();
        let panicky = || MySubprocessProtocol {
            panic_in: Some("connection_made"),
            ..MySubprocessProtocol::new()
        };
        let (transport, proto) = subprocess_exec(panicky, Command::new("cat")).await.unwrap();
        assert!(transport.is_closing());
        until(|| state(&proto) == State::Closed).await;
        let exc = proto.borrow().lost[0].clone().unwrap();
        assert!(exc.contains("connection_made") && exc.contains("boom"), "{exc}");
        assert_eq!(proto.borrow().events, ["connection_made", "connection_lost"]);
        check_killed(transport.get_returncode());
        until(|| reported.borrow().len() == 1).await;
    });
}

/// A megabyte of output comes whole and in order through the stdout pipe, before that pipe's
/// `pipe_connection_lost`; `pause_reading` on the stdout pipe transport holds it back.
#[test]
fn large_output_and_pause_reading_on_the_stdout_pipe() {
    let _serial = serial();
    aioloop::run(async {
        let mut command = sh("i=0; while [ $i -lt 16 ]; do head -c 65536 /dev/zero | tr '\\0' \"$((i % 10))\"; i=$((i+1)); done");
        command.stdin(Stdio::null());
        let (transport, proto) = exec(command).await;
        let stdout = transport.get_pipe_transport(1).unwrap();
        stdout.pause_reading();
        assert!(!stdout.is_reading());
        // What was read before the pause is still delivered (as in asyncio); then nothing.
        aioloop::sleep(Duration::from_millis(20)).await;
        let seen = proto.borrow().data[1].len();
        aioloop::sleep(Duration::from_millis(50)).await;
        assert_eq!(proto.borrow().data[1].len(), seen, "nothing read while paused");
        assert!(proto.borrow().disconnects[1].is_none());
        stdout.resume_reading();
        completed(&proto).await;
        let p = proto.borrow();
        let expected: Vec<u8> = (0..16u8)
            .flat_map(|i| std::iter::repeat_n(b'0' + i % 10, 65536))
            .collect();
        assert_eq!(p.data[1].len(), expected.len());
        assert!(p.data[1] == expected, "the output in order");
        let last_data = p.events.iter().rposition(|e| e == "pipe_data_received 1");
        let lost = p.events.iter().position(|e| e == "pipe_connection_lost 1");
        assert!(last_data < lost, "{:?}", p.events);
        drop(p);
        transport.close();
    });
}

/// A loop that ends with a transport open kills its child (as asyncio's transport does when
/// it is collected unclosed), which is then reaped.
#[test]
#[cfg(target_os = "linux")]
fn a_loop_ending_with_the_transport_open_kills_the_child() {
    let _serial = serial();
    let before = open_fds();
    let pid = aioloop::run(async {
        let mut command = Command::new("sleep");
        command.arg("3600");
        let (transport, _proto) = exec(command).await;
        transport.get_pid()
    });
    let proc = format!("/proc/{pid}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&proc).exists() {
        assert!(std::time::Instant::now() < deadline, "child {pid} still there");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(open_fds(), before);
}

/// The same exit seen through the process module's `SIGCHLD` watch (where a pidfd is
/// missing) rather than the pidfd: `test_subprocess_exec` and `test_subprocess_exitcode` on it.
#[test]
fn the_sigchld_exit_watch_works_too() {
    let _serial = serial();
    aioloop::run(async {
        let mut command = Command::new("cat");
        command.watch_with_sigchld(true);
        let (transp, proto) = exec(command).await;
        transp.get_pipe_transport(0).unwrap().write(b"Python").unwrap();
        got_data(&proto, 1, 6).await;
        close_killed(&transp, &proto).await;

        let mut command = sh_unpiped("exit 7");
        command.watch_with_sigchld(true);
        exits_with(command, 7).await;
    });
}
