//! Issue 18 item 4: `TcpListener::incoming()` and `UnixListener::incoming()` as streams.

use std::pin::Pin;
use std::task::{Context, Poll};

use aioloop::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use futures_core::Stream;

#[test]
fn tcp_incoming_yields_each_connection_in_order() {
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clients = aioloop::spawn(async move {
            let mut peers = Vec::new();
            for i in 0..5u8 {
                let stream = TcpStream::connect(addr).await.unwrap();
                stream.write_all(&[i]).await.unwrap();
                peers.push(stream);
            }
            peers
        });
        let mut incoming = listener.incoming();
        let mut got = Vec::new();
        for _ in 0..5 {
            let stream = incoming.next().await.expect("never ends").unwrap();
            let mut byte = [0; 1];
            stream.read_exact(&mut byte).await.unwrap();
            got.push(byte[0]);
        }
        assert_eq!(got, [0, 1, 2, 3, 4]);
        drop(clients.await.unwrap());
    });
}

#[test]
fn tcp_incoming_is_a_futures_stream_pending_until_a_connect() {
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut incoming = listener.incoming();
        // Nobody connected yet: the stream is pending, not ended.
        let first = std::future::poll_fn(|cx: &mut Context<'_>| {
            Poll::Ready(Pin::new(&mut incoming).poll_next(cx).is_pending())
        })
        .await;
        assert!(first);
        assert_eq!(incoming.size_hint(), (0, None));
        let _client = TcpStream::connect(addr).await.unwrap();
        let stream = std::future::poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stream.local_addr().unwrap(), addr);
    });
}

#[test]
fn unix_incoming_yields_connections() {
    let dir = std::env::temp_dir().join(format!("aioloop-incoming-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sock");
    aioloop::run(async {
        let listener = UnixListener::bind(&path).unwrap();
        let client_path = path.clone();
        let clients = aioloop::spawn(async move {
            let a = UnixStream::connect(&client_path).await.unwrap();
            let b = UnixStream::connect(&client_path).await.unwrap();
            a.write_all(b"a").await.unwrap();
            b.write_all(b"b").await.unwrap();
            (a, b)
        });
        let mut incoming = listener.incoming();
        let mut got = Vec::new();
        for _ in 0..2 {
            let stream = incoming.next().await.unwrap().unwrap();
            let mut byte = [0; 1];
            stream.read_exact(&mut byte).await.unwrap();
            got.push(byte[0]);
        }
        assert_eq!(got, b"ab");
        drop(clients.await.unwrap());
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
