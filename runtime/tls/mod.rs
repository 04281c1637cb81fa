//! TLS for aioloop's streams and protocols (feature `tls`): asyncio's `ssl=` argument, on rustls.
//!
//! | asyncio | aioloop |
//! |---|---|
//! | `open_connection(host, port, ssl=ctx, server_hostname=name)` | [`open_connection_tls`](crate::streams::open_connection_tls)`(addr, &`[`ClientTls`]`::new(config, name)?)` |
//! | `open_unix_connection(path, ssl=ctx, server_hostname=name)` | [`open_unix_connection_tls`](crate::streams::open_unix_connection_tls) |
//! | `start_server(cb, host, port, ssl=ctx)` | [`start_server_tls`](crate::streams::start_server_tls)`(handler, addr, `[`ServerTls`]`::new(config))` |
//! | `start_unix_server(cb, path, ssl=ctx)` | [`start_unix_server_tls`](crate::streams::start_unix_server_tls) |
//! | `await writer.start_tls(ctx, server_hostname=name)` (3.11), `server_side=True` | [`StreamWriter::start_tls`](crate::streams::StreamWriter::start_tls)`(&mut reader, &client_tls)`, [`start_tls_server`](crate::streams::StreamWriter::start_tls_server) |
//! | `ssl_handshake_timeout=` (60 s) | [`ClientTls::handshake_timeout`], [`ServerTls::handshake_timeout`] |
//! | `ssl_shutdown_timeout=` (30 s) | [`ClientTls::shutdown_timeout`], [`ServerTls::shutdown_timeout`] |
//! | `ssl.SSLContext` | a rustls [`ClientConfig`] or [`ServerConfig`] (re-exported: [`rustls`]) |
//! | `writer.get_extra_info('ssl_object')`, `('peercert')`, `('cipher')` | [`StreamWriter::tls_info`](crate::streams::StreamWriter::tls_info) → [`TlsInfo`] |
//! | `loop.create_connection(factory, host, port, ssl=ctx, server_hostname=name)`, `create_unix_connection(..., ssl=)` | [`create_connection_tls`](crate::protocols::create_connection_tls)`(factory, addr, &client_tls)`, [`create_unix_connection_tls`](crate::protocols::create_unix_connection_tls) |
//! | `loop.create_server(factory, host, port, ssl=ctx)`, `create_unix_server(..., ssl=)`, `connect_accepted_socket(..., ssl=)` | [`create_server_tls`](crate::protocols::create_server_tls)`(factory, addr, server_tls)`, [`create_unix_server_tls`](crate::protocols::create_unix_server_tls), [`connect_accepted_socket_tls`](crate::protocols::connect_accepted_socket_tls) |
//! | the SSL transport's `get_extra_info('ssl_object')`, ... | [`Transport::tls_info`](crate::protocols::Transport::tls_info) |
//! | `await loop.start_tls(transport, protocol, ctx, server_side=...)` | [`protocols::start_tls`](crate::protocols::start_tls)`(&transport, &client_tls)`, [`start_tls_server`](crate::protocols::start_tls_server) |
//!
//! The reader and the writer work as on a plain connection, and a reader reads EOF once the
//! peer's `close_notify` came. The writer's [`close`](crate::streams::StreamWriter::close) is
//! asyncio's SSL shutdown: what was written is sent, then TLS's `close_notify`, the socket's
//! write side is shut down, and the close waits for the peer's `close_notify` before it ends
//! ([`wait_closed`](crate::streams::StreamWriter::wait_closed) returns then), bounded by the
//! shutdown timeout ([`ClientTls::shutdown_timeout`], 30 s by default): past it the socket is
//! aborted, and `wait_closed` and the reader fail with `TimedOut` (asyncio's `TimeoutError`).
//! The wait keeps the socket from being closed with the peer's records unread, which would
//! reset the connection and make the peer lose the end of our data. Unlike asyncio's, the
//! close is a half-close: what the peer sends meanwhile still reaches the reader (the close
//! holds it for the reader, waiting for it past 128 KiB; once the reader is dropped, the close
//! drops it, as asyncio's shutdown does); and reading the peer's `close_notify` does not close
//! the writer (asyncio's transport answers with its own at once): a peer that waits for ours
//! gets it when the writer is closed or dropped. A server's
//! [`abort_clients`](crate::streams::Server::abort_clients) ends the wait at once, and so does
//! a peer that goes away without `close_notify`: `wait_closed` returns, and the reader's read
//! fails. A peer that closes its socket without `close_notify` makes the read fail with
//! `UnexpectedEof` (rustls's guard against a truncated stream), where asyncio also reports an
//! error. A failed handshake is the connect's error; on a server, a connection whose handshake
//! fails or times out is closed without reaching the handler (asyncio logs it only in debug
//! mode).
//!
//! Certificates: the client's [`ClientConfig`] says which roots it trusts
//! (asyncio's `ssl.create_default_context()` uses the system's; with rustls, the
//! `rustls-native-certs` or `webpki-roots` crates give them). The crypto provider is rustls's
//! `ring`, which [`ClientTls::new`] and [`ServerTls::new`] need no setup for: configs built
//! with `ClientConfig::builder()` use it when it is the process's only provider.
//!
//! ```
//! use std::sync::Arc;
//! use aioloop::streams::{open_connection_tls, start_server_tls};
//! use aioloop::tls::rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
//! use aioloop::tls::rustls::{ClientConfig, RootCertStore, ServerConfig};
//! use aioloop::tls::{ClientTls, ServerTls};
//!
//! // A self-signed certificate for "localhost" (made with rcgen; a real server loads its own).
//! let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
//! let cert_der = CertificateDer::from_pem_slice(cert.cert.pem().as_bytes()).unwrap();
//! let key_der = PrivateKeyDer::from_pem_slice(cert.signing_key.serialize_pem().as_bytes()).unwrap();
//!
//! let server_config = ServerConfig::builder()
//!     .with_no_client_auth()
//!     .with_single_cert(vec![cert_der.clone()], key_der)
//!     .unwrap();
//! let mut roots = RootCertStore::empty();
//! roots.add(cert_der).unwrap();
//! let client_config = ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
//!
//! aioloop::run(async move {
//!     let server = start_server_tls(
//!         |mut reader, writer| async move {
//!             let line = reader.readline().await.unwrap();
//!             writer.write(&line);
//!             writer.close();
//!         },
//!         "127.0.0.1:0",
//!         ServerTls::new(Arc::new(server_config)),
//!     )
//!     .await
//!     .unwrap();
//!     let tls = ClientTls::new(Arc::new(client_config), "localhost").unwrap();
//!     let (mut reader, writer) = open_connection_tls(server.local_addr().unwrap(), &tls).await.unwrap();
//!     writer.write(b"hello over TLS\n");
//!     assert_eq!(reader.readline().await.unwrap(), b"hello over TLS\n");
//!     assert!(reader.read_to_eof().await.unwrap().is_empty()); // the server's close_notify
//!     assert!(writer.tls_info().unwrap().protocol_version().is_some());
//!     server.close();
//! });
//! ```

