//! No file descriptor leaks: the process's descriptor count (`/proc/self/fd`) is the same
//! before and after connection churn, and after dropping a loop that still has open sockets.
//!
//! One test function in its own test binary: other tests running in parallel threads would
//! open descriptors of their own and disturb the count.

use std::future::pending;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
use aioloop::streams::{open_unix_connection, start_server, start_unix_server};
use aioloop::EventLoop;

fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn no_fd_leaks() {
    if !std::path::Path::new("/proc/self/fd").exists() {
        eprintln!("no /proc/self/fd on this system: skipped");
        return;
    }
    churn_1000_connections();
    drop_a_loop_with_open_sockets();
    sockets_that_outlive_their_loop();
    test_create_unix_server_bind_error();
}

fn churn_1000_connections() {
    let event_loop = EventLoop::new().unwrap();
    event_loop.run_until_complete(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let before = fd_count();
        for i in 0..1000u32 {
            let client = aioloop::spawn(async move {
                let stream = TcpStream::connect(addr).await.unwrap();
                stream.write_all(&i.to_le_bytes()).await.unwrap();
                let mut buf = [0; 4];
                stream.read_exact(&mut buf).await.unwrap();
                assert_eq!(u32::from_le_bytes(buf), i);
            });
            let (server, _) = listener.accept().await.unwrap();
            let mut buf = [0; 4];
            server.read_exact(&mut buf).await.unwrap();
            server.write_all(&buf).await.unwrap();
            client.await.unwrap();
            drop(server);
        }
        assert_eq!(
            fd_count(),
            before,
            "descriptors leaked by 1000 connect/accept/close cycles"
        );
    });
}

fn drop_a_loop_with_open_sockets() {
    let before = fd_count();
    let event_loop = EventLoop::new().unwrap();
    event_loop.run_until_complete(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        // Tasks that wait on their sockets forever, and a pending read with a waker stored.
        drop(aioloop::spawn(async move {
            let _keep = (listener, udp, a);
            pending::<()>().await
        }));
        drop(aioloop::spawn(async move {
            let mut buf = [0; 8];
            let _ = server.read(&mut buf).await;
            pending::<()>().await
        }));
        drop(aioloop::spawn(async move {
            let _ = client.write_all(b"x").await;
            let _ = b.read(&mut [0; 1]).await;
        }));
        aioloop::sleep(Duration::from_millis(5)).await;
    });
    assert!(fd_count() > before);
    drop(event_loop);
    assert_eq!(
        fd_count(),
        before,
        "descriptors leaked by dropping a loop with open sockets"
    );
}

fn sockets_that_outlive_their_loop() {
    let before = fd_count();
    let event_loop = EventLoop::new().unwrap();
    let escaped = event_loop.run_until_complete(async { UdpSocket::bind("127.0.0.1:0").await.unwrap() });
    drop(event_loop);
    // The socket keeps its (closed) loop's poller alive until it goes.
    drop(escaped);
    assert_eq!(
        fd_count(),
        before,
        "descriptors leaked by a socket that outlived its loop"
    );
}

/// test_unix_events.py `test_create_unix_server_bind_error` (the socket is closed on a bind
/// error), and its TCP and connect counterparts: failed binds, servers and connects leave no
/// descriptor behind.
fn test_create_unix_server_bind_error() {
    let event_loop = EventLoop::new().unwrap();
    event_loop.run_until_complete(async {
        let missing = std::env::temp_dir().join(format!("aioloop-no-such-dir-{}", std::process::id()));
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken_addr = taken.local_addr().unwrap();
        let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let before = fd_count();
        for _ in 0..100 {
            let handler = |_, _| async {};
            assert!(start_unix_server(handler, missing.join("s.sock")).await.is_err());
            assert!(UnixListener::bind(missing.join("s.sock")).is_err());
            assert!(start_server(handler, taken_addr).await.is_err());
            assert!(TcpListener::bind(taken_addr).await.is_err());
            assert!(TcpStream::connect(closed_port).await.is_err());
            assert!(open_unix_connection(missing.join("s.sock")).await.is_err());
        }
        assert_eq!(
            fd_count(),
            before,
            "descriptors leaked by failed binds and connects"
        );
    });
}
