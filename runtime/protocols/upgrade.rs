//! [`start_tls`] and [`start_tls_server`] (feature `tls`): asyncio's `loop.start_tls(transport,
//! protocol, sslcontext, server_side=...)`, the upgrade of a plain [`Transport`] to TLS.
//!
//! The plain transport stops reading at the call, sends what it buffered, and hands its
//! socket over: the handshake is the one of the `_tls` entry points (`crate::tls::connect`,
//! `crate::tls::accept`), and the connection goes on as a new transport over a
//! [`TlsSocket`], whose task calls the protocol. The plain
//! transport's task ends without calling the protocol; a server's count of the connection
//! (`on_lost`) moves to the new transport. What this file keeps per plain transport is its
//! [`Upgrade`].

use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::task::Context;
use std::time::Duration;

use super::driver::{start_shared, MadeIn};
use super::sock::{Io, IoKind};
use super::tls_socket::TlsSocket;
use super::transport::Inner;
use super::{StreamSocket, Transport};
use futures_rustls::TlsStream;

use crate::tls::{ClientTls, PendingHandshake, ServerTls};
use crate::waker_slot::WakerSlot;

/// Upgrades the plain connection of `transport` to TLS, as the client of the handshake, and
/// returns the transport of the TLS connection, which calls the protocol of `transport`:
/// asyncio's `await loop.start_tls(transport, protocol, sslcontext, server_hostname=...,
/// ssl_handshake_timeout=...)` with the transport's own protocol, for protocols that start in
/// the clear and switch (SMTP's and IMAP's `STARTTLS`, PostgreSQL's `SSLRequest`). (asyncio
/// takes the protocol to go on with, usually the same; here a protocol that hands over to
/// another forwards its calls.)
///
/// At the call (not at the first poll), `transport` stops reading and refuses writes: what it
/// had read was given to its protocol, what is left is in the socket, the start of the
/// handshake. The returned future waits until what `transport` had buffered was sent, makes
/// the handshake (bounded by [`ClientTls::handshake_timeout`]), and answers the new
/// transport. As in asyncio, the protocol gets no `connection_made` for it: keep the
/// returned transport in it; its `data_received`,
/// `eof_received` and `connection_lost` come from the new transport, which works as the
/// `_tls` entry points' do ([`create_connection_tls`](super::create_connection_tls)). The
/// plain transport calls the protocol no more.
///
/// After the call, the plain `transport`'s [`write`](Transport::write) and
/// [`write_eof`](Transport::write_eof) fail (`InvalidInput`; asyncio's original transport is
/// wrapped, and writing to it corrupts the TLS stream); its [`close`](Transport::close) and
/// [`abort`](Transport::abort) end the upgrade under way (it fails with `ConnectionAborted`)
/// or act on the new transport once it is made, so that a server's
/// [`close_clients`](super::ProtocolServer::close_clients) reaches the connection;
/// [`is_closing`](Transport::is_closing) is the new transport's.
///
/// A failed or cancelled upgrade (the future dropped, as by a `wait_for` timeout) closes the
/// connection without calling any protocol method, as asyncio's `SSLProtocol` does not call
/// the application's `connection_lost` before its handshake completed.
///
/// ```
/// use std::sync::Arc;
/// use aioloop::protocols::{create_connection, start_tls, Protocol, Transport};
/// use aioloop::streams::start_server;
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
/// #[derive(Default)]
/// struct Client(Vec<u8>);
/// impl Protocol for Client {
///     fn data_received(&mut self, data: &[u8]) {
///         self.0.extend_from_slice(data);
///     }
/// }
///
/// aioloop::run(async move {
///     // A server that switches to TLS on "STARTTLS\n" and echoes a line.
///     let server = start_server(
///         move |mut reader, writer| {
///             let tls = server_tls.clone();
///             async move {
///                 assert_eq!(reader.readline().await.unwrap(), b"STARTTLS\n");
///                 writer.start_tls_server(&mut reader, &tls).await.unwrap();
///                 let line = reader.readline().await.unwrap();
///                 writer.write(&line);
///             }
///         },
///         "127.0.0.1:0",
///     )
///     .await
///     .unwrap();
///     let (plain, client) = create_connection(Client::default, server.local_addr().unwrap()).await.unwrap();
///     plain.write(b"STARTTLS\n").unwrap();
///     let transport: Transport = start_tls(&plain, &client_tls).await.unwrap();
///     assert!(plain.write(b"clear").is_err());
///     transport.write(b"secret\n").unwrap();
///     while client.borrow().0.len() < 7 {
///         aioloop::sleep(std::time::Duration::from_millis(1)).await;
///     }
///     assert_eq!(client.borrow().0, b"secret\n");
///     assert!(transport.tls_info().is_some());
///     transport.close();
///     server.close();
/// });
/// ```
///
/// # Errors
/// `InvalidInput` if `transport` is a pipe's, TLS already, closing, after its `write_eof`, or
/// upgraded already (asyncio's `TypeError` and `RuntimeError`); the connection's error if it
/// failed before the upgrade; the handshake's (`TimedOut` past the timeout);
/// `ConnectionAborted` if `transport` was closed or aborted during the upgrade.
///
/// # Panics
/// If no loop is running on this thread (when the new transport starts).
pub fn start_tls(
    transport: &Transport,
    tls: &ClientTls,
) -> impl Future<Output = io::Result<Transport>> + 'static {
    let tls = tls.clone();
    upgrade(transport, tls.shutdown_wait(), |sock| async move {
        crate::tls::connect(sock, &tls).await
    })
}

