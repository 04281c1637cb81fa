//! [`ToSocketAddrs`], the addresses that `bind`, `connect` and `send_to` take, and
//! [`lookup_host`]: literal addresses resolve at once, host names on the loop's blocking pool.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::vec;

use crate::context;
use crate::threadsafe::{to_thread, ToThread};

/// An address to bind or connect to, or to send to: aioloop's counterpart of
/// [`std::net::ToSocketAddrs`] (as tokio's `tokio::net::ToSocketAddrs` is), taken by
/// [`TcpListener::bind`](super::TcpListener::bind), [`TcpStream::connect`](super::TcpStream::connect),
/// [`UdpSocket::bind`](super::UdpSocket::bind), [`UdpSocket::send_to`](super::UdpSocket::send_to),
/// [`open_connection`](crate::streams::open_connection), [`lookup_host`] and the like.
///
/// **Literal addresses resolve at once, on the loop:** [`SocketAddr`], [`SocketAddrV4`],
/// [`SocketAddrV6`], `(IpAddr, u16)`, `(Ipv4Addr, u16)`, `(Ipv6Addr, u16)`, `&[SocketAddr]`, a
/// string that parses as a socket address (`"127.0.0.1:8080"`, `"[::1]:8080"`) and a
/// `(&str, u16)` or `(String, u16)` whose host is an IP address (`("127.0.0.1", 8080)`).
///
/// **Host names are looked up without blocking the loop:** `"localhost:8080"`,
/// `("example.com", 80)` and their `String` forms go to the system resolver (`getaddrinfo`,
/// through the standard library) on the loop's pool of blocking threads, the one behind
/// [`to_thread`], and are awaited there: the other tasks run while DNS
/// answers, as in asyncio, whose `loop.getaddrinfo` runs in the default executor. The pool
/// is bounded ([`Builder::blocking_threads`](crate::Builder::blocking_threads)), so a lookup
/// queued behind long blocking calls waits for a free thread.
///
/// Errors are the standard library's: a string that is not `host:port` gives `InvalidInput`
/// ("invalid socket address", or "invalid port value"), a name that does not resolve gives the
/// resolver's error, and `bind`/`connect` give `InvalidInput` ("could not resolve to any
/// address") when there is no address to try.
///
/// The trait is sealed: it is implemented for the types above, for `str` and `String`, and for
/// `&T` of any of them, and cannot be implemented outside aioloop; its method is not public.
/// To resolve an address yourself, use [`lookup_host`].
///
/// ```
/// use std::io::ErrorKind;
/// use aioloop::net::{TcpListener, TcpStream};
///
/// aioloop::run(async {
///     // A host name: looked up on a pool thread while the loop runs other tasks.
///     let listener = TcpListener::bind("localhost:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     TcpStream::connect(format!("localhost:{}", addr.port())).await.unwrap();
///     // Literal addresses: used at once, no lookup.
///     TcpStream::connect(addr).await.unwrap();
///     TcpStream::connect((addr.ip(), addr.port())).await.unwrap();
///     TcpStream::connect(&[addr][..]).await.unwrap();
///     // Not an address at all.
///     let err = TcpStream::connect("127.0.0.1").await.unwrap_err();
///     assert_eq!(err.kind(), ErrorKind::InvalidInput);
/// });
/// ```
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

/// Resolves `addr` to its socket addresses without blocking the loop: asyncio's
/// `loop.getaddrinfo(host, port)`, tokio's `lookup_host`. A literal address comes back at once;
/// a host name is looked up on the loop's blocking pool (see [`ToSocketAddrs`]). The list may
/// be empty if the resolver found no address.
///
/// # Panics
/// If a host name must be looked up and no loop is running on this thread.
///
/// ```
/// aioloop::run(async {
///     let addrs: Vec<_> = aioloop::net::lookup_host(("localhost", 8080)).await.unwrap().collect();
///     assert!(!addrs.is_empty());
///     assert!(addrs.iter().all(|addr| addr.ip().is_loopback() && addr.port() == 8080));
/// });
/// ```
pub async fn lookup_host(addr: impl ToSocketAddrs) -> io::Result<vec::IntoIter<SocketAddr>> {
    let addrs = addr.to_socket_addrs(sealed::Internal("net::lookup_host")).await?;
    Ok(addrs.into_iter())
}

/// Resolves `addr` for `what`, the function the user called (named in the panic when a name
/// must be looked up with no loop running): at least one address, or an error.
pub(crate) async fn resolve(addr: impl ToSocketAddrs, what: &'static str) -> io::Result<Vec<SocketAddr>> {
    let addrs = addr.to_socket_addrs(sealed::Internal(what)).await?;
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        ));
    }
    Ok(addrs)
}

