//! The protocols API over TLS (feature `tls`): asyncio's `create_connection(..., ssl=)`,
//! `create_server(..., ssl=)`, their Unix twins and `connect_accepted_socket(..., ssl=)`, as
//! asyncio's `SSLProtocol` runs them: the protocol's `connection_made` comes once the handshake
//! is done, over a [`Transport`] whose socket is the TLS session
//! ([`TlsSocket`]).

use std::cell::RefCell;
use std::io;
use std::path::Path;
use std::rc::{Rc, Weak};

use super::driver::{start, start_client, MadeIn};
use super::server::{attach, Client};
use super::tls_socket::TlsSocket;
use super::{AnyProtocol, ProtocolServer, StreamSocket, Transport};
use crate::net::server_options::BoundSocket;
use crate::net::serving::Serving;
use crate::net::{ServerOptions, TcpStream, ToSocketAddrs, UnixStream};
use crate::tls::{ClientTls, PendingHandshake, ServerTls};

/// Connects to `addr`, makes the TLS handshake, and runs the protocol `protocol_factory()`
/// makes on the connection: asyncio's `loop.create_connection(protocol_factory, host, port,
/// ssl=ctx, server_hostname=name, ssl_handshake_timeout=t)`. `tls` holds the config, the name
/// the server's certificate must prove and the handshake timeout (60 s by default). Returns
/// once the protocol's [`connection_made`](super::Protocol::connection_made) ran, as
/// [`create_connection`](super::create_connection) does.
///
/// The transport works as a plain one, with asyncio's SSL transport differences:
/// [`close`](Transport::close) sends what is buffered, then TLS's `close_notify`, then waits
/// for the peer's `close_notify` (dropping what it sends before) and closes: asyncio's SSL
/// shutdown, bounded by its `ssl_shutdown_timeout` ([`ClientTls::shutdown_timeout`], 30 s by
/// default), past which the socket is aborted and `connection_lost` gets `TimedOut`;
/// [`abort`](Transport::abort) ends that wait at once; [`write_eof`](Transport::write_eof) fails (`Unsupported`) and
/// [`can_write_eof`](Transport::can_write_eof) is false; the peer's `close_notify` is EOF:
/// `eof_received` is called and the transport closes whatever it answers; a peer that closes
/// its socket without `close_notify` makes `connection_lost` get `UnexpectedEof` (rustls's
/// guard against a truncated stream); [`tls_info`](Transport::tls_info) tells what the
/// handshake settled.
///
/// # Errors
/// The connect's error; the handshake's (a certificate not valid for the server name or not
/// trusted is `InvalidData`, carrying rustls's error); `TimedOut` if the handshake takes
/// longer than the timeout. The protocol was made then (asyncio makes it before the
/// handshake), but none of its methods is called.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use std::sync::Arc;
/// use aioloop::protocols::{create_connection_tls, create_server_tls, Protocol, Transport};
/// use aioloop::tls::rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
/// use aioloop::tls::rustls::{ClientConfig, RootCertStore, ServerConfig};
/// use aioloop::tls::{ClientTls, ServerTls};
///
/// // A self-signed certificate for "localhost" (made with rcgen; a real server loads its own).
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
/// /// Echoes what it reads.
/// struct Echo(Option<Transport>);
/// impl Protocol for Echo {
///     fn connection_made(&mut self, transport: Transport) {
///         self.0 = Some(transport);
///     }
///     fn data_received(&mut self, data: &[u8]) {
///         self.0.as_ref().unwrap().write(data).unwrap();
///     }
/// }
///
/// #[derive(Default)]
/// struct Client {
///     got: Vec<u8>,
///     lost: bool,
/// }
/// impl Protocol for Client {
///     fn data_received(&mut self, data: &[u8]) {
///         self.got.extend_from_slice(data);
///     }
///     fn connection_lost(&mut self, exc: Option<std::io::Error>) {
///         assert!(exc.is_none());
///         self.lost = true;
///     }
/// }
///
/// aioloop::run(async move {
///     let server = create_server_tls(|| Echo(None), "127.0.0.1:0", server_tls).await.unwrap();
///     let addr = server.local_addr().unwrap();
///     let (transport, client) = create_connection_tls(Client::default, addr, &client_tls).await.unwrap();
///     assert!(transport.tls_info().unwrap().protocol_version().is_some());
///     transport.write(b"hello over TLS").unwrap();
///     while client.borrow().got.len() < 14 {
///         aioloop::sleep(std::time::Duration::from_millis(1)).await;
///     }
///     assert_eq!(client.borrow().got, b"hello over TLS");
///     // close_notify: the server's side reads EOF and closes too, with its close_notify,
///     // which ends the client's close.
///     transport.close();
///     server.close();
///     server.wait_closed().await;
///     while !client.borrow().lost {
///         aioloop::sleep(std::time::Duration::from_millis(1)).await;
///     }
/// });
/// ```
pub async fn create_connection_tls<K, P, F>(
    protocol_factory: F,
    addr: impl ToSocketAddrs,
    tls: &ClientTls,
) -> io::Result<(Transport, Rc<RefCell<P>>)>
where
    P: AnyProtocol<K>,
    F: FnOnce() -> P,
{
    let stream = TcpStream::connect(addr).await?;
    let _ = stream.set_nodelay(true);
    connect(StreamSocket::Tcp(stream), protocol_factory, tls).await
}

