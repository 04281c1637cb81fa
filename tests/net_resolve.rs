//! Address resolution through the public API. Host names bind and connect; they are looked up
//! on the loop's blocking pool while the loop runs other tasks (shown with the pool held busy,
//! so no timing is involved); literal addresses never wait for the pool; strings that are not
//! addresses, and names that do not resolve, fail instead of hanging.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::mpsc;
use std::time::Duration;

use aioloop::net::{lookup_host, TcpListener, TcpStream, UdpSocket};
use aioloop::streams::{open_connection, start_server};
use aioloop::{wait_for, Builder, ToThread};

const LIMIT: Duration = Duration::from_secs(30);

/// Occupies a blocking-pool thread until the returned sender is used or dropped.
fn hold_a_pool_thread() -> (mpsc::Sender<()>, ToThread<()>) {
    let (release, held) = mpsc::channel::<()>();
    let holder = aioloop::to_thread(move || {
        let _ = held.recv();
    });
    (release, holder)
}

/// Accepts one connection and checks it is the one `client` made.
async fn accept_from(listener: &TcpListener, client: &TcpStream) {
    let (_, peer) = wait_for(listener.accept(), LIMIT).await.unwrap().unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
}

#[test]
fn host_names_bind_and_connect() {
    aioloop::run(async {
        let listener = TcpListener::bind("localhost:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(addr.ip().is_loopback(), "{addr}");
        let port = addr.port();
        let by_string = TcpStream::connect(format!("localhost:{port}")).await.unwrap();
        accept_from(&listener, &by_string).await;
        let by_pair = TcpStream::connect(("localhost", port)).await.unwrap();
        accept_from(&listener, &by_pair).await;
        let (_reader, writer) = open_connection((String::from("localhost"), port)).await.unwrap();
        assert_eq!(writer.peer_addr(), Some(addr));
        listener.accept().await.unwrap();

        let found: Vec<SocketAddr> = lookup_host(("localhost", port)).await.unwrap().collect();
        assert!(found.contains(&addr), "{found:?} lacks {addr}");

        // UDP: both sockets bound by name (the same first address), then a name as the peer.
        let server = UdpSocket::bind("localhost:0").await.unwrap();
        let client = UdpSocket::bind("localhost:0").await.unwrap();
        let server_port = server.local_addr().unwrap().port();
        client.connect(("localhost", server_port)).await.unwrap();
        client.send(b"ping").await.unwrap();
        let mut buf = [0; 8];
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"ping"[..], client.local_addr().unwrap()));
        let to = format!("localhost:{}", from.port());
        server.send_to(b"pong", to.as_str()).await.unwrap();
        let n = client.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"pong");

        let server = start_server(|_reader, _writer| async {}, "localhost:0")
            .await
            .unwrap();
        assert!(server.local_addr().unwrap().ip().is_loopback());
        server.close();
    });
}

