//! [`connect_read_pipe`] and [`connect_write_pipe`]: asyncio's `loop.connect_read_pipe` and
//! `loop.connect_write_pipe`, a [`Transport`] over one end of a pipe ([`Pipe`], the transport's
//! other kind of socket).

use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileTypeExt;
use std::rc::Rc;
use std::task::{Context, Poll};

use mio::unix::pipe::{Receiver, Sender};

use super::driver::start_client;
use super::{AnyProtocol, Transport};
use crate::io::{Direction, PollEvented};

/// One end of a pipe under a transport, registered with the loop, non-blocking.
pub(super) enum Pipe {
    /// [`connect_read_pipe`]'s: read until EOF.
    Read(PollEvented<Receiver>),
    /// [`connect_write_pipe`]'s: written to. On a pipe, FIFO or socket (`watch_reader`),
    /// read readiness means the reader closed its end; a character device's (a pty's) is
    /// input for another descriptor of it, not watched (as asyncio).
    Write {
        io: PollEvented<Sender>,
        watch_reader: bool,
    },
}

impl Pipe {
    pub(super) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self {
            Pipe::Read(io) => io.poll_read(cx, buf),
            Pipe::Write { .. } => Poll::Ready(Err(not_for(self))),
        }
    }

    /// Ready once a read may find bytes or the end; never for a write pipe.
    pub(super) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Pipe::Read(io) => io.poll_read_ready(cx),
            Pipe::Write { .. } => Poll::Pending,
        }
    }

    pub(super) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Pipe::Write { io, .. } => io.poll_write(cx, buf),
            Pipe::Read(_) => Poll::Ready(Err(not_for(self))),
        }
    }

    pub(super) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Pipe::Write { io, .. } => io.try_write(buf),
            Pipe::Read(_) => Err(not_for(self)),
        }
    }

    /// Ready once the reader of a write pipe closed its end (asyncio watches the write end
    /// of a pipe, FIFO or socket for reading: it turns readable, or in error, only then).
    pub(super) fn poll_reader_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Pipe::Write {
                io,
                watch_reader: true,
            } => io.poll_ready(cx, Direction::Read),
            _ => Poll::Pending,
        }
    }

    /// The descriptor: asyncio's `pipe` extra info.
    pub(super) fn fd(&self) -> RawFd {
        match self {
            Pipe::Read(io) => io.get_ref().as_raw_fd(),
            Pipe::Write { io, .. } => io.get_ref().as_raw_fd(),
        }
    }
}

fn not_for(pipe: &Pipe) -> io::Error {
    let kind = match pipe {
        Pipe::Read(_) => "write on a read pipe transport",
        Pipe::Write { .. } => "read on a write pipe transport",
    };
    io::Error::new(io::ErrorKind::InvalidInput, kind)
}

/// asyncio's check: a pipe transport is for pipes (and FIFOs), sockets and character devices
/// (a terminal, a pty); a regular file or a directory is refused. True for a character
/// device, with the descriptor back.
fn check_kind(fd: OwnedFd) -> io::Result<(OwnedFd, bool)> {
    let file = File::from(fd);
    let kind = file.metadata()?.file_type();
    if !(kind.is_fifo() || kind.is_socket() || kind.is_char_device()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "Pipe transport is for pipes/sockets/character devices only.",
        ));
    }
    Ok((file.into(), kind.is_char_device()))
}

