//! Networking: TCP, UDP and Unix sockets driven by the loop's reactor (epoll / kqueue), the
//! "I/O coroutines" of asyncio's low-level socket API.
//!
//! Every socket registers with the loop running on the current thread when it is created
//! (creating one with no running loop panics with a clear message) and belongs to that loop.
//! Registration is edge-triggered; dropping a socket deregisters and closes it. Any number of
//! tasks may wait on one socket (shared through an `Rc`): its next readiness in a direction
//! wakes every task waiting for that direction.
//!
//! Streams ([`TcpStream`], [`UnixStream`] and their split halves) implement
//! `futures_io::{AsyncRead, AsyncWrite}`; with the `tokio-io` cargo feature they also implement
//! tokio's `AsyncRead`/`AsyncWrite`, so hyper (through hyper-util's `TokioIo`) and tokio-util's
//! codecs run on aioloop. The high-level API, asyncio's streams, is [`crate::streams`].
//!
//! Addresses are given as [`ToSocketAddrs`]: literal addresses are used at once, host names are
//! looked up on the loop's blocking pool ([`lookup_host`]), never on the loop's thread.
//!
//! Any other descriptor (a pipe, a terminal, an eventfd, a socket made elsewhere) waits for
//! readiness through [`AsyncFd`] (tokio's), or calls back through asyncio's
//! [`Loop::add_reader`](crate::Loop::add_reader) / [`add_writer`](crate::Loop::add_writer).
//!
//! To use more than one core, run one loop per core, each accepting on its own
//! `SO_REUSEPORT` listener: [`TcpListener::bind_reuseport`] and [`run_per_core`].
//!
//! [`TcpStream::sendfile`] and [`UnixStream::sendfile`] send from a file (asyncio's
//! `loop.sock_sendfile`): `sendfile(2)` on Linux, chunks read on the blocking pool elsewhere
//! and for files it cannot send (sendfile.rs).
//!
//! [`ServerOptions`] holds the arguments of asyncio's `create_server` / `start_server` (`sock=`,
//! `backlog=`, `reuse_port=`, `start_serving=`...) for the servers of [`crate::streams`] and
//! [`crate::protocols`].

/// `AsRawFd` and `AsFd` for a socket type whose `io` field is a `PollEvented` of a mio socket.
macro_rules! impl_as_fd {
    ($ty:ty) => {
        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.io.get_ref().as_raw_fd()
            }
        }

        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.io.get_ref().as_fd()
            }
        }
    };
}

/// `readable` and `writable` for a socket type whose `io` field is a `PollEvented`, each with
/// the doc comment given, and `ready(interest)` for both.
macro_rules! impl_readiness {
    ($ty:ident, readable = $readable:literal, writable = $writable:literal) => {
        impl $ty {
            #[doc = $readable]
            pub async fn readable(&self) -> std::io::Result<()> {
                self.io.ready($crate::io::Direction::Read).await;
                Ok(())
            }

            #[doc = $writable]
            pub async fn writable(&self) -> std::io::Result<()> {
                self.io.ready_to_write().await;
                Ok(())
            }

            /// Waits until any direction of `interest` is ready, as `readable`/`writable`
            /// wait for each, and says which ([`Ready`](crate::net::Ready); a closed state
            /// comes with its direction where the reactor reported it): tokio's `ready`, for
            /// one task that reads and writes with the `try_` calls. They may still meet
            /// `WouldBlock` (the readiness found gone): wait again. Cancel-safe.
            ///
            /// # Errors
            /// None: the `io::Result` is tokio's signature.
            pub async fn ready(
                &self,
                interest: $crate::net::Interest,
            ) -> std::io::Result<$crate::net::Ready> {
                Ok(std::future::poll_fn(|cx| self.io.poll_ready_set(cx, interest)).await)
            }
        }
    };
}

mod addr;
mod connect;
mod datagram;
#[cfg(feature = "hyper")]
mod hyper_io;
mod incoming;
mod per_core;
pub(crate) mod sendfile;
pub(crate) mod server_options;
pub(crate) mod serving;
pub(crate) mod split;
pub(crate) mod stream_impl;
mod tcp_listener;
mod tcp_stream;
mod udp;
mod unix_addr;
mod unix_datagram;
mod unix_listener;
mod unix_stream;

pub use crate::fd_watch::{AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, AsyncFdTryNewError, TryIoError};
pub use crate::io::{Interest, Ready};
pub use addr::{lookup_host, AddressFamily, ToSocketAddrs};
pub(crate) use addr::{resolve, OwnedAddr};
pub use connect::{ConnectErrors, ConnectOptions};
pub use incoming::Incoming;
pub use per_core::{available_cores, pin_to_core, run_per_core};
pub use server_options::ServerOptions;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError, Splittable};
pub use tcp_listener::TcpListener;
pub use tcp_stream::TcpStream;
pub use udp::UdpSocket;
pub use unix_datagram::UnixDatagram;
pub use unix_listener::UnixListener;
pub use unix_stream::UnixStream;