/// [`start_tls`] as the server of the handshake: asyncio's `loop.start_tls(transport,
/// protocol, sslcontext, server_side=True)` (a server context), bounded by
/// [`ServerTls::handshake_timeout`].
///
/// # Errors
/// As [`start_tls`].
///
/// # Panics
/// If no loop is running on this thread (when the new transport starts).
pub fn start_tls_server(
    transport: &Transport,
    tls: &ServerTls,
) -> impl Future<Output = io::Result<Transport>> + 'static {
    let tls = tls.clone();
    upgrade(transport, tls.shutdown_wait(), |sock| async move {
        crate::tls::accept(sock, &tls, &PendingHandshake::default()).await
    })
}

/// Begins the upgrade of `transport` at once; the future runs `handshake` on its socket once
/// its buffer was sent, and answers the new transport (whose close waits `shutdown_timeout`
/// at most for the peer's `close_notify`).
fn upgrade<F>(
    transport: &Transport,
    shutdown_timeout: Duration,
    handshake: impl FnOnce(StreamSocket) -> F + 'static,
) -> impl Future<Output = io::Result<Transport>> + 'static
where
    F: Future<Output = io::Result<TlsStream<StreamSocket>>>,
{
    let taken = TakeOver::begin(transport);
    async move {
        let taken = taken?;
        let sock = taken.flushed().await?;
        let stream = taken.abortable(handshake(sock)).await?;
        taken.done(TlsSocket::io(stream, shutdown_timeout))
    }
}

/// A plain transport's upgrade, once [`start_tls`] began it.
#[derive(Default)]
pub(super) struct Upgrade {
    /// The upgrade's waker while it waits for the buffer to be sent or for its handshake.
    waiter: WakerSlot,
    /// The plain transport was closed or aborted during the upgrade: it fails.
    cancelled: bool,
    /// The transport that took the connection over.
    to: Option<Transport>,
}

/// The transport [`start_tls`] made of `inner`'s, once made.
pub(super) fn upgraded_to(inner: &Inner) -> Option<Transport> {
    inner.with_upgrade(|u| u.to.clone()).flatten()
}