/// Runs the protocol `protocol_factory()` makes on the read end `pipe`: asyncio's
/// `loop.connect_read_pipe(protocol_factory, pipe)`. The transport reads the pipe into the
/// protocol's [`data_received`](super::Protocol::data_received) (or a
/// [`BufferedProtocol`](super::BufferedProtocol)'s buffer); at EOF it calls `eof_received`,
/// whose answer is ignored (asyncio's read pipes close at EOF, unlike sockets), then
/// `connection_lost(None)`, and closes the pipe. A read error closes it with that error.
///
/// `pipe` is any owned descriptor of a pipe or FIFO, a socket, or a character device (a pty,
/// a terminal): an [`OwnedFd`] (from `std::io::pipe`, a `std::process::ChildStdout`, a
/// `File`...) or a child's pipe of [`Command`](crate::process::Command)
/// (`ChildStdout::into_owned_fd`). It is set non-blocking; the transport owns it and closes it
/// after `connection_lost`.
///
/// The transport is a [`Transport`] whose reading side works as a socket's
/// ([`pause_reading`](Transport::pause_reading), [`resume_reading`](Transport::resume_reading),
/// [`is_reading`](Transport::is_reading), [`close`](Transport::close),
/// [`abort`](Transport::abort)); [`write`](Transport::write) fails with `InvalidInput`,
/// [`get_extra_info("pipe")`](Transport::get_extra_info) gives the descriptor.
///
/// # Errors
/// `InvalidInput` for another kind of file (asyncio's `ValueError`); the `fstat` or `fcntl`
/// error.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use aioloop::protocols::{connect_read_pipe, Protocol};
///
/// #[derive(Default)]
/// struct Collect {
///     data: Vec<u8>,
///     lost: bool,
/// }
/// impl Protocol for Collect {
///     fn data_received(&mut self, data: &[u8]) {
///         self.data.extend_from_slice(data);
///     }
///     fn connection_lost(&mut self, _exc: Option<std::io::Error>) {
///         self.lost = true;
///     }
/// }
///
/// aioloop::run(async {
///     let mut child = aioloop::process::Command::new("echo")
///         .arg("hello")
///         .stdout(std::process::Stdio::piped())
///         .spawn()
///         .unwrap();
///     let stdout = child.stdout.take().unwrap().into_owned_fd().unwrap();
///     let (_transport, collect) = connect_read_pipe(Collect::default, stdout).unwrap();
///     child.wait().await.unwrap();
///     while !collect.borrow().lost {
///         aioloop::sleep(std::time::Duration::from_millis(1)).await;
///     }
///     assert_eq!(collect.borrow().data, b"hello\n");
/// });
/// ```
pub fn connect_read_pipe<K, P, F>(
    protocol_factory: F,
    pipe: impl Into<OwnedFd>,
) -> io::Result<(Transport, Rc<RefCell<P>>)>
where
    P: AnyProtocol<K>,
    F: FnOnce() -> P,
{
    let (pipe, _) = check_kind(pipe.into())?;
    let receiver = Receiver::from(pipe);
    receiver.set_nonblocking(true)?;
    let io = PollEvented::new(receiver, "protocols::connect_read_pipe")?;
    Ok(start_client(Pipe::Read(io), protocol_factory))
}

/// Runs the protocol `protocol_factory()` makes on the write end `pipe`: asyncio's
/// `loop.connect_write_pipe(protocol_factory, pipe)`. The protocol only gets the
/// [`Protocol`](super::Protocol) callbacks asyncio's `BaseProtocol` has (`connection_made`,
/// `connection_lost`, `pause_writing`, `resume_writing`).
///
/// The transport writes as a socket's does ([`write`](Transport::write) at once, then
/// buffered; [`get_write_buffer_size`](Transport::get_write_buffer_size),
/// [`set_write_buffer_limits`](Transport::set_write_buffer_limits) with `pause_writing` and
/// `resume_writing`; [`abort`](Transport::abort)), with asyncio's pipe differences:
/// [`write_eof`](Transport::write_eof) is [`close`](Transport::close) (a pipe has no
/// half-close: the buffer is flushed, then `connection_lost(None)` and the pipe closes, so the
/// reader sees EOF), and a write once closing is ignored rather than sent. When the reader
/// closes its end, the transport closes: `connection_lost` gets a `BrokenPipe` error if data
/// was still buffered, `None` otherwise (learnt, as asyncio does, from the write end turning
/// readable; not on a character device, whose read readiness is input for another
/// descriptor of it, a pty's: there only a failed write tells). A write that fails (`EPIPE`
/// on a pipe whose reader is gone) closes the transport with that error.
///
/// `pipe` is as for [`connect_read_pipe`]: an [`OwnedFd`] of a pipe, FIFO, socket or
/// character device (`ChildStdin::into_owned_fd` for a child's stdin).
///
/// # Errors
/// `InvalidInput` for another kind of file; the `fstat` or `fcntl` error.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use aioloop::protocols::{connect_write_pipe, Protocol};
///
/// struct Quiet;
/// impl Protocol for Quiet {}
///
/// aioloop::run(async {
///     let mut child = aioloop::process::Command::new("wc")
///         .arg("-c")
///         .stdin(std::process::Stdio::piped())
///         .stdout(std::process::Stdio::piped())
///         .spawn()
///         .unwrap();
///     let stdin = child.stdin.take().unwrap().into_owned_fd().unwrap();
///     let (transport, _quiet) = connect_write_pipe(|| Quiet, stdin).unwrap();
///     transport.write(b"twelve bytes").unwrap();
///     transport.close(); // flushes, then closes: wc reads EOF
///     let output = child.wait_with_output().await.unwrap();
///     assert_eq!(String::from_utf8(output.stdout).unwrap().trim(), "12");
/// });
/// ```
pub fn connect_write_pipe<K, P, F>(
    protocol_factory: F,
    pipe: impl Into<OwnedFd>,
) -> io::Result<(Transport, Rc<RefCell<P>>)>
where
    P: AnyProtocol<K>,
    F: FnOnce() -> P,
{
    let (pipe, char_device) = check_kind(pipe.into())?;
    let sender = Sender::from(pipe);
    sender.set_nonblocking(true)?;
    let io = PollEvented::new(sender, "protocols::connect_write_pipe")?;
    let watch_reader = !char_device;
    Ok(start_client(Pipe::Write { io, watch_reader }, protocol_factory))
}
