//! The streams API over TLS (feature `tls`): asyncio's `open_connection(..., ssl=)`,
//! `start_server(..., ssl=)` and their Unix twins. The handshake runs before the caller gets
//! the reader and the writer (before the handler is called, on a server); the writer's close
//! is asyncio's SSL shutdown, which waits for the peer's `close_notify` (see [`crate::tls`]).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::unix::net::SocketAddr as UnixSocketAddr;
use std::path::Path;
use std::rc::{Rc, Weak};

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

use super::reader::{Failed, Source};
use super::server::{ConnectionGuard, Server};
use super::writer::Sink;
use super::{Socket, StreamReader, StreamWriter};
use crate::net::server_options::BoundSocket;
use crate::net::serving::ServerControl;
use crate::net::{ServerOptions, TcpStream, ToSocketAddrs, UnixStream};
use crate::tls::{ClientTls, PendingHandshake, ServerTls};

/// Connects to `addr`, makes the TLS handshake, and returns a reader and a writer: asyncio's
/// `open_connection(host, port, ssl=ctx, server_hostname=name)`. `tls` holds the config, the
/// name the server's certificate must prove, the handshake timeout (asyncio's
/// `ssl_handshake_timeout`, 60 s by default) and the shutdown timeout, which bounds the
/// writer's wait for the server's `close_notify` when it closes (asyncio's
/// `ssl_shutdown_timeout`, 30 s). `TCP_NODELAY` is set, as asyncio does.
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
    let (reader, writer, _) = pair(stream, addresses, tls.shutdown_wait());
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
    let (reader, writer, _) = pair(stream, addresses, tls.shutdown_wait());
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
    start_server_tls_with(handler, tls, ServerOptions::new().addr(addr)).await
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
    start_server_tls_with(handler, tls, ServerOptions::new().path(path)).await
}

/// [`start_server_tls`] where and as `options` say (see [`ServerOptions`]): asyncio's
/// `start_server(..., ssl=ctx)` and `start_unix_server(..., ssl=ctx)` with their keyword
/// arguments (`sock=`, `backlog=`, `start_serving=`...), as
/// [`start_server_with`](super::start_server_with).
///
/// # Errors
/// As [`start_server_with`](super::start_server_with).
///
/// # Panics
/// If no loop is running on this thread.
pub async fn start_server_tls_with<H, Fut>(
    handler: H,
    tls: ServerTls,
    options: ServerOptions,
) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let bound = options.bind("streams::start_server_tls_with").await?;
    serve(bound, handler, tls)
}

