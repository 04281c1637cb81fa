//! [`SubprocessProtocol`]: the callbacks of a child process run by
//! [`subprocess_exec`](super::subprocess_exec) (asyncio's `asyncio.SubprocessProtocol`).

use std::io;

use super::SubprocessTransport;

/// The callbacks of a child process and its pipes: asyncio's `asyncio.SubprocessProtocol`
/// (with `BaseProtocol`'s `connection_made`, `connection_lost` and flow control). Every method
/// has a default that does nothing.
///
/// The order is asyncio's: [`connection_made`](SubprocessProtocol::connection_made) first; then,
/// for each piped stream (`fd` 0, 1, 2 for stdin, stdout, stderr), any number of
/// [`pipe_data_received`](SubprocessProtocol::pipe_data_received) (stdout and stderr) and one
/// [`pipe_connection_lost`](SubprocessProtocol::pipe_connection_lost) once that pipe closed;
/// [`process_exited`](SubprocessProtocol::process_exited) once the child exited (its
/// [`get_returncode`](SubprocessTransport::get_returncode) is then set); and
/// [`connection_lost`](SubprocessProtocol::connection_lost) exactly once, last, only after the
/// child exited *and* every pipe's `pipe_connection_lost` was called. The events of different
/// pipes and the exit interleave as they happen.
///
/// The methods run on the loop's thread, one at a time, from the transport's task (asyncio
/// calls them through `call_soon`): nothing re-enters the protocol while one of its methods
/// runs, and every method may use the [`SubprocessTransport`] and its pipe transports (write
/// to stdin, close, signal...). [`pause_writing`](SubprocessProtocol::pause_writing) and
/// [`resume_writing`](SubprocessProtocol::resume_writing) are the stdin pipe's flow control:
/// called as that pipe's transport calls them (inside its `write` when the protocol is free,
/// else right after the running method returns).
///
/// A panic in any of these methods but the flow-control ones is the transport's fatal error,
/// as a panic in a stream protocol's `data_received` is the connection's: the pipes are
/// aborted, the child is killed if it still runs, no other method but `connection_lost` is
/// called any more, and `connection_lost` gets an error naming the method that panicked once
/// the child exited and the pipes closed; the panic then goes on in the transport's task,
/// reported as any task's ("Task exception was never retrieved", to the loop's exception
/// handler). (asyncio only logs an exception of these callbacks.) A panic in `pause_writing` or
/// `resume_writing` goes to the loop's exception handler ("protocol.pause_writing() failed",
/// with the panic) and the transport goes on, as with a stream transport (asyncio's stdin pipe
/// transport makes these calls, and reports an exception in them the same way).
///
/// ```
/// use aioloop::protocols::{SubprocessProtocol, SubprocessTransport};
///
/// /// Collects the child's stdout and its exit status.
/// #[derive(Default)]
/// struct Collect {
///     out: Vec<u8>,
///     returncode: Option<i32>,
///     transport: Option<SubprocessTransport>,
/// }
///
/// impl SubprocessProtocol for Collect {
///     fn connection_made(&mut self, transport: SubprocessTransport) {
///         self.transport = Some(transport);
///     }
///     fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
///         if fd == 1 {
///             self.out.extend_from_slice(data);
///         }
///     }
///     fn process_exited(&mut self) {
///         self.returncode = self.transport.as_ref().unwrap().get_returncode();
///     }
/// }
/// ```
pub trait SubprocessProtocol {
    /// The child was spawned and its pipes connected; `transport` is its handle, which the
    /// protocol usually keeps.
    fn connection_made(&mut self, transport: SubprocessTransport) {
        let _ = transport;
    }

    /// The child wrote `data` to its stdout (`fd` 1) or stderr (`fd` 2), as the pipe read it
    /// (no framing).
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        let _ = (fd, data);
    }

    /// The pipe of `fd` closed: `None` at EOF or after a close, the error that ended it
    /// otherwise (a write to stdin failing, the pipe's `BrokenPipe` when the child closed
    /// its stdin with data still buffered).
    fn pipe_connection_lost(&mut self, fd: i32, exc: Option<io::Error>) {
        let _ = (fd, exc);
    }

    /// The child exited: [`SubprocessTransport::get_returncode`] has its status.
    fn process_exited(&mut self) {}

    /// The transport is done (the child exited and every pipe closed): `None`, or the fatal
    /// error of a panic in one of these methods. Called exactly once, last.
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        let _ = exc;
    }

    /// The stdin pipe's write buffer went above its high-water mark (see
    /// [`Transport::set_write_buffer_limits`](super::super::Transport::set_write_buffer_limits)).
    fn pause_writing(&mut self) {}

    /// The stdin pipe's write buffer drained to its low-water mark after a
    /// [`pause_writing`](SubprocessProtocol::pause_writing).
    fn resume_writing(&mut self) {}
}