#[test]
fn a_name_is_looked_up_on_the_pool_while_the_loop_runs_other_tasks() {
    Builder::new().blocking_threads(1).run(async {
        let listener = TcpListener::bind("localhost:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // The pool's only thread is busy: a lookup can only queue behind it.
        let (release, holder) = hold_a_pool_thread();
        let connect = aioloop::spawn(TcpStream::connect(format!("localhost:{port}")));
        // Meanwhile the loop goes on: another task takes a hundred turns, a timer fires.
        let turns = aioloop::spawn(async {
            for _ in 0..100 {
                aioloop::yield_now().await;
            }
            100
        });
        assert_eq!(turns.await.unwrap(), 100);
        aioloop::sleep(Duration::from_millis(20)).await;
        assert!(
            !connect.is_done(),
            "the connect finished while the pool was held: the name was not looked up there"
        );
        release.send(()).unwrap();
        let stream = wait_for(connect, LIMIT).await.unwrap().unwrap().unwrap();
        holder.await.unwrap();
        accept_from(&listener, &stream).await;
    });
}

#[test]
fn literal_addresses_never_wait_for_the_pool() {
    Builder::new().blocking_threads(1).run(async {
        // Held for the whole test: anything that needed the pool would time out.
        let (release, holder) = hold_a_pool_thread();
        let limit = Duration::from_secs(10);
        let listener = wait_for(TcpListener::bind("127.0.0.1:0"), limit)
            .await
            .unwrap()
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let port = addr.port();
        let v4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        for stream in [
            wait_for(TcpStream::connect(addr), limit).await,
            wait_for(TcpStream::connect(&addr), limit).await,
            wait_for(TcpStream::connect(v4), limit).await,
            wait_for(TcpStream::connect((Ipv4Addr::LOCALHOST, port)), limit).await,
            wait_for(TcpStream::connect(("127.0.0.1", port)), limit).await,
            wait_for(TcpStream::connect(&[addr][..]), limit).await,
            wait_for(TcpStream::connect(addr.to_string()), limit).await,
        ] {
            accept_from(&listener, &stream.unwrap().unwrap()).await;
        }
        let (_reader, _writer) = wait_for(open_connection(addr), limit).await.unwrap().unwrap();
        listener.accept().await.unwrap();
        let reuse = wait_for(TcpListener::bind_reuseport((Ipv4Addr::LOCALHOST, 0)), limit).await;
        reuse.unwrap().unwrap();
        let server = wait_for(start_server(|_r, _w| async {}, "127.0.0.1:0"), limit).await;
        server.unwrap().unwrap().close();

        let udp = wait_for(UdpSocket::bind("127.0.0.1:0"), limit)
            .await
            .unwrap()
            .unwrap();
        let udp_addr = udp.local_addr().unwrap();
        let sent = wait_for(udp.send_to(b"x", udp_addr.to_string().as_str()), limit).await;
        assert_eq!(sent.unwrap().unwrap(), 1);
        wait_for(udp.connect(udp_addr), limit).await.unwrap().unwrap();
        let found = wait_for(lookup_host("[::1]:80"), limit).await.unwrap().unwrap();
        assert_eq!(found.as_slice(), ["[::1]:80".parse::<SocketAddr>().unwrap()]);

        release.send(()).unwrap();
        holder.await.unwrap();
    });
}

#[test]
fn strings_that_are_not_addresses_are_invalid_input() {
    aioloop::run(async {
        let err = TcpStream::connect("not an address").await.unwrap_err();
        assert_eq!(
            (err.kind(), err.to_string().as_str()),
            (ErrorKind::InvalidInput, "invalid socket address")
        );
        let err = TcpListener::bind("127.0.0.1").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = UdpSocket::bind("localhost:http").await.unwrap_err();
        assert_eq!(
            (err.kind(), err.to_string().as_str()),
            (ErrorKind::InvalidInput, "invalid port value")
        );
        let err = TcpStream::connect(&[][..]).await.unwrap_err();
        assert_eq!(
            (err.kind(), err.to_string().as_str()),
            (ErrorKind::InvalidInput, "could not resolve to any address")
        );
        assert_eq!(lookup_host(&[][..]).await.unwrap().len(), 0);
    });
}

#[test]
fn a_name_that_cannot_resolve_fails_without_hanging() {
    // `.invalid` never resolves (RFC 2606). Without DNS at all the resolver fails too, with
    // some other error: any error will do, a hang will not.
    aioloop::run(async {
        let connect = wait_for(TcpStream::connect("nonexistent.invalid:80"), LIMIT).await;
        assert!(connect.expect("the lookup hung").is_err());
        let found = wait_for(lookup_host(("nonexistent.invalid", 80)), LIMIT).await;
        match found.expect("the lookup hung") {
            Err(_) => {}
            Ok(addrs) => assert_eq!(addrs.len(), 0, "{addrs:?}"),
        }
    });
}
