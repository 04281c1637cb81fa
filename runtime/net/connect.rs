//! [`ConnectOptions`]: how [`TcpStream::connect_with`] and
//! [`open_connection_with`](crate::streams::open_connection_with) try a host's addresses:
//! asyncio's `create_connection(happy_eyeballs_delay=..., interleave=..., local_addr=...)`,
//! Happy Eyeballs (RFC 8305) on [`staggered_race`].

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use super::addr::{resolve, AddressFamily};
use super::{TcpStream, ToSocketAddrs};
use crate::combinators::{staggered_race, AttemptError};

/// How to try the addresses a host resolves to: asyncio's `happy_eyeballs_delay` and
/// `interleave` arguments of `create_connection` / `open_connection`, for
/// [`TcpStream::connect_with`] and [`open_connection_with`](crate::streams::open_connection_with).
///
/// The default is asyncio's: one address after another, each tried until it fails, in the
/// resolver's order. With [`happy_eyeballs_delay`](Self::happy_eyeballs_delay) (RFC 8305,
/// "Happy Eyeballs"), the next address is tried as soon as the previous one failed or once that
/// delay has passed since it was tried, while the earlier attempts go on; the first connection
/// made wins and the other attempts are dropped, their sockets closed. RFC 8305 recommends
/// 250 ms. [`interleave`](Self::interleave) reorders the addresses by family (IPv6 and IPv4 in
/// turn), which a delay turns on, as in asyncio. [`local_addr`](Self::local_addr) binds each
/// attempt's socket before it connects; [`family`](Self::family) keeps the addresses of one
/// family.
///
/// ```
/// use std::time::Duration;
/// use aioloop::net::{ConnectOptions, TcpListener, TcpStream};
///
/// aioloop::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let port = listener.local_addr().unwrap().port();
///     // "localhost" may resolve to ::1 and 127.0.0.1: whichever answers first is kept.
///     let options = ConnectOptions::new().happy_eyeballs_delay(Duration::from_millis(250));
///     let stream = TcpStream::connect_with(("localhost", port), options).await.unwrap();
///     assert_eq!(stream.peer_addr().unwrap().port(), port);
/// });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    happy_eyeballs_delay: Option<Duration>,
    interleave: Option<usize>,
    local_addr: Option<SocketAddr>,
    all_errors: bool,
    family: Option<AddressFamily>,
}

impl ConnectOptions {
    /// asyncio's defaults: no Happy Eyeballs, the addresses in the resolver's order, one after
    /// another.
    pub const fn new() -> Self {
        ConnectOptions {
            happy_eyeballs_delay: None,
            interleave: None,
            local_addr: None,
            all_errors: false,
            family: None,
        }
    }

    /// Tries the addresses with Happy Eyeballs: the next one `delay` after the previous one was
    /// tried (or as soon as it failed), the first connection made winning: asyncio's
    /// `happy_eyeballs_delay` (RFC 8305 recommends 250 ms). Unless
    /// [`interleave`](Self::interleave) says otherwise, the addresses are interleaved by
    /// family, one of the first family first (asyncio's `interleave` defaults to 1 then).
    pub const fn happy_eyeballs_delay(mut self, delay: Duration) -> Self {
        self.happy_eyeballs_delay = Some(delay);
        self
    }

    /// Reorders the addresses by family before trying them: `first_family_count` addresses of
    /// the first family (the family of the resolver's first address), then one of each family
    /// in turn: asyncio's `interleave` (RFC 8305's "First Address Family Count"). 0 keeps the
    /// resolver's order. Applies with or without a Happy Eyeballs delay, as in asyncio.
    pub const fn interleave(mut self, first_family_count: usize) -> Self {
        self.interleave = Some(first_family_count);
        self
    }

    /// Binds the socket to `addr` before it connects: asyncio's `local_addr`. Port 0 lets the
    /// system choose the port; an IP address of the right family is needed, so an attempt to
    /// connect to an address of the other family fails ("no matching local address"), as in
    /// asyncio (with a delay or several addresses, the next one is tried). A bind error names
    /// the address: "error while attempting to bind on address 127.0.0.1:8080: address in use"
    /// (of the bind error's kind, `AddrInUse` there), asyncio's message.
    ///
    /// ```
    /// use aioloop::net::{ConnectOptions, TcpListener, TcpStream};
    ///
    /// aioloop::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let options = ConnectOptions::new().local_addr("127.0.0.1:0".parse().unwrap());
    ///     let stream = TcpStream::connect_with(listener.local_addr().unwrap(), options)
    ///         .await
    ///         .unwrap();
    ///     let (_, peer) = listener.accept().await.unwrap();
    ///     assert_eq!(stream.local_addr().unwrap(), peer);
    /// });
    /// ```
    pub const fn local_addr(mut self, addr: SocketAddr) -> Self {
        self.local_addr = Some(addr);
        self
    }