/// An IP address family, to keep only the addresses of one: asyncio's `family=AF_INET` or
/// `family=AF_INET6` argument, taken by [`ServerOptions::family`](super::ServerOptions::family)
/// and [`ConnectOptions::family`](super::ConnectOptions::family) (no family given is asyncio's
/// default, `AF_UNSPEC`: both).
///
/// ```
/// use aioloop::net::AddressFamily;
///
/// let addr: std::net::SocketAddr = "[::1]:80".parse().unwrap();
/// assert_eq!(AddressFamily::of(&addr), AddressFamily::Ipv6);
/// assert_eq!(AddressFamily::Ipv4.to_string(), "AF_INET");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// IPv4 (`AF_INET`).
    Ipv4,
    /// IPv6 (`AF_INET6`).
    Ipv6,
}

impl AddressFamily {
    /// The family of `addr`.
    pub const fn of(addr: &SocketAddr) -> AddressFamily {
        match addr {
            SocketAddr::V4(_) => AddressFamily::Ipv4,
            SocketAddr::V6(_) => AddressFamily::Ipv6,
        }
    }

    /// The addresses of `family` among `addrs` (all of them for `None`): at least one, or
    /// `InvalidInput` naming the family (asyncio's `getaddrinfo` with a `family` finds none).
    pub(crate) fn filter(
        mut addrs: Vec<SocketAddr>,
        family: Option<AddressFamily>,
    ) -> io::Result<Vec<SocketAddr>> {
        let Some(family) = family else {
            return Ok(addrs);
        };
        addrs.retain(|addr| AddressFamily::of(addr) == family);
        if addrs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("could not resolve to any address of family {family}"),
            ));
        }
        Ok(addrs)
    }
}

impl std::fmt::Display for AddressFamily {
    /// The C name: `AF_INET` or `AF_INET6`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AddressFamily::Ipv4 => "AF_INET",
            AddressFamily::Ipv6 => "AF_INET6",
        })
    }
}

/// Resolves `addr` (see [`resolve`]), then tries `f` on each address in turn; returns the first
/// success or the last error.
pub(crate) async fn first_ok<T>(
    addr: impl ToSocketAddrs,
    what: &'static str,
    mut f: impl AsyncFnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for addr in resolve(addr, what).await? {
        match f(addr).await {
            Ok(value) => return Ok(value),
            Err(err) => last = Some(err),
        }
    }
    Err(last.expect("resolve returns at least one address"))
}

pub(crate) mod sealed {
    use super::Resolve;

    /// The sealed half of [`ToSocketAddrs`](super::ToSocketAddrs): outside aioloop it can be
    /// neither named nor called (its argument cannot be built).
    pub trait ToSocketAddrsPriv {
        /// Starts resolving the address.
        fn to_socket_addrs(&self, internal: Internal) -> Resolve;

        /// The address as an owned value, to resolve later (options that keep an address).
        fn to_owned_addr(&self) -> super::OwnedAddr;
    }

    /// Proof that the caller is aioloop, carrying the name of the function the user called.
    #[derive(Clone, Copy, Debug)]
    pub struct Internal(pub(crate) &'static str);
}

use sealed::{Internal, ToSocketAddrsPriv};

/// An address kept to be resolved later, as the [`ToSocketAddrs`] it was made from resolves
/// (the options of [`create_datagram_endpoint`](crate::protocols::create_datagram_endpoint)).
#[derive(Debug, Clone)]
pub enum OwnedAddr {
    /// Literal addresses.
    Literal(Vec<SocketAddr>),
    /// A `"host:port"` string.
    HostPortStr(String),
    /// A host and a port.
    HostPort(String, u16),
}

impl ToSocketAddrs for OwnedAddr {}

impl ToSocketAddrsPriv for OwnedAddr {
    fn to_socket_addrs(&self, internal: Internal) -> Resolve {
        match self {
            OwnedAddr::Literal(addrs) => Resolve::done(Ok(addrs.clone())),
            OwnedAddr::HostPortStr(s) => Resolve::host_port_str(s, internal),
            OwnedAddr::HostPort(host, port) => Resolve::host_port(host, *port, internal),
        }
    }

    fn to_owned_addr(&self) -> OwnedAddr {
        self.clone()
    }
}

/// The future of a resolution: either its outcome already, or a lookup on the blocking pool.
pub struct Resolve(State);

enum State {
    Done(Option<io::Result<Vec<SocketAddr>>>),
    Lookup(ToThread<io::Result<Vec<SocketAddr>>>),
}

impl Resolve {
    fn done(outcome: io::Result<Vec<SocketAddr>>) -> Resolve {
        Resolve(State::Done(Some(outcome)))
    }

