//! For the TLS tests (tests/streams_tls.rs, asyncio_protocols_tls.rs): self-signed
//! certificates made with rcgen, the configs of a server proving them and a client trusting
//! them, and the streams servers the tests run on a loopback port (a TLS one, a plain one
//! whose connections upgrade).

use std::future::Future;
use std::sync::Arc;

use aioloop::streams::{
    open_connection_tls, start_server, start_server_tls, Server, StreamReader, StreamWriter,
};
use aioloop::tls::rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use aioloop::tls::rustls::{ClientConfig, RootCertStore, ServerConfig};
use aioloop::tls::{ClientTls, ServerTls};

/// A server config proving a self-signed certificate, and a client config trusting it.
pub struct Pki {
    pub server: Arc<ServerConfig>,
    pub client: Arc<ClientConfig>,
}

impl Pki {
    /// The client's TLS, trusting this certificate, for the server `localhost`.
    pub fn client_tls(&self) -> ClientTls {
        ClientTls::new(self.client.clone(), "localhost").unwrap()
    }

    /// The server's TLS, proving this certificate.
    pub fn server_tls(&self) -> ServerTls {
        ServerTls::new(self.server.clone())
    }
}

/// A [`Pki`] whose certificate is for `names`.
pub fn pki_for(names: &[&str]) -> Pki {
    let cert =
        rcgen::generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    let cert_der = CertificateDer::from_pem_slice(cert.cert.pem().as_bytes()).unwrap();
    let key_der = PrivateKeyDer::from_pem_slice(cert.signing_key.serialize_pem().as_bytes()).unwrap();
    let mut server = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key_der)
        .unwrap();
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut roots = RootCertStore::empty();
    roots.add(cert_der).unwrap();
    let mut client = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    Pki {
        server: Arc::new(server),
        client: Arc::new(client),
    }
}

/// A [`Pki`] whose certificate is for `localhost`.
pub fn pki() -> Pki {
    pki_for(&["localhost"])
}

/// Waits (10 s at most) until the server closes `client`, a connection that sent nothing (a
/// handshake that timed out or was ended): it reads EOF, nothing sent.
pub async fn assert_closed_by_server(client: &aioloop::net::TcpStream) {
    let mut buf = [0; 16];
    let n = aioloop::wait_for(client.read(&mut buf), std::time::Duration::from_secs(10))
        .await
        .expect("the server closes the connection")
        .unwrap_or(0);
    assert_eq!(n, 0, "EOF, nothing sent");
}

/// `start_server_tls` on a loopback port: `handler` runs each connection once its handshake
/// with `tls` is done.
pub async fn start_loopback_server<H, Fut>(handler: H, tls: ServerTls) -> Server
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    start_server_tls(handler, "127.0.0.1:0", tls).await.unwrap()
}

/// A plain `start_server` on a loopback port whose `handler` gets each connection with the
/// server's TLS `tls`, for its upgrade (`StreamWriter::start_tls_server`).
pub async fn start_starttls_server<H, Fut>(tls: ServerTls, handler: H) -> Server
where
    H: Fn(StreamReader, StreamWriter, ServerTls) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    start_server(
        move |reader, writer| handler(reader, writer, tls.clone()),
        "127.0.0.1:0",
    )
    .await
    .unwrap()
}

/// [`start_loopback_server`] with `handler` and `pki`'s [`Pki::server_tls`], and a streams
/// client of it, its handshake made with `pki`'s [`Pki::client_tls`].
pub async fn serve_and_connect<H, Fut>(pki: &Pki, handler: H) -> (Server, StreamReader, StreamWriter)
where
    H: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let server = start_loopback_server(handler, pki.server_tls()).await;
    let (reader, writer) = open_connection_tls(server.local_addr().unwrap(), &pki.client_tls())
        .await
        .unwrap();
    (server, reader, writer)
}