mod halves;
mod handshake;
mod shutdown;

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

pub use futures_rustls::rustls;
use futures_rustls::TlsStream;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ProtocolVersion, ServerConfig, SupportedCipherSuite};

pub(crate) use halves::{split, TlsRead, TlsWrite};
pub(crate) use handshake::{accept, connect, PendingHandshake};

/// asyncio's default `ssl_handshake_timeout` (`constants.SSL_HANDSHAKE_TIMEOUT`, 60 s).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// asyncio's default `ssl_shutdown_timeout` (`constants.SSL_SHUTDOWN_TIMEOUT`, 30 s).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Checks a timeout as asyncio does (`ValueError` unless positive).
fn positive(timeout: Duration, what: &str) -> Duration {
    assert!(!timeout.is_zero(), "{what}: the timeout must be positive");
    timeout
}

/// The client side of TLS: asyncio's `ssl=` (a context) with `server_hostname=` and
/// `ssl_handshake_timeout=` for [`open_connection_tls`](crate::streams::open_connection_tls).
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    handshake_timeout: Duration,
    shutdown_timeout: Duration,
}

impl ClientTls {
    /// TLS with `config` to a server that must prove to be `server_name` (a DNS name or an IP
    /// address; sent as SNI for a name), with the default handshake timeout.
    ///
    /// # Errors
    /// `InvalidInput` if `server_name` is neither a DNS name nor an IP address (asyncio's
    /// `ValueError`).
    pub fn new(config: Arc<ClientConfig>, server_name: &str) -> io::Result<Self> {
        let server_name = ServerName::try_from(server_name.to_owned()).map_err(|err| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid TLS server name {server_name:?}: {err}"),
            )
        })?;
        Ok(ClientTls {
            config,
            server_name,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        })
    }

    /// How long the handshake may take (asyncio's `ssl_handshake_timeout`, 60 s by default);
    /// past it the connect fails with `TimedOut`.
    ///
    /// # Panics
    /// If `timeout` is zero (asyncio's `ValueError`: it must be positive).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = positive(timeout, "ClientTls::handshake_timeout");
        self
    }

    /// How long a [`StreamWriter`](crate::streams::StreamWriter)'s
    /// [`close`](crate::streams::StreamWriter::close) or a protocols transport's
    /// [`close`](crate::protocols::Transport::close) waits for the peer's `close_notify` after
    /// sending its own (asyncio's `ssl_shutdown_timeout`, 30 s by default); past it the
    /// connection is aborted, and the writer's `wait_closed` (and its reader) or the
    /// protocol's `connection_lost` get `TimedOut`.
    ///
    /// # Panics
    /// If `timeout` is zero (asyncio's `ValueError`: it must be positive).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = positive(timeout, "ClientTls::shutdown_timeout");
        self
    }

    /// The server name the certificate is checked against.
    pub fn server_name(&self) -> &ServerName<'static> {
        &self.server_name
    }

    /// How long a protocols transport's close waits for the peer's `close_notify`: what
    /// [`shutdown_timeout`](ClientTls::shutdown_timeout) set.
    pub(crate) fn shutdown_wait(&self) -> Duration {
        self.shutdown_timeout
    }
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("server_name", &self.server_name)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish_non_exhaustive()
    }
}