/// [`create_connection_tls`] over the Unix-domain socket at `path`: asyncio's
/// `loop.create_unix_connection(protocol_factory, path, ssl=ctx, server_hostname=name)`.
///
/// # Errors
/// As [`create_connection_tls`].
///
/// # Panics
/// If no loop is running on this thread.
pub async fn create_unix_connection_tls<K, P, F>(
    protocol_factory: F,
    path: impl AsRef<Path>,
    tls: &ClientTls,
) -> io::Result<(Transport, Rc<RefCell<P>>)>
where
    P: AnyProtocol<K>,
    F: FnOnce() -> P,
{
    let stream = UnixStream::connect(path).await?;
    connect(StreamSocket::Unix(stream), protocol_factory, tls).await
}

/// Makes the server side of the TLS handshake on a stream already connected, then runs the
/// protocol `protocol_factory()` makes on it: asyncio's
/// `loop.connect_accepted_socket(protocol_factory, sock, ssl=ctx)` (a server context, as
/// asyncio's handshake there is the server's). Returns once `connection_made` ran. Takes a
/// [`TcpStream`] or a [`UnixStream`].
///
/// # Errors
/// The handshake's error; `TimedOut` past [`ServerTls::handshake_timeout`]. The protocol was
/// made then, none of its methods called.
///
/// # Panics
/// If no loop is running on this thread.
pub async fn connect_accepted_socket_tls<K, P, F>(
    protocol_factory: F,
    stream: impl Into<StreamSocket>,
    tls: &ServerTls,
) -> io::Result<(Transport, Rc<RefCell<P>>)>
where
    P: AnyProtocol<K>,
    F: FnOnce() -> P,
{
    let protocol = protocol_factory();
    let stream = crate::tls::accept(stream.into(), tls, &PendingHandshake::default()).await?;
    Ok(start_client(TlsSocket::io(stream, tls.shutdown_wait()), || {
        protocol
    }))
}

/// The client's handshake over `sock`, then the protocol on it (made first, as asyncio's
/// `_create_connection_transport` does).
async fn connect<K, P, F>(
    sock: StreamSocket,
    protocol_factory: F,
    tls: &ClientTls,
) -> io::Result<(Transport, Rc<RefCell<P>>)>
where
    P: AnyProtocol<K>,
    F: FnOnce() -> P,
{
    let protocol = protocol_factory();
    let stream = crate::tls::connect(sock, tls).await?;
    Ok(start_client(TlsSocket::io(stream, tls.shutdown_wait()), || {
        protocol
    }))
}