    fn invalid(message: &'static str) -> Resolve {
        Resolve::done(Err(io::Error::new(io::ErrorKind::InvalidInput, message)))
    }

    /// `"host:port"`, parsed as the standard library parses it.
    fn host_port_str(s: &str, internal: Internal) -> Resolve {
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Resolve::done(Ok(vec![addr]));
        }
        let Some((host, port)) = s.rsplit_once(':') else {
            return Resolve::invalid("invalid socket address");
        };
        let Ok(port) = port.parse::<u16>() else {
            return Resolve::invalid("invalid port value");
        };
        Resolve::host_port(host, port, internal)
    }

    /// An IP literal at once; anything else is a name for the resolver, on the blocking pool.
    fn host_port(host: &str, port: u16, internal: Internal) -> Resolve {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Resolve::done(Ok(vec![SocketAddr::new(ip, port)]));
        }
        // Checked here so that the panic names the user's call rather than `to_thread`.
        context::expect_current(internal.0);
        let host = host.to_owned();
        Resolve(State::Lookup(to_thread(move || {
            std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port)).map(Iterator::collect)
        })))
    }
}

impl Future for Resolve {
    type Output = io::Result<Vec<SocketAddr>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().0 {
            State::Done(outcome) => Poll::Ready(
                outcome
                    .take()
                    .expect("aioloop: an address resolution was polled after it completed"),
            ),
            State::Lookup(lookup) => Poll::Ready(ready!(Pin::new(lookup).poll(cx)).unwrap_or_else(|err| {
                Err(io::Error::other(format!(
                    "aioloop: the host name lookup did not complete: {err}"
                )))
            })),
        }
    }
}

/// Addresses that are literal whatever their value: converted on the spot.
macro_rules! literal_addrs {
    ($($ty:ty),*) => {$(
        impl ToSocketAddrs for $ty {}

        impl ToSocketAddrsPriv for $ty {
            fn to_socket_addrs(&self, _: Internal) -> Resolve {
                Resolve::done(Ok(vec![SocketAddr::from(*self)]))
            }

            fn to_owned_addr(&self) -> OwnedAddr {
                OwnedAddr::Literal(vec![SocketAddr::from(*self)])
            }
        }
    )*};
}

literal_addrs!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for [SocketAddr] {}

impl ToSocketAddrsPriv for [SocketAddr] {
    fn to_socket_addrs(&self, _: Internal) -> Resolve {
        Resolve::done(Ok(self.to_vec()))
    }

    fn to_owned_addr(&self) -> OwnedAddr {
        OwnedAddr::Literal(self.to_vec())
    }
}

impl ToSocketAddrs for str {}

impl ToSocketAddrsPriv for str {
    fn to_socket_addrs(&self, internal: Internal) -> Resolve {
        Resolve::host_port_str(self, internal)
    }

    fn to_owned_addr(&self) -> OwnedAddr {
        OwnedAddr::HostPortStr(self.to_string())
    }
}

impl ToSocketAddrs for String {}

impl ToSocketAddrsPriv for String {
    fn to_socket_addrs(&self, internal: Internal) -> Resolve {
        Resolve::host_port_str(self, internal)
    }

    fn to_owned_addr(&self) -> OwnedAddr {
        OwnedAddr::HostPortStr(self.to_string())
    }
}

impl ToSocketAddrs for (&str, u16) {}

impl ToSocketAddrsPriv for (&str, u16) {
    fn to_socket_addrs(&self, internal: Internal) -> Resolve {
        Resolve::host_port(self.0, self.1, internal)
    }

    fn to_owned_addr(&self) -> OwnedAddr {
        OwnedAddr::HostPort(self.0.to_owned(), self.1)
    }
}

impl ToSocketAddrs for (String, u16) {}

impl ToSocketAddrsPriv for (String, u16) {
    fn to_socket_addrs(&self, internal: Internal) -> Resolve {
        Resolve::host_port(&self.0, self.1, internal)
    }

    fn to_owned_addr(&self) -> OwnedAddr {
        OwnedAddr::HostPort(self.0.clone(), self.1)
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrsPriv for &T {
    fn to_socket_addrs(&self, internal: Internal) -> Resolve {
        (**self).to_socket_addrs(internal)
    }

    fn to_owned_addr(&self) -> OwnedAddr {
        (**self).to_owned_addr()
    }
}

#[cfg(test)]
#[path = "addr_tests.rs"]
mod tests;