    /// When every attempt fails, returns all their errors in one [`ConnectErrors`] (asyncio's
    /// `all_errors=True`, which raises an `ExceptionGroup`) instead of the combined message.
    ///
    /// ```
    /// use aioloop::net::{ConnectErrors, ConnectOptions, TcpListener, TcpStream};
    ///
    /// aioloop::run(async {
    ///     let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    ///     let options = ConnectOptions::new().all_errors(true);
    ///     let err = TcpStream::connect_with(&[closed, closed][..], options).await.unwrap_err();
    ///     let group = err.get_ref().unwrap().downcast_ref::<ConnectErrors>().unwrap();
    ///     assert_eq!(group.errors().len(), 2);
    /// });
    /// ```
    pub const fn all_errors(mut self, all: bool) -> Self {
        self.all_errors = all;
        self
    }

    /// Tries only the addresses of `family` the host resolves to: asyncio's `family=AF_INET`
    /// or `AF_INET6` (both by default, `AF_UNSPEC`). None of that family is `InvalidInput`
    /// ("could not resolve to any address of family AF_INET6"), before any attempt.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use aioloop::net::{AddressFamily, ConnectOptions, TcpListener, TcpStream};
    ///
    /// aioloop::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let port = listener.local_addr().unwrap().port();
    ///     // "localhost" may resolve to ::1 too: only 127.0.0.1 is tried.
    ///     let options = ConnectOptions::new().family(AddressFamily::Ipv4);
    ///     let stream = TcpStream::connect_with(("localhost", port), options).await.unwrap();
    ///     assert!(stream.peer_addr().unwrap().is_ipv4());
    ///     let options = ConnectOptions::new().family(AddressFamily::Ipv6);
    ///     let err = TcpStream::connect_with(("127.0.0.1", port), options).await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// });
    /// ```
    pub const fn family(mut self, family: AddressFamily) -> Self {
        self.family = Some(family);
        self
    }

    /// The address family the addresses are kept of, if one was given.
    pub const fn only_family(&self) -> Option<AddressFamily> {
        self.family
    }

    /// The local address each socket is bound to before it connects, if any.
    pub const fn bound_to(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// The Happy Eyeballs delay, if any.
    pub const fn delay(&self) -> Option<Duration> {
        self.happy_eyeballs_delay
    }

    /// The interleave in effect: as set, or 1 with a Happy Eyeballs delay and 0 (none)
    /// without, as asyncio's default.
    pub const fn first_family_count(&self) -> usize {
        match (self.interleave, self.happy_eyeballs_delay) {
            (Some(count), _) => count,
            (None, Some(_)) => 1,
            (None, None) => 0,
        }
    }
}

/// [`TcpStream::connect_with`]: resolves, reorders, races.
pub(super) async fn connect_with(
    addr: impl ToSocketAddrs,
    options: ConnectOptions,
    what: &'static str,
) -> io::Result<TcpStream> {
    let mut addrs = AddressFamily::filter(resolve(addr, what).await?, options.family)?;
    let count = options.first_family_count();
    if count > 0 {
        addrs = interleave(addrs, count);
    }
    // Without a delay, the race starts each attempt once the previous one failed: asyncio's
    // sequential loop.
    let outcome = staggered_race(
        addrs.into_iter().map(|addr| {
            move || async move {
                let connected = match options.local_addr {
                    None => TcpStream::connect_addr(addr).await,
                    Some(local) => TcpStream::finish_connect(bind_and_connect(local, addr)?).await,
                };
                connected
                    .map_err(|err| io::Error::new(err.kind(), format!("connect to {addr} failed: {err}")))
            }
        }),
        options.happy_eyeballs_delay,
    )
    .await;
    if let Some((_, stream)) = outcome.winner {
        return Ok(stream);
    }
    let errors = outcome.errors.into_iter().flatten().filter_map(|err| match err {
        AttemptError::Failed(err) => Some(err),
        AttemptError::Cancelled => None,
    });
    let errors = errors.collect();
    Err(if options.all_errors {
        ConnectErrors::into_error(errors)
    } else {
        combine(errors)
    })
}

/// Every attempt's error when a connect with [`ConnectOptions::all_errors`] failed: asyncio's
/// `ExceptionGroup("create_connection failed", exceptions)`. It is the payload of the
/// `io::Error` returned (`err.get_ref()` and `downcast_ref`), whose kind is the attempts'
/// kind if they share one, else `Other`. Each error names its address.
#[derive(Debug)]
pub struct ConnectErrors {
    errors: Vec<io::Error>,
}

impl ConnectErrors {
    fn into_error(errors: Vec<io::Error>) -> io::Error {
        io::Error::new(shared_kind(&errors), ConnectErrors { errors })
    }

    /// The attempts' errors, in the order the attempts were started.
    pub fn errors(&self) -> &[io::Error] {
        &self.errors
    }

