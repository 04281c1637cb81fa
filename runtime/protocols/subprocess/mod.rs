//! asyncio's subprocess protocols: [`subprocess_exec`] and [`subprocess_shell`] run a child
//! under a [`SubprocessTransport`] that calls a [`SubprocessProtocol`] (asyncio's
//! `loop.subprocess_exec`, `BaseSubprocessTransport`, `SubprocessProtocol`).
//!
//! Built on the rest: the child is the process module's [`Child`](crate::process::Child)
//! (its exit seen through its pidfd or `SIGCHLD` watch), each piped stream is a pipe transport
//! ([`connect_write_pipe`](crate::protocols::connect_write_pipe),
//! [`connect_read_pipe`](crate::protocols::connect_read_pipe)) under a small protocol that
//! forwards to the subprocess protocol with its fd, and one task of the loop watches the exit
//! and makes the protocol's calls in order.

mod driver;
mod pipes;
mod protocol;
mod transport;

use std::borrow::BorrowMut;
use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;

use crate::process::Command;

pub use protocol::SubprocessProtocol;
pub use transport::SubprocessTransport;

/// Closes the transport if the entry point is dropped (cancelled) before `connection_made`
/// ran, as asyncio's `_make_subprocess_transport` closes it (killing the child).
struct CloseOnDrop(Option<SubprocessTransport>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        if let Some(transport) = self.0.take() {
            transport.close();
        }
    }
}

/// Spawns `command` and runs the protocol `protocol_factory()` makes on it: asyncio's
/// `loop.subprocess_exec(protocol_factory, *args)`. Returns once the protocol's
/// [`connection_made`](SubprocessProtocol::connection_made) ran (asyncio's waiter), with the
/// transport and the protocol; later calls may have run by then too (a child that exited at
/// once may have its `connection_lost` already, as in asyncio).
///
/// `command` is aioloop's [`Command`] (by value or `&mut`), with its arguments, environment,
/// working directory, `as_std_mut()` options (`process_group`, `pre_exec`...). A standard
/// stream it does not configure is piped, as asyncio's `stdin=PIPE, stdout=PIPE,
/// stderr=PIPE` defaults; one set to [`Stdio::null`](crate::process::Stdio::null) or
/// [`Stdio::inherit`](crate::process::Stdio::inherit) (asyncio's `DEVNULL`, `None`) has no pipe
/// transport (the piping stays configured on a `&mut Command` passed in). There is no
/// `Stdio` for asyncio's `stderr=STDOUT`: `2>&1` in a shell does it.
///
/// The protocol gets the child's output through
/// [`pipe_data_received`](SubprocessProtocol::pipe_data_received), writes to its stdin through
/// [`get_pipe_transport(0)`](SubprocessTransport::get_pipe_transport), and the call order is
/// asyncio's (see [`SubprocessProtocol`]). Close the transport when done with it: it kills a
/// child still running. A transport left open keeps its task until the child exits; if the
/// loop closes first, the child is killed (as asyncio's transport does when it is collected).
///
/// Dropping the future before it returns (a cancellation) closes the transport: the child is
/// killed, the protocol still gets its calls. A panic in `connection_made` does not fail the
/// call: it is the transport's fatal error, as a panic in the protocol's other methods but
/// `pause_writing` and `resume_writing` (see [`SubprocessProtocol`]).
///
/// The protocol is made first, then the child is spawned, as in asyncio: `protocol_factory`
/// runs before the child starts, even if the spawn then fails.
///
/// # Errors
/// The spawn's error (`NotFound` for a missing program...): the protocol was made, and is
/// dropped without its `connection_made`, as asyncio's. An error setting up a pipe transport:
/// the child is killed.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use aioloop::process::Command;
/// use aioloop::protocols::{subprocess_exec, SubprocessProtocol, SubprocessTransport};
///
/// /// Collects stdout, and the exit status in `process_exited`.
/// #[derive(Default)]
/// struct Collect {
///     transport: Option<SubprocessTransport>,
///     out: Vec<u8>,
///     returncode: Option<i32>,
///     lost: bool,
/// }
/// impl SubprocessProtocol for Collect {
///     fn connection_made(&mut self, transport: SubprocessTransport) {
///         self.transport = Some(transport);
///     }
///     fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
///         assert_eq!(fd, 1);
///         self.out.extend_from_slice(data);
///     }
///     fn process_exited(&mut self) {
///         self.returncode = self.transport.as_ref().unwrap().get_returncode();
///     }
///     fn connection_lost(&mut self, exc: Option<std::io::Error>) {
///         assert!(exc.is_none());
///         self.lost = true; // after the exit and the pipes' EOF
///     }
/// }
///
/// aioloop::run(async {
///     let mut command = Command::new("sh");
///     command.args(["-c", "echo hello; exit 3"]);
///     let (transport, collect) = subprocess_exec(Collect::default, command).await.unwrap();
///     while !collect.borrow().lost {
///         aioloop::sleep(std::time::Duration::from_millis(1)).await;
///     }
///     assert_eq!(collect.borrow().out, b"hello\n");
///     assert_eq!(collect.borrow().returncode, Some(3));
///     transport.close();
/// });
/// ```
pub async fn subprocess_exec<P, F>(
    protocol_factory: F,
    mut command: impl BorrowMut<Command>,
) -> io::Result<(SubprocessTransport, Rc<RefCell<P>>)>
where
    P: SubprocessProtocol + 'static,
    F: FnOnce() -> P,
{
    // The protocol first, as asyncio's `protocol = protocol_factory()` before
    // `_make_subprocess_transport`: a failed spawn leaves it made, never connected.
    let protocol = Rc::new(RefCell::new(protocol_factory()));
    let command = command.borrow_mut();
    command.pipe_unconfigured();
    let mut child = command.spawn()?;
    let pid = child.id().unwrap_or_default();
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let dyn_protocol: Rc<RefCell<dyn SubprocessProtocol>> = protocol.clone();
    let inner = Rc::new(transport::Inner::new(pid, child, Rc::downgrade(&dyn_protocol)));
    if let Err(err) = pipes::connect(&inner, stdin, stdout, stderr) {
        inner.kill_if_running();
        return Err(err);
    }
    let transport = SubprocessTransport { inner };
    driver::start(transport.clone(), dyn_protocol);
    let mut close_on_drop = CloseOnDrop(Some(transport.clone()));
    poll_fn(|cx| transport.inner.poll_made(cx)).await;
    close_on_drop.0 = None;
    Ok((transport, protocol))
}

