//! With the `tokio-io` feature, aioloop's streams implement tokio's `AsyncRead`/`AsyncWrite`:
//! tokio's extension traits and tokio-util's codecs run on them (hyper is exercised by
//! examples/http_hello.rs, run by tests/net_examples.rs).
#![cfg(feature = "tokio-io")]

use aioloop::net::{TcpListener, TcpStream, UnixStream};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::{FramedRead, LinesCodec};

#[test]
fn tokio_extension_traits_on_tcp_and_split_halves() {
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = aioloop::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (mut read, mut write) = stream.into_split();
            let mut buf = vec![0; 5000];
            AsyncReadExt::read_exact(&mut read, &mut buf).await.unwrap();
            AsyncWriteExt::write_all(&mut write, &buf).await.unwrap();
            AsyncWriteExt::shutdown(&mut write).await.unwrap();
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let data: Vec<u8> = (0..5000).map(|i| i as u8).collect();
        AsyncWriteExt::write_all(&mut stream, &data).await.unwrap();
        let mut back = Vec::new();
        AsyncReadExt::read_to_end(&mut stream, &mut back).await.unwrap();
        assert_eq!(back, data);
        server.await.unwrap();
    });
}

#[test]
fn tokio_util_lines_codec() {
    aioloop::run(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let writer = aioloop::spawn(async move {
            for i in 0..100 {
                AsyncWriteExt::write_all(&mut b, format!("line {i}\n").as_bytes())
                    .await
                    .unwrap();
            }
        });
        let mut lines = FramedRead::new(a, LinesCodec::new());
        for i in 0..100 {
            assert_eq!(lines.next().await.unwrap().unwrap(), format!("line {i}"));
        }
        writer.await.unwrap();
        assert!(lines.next().await.is_none(), "EOF once the writer is dropped");
    });
}