    /// Takes the attempts' errors.
    pub fn into_errors(self) -> Vec<io::Error> {
        self.errors
    }
}

impl std::fmt::Display for ConnectErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "create_connection failed ({} errors)", self.errors.len())?;
        for err in &self.errors {
            write!(f, "; {err}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConnectErrors {}

/// The kind the errors share, or `Other` (and `Other` for none).
fn shared_kind(errors: &[io::Error]) -> io::ErrorKind {
    match errors.first() {
        Some(first) if errors.iter().all(|err| err.kind() == first.kind()) => first.kind(),
        _ => io::ErrorKind::Other,
    }
}

/// A socket bound to `local` with its non-blocking connect to `remote` started: asyncio's
/// `_connect_sock` with `local_addr`, and its errors (a bind error names the address; a local
/// address of another family than `remote`'s is no match).
fn bind_and_connect(local: SocketAddr, remote: SocketAddr) -> io::Result<mio::net::TcpStream> {
    if local.is_ipv4() != remote.is_ipv4() {
        let family = if remote.is_ipv4() { "AF_INET" } else { "AF_INET6" };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no matching local address with family={family} found"),
        ));
    }
    // `Socket::new` sets close-on-exec, as every socket aioloop opens.
    let socket = Socket::new(Domain::for_address(remote), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    socket.bind(&local.into()).map_err(|err| {
        let reason = err.to_string().to_lowercase();
        io::Error::new(
            err.kind(),
            format!("error while attempting to bind on address {local}: {reason}"),
        )
    })?;
    match socket.connect(&remote.into()) {
        Err(err) if err.raw_os_error() != Some(libc::EINPROGRESS) => return Err(err),
        _ => {}
    }
    Ok(mio::net::TcpStream::from_std(socket.into()))
}

/// The addresses grouped by family, in order of first appearance, then `first_family_count - 1`
/// of the first family, then one of each family in turn: asyncio's `_interleave_addrinfos`.
pub(super) fn interleave(addrs: Vec<SocketAddr>, first_family_count: usize) -> Vec<SocketAddr> {
    let mut families: Vec<Vec<SocketAddr>> = Vec::new();
    for addr in addrs {
        match families
            .iter_mut()
            .find(|family| family[0].is_ipv6() == addr.is_ipv6())
        {
            Some(family) => family.push(addr),
            None => families.push(vec![addr]),
        }
    }
    let mut reordered = Vec::new();
    let mut queues: Vec<std::vec::IntoIter<SocketAddr>> = families.into_iter().map(Vec::into_iter).collect();
    if let Some(first) = queues.first_mut() {
        reordered.extend(first.by_ref().take(first_family_count.saturating_sub(1)));
    }
    loop {
        let before = reordered.len();
        for queue in &mut queues {
            reordered.extend(queue.next());
        }
        if reordered.len() == before {
            return reordered;
        }
    }
}

/// One error for the failed attempts, as asyncio's `create_connection` raises it: the only
/// one, or the first if all say the same, else "Multiple exceptions: ..." listing them (of
/// their kind if they share one).
fn combine(mut errors: Vec<io::Error>) -> io::Error {
    if errors.len() <= 1 {
        return errors.pop().unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "could not resolve to any address")
        });
    }
    let first = errors[0].to_string();
    if errors.iter().all(|err| err.to_string() == first) {
        return errors.swap_remove(0);
    }
    let kind = shared_kind(&errors);
    let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
    io::Error::new(kind, format!("Multiple exceptions: {}", list.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::interleave;
    use std::net::SocketAddr;

    /// CPython test_base_events.py `test_interleave_addrinfos`, on socket addresses.
    #[test]
    fn test_interleave_addrinfos() {
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        let (six_a, six_b, six_c, six_d) = (
            addr("[2001:db8::1]:1"),
            addr("[2001:db8::2]:2"),
            addr("[2001:db8::3]:3"),
            addr("[2001:db8::4]:4"),
        );
        let (four_a, four_b, four_c, four_d) = (
            addr("192.0.2.1:5"),
            addr("192.0.2.2:6"),
            addr("192.0.2.3:7"),
            addr("192.0.2.4:8"),
        );
        let addrinfos = vec![six_a, six_b, six_c, four_a, four_b, four_c, four_d, six_d];
        assert_eq!(
            interleave(addrinfos.clone(), 1),
            [six_a, four_a, six_b, four_b, six_c, four_c, six_d, four_d]
        );
        assert_eq!(
            interleave(addrinfos.clone(), 2),
            [six_a, six_b, four_a, six_c, four_b, six_d, four_c, four_d]
        );
        // One family: the order stays.
        assert_eq!(interleave(vec![four_b, four_a], 1), [four_b, four_a]);
        assert_eq!(interleave(Vec::new(), 1), []);
    }
}