/// Runs `cmd` with the shell (`/bin/sh -c cmd`) under the protocol `protocol_factory()`
/// makes: asyncio's `loop.subprocess_shell(protocol_factory, cmd)`, with its three streams
/// piped. It is [`subprocess_exec`] of that command: for other options (asyncio's
/// `stdin=None`, `start_new_session=True`...), build the `sh -c` [`Command`] and pass it there.
///
/// # Errors
/// As [`subprocess_exec`]: `InvalidInput` for a `cmd` holding a NUL byte.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use aioloop::protocols::{subprocess_shell, SubprocessProtocol};
///
/// #[derive(Default)]
/// struct Collect {
///     err: Vec<u8>,
///     lost: bool,
/// }
/// impl SubprocessProtocol for Collect {
///     fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
///         if fd == 2 {
///             self.err.extend_from_slice(data);
///         }
///     }
///     fn connection_lost(&mut self, _exc: Option<std::io::Error>) {
///         self.lost = true;
///     }
/// }
///
/// aioloop::run(async {
///     let (transport, collect) = subprocess_shell(Collect::default, "echo oops >&2").await.unwrap();
///     while !collect.borrow().lost {
///         aioloop::sleep(std::time::Duration::from_millis(1)).await;
///     }
///     assert_eq!(collect.borrow().err, b"oops\n");
///     assert_eq!(transport.get_returncode(), Some(0));
///     transport.close();
/// });
/// ```
pub async fn subprocess_shell<P, F>(
    protocol_factory: F,
    cmd: &str,
) -> io::Result<(SubprocessTransport, Rc<RefCell<P>>)>
where
    P: SubprocessProtocol + 'static,
    F: FnOnce() -> P,
{
    let mut command = Command::new("/bin/sh");
    command.arg("-c").arg(cmd);
    subprocess_exec(protocol_factory, command).await
}
