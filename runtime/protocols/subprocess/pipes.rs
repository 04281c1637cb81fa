//! The child's pipes under pipe transports ([`connect_write_pipe`] for stdin,
//! [`connect_read_pipe`] for stdout and stderr), each with an adapter protocol that hands its
//! events to the subprocess transport with the pipe's fd (asyncio's `WriteSubprocessPipeProto`
//! and `ReadSubprocessPipeProto`).

use std::io;
use std::rc::{Rc, Weak};

use super::transport::{Call, Inner};
use crate::process::{ChildStderr, ChildStdin, ChildStdout};
use crate::protocols::{connect_read_pipe, connect_write_pipe, Protocol, Transport};

/// The protocol of one of the child's pipes: forwards to the subprocess transport.
struct PipeProtocol {
    fd: i32,
    inner: Weak<Inner>,
}

impl PipeProtocol {
    fn with(&self, f: impl FnOnce(&Inner)) {
        if let Some(inner) = self.inner.upgrade() {
            f(&inner);
        }
    }
}

impl Protocol for PipeProtocol {
    fn data_received(&mut self, data: &[u8]) {
        let fd = self.fd;
        self.with(|inner| inner.push(Call::Data(fd, data.to_vec())));
    }

    fn connection_lost(&mut self, exc: Option<io::Error>) {
        let fd = self.fd;
        self.with(|inner| inner.pipe_lost(fd, exc));
    }

    fn pause_writing(&mut self) {
        self.with(|inner| inner.flow(true));
    }

    fn resume_writing(&mut self) {
        self.with(|inner| inner.flow(false));
    }
}

/// Puts each piped stream under its pipe transport, in asyncio's order (stdin, stdout,
/// stderr), into `inner.pipes`. On an error the transports made are aborted.
pub(super) fn connect(
    inner: &Rc<Inner>,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
) -> io::Result<()> {
    let protocol = |fd| {
        let inner = Rc::downgrade(inner);
        move || PipeProtocol { fd, inner }
    };
    let add = |fd: usize, transport: Transport| {
        inner.pipes.borrow_mut()[fd] = Some(transport);
        inner.state.borrow_mut().open_pipes += 1;
    };
    let result = (|| -> io::Result<()> {
        if let Some(stdin) = stdin {
            add(0, connect_write_pipe(protocol(0), stdin.into_owned_fd()?)?.0);
        }
        if let Some(stdout) = stdout {
            add(1, connect_read_pipe(protocol(1), stdout.into_owned_fd()?)?.0);
        }
        if let Some(stderr) = stderr {
            add(2, connect_read_pipe(protocol(2), stderr.into_owned_fd()?)?.0);
        }
        Ok(())
    })();
    if result.is_err() {
        for pipe in inner.pipe_transports() {
            pipe.abort();
        }
    }
    result
}
