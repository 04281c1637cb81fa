//! asyncio's `create_connection(..., local_addr=..., all_errors=...)`: `ConnectOptions`'s
//! `local_addr` and `all_errors`, through `TcpStream::connect_with`,
//! `streams::open_connection_with` and `protocols::create_connection_with`. Ports
//! test_events.py's `test_create_connection_local_addr`, `..._local_addr_in_use`,
//! `..._local_addr_nomatch_family` and `..._local_addr_skip_different_family`, and
//! test_base_events.py's `test_create_connection_multiple_errors` (with `all_errors=True`).
//! (Happy Eyeballs and `interleave`: tests/happy_eyeballs.rs.)

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener as StdListener};

use aioloop::net::{ConnectErrors, ConnectOptions, TcpListener, TcpStream};
use aioloop::protocols::{create_connection_with, Protocol, SocketAddress, Transport};
use aioloop::streams::open_connection_with;

/// A port free on 127.0.0.1 (socket_helper.find_unused_port): bound, read, released.
fn unused_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[derive(Debug)]
struct Quiet;
impl Protocol for Quiet {
    fn connection_made(&mut self, _transport: Transport) {}
}

/// test_create_connection_local_addr: the connection's own address is the one asked for.
#[test]
fn test_create_connection_local_addr() {
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();

        let port = unused_port();
        let local = addr(&format!("127.0.0.1:{port}"));
        let options = ConnectOptions::new().local_addr(local);
        let (transport, _) = create_connection_with(|| Quiet, server, options).await.unwrap();
        match transport.get_extra_info("sockname") {
            Some(SocketAddress::Inet(sockname)) => assert_eq!(sockname.port(), port),
            other => panic!("sockname {other:?}"),
        }
        let (_, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, local, "the server sees the bound address");
        transport.close();

        // The same through the stream and streams entry points.
        let port = unused_port();
        let local = addr(&format!("127.0.0.1:{port}"));
        let stream = TcpStream::connect_with(server, ConnectOptions::new().local_addr(local))
            .await
            .unwrap();
        assert_eq!(stream.local_addr().unwrap(), local);
        assert_eq!(listener.accept().await.unwrap().1, local);

        let port = unused_port();
        let local = addr(&format!("127.0.0.1:{port}"));
        let (_reader, writer) = open_connection_with(server, ConnectOptions::new().local_addr(local))
            .await
            .unwrap();
        assert_eq!(listener.accept().await.unwrap().1, local);
        drop(writer);
    });
}

/// test_create_connection_local_addr_in_use: binding to the listening server's own address
/// fails with `EADDRINUSE`, and the message names the address.
#[test]
fn test_create_connection_local_addr_in_use() {
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();
        let options = ConnectOptions::new().local_addr(server);
        let err = TcpStream::connect_with(server, options).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
        assert_eq!(err.raw_os_error(), None, "a message of our own: {err:?}");
        let message = err.to_string();
        assert!(message.contains(&server.to_string()), "{message}");
        assert!(
            message.contains("error while attempting to bind on address"),
            "{message}"
        );

        let err = create_connection_with(|| Quiet, server, options)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    });
}

/// test_create_connection_local_addr_nomatch_family: an IPv6 local address for an IPv4 peer is
/// no match, and no connection is made.
#[test]
fn test_create_connection_local_addr_nomatch_family() {
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();
        let options = ConnectOptions::new().local_addr(addr("[::1]:0"));
        let err = TcpStream::connect_with(server, options).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("no matching local address with family=AF_INET found"),
            "{err}"
        );
    });
}

/// test_create_connection_local_addr_skip_different_family: of several peer addresses, the
/// one of the local address's family is used; the others fail without a connect.
#[test]
fn test_create_connection_local_addr_skip_different_family() {
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();
        let v6 = addr(&format!("[::1]:{}", server.port()));
        let options = ConnectOptions::new().local_addr(addr("127.0.0.1:0"));
        let stream = TcpStream::connect_with(&[v6, server][..], options).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), server);

        // Only addresses of the other family: the attempt's error says why.
        let err = TcpStream::connect_with(v6, options).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("no matching local address with family=AF_INET6 found"),
            "{err}"
        );
    });
}

/// test_base_events.py `test_create_connection_multiple_errors`: two addresses failing give
/// "Multiple exceptions: err1, err2"; with `all_errors` every error comes back on its own,
/// each naming its address (asyncio's `ExceptionGroup`).
#[test]
fn test_create_connection_multiple_errors() {
    aioloop::run(async {
        let closed = || async {
            TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap()
                .local_addr()
                .unwrap()
        };
        let targets = [closed().await, closed().await];

        let combined = TcpStream::connect_with(&targets[..], ConnectOptions::new())
            .await
            .unwrap_err();
        assert_eq!(combined.kind(), ErrorKind::ConnectionRefused, "{combined}");
        let message = combined.to_string();
        assert!(message.starts_with("Multiple exceptions: "), "{message}");
        assert!(combined
            .get_ref()
            .unwrap()
            .downcast_ref::<ConnectErrors>()
            .is_none());

        let options = ConnectOptions::new().all_errors(true);
        let err = TcpStream::connect_with(&targets[..], options).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        let group = err.get_ref().unwrap().downcast_ref::<ConnectErrors>().unwrap();
        assert_eq!(group.errors().len(), 2);
        for (error, target) in group.errors().iter().zip(targets) {
            assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
            assert!(error.to_string().contains(&target.to_string()), "{error}");
        }

        // One address: still a group, of one (asyncio raises the group whatever the count).
        let err = TcpStream::connect_with(targets[0], options).await.unwrap_err();
        let group = err.into_inner().unwrap().downcast::<ConnectErrors>().unwrap();
        assert_eq!(group.into_errors().len(), 1);

        // Through the protocols entry point too.
        let err = create_connection_with(|| Quiet, &targets[..], options)
            .await
            .unwrap_err();
        assert!(err.get_ref().unwrap().is::<ConnectErrors>(), "{err}");
    });
}