impl StreamWriter {
    /// Upgrades the connection of this writer and its `reader` to TLS, as the client:
    /// asyncio's `await writer.start_tls(sslcontext, server_hostname=...)` (3.11), for
    /// protocols that start in the clear and switch (SMTP's and IMAP's `STARTTLS`,
    /// PostgreSQL's `SSLRequest`). It waits until everything written was sent, makes the
    /// handshake (bounded by [`ClientTls::handshake_timeout`]), and from then on the reader
    /// and this writer read and write through TLS; [`tls_info`](StreamWriter::tls_info) tells
    /// what the handshake settled. Bytes the reader had read ahead and not returned are the
    /// first of the handshake (a server that answered `STARTTLS` and its hello together).
    ///
    /// On a failed handshake the connection is unusable, as asyncio's transport is closed:
    /// the writer fails with the error, the reader's next read returns it, and the socket is
    /// closed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use aioloop::streams::{open_connection, start_server};
    /// use aioloop::tls::rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    /// use aioloop::tls::rustls::{ClientConfig, RootCertStore, ServerConfig};
    /// use aioloop::tls::{ClientTls, ServerTls};
    ///
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// let cert_der = CertificateDer::from_pem_slice(cert.cert.pem().as_bytes()).unwrap();
    /// let key = PrivateKeyDer::from_pem_slice(cert.signing_key.serialize_pem().as_bytes()).unwrap();
    /// let server_tls = ServerTls::new(Arc::new(
    ///     ServerConfig::builder().with_no_client_auth().with_single_cert(vec![cert_der.clone()], key).unwrap(),
    /// ));
    /// let mut roots = RootCertStore::empty();
    /// roots.add(cert_der).unwrap();
    /// let config = ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    /// let client_tls = ClientTls::new(Arc::new(config), "localhost").unwrap();
    ///
    /// aioloop::run(async move {
    ///     // A line-based protocol that switches to TLS on "STARTTLS".
    ///     let server = start_server(
    ///         move |mut reader, writer| {
    ///             let tls = server_tls.clone();
    ///             async move {
    ///                 assert_eq!(reader.readline().await.unwrap(), b"STARTTLS\n");
    ///                 writer.write(b"GO\n");
    ///                 writer.start_tls_server(&mut reader, &tls).await.unwrap();
    ///                 let secret = reader.readline().await.unwrap();
    ///                 writer.write(&secret);
    ///                 writer.close();
    ///             }
    ///         },
    ///         "127.0.0.1:0",
    ///     )
    ///     .await
    ///     .unwrap();
    ///     let (mut reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    ///     writer.write(b"STARTTLS\n");
    ///     assert_eq!(reader.readline().await.unwrap(), b"GO\n");
    ///     writer.start_tls(&mut reader, &client_tls).await.unwrap();
    ///     writer.write(b"secret\n");
    ///     assert_eq!(reader.readline().await.unwrap(), b"secret\n");
    ///     assert!(writer.tls_info().is_some());
    ///     server.close();
    /// });
    /// ```
    ///
    /// # Errors
    /// `InvalidInput` if `reader` is not this writer's (from the same
    /// [`open_connection`](super::open_connection) or server connection), if the connection
    /// is TLS already, closing, or at EOF; the writer's failure if sending what it had
    /// buffered failed; the handshake's error (`TimedOut` past the timeout).
    pub async fn start_tls(&self, reader: &mut StreamReader, tls: &ClientTls) -> io::Result<()> {
        let io = self.detach_for_tls(reader).await?;
        let cancelled = FailIfCancelled(self);
        let upgraded = crate::tls::connect(io, tls).await;
        std::mem::forget(cancelled);
        self.attach_tls(reader, upgraded, tls.shutdown_wait())
    }

    /// [`start_tls`](StreamWriter::start_tls) as the server of the handshake: asyncio's
    /// `start_tls(sslcontext, server_side=True)` (a server context), bounded by
    /// [`ServerTls::handshake_timeout`].
    ///
    /// # Errors
    /// As [`start_tls`](StreamWriter::start_tls).
    pub async fn start_tls_server(&self, reader: &mut StreamReader, tls: &ServerTls) -> io::Result<()> {
        let io = self.detach_for_tls(reader).await?;
        let cancelled = FailIfCancelled(self);
        let upgraded = crate::tls::accept(io, tls, &PendingHandshake::default()).await;
        std::mem::forget(cancelled);
        self.attach_tls(reader, upgraded, tls.shutdown_wait())
    }

    /// Checks the pair, waits until all that was written was sent, and takes the plain
    /// stream out of the reader and the writer.
    async fn detach_for_tls(&self, reader: &mut StreamReader) -> io::Result<Plain> {
        if !reader.is_paired_with(|link| self.is(link)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "start_tls: the reader is not this writer's (not from the same connection)",
            ));
        }
        if self.tls_info().is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "start_tls: the connection is TLS already",
            ));
        }
        self.flush_all().await?;
        let sink = self.take_sink()?;
        match reader.take_source() {
            Ok((source, ahead)) => Ok(Plain {
                source,
                ahead,
                taken: 0,
                sink,
            }),
            Err(err) => {
                self.set_sink(Ok(sink));
                Err(err)
            }
        }
    }

    /// Puts the TLS halves in place of the plain stream (the writer's close waiting
    /// `shutdown_timeout` at most for the peer's `close_notify`), or fails both ends with the
    /// handshake's error (the plain stream, dropped with the handshake, is closed).
    fn attach_tls(
        &self,
        reader: &mut StreamReader,
        upgraded: io::Result<futures_rustls::TlsStream<Plain>>,
        shutdown_timeout: Duration,
    ) -> io::Result<()> {
        match upgraded {
            Ok(stream) => {
                let (read, write, info) = crate::tls::split(stream, shutdown_timeout);
                reader.set_source(read);
                self.set_sink(Ok(Box::pin(write)));
                self.set_tls_info(info);
                Ok(())
            }
            Err(err) => {
                reader.set_source(Failed(Some(io::Error::new(err.kind(), err.to_string()))));
                self.set_sink(Err(io::Error::new(err.kind(), err.to_string())));
                Err(err)
            }
        }
    }
}

