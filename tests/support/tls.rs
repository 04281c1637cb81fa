//! For the TLS tests (tests/streams_tls.rs, asyncio_protocols_tls.rs): self-signed
//! certificates made with rcgen, and the configs of a server proving them and a client
//! trusting them.

use std::sync::Arc;

use aioloop::tls::rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use aioloop::tls::rustls::{ClientConfig, RootCertStore, ServerConfig};

/// A server config proving a self-signed certificate, and a client config trusting it.
pub struct Pki {
    pub server: Arc<ServerConfig>,
    pub client: Arc<ClientConfig>,
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
