//! The TLS handshake of a new connection, bounded by the handshake timeout and, on a server,
//! abortable while it runs ([`PendingHandshake`]: the server's `close_clients`/`abort_clients`
//! reach a connection still in its handshake).

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::io;
use std::net::Shutdown;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::{TlsAcceptor, TlsConnector, TlsStream};

use super::{ClientTls, ServerTls};
use crate::streams::Socket;
use crate::waker_slot::WakerSlot;

/// A server connection in its handshake, as the server counts it: shutting it down (either
/// way) or aborting it ends the handshake, and the connection is closed.
#[derive(Default)]
pub(crate) struct PendingHandshake {
    aborted: Cell<bool>,
    waker: RefCell<WakerSlot>,
}

impl Socket for PendingHandshake {
    fn shutdown(&self, _how: Shutdown) {
        self.abort();
    }

    fn abort(&self) {
        self.aborted.set(true);
        let waker = self.waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The client's handshake over `io`.
pub(crate) async fn connect<IO>(io: IO, tls: &ClientTls) -> io::Result<TlsStream<IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let connect = TlsConnector::from(tls.config.clone()).connect(tls.server_name.clone(), io);
    let stream = bounded(connect, tls.handshake_timeout, None).await?;
    Ok(stream.into())
}

/// The server's handshake over `io`, ended early if `pending` is aborted.
pub(crate) async fn accept<IO>(
    io: IO,
    tls: &ServerTls,
    pending: &PendingHandshake,
) -> io::Result<TlsStream<IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let accept = TlsAcceptor::from(tls.config.clone()).accept(io);
    let stream = bounded(accept, tls.handshake_timeout, Some(pending)).await?;
    Ok(stream.into())
}

/// Runs `handshake` for at most `timeout` (asyncio's "SSL handshake is taking longer than ...
/// seconds: aborting the connection"), and until `pending` is aborted.
async fn bounded<T>(
    handshake: impl Future<Output = io::Result<T>>,
    timeout: Duration,
    pending: Option<&PendingHandshake>,
) -> io::Result<T> {
    let mut handshake = pin!(handshake);
    let abortable = poll_fn(|cx| {
        if let Some(pending) = pending {
            if pending.aborted.get() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the server closed the connection during its TLS handshake",
                )));
            }
            let replaced = pending.waker.borrow_mut().register(cx.waker());
            drop(replaced);
        }
        handshake.as_mut().poll(cx)
    });
    match crate::wait_for(abortable, timeout).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("TLS handshake is taking longer than {timeout:?}: aborting the connection"),
        )),
    }
}