/// Fails the writer if the upgrade is dropped during its handshake (the plain connection is
/// closed with it): writes buffered meanwhile must not wait for a sink that never comes back.
struct FailIfCancelled<'a>(&'a StreamWriter);

impl Drop for FailIfCancelled<'_> {
    fn drop(&mut self) {
        self.0.set_sink(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "start_tls was cancelled during its handshake",
        )));
    }
}

/// A plain connection taken out of its reader and writer for a TLS upgrade: the reader's
/// source, the bytes it had read ahead (given out first), and the writer's sink.
struct Plain {
    source: Source,
    ahead: Vec<u8>,
    taken: usize,
    sink: Sink,
}

impl AsyncRead for Plain {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.taken < this.ahead.len() {
            let n = buf.len().min(this.ahead.len() - this.taken);
            buf[..n].copy_from_slice(&this.ahead[this.taken..this.taken + n]);
            this.taken += n;
            return Poll::Ready(Ok(n));
        }
        this.source.as_mut().poll_read(cx, buf)
    }
}

impl AsyncWrite for Plain {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.sink.as_mut().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.sink.as_mut().poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.sink.as_mut().poll_close(cx)
    }
}

/// The upgraded connection's socket, as its TLS close reaches it to abort it at its timeout:
/// out of reach behind the reader's and the writer's halves (a server's `abort_clients` still
/// reaches it through its own handle), so nothing is done, and the socket is closed when both
/// halves are dropped.
impl Socket for Plain {
    fn shutdown(&self, _how: std::net::Shutdown) {}

    fn abort(&self) {}
}

/// A connection as the listener hands it over, before its handshake.
enum Accepted {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// Starts the accept task: each connection's handshake and handler run in its own task.
fn serve<H, Fut>(bound: BoundSocket, handler: H, tls: ServerTls) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let handler = Rc::new(handler);
    let tls = Rc::new(tls);
    let control = ServerControl::new(bound, Accepted::Tcp, Accepted::Unix, move |serving, accepted| {
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
                        .map(|s| pair(s, addresses, tls.shutdown_wait()))
                }
                Accepted::Unix(stream) => {
                    let addresses = Addresses::of_unix(&stream);
                    crate::tls::accept(stream, &tls, &pending)
                        .await
                        .map(|s| pair(s, addresses, tls.shutdown_wait()))
                }
            };
            drop(pending);
            if let Ok((reader, writer, socket)) = made {
                guard.connected(&writer, socket);
                handler(reader, writer).await;
            }
            drop(guard);
        }));
    })?;
    Ok(Server::new(control))
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
/// (see `tcp_pair`), and a handle on its socket for the server; the writer's close waits
/// `shutdown_timeout` at most for the peer's `close_notify`.
fn pair<IO>(
    stream: futures_rustls::TlsStream<IO>,
    addresses: Addresses,
    shutdown_timeout: Duration,
) -> (StreamReader, StreamWriter, Weak<dyn Socket>)
where
    IO: Socket + futures_io::AsyncRead + AsyncWrite + Unpin + 'static,
{
    let (read, write, info) = crate::tls::split(stream, shutdown_timeout);
    let socket = read.socket();
    let writer = addresses.writer(write);
    writer.set_tls_info(info);
    writer.set_socket(&socket);
    (StreamReader::paired(read, writer.link()), writer, socket)
}
