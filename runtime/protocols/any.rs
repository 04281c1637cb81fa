//! [`AnyProtocol`]: what the entry points take, a [`Protocol`] or a [`BufferedProtocol`], and
//! the one shared handle ([`Shared`]) the connection's task and the transport call either
//! through.
//!
//! Why a kind parameter: the entry points should take a user's `Protocol` and a user's
//! `BufferedProtocol` alike, without a wrapper at the call site. One trait implemented for
//! both (`impl<P: Protocol> T for P` and `impl<B: BufferedProtocol> T for B`) is two
//! overlapping blanket impls, which coherence forbids (a type could implement both). With the
//! kind as a type parameter the two impls are of different traits (`AnyProtocol<Plain>`,
//! `AnyProtocol<Buffered>`), and the compiler infers the kind from the protocol's type at
//! each call: a type implementing both traits is ambiguous, a compile error naming the kind to
//! pick. Inside, the protocol becomes a [`Shared`], an enum of the two trait objects: one
//! driver, which matches on it where the two kinds differ (the read) and nowhere else.

use std::cell::{RefCell, RefMut};
use std::io;
use std::rc::{Rc, Weak};

use super::{BufferedProtocol, Protocol, Transport};

/// The kind of an [`AnyProtocol`] that is a [`Protocol`] (`data_received` gets the bytes).
#[derive(Debug)]
pub enum Plain {}

/// The kind of an [`AnyProtocol`] that is a [`BufferedProtocol`] (the transport reads into
/// its buffer).
#[derive(Debug)]
pub enum Buffered {}

/// A protocol the connection entry points take: every [`Protocol`] (kind [`Plain`]) and every
/// [`BufferedProtocol`] (kind [`Buffered`]). Implemented for those only; the kind is inferred
/// at the call, so `create_connection(MyProto::default, addr)` works for either.
///
/// ```
/// use aioloop::protocols::{AnyProtocol, BufferedProtocol, Protocol};
///
/// struct Lines;
/// impl Protocol for Lines {}
///
/// struct Direct([u8; 16]);
/// impl BufferedProtocol for Direct {
///     fn get_buffer(&mut self, _sizehint: Option<usize>) -> &mut [u8] {
///         &mut self.0
///     }
///     fn buffer_updated(&mut self, _nbytes: usize) {}
/// }
///
/// fn takes<K, P: AnyProtocol<K>>(_: P) {}
/// takes(Lines);
/// takes(Direct([0; 16]));
/// ```
pub trait AnyProtocol<K>: sealed::Share<K> + 'static {}

impl<P: Protocol + 'static> AnyProtocol<Plain> for P {}
impl<P: BufferedProtocol + 'static> AnyProtocol<Buffered> for P {}

pub(super) mod sealed {
    use super::*;

    /// Turns the user's protocol into the handle the connection calls it through.
    pub trait Share<K> {
        fn share(this: Rc<RefCell<Self>>) -> Shared;
    }

    impl<P: Protocol + 'static> Share<Plain> for P {
        fn share(this: Rc<RefCell<Self>>) -> Shared {
            Shared::Plain(this)
        }
    }

    impl<P: BufferedProtocol + 'static> Share<Buffered> for P {
        fn share(this: Rc<RefCell<Self>>) -> Shared {
            Shared::Buffered(this)
        }
    }
}

/// A connection's protocol, of either kind.
pub enum Shared {
    Plain(Rc<RefCell<dyn Protocol>>),
    Buffered(Rc<RefCell<dyn BufferedProtocol>>),
}

/// [`Shared`] without keeping the protocol alive (the transport's link to it: the protocol
/// usually holds the transport).
pub enum WeakShared {
    Plain(Weak<RefCell<dyn Protocol>>),
    Buffered(Weak<RefCell<dyn BufferedProtocol>>),
}

/// The callbacks both kinds have (asyncio's `BaseProtocol`, and `eof_received`), borrowed.
enum Base<'a> {
    Plain(RefMut<'a, dyn Protocol>),
    Buffered(RefMut<'a, dyn BufferedProtocol>),
}

macro_rules! each {
    ($base:expr, $p:ident => $e:expr) => {
        match $base {
            Base::Plain(mut $p) => $e,
            Base::Buffered(mut $p) => $e,
        }
    };
}

impl Shared {
    pub(super) fn downgrade(&self) -> WeakShared {
        match self {
            Shared::Plain(p) => WeakShared::Plain(Rc::downgrade(p)),
            Shared::Buffered(p) => WeakShared::Buffered(Rc::downgrade(p)),
        }
    }

    /// Borrows the protocol (panics if it is borrowed, as a `RefCell` does).
    fn base(&self) -> Base<'_> {
        match self {
            Shared::Plain(p) => Base::Plain(p.borrow_mut()),
            Shared::Buffered(p) => Base::Buffered(p.borrow_mut()),
        }
    }

    pub(super) fn connection_made(&self, transport: Transport) {
        each!(self.base(), p => p.connection_made(transport))
    }

    pub(super) fn eof_received(&self) -> bool {
        each!(self.base(), p => p.eof_received())
    }

    pub(super) fn connection_lost(&self, exc: Option<io::Error>) {
        each!(self.base(), p => p.connection_lost(exc))
    }
}

#[cfg(feature = "tls")]
impl WeakShared {
    /// The protocol, if it is still alive (for `start_tls`'s new transport).
    pub(super) fn upgrade(&self) -> Option<Shared> {
        Some(match self {
            WeakShared::Plain(p) => Shared::Plain(p.upgrade()?),
            WeakShared::Buffered(p) => Shared::Buffered(p.upgrade()?),
        })
    }
}