/// `close` or `abort` (`end`) of a transport an upgrade took over: `end` on the new
/// transport, or the upgrade under way fails. False if no upgrade began on `inner`.
pub(super) fn end_upgraded(inner: &Inner, end: impl FnOnce(&Transport)) -> bool {
    let ended = inner.with_upgrade(|upgrade| match upgrade.to.clone() {
        Some(to) => Ok(to),
        None => {
            upgrade.cancelled = true;
            Err(upgrade.waiter.take())
        }
    });
    match ended {
        None => return false,
        Some(Ok(to)) => end(&to),
        Some(Err(waker)) => {
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
    true
}

/// Wakes the upgrade waiting on `inner`, if any (its buffer was sent, or the connection
/// ended).
pub(super) fn wake(inner: &Inner) {
    let waker = inner.with_upgrade(|u| u.waiter.get().cloned()).flatten();
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// An upgrade began on `inner`: its task ends without calling the protocol (asyncio's plain
/// transport calls the `SSLProtocol` from then on, which does not call the application's
/// protocol before its handshake completed).
pub(super) fn began(inner: &Inner) -> bool {
    inner.with_upgrade(|_| ()).is_some()
}

/// An upgrade under way on a plain transport; dropped before [`done`](TakeOver::done) (a
/// failure, a cancel), it closes the connection.
struct TakeOver {
    transport: Transport,
}

impl TakeOver {
    /// Checks the transport and begins its upgrade: no more reads, no more writes.
    fn begin(transport: &Transport) -> io::Result<TakeOver> {
        let inner = &*transport.inner;
        let refuse = |why: &str| {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("start_tls: {why}"),
            ))
        };
        if inner.kind() != IoKind::Stream {
            return refuse("a pipe transport is not supported");
        }
        if inner.is_tls() {
            return refuse("the transport is TLS already");
        }
        if let Err(why) = inner.begin_upgrade() {
            return refuse(why);
        }
        Ok(TakeOver {
            transport: transport.clone(),
        })
    }

    fn inner(&self) -> &Inner {
        &self.transport.inner
    }

    /// Stores the waker, or fails if the plain transport was closed meanwhile.
    fn register(&self, cx: &Context<'_>) -> io::Result<()> {
        let replaced = self
            .inner()
            .with_upgrade(|upgrade| (!upgrade.cancelled).then(|| upgrade.waiter.register(cx.waker())))
            .expect("an upgrade under way");
        let Some(replaced) = replaced else {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "start_tls: the transport was closed during the upgrade",
            ));
        };
        drop(replaced);
        Ok(())
    }

    /// Waits until the plain transport sent what it buffered (and the socket what it took),
    /// then takes its socket.
    async fn flushed(&self) -> io::Result<StreamSocket> {
        let inner = self.inner();
        poll_fn(|cx| {
            self.register(cx)?;
            inner
                .poll_flushed(cx)
                .map_err(|lost| lost.unwrap_or_else(lost_error))
        })
        .await?;
        match inner.take_socket() {
            Some(Io::Stream(sock)) => Ok(sock),
            _ => Err(lost_error()),
        }
    }

    /// Runs `handshake` until it ends or the plain transport is closed.
    async fn abortable<T>(&self, handshake: impl Future<Output = io::Result<T>>) -> io::Result<T> {
        let mut handshake = pin!(handshake);
        poll_fn(|cx| {
            self.register(cx)?;
            handshake.as_mut().poll(cx)
        })
        .await
    }

    /// The new transport over `sock`, for the plain one's protocol; the plain one's task
    /// ends, and what it runs once the connection is lost (a server's count) moves to the
    /// new one.
    fn done(self, sock: Io) -> io::Result<Transport> {
        let inner = self.inner();
        let Some(protocol) = inner.protocol() else {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "start_tls: the transport's protocol was dropped",
            ));
        };
        let new = start_shared(sock, protocol, MadeIn::Never);
        inner.hand_over_on_lost(&new);
        inner
            .with_upgrade(|upgrade| upgrade.to = Some(new.clone()))
            .expect("an upgrade under way");
        Ok(new)
    }
}

/// The upgrade's error when the connection was lost before it took the socket.
fn lost_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "start_tls: the connection was lost",
    )
}

impl Drop for TakeOver {
    /// Ends the plain transport's task: after [`done`](TakeOver::done) quietly; else the
    /// socket (if not taken yet) is closed and a server forgets the connection.
    fn drop(&mut self) {
        let inner = self.inner();
        if let Some(sock) = inner.take_socket() {
            sock.abort();
        }
        inner.force_close(None);
        inner.wake_driver();
    }
}
