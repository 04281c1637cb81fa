//! [`unix_addr`]: the address a Unix socket path names, for
//! [`UnixListener::bind`](super::UnixListener::bind),
//! [`UnixStream::connect`](super::UnixStream::connect) and
//! [`UnixDatagram::bind`](super::UnixDatagram::bind).

use std::io;
use std::path::Path;

/// The address of the socket `path` names: on Linux and Android a path beginning with a NUL
/// byte names a socket in the abstract namespace (the rest of the path is the name), as with
/// tokio; anywhere else, and for every other path, a socket file.
pub(crate) fn unix_addr(path: &Path) -> io::Result<std::os::unix::net::SocketAddr> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::ffi::OsStrExt;

        if let Some(name) = path.as_os_str().as_bytes().strip_prefix(b"\0") {
            return std::os::unix::net::SocketAddr::from_abstract_name(name);
        }
    }
    std::os::unix::net::SocketAddr::from_pathname(path)
}
