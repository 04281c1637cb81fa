//! [`Source`]: what the io driver registers. A mio source, plus the descriptor behind it when
//! there is one: the epoll driver only needs the mio side, the io_uring driver polls the
//! descriptor itself (a source without one, the signal pipe, goes through a side `mio::Poll`).

use std::os::fd::{AsRawFd, RawFd};

/// A source the io driver can register.
pub(crate) trait Source: mio::event::Source {
    /// The descriptor to poll, or `None` when the source hides it (registered through mio only).
    #[cfg_attr(not(all(feature = "io-uring", target_os = "linux")), allow(dead_code))]
    fn raw_fd(&self) -> Option<RawFd>;
}

/// Every mio source with a descriptor (the sockets, the pipes, a pidfd).
impl<T: mio::event::Source + AsRawFd> Source for T {
    #[inline]
    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.as_raw_fd())
    }
}

/// A descriptor number as a mio source, for descriptors owned elsewhere (an `AsyncFd`'s inner
/// value, a pidfd, a watch's duplicate): whoever holds it deregisters it before the
/// descriptor closes (I4 in runtime/io/evented.rs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FdSource(pub(crate) RawFd);

impl mio::event::Source for FdSource {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> std::io::Result<()> {
        mio::unix::SourceFd(&self.0).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> std::io::Result<()> {
        mio::unix::SourceFd(&self.0).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
        mio::unix::SourceFd(&self.0).deregister(registry)
    }
}

impl AsRawFd for FdSource {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}
