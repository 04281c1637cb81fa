//! Address resolution for `bind` and `connect`.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// Resolves `addr` with the standard library's resolver (which blocks the loop for a host name
/// lookup; pass a `SocketAddr` or an IP literal to avoid that).
pub(crate) fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        ));
    }
    Ok(addrs)
}

/// Tries `f` on each resolved address in turn; returns the first success or the last error.
pub(crate) fn first_ok<T>(
    addr: impl ToSocketAddrs,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for addr in resolve(addr)? {
        match f(addr) {
            Ok(value) => return Ok(value),
            Err(err) => last = Some(err),
        }
    }
    Err(last.expect("resolve returns at least one address"))
}