/// Starts a TLS server on `addr` that runs a protocol `protocol_factory()` makes on every
/// connection: asyncio's `loop.create_server(protocol_factory, host, port, ssl=ctx,
/// ssl_handshake_timeout=t)`. As in asyncio, the protocol is made when the connection is
/// accepted, and its `connection_made` is called once the handshake is done; a connection
/// whose handshake fails or takes longer than [`ServerTls::handshake_timeout`] is closed
/// without any call on its protocol (asyncio reports it only in debug mode). A connection in
/// its handshake is the server's already: [`ProtocolServer::wait_closed`] waits for it,
/// [`close_clients`](ProtocolServer::close_clients) and
/// [`abort_clients`](ProtocolServer::abort_clients) end it. The transports are as
/// [`create_connection_tls`] describes.
///
/// See [`create_connection_tls`] for an example.
///
/// # Errors
/// The bind's error.
///
/// # Panics
/// If no loop is running on this thread.
pub async fn create_server_tls<K, P, F>(
    protocol_factory: F,
    addr: impl ToSocketAddrs,
    tls: ServerTls,
) -> io::Result<ProtocolServer>
where
    P: AnyProtocol<K>,
    F: Fn() -> P + 'static,
{
    create_server_tls_with(protocol_factory, tls, ServerOptions::new().addr(addr)).await
}

/// [`create_server_tls`] on the Unix-domain socket file `path`: asyncio's
/// `loop.create_unix_server(protocol_factory, path, ssl=ctx)`. The socket file is handled as
/// [`create_unix_server`](super::create_unix_server) does.
///
/// # Errors
/// The bind's error.
///
/// # Panics
/// If no loop is running on this thread.
pub async fn create_unix_server_tls<K, P, F>(
    protocol_factory: F,
    path: impl AsRef<Path>,
    tls: ServerTls,
) -> io::Result<ProtocolServer>
where
    P: AnyProtocol<K>,
    F: Fn() -> P + 'static,
{
    create_server_tls_with(protocol_factory, tls, ServerOptions::new().path(path)).await
}

/// [`create_server_tls`] where and as `options` say (see [`ServerOptions`]): asyncio's
/// `loop.create_server(..., ssl=ctx)` and `loop.create_unix_server(..., ssl=ctx)` with their
/// keyword arguments, as [`create_server_with`](super::create_server_with).
///
/// # Errors
/// As [`create_server_with`](super::create_server_with).
///
/// # Panics
/// If no loop is running on this thread.
pub async fn create_server_tls_with<K, P, F>(
    protocol_factory: F,
    tls: ServerTls,
    options: ServerOptions,
) -> io::Result<ProtocolServer>
where
    P: AnyProtocol<K>,
    F: Fn() -> P + 'static,
{
    let bound = options.bind("protocols::create_server_tls_with").await?;
    serve(bound, protocol_factory, tls)
}

/// Makes the server: each connection's protocol is made and the connection counted at once;
/// its handshake runs in its own task, then its transport takes its place.
fn serve<K, P, F>(bound: BoundSocket, protocol_factory: F, tls: ServerTls) -> io::Result<ProtocolServer>
where
    P: AnyProtocol<K>,
    F: Fn() -> P + 'static,
{
    let tls = Rc::new(tls);
    ProtocolServer::start(bound, move |serving, sock| {
        let protocol = Rc::new(RefCell::new(protocol_factory()));
        let pending = Rc::new(PendingHandshake::default());
        let handshaking = Handshaking {
            serving: Rc::downgrade(serving),
            key: Some(serving.attach(Client::Handshaking(pending.clone()))),
        };
        let tls = tls.clone();
        drop(crate::spawn(async move {
            let accepted = crate::tls::accept(sock, &tls, &pending).await;
            if let Ok(stream) = accepted {
                let sock = TlsSocket::io(stream, tls.shutdown_wait());
                handshaking.connected(start(sock, &protocol, MadeIn::Task));
            }
        }));
    })
}

/// A server connection in its handshake: forgotten by the server if the handshake fails or
/// its task is dropped, replaced by its transport once it is done.
struct Handshaking {
    serving: Weak<Serving<Client>>,
    key: Option<usize>,
}

impl Handshaking {
    fn connected(mut self, transport: Transport) {
        if let Some(serving) = self.serving.upgrade() {
            attach(&serving, self.key.take(), transport);
        }
    }
}

impl Drop for Handshaking {
    fn drop(&mut self) {
        if let (Some(key), Some(serving)) = (self.key, self.serving.upgrade()) {
            serving.detach(key);
        }
    }
}