/// The server side of TLS: asyncio's `ssl=` (a context) with `ssl_handshake_timeout=` for
/// [`start_server_tls`](crate::streams::start_server_tls).
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<ServerConfig>,
    handshake_timeout: Duration,
    shutdown_timeout: Duration,
}

impl ServerTls {
    /// TLS with `config` (the certificate chain and key the server proves itself with), with
    /// the default handshake timeout.
    pub fn new(config: Arc<ServerConfig>) -> Self {
        ServerTls {
            config,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }

    /// How long a connection's handshake may take (asyncio's `ssl_handshake_timeout`, 60 s by
    /// default); past it the connection is closed without reaching the handler.
    ///
    /// # Panics
    /// If `timeout` is zero (asyncio's `ValueError`: it must be positive).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = positive(timeout, "ServerTls::handshake_timeout");
        self
    }

    /// How long a connection's writer's or protocols transport's close waits for the peer's
    /// `close_notify` (asyncio's `ssl_shutdown_timeout`, 30 s by default), as
    /// [`ClientTls::shutdown_timeout`].
    ///
    /// # Panics
    /// If `timeout` is zero (asyncio's `ValueError`: it must be positive).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = positive(timeout, "ServerTls::shutdown_timeout");
        self
    }

    /// How long a protocols transport's close waits for the peer's `close_notify`: what
    /// [`shutdown_timeout`](ServerTls::shutdown_timeout) set.
    pub(crate) fn shutdown_wait(&self) -> Duration {
        self.shutdown_timeout
    }
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("handshake_timeout", &self.handshake_timeout)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish_non_exhaustive()
    }
}

/// What a TLS connection's handshake settled: asyncio's `get_extra_info('ssl_object')`,
/// `('peercert')` and `('cipher')`, from [`StreamWriter::tls_info`](crate::streams::StreamWriter::tls_info).
#[derive(Clone)]
pub struct TlsInfo {
    version: Option<ProtocolVersion>,
    cipher_suite: Option<SupportedCipherSuite>,
    alpn_protocol: Option<Vec<u8>>,
    peer_certificates: Vec<CertificateDer<'static>>,
    server_name: Option<String>,
}

impl TlsInfo {
    fn of<IO>(stream: &TlsStream<IO>) -> Self {
        let (_, state) = stream.get_ref();
        let server_name = match stream {
            TlsStream::Server(s) => s.get_ref().1.server_name().map(str::to_owned),
            TlsStream::Client(_) => None,
        };
        TlsInfo {
            version: state.protocol_version(),
            cipher_suite: state.negotiated_cipher_suite(),
            alpn_protocol: state.alpn_protocol().map(<[u8]>::to_vec),
            peer_certificates: state
                .peer_certificates()
                .map(|certs| certs.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default(),
            server_name,
        }
    }

    /// The TLS version (`ssl_object.version()`).
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// The cipher suite (`get_extra_info('cipher')`).
    pub fn cipher_suite(&self) -> Option<SupportedCipherSuite> {
        self.cipher_suite
    }

    /// The protocol ALPN chose (`ssl_object.selected_alpn_protocol()`), if any.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.alpn_protocol.as_deref()
    }

    /// The peer's certificate chain, its own first (`get_extra_info('peercert')`, in DER);
    /// empty for a client that sent none.
    pub fn peer_certificates(&self) -> &[CertificateDer<'static>] {
        &self.peer_certificates
    }

    /// On a server, the name the client asked for (SNI), if it sent one.
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }
}

impl fmt::Debug for TlsInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsInfo")
            .field("version", &self.version)
            .field("cipher_suite", &self.cipher_suite.map(|s| s.suite()))
            .field("alpn_protocol", &self.alpn_protocol)
            .field("peer_certificates", &self.peer_certificates.len())
            .field("server_name", &self.server_name)
            .finish()
    }
}
