//! The streams API over TLS (feature `tls`): asyncio's `open_connection(..., ssl=)`,
//! `start_server(..., ssl=)` and their Unix twins. The handshake runs before the caller gets
//! the reader and the writer (before the handler is called, on a server).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::unix::net::SocketAddr as UnixSocketAddr;
use std::path::Path;
use std::rc::{Rc, Weak};

use futures_io::AsyncWrite;

use super::server::{ConnectionGuard, Server};
use super::{Socket, StreamReader, StreamWriter};
use crate::net::serving::{ServerControl, ServerListener};
use crate::net::{TcpStream, ToSocketAddrs, UnixStream};
use crate::tls::{ClientTls, PendingHandshake, ServerTls};

/// Connects to `addr`, makes the TLS handshake, and returns a reader and a writer: asyncio's
/// `open_connection(host, port, ssl=ctx, server_hostname=name)`. `tls` holds the config, the
/// name the server's certificate must prove and the handshake timeout (asyncio's
/// `ssl_handshake_timeout`, 60 s by default). `TCP_NODELAY` is set, as asyncio does.
///
/// See [`crate::tls`] for an example.
///
/// # Errors
/// The connect's error; the handshake's (a certificate not valid for the server name or not
/// trusted is `InvalidData`, carrying rustls's error); `TimedOut` if the handshake takes
/// longer than the timeout.
///
/// # Panics
/// If no loop is running on this thread.
pub async fn open_connection_tls(
    addr: impl ToSocketAddrs,
    tls: &ClientTls,
) -> io::Result<(StreamReader, StreamWriter)> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let addresses = Addresses::of_tcp(&stream);
    let stream = crate::tls::connect(stream, tls).await?;
    let (reader, writer, _) = pair(stream, addresses);
    Ok((reader, writer))
}

/// [`open_connection_tls`] to the Unix-domain socket at `path`: asyncio's
/// `open_unix_connection(path, ssl=ctx, server_hostname=name)`.
///
/// # Errors
/// As [`open_connection_tls`].
///
/// # Panics
/// If no loop is running on this thread.
pub async fn open_unix_connection_tls(
    path: impl AsRef<Path>,
    tls: &ClientTls,
) -> io::Result<(StreamReader, StreamWriter)> {
    let stream = UnixStream::connect(path).await?;
    let addresses = Addresses::of_unix(&stream);
    let stream = crate::tls::connect(stream, tls).await?;
    let (reader, writer, _) = pair(stream, addresses);
    Ok((reader, writer))
}

/// Starts a TLS server on `addr`: asyncio's `start_server(client_connected_cb, host, port,
/// ssl=ctx)`. Each connection makes its handshake in its own task, then `handler(reader,
/// writer)` runs there; a connection whose handshake fails or takes longer than the
/// [`ServerTls::handshake_timeout`] is closed and never reaches the handler. A connection in
/// its handshake is the server's already, as in asyncio: [`Server::wait_closed`] waits for it,
/// [`Server::close_clients`] and [`Server::abort_clients`] end it.
///
/// See [`crate::tls`] for an example.
///
/// # Errors
/// The bind's error.
///
/// # Panics
/// If no loop is running on this thread.
pub async fn start_server_tls<H, Fut>(
    handler: H,
    addr: impl ToSocketAddrs,
    tls: ServerTls,
) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let (listener, local) = ServerListener::bind_tcp(addr).await?;
    Ok(serve(listener, Some(local), handler, tls))
}

/// [`start_server_tls`] on the Unix-domain socket file `path`: asyncio's
/// `start_unix_server(client_connected_cb, path, ssl=ctx)`. The socket file is handled as
/// [`start_unix_server`](super::start_unix_server) does.
///
/// # Errors
/// The bind's error.
///
/// # Panics
/// If no loop is running on this thread.
pub async fn start_unix_server_tls<H, Fut>(
    handler: H,
    path: impl AsRef<Path>,
    tls: ServerTls,
) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let listener = ServerListener::bind_unix(path.as_ref())?;
    Ok(serve(listener, None, handler, tls))
}

/// A connection as the listener hands it over, before its handshake.
enum Accepted {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// Starts the accept task: each connection's handshake and handler run in its own task.
fn serve<H, Fut>(listener: ServerListener, local: Option<SocketAddr>, handler: H, tls: ServerTls) -> Server
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let handler = Rc::new(handler);
    let tls = Rc::new(tls);
    let control = ServerControl::start(
        listener,
        local,
        Accepted::Tcp,
        Accepted::Unix,
        move |serving, accepted| {
            let pending = Rc::new(PendingHandshake::default());
            let weak: Weak<PendingHandshake> = Rc::downgrade(&pending);
            let guard = ConnectionGuard::pending(serving, weak);
            let handler = handler.clone();
            let tls = tls.clone();
            drop(crate::spawn(async move {
                let made = match accepted {
                    Accepted::Tcp(stream) => {
                        let addresses = Addresses::of_tcp(&stream);
                        crate::tls::accept(stream, &tls, &pending)
                            .await
                            .map(|s| pair(s, addresses))
                    }
                    Accepted::Unix(stream) => {
                        let addresses = Addresses::of_unix(&stream);
                        crate::tls::accept(stream, &tls, &pending)
                            .await
                            .map(|s| pair(s, addresses))
                    }
                };
                drop(pending);
                if let Ok((reader, writer, socket)) = made {
                    guard.connected(&writer, socket);
                    handler(reader, writer).await;
                }
                drop(guard);
            }));
        },
    );
    Server { control }
}

/// A socket's addresses, read before the handshake takes the socket.
enum Addresses {
    Inet(Option<SocketAddr>, Option<SocketAddr>),
    Unix(Option<UnixSocketAddr>, Option<UnixSocketAddr>),
}

impl Addresses {
    fn of_tcp(stream: &TcpStream) -> Self {
        Addresses::Inet(stream.peer_addr().ok(), stream.local_addr().ok())
    }

    fn of_unix(stream: &UnixStream) -> Self {
        Addresses::Unix(stream.peer_addr().ok(), stream.local_addr().ok())
    }

    fn writer(self, sink: impl AsyncWrite + 'static) -> StreamWriter {
        match self {
            Addresses::Inet(peer, local) => StreamWriter::with_addrs(sink, peer, local),
            Addresses::Unix(peer, local) => StreamWriter::with_unix_addrs(sink, peer, local),
        }
    }
}

/// A reader and a writer over an established TLS connection, paired as a plain connection's
/// (see `tcp_pair`), and a handle on its socket for the server.
fn pair<IO>(
    stream: futures_rustls::TlsStream<IO>,
    addresses: Addresses,
) -> (StreamReader, StreamWriter, Weak<dyn Socket>)
where
    IO: Socket + futures_io::AsyncRead + AsyncWrite + Unpin + 'static,
{
    let (read, write, info, socket) = crate::tls::split(stream);
    let writer = addresses.writer(write);
    writer.set_tls_info(info);
    (StreamReader::paired(read, writer.link()), writer, socket)
}
