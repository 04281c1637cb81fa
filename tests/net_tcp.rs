//! TCP through the public API: echo, large transfers with partial writes, errors, split halves,
//! the futures-io traits.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream};
use futures_util::{AsyncReadExt, AsyncWriteExt};

async fn echo_server() -> (SocketAddr, aioloop::Task<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = aioloop::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            drop(aioloop::spawn(async move {
                let mut buf = vec![0; 16 * 1024];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            }));
        }
    });
    (addr, task)
}

#[test]
fn echo_round_trips() {
    aioloop::run(async {
        let (addr, server) = echo_server().await;
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        assert!(stream.nodelay().unwrap());
        assert_eq!(stream.peer_addr().unwrap(), addr);
        assert_eq!(stream.local_addr().unwrap().ip(), addr.ip());
        for i in 0..100u32 {
            let msg = format!("message {i}");
            stream.write_all(msg.as_bytes()).await.unwrap();
            let mut back = vec![0; msg.len()];
            stream.read_exact(&mut back).await.unwrap();
            assert_eq!(back, msg.as_bytes());
        }
        server.cancel();
    });
}

#[test]
fn many_clients_at_once() {
    aioloop::run(async {
        let (addr, server) = echo_server().await;
        let clients: Vec<_> = (0..50u8)
            .map(|i| {
                aioloop::spawn(async move {
                    let stream = TcpStream::connect(addr).await.unwrap();
                    for _ in 0..20 {
                        stream.write_all(&[i; 64]).await.unwrap();
                        let mut back = [0; 64];
                        stream.read_exact(&mut back).await.unwrap();
                        assert_eq!(back, [i; 64]);
                    }
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
        server.cancel();
    });
}

#[test]
fn one_mib_with_partial_writes() {
    aioloop::run(async {
        let (addr, server) = echo_server().await;
        let stream = TcpStream::connect(addr).await.unwrap();
        // Loopback would take the whole MiB in one write: a small send buffer forces partial ones.
        socket2::SockRef::from(&stream)
            .set_send_buffer_size(32 * 1024)
            .unwrap();
        let data: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
        let (mut read, mut write) = stream.into_split();
        let expected = data.clone();
        let reader = aioloop::spawn(async move {
            let mut got = Vec::with_capacity(expected.len());
            let mut buf = vec![0; 7919];
            while got.len() < expected.len() {
                let n = read.read(&mut buf).await.unwrap();
                assert!(n > 0, "early EOF after {} bytes", got.len());
                got.extend_from_slice(&buf[..n]);
            }
            assert!(got == expected, "the echoed bytes differ");
            read
        });
        // Raw `write` calls: the socket takes part of each buffer while the reader lags.
        let mut rest = &data[..];
        let mut writes = 0;
        let mut partial = 0;
        while !rest.is_empty() {
            let n = write.write(rest).await.unwrap();
            if n < rest.len() {
                partial += 1;
            }
            rest = &rest[n..];
            writes += 1;
        }
        let read = reader.await.unwrap();
        eprintln!("1 MiB in {writes} writes, {partial} partial");
        assert!(
            partial > 0,
            "the socket took 1 MiB in one write: no partial write was exercised"
        );
        let stream = read.reunite(write).unwrap();
        drop(stream);
        server.cancel();
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    aioloop::run(async {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    });
}

#[test]
fn eof_and_shutdown() {
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = aioloop::spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(b"bye").await.unwrap();
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            let mut rest = Vec::new();
            let mut stream = stream;
            stream.read_to_end(&mut rest).await.unwrap();
            rest
        });
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"bye");
        stream.write_all(b"ok").await.unwrap();
        stream.close().await.unwrap();
        assert_eq!(client.await.unwrap(), b"ok");
    });
}

/// A read into an empty buffer gives `Ok(0)` at once, with nothing to read, on every driver
/// (asyncio's `sock_recv(s, 0)`; a `recv(2)` of 0 bytes): on epoll it waited for the stream to
/// become readable first (found by the third asyncio audit), on io_uring it did not.
#[test]
fn a_read_into_an_empty_buffer_returns_at_once() {
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let empty = aioloop::wait_for(server.read(&mut []), std::time::Duration::from_secs(2)).await;
        assert_eq!(empty.expect("an empty read must not wait").unwrap(), 0);
        // The stream still reads what comes next.
        client.write_all(b"x").await.unwrap();
        let mut byte = [0u8];
        assert_eq!(server.read(&mut byte).await.unwrap(), 1);
        assert_eq!(&byte, b"x");
    });
}

#[test]
fn futures_io_traits_and_split_halves() {
    aioloop::run(async {
        let (addr, server) = echo_server().await;
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut read, mut write) = stream.into_split();
        let writer = aioloop::spawn(async move {
            for i in 0..10u8 {
                AsyncWriteExt::write_all(&mut write, &[i; 100]).await.unwrap();
                aioloop::sleep(Duration::from_millis(1)).await;
            }
            write
        });
        let mut got = vec![0; 1000];
        AsyncReadExt::read_exact(&mut read, &mut got).await.unwrap();
        for (i, chunk) in got.chunks(100).enumerate() {
            assert!(chunk.iter().all(|&b| b == i as u8));
        }
        let write = writer.await.unwrap();
        assert_eq!(read.as_ref().peer_addr().unwrap(), addr);
        let other = TcpStream::connect(addr).await.unwrap();
        let (other_read, other_write) = other.into_split();
        let err = read.reunite(other_write).unwrap_err();
        let (read, _other_write) = (err.0, err.1);
        read.reunite(write).unwrap();
        drop(other_read);
        server.cancel();
    });
}

#[test]
fn from_std_and_into_std() {
    aioloop::run(async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let listener = TcpListener::from_std(std_listener).unwrap();
        let std_client = std::net::TcpStream::connect(addr).unwrap();
        let client = TcpStream::from_std(std_client).unwrap();
        let (server_side, _) = listener.accept().await.unwrap();
        client.write_all(b"x").await.unwrap();
        let mut b = [0];
        server_side.read_exact(&mut b).await.unwrap();
        let std_stream = client.into_std().unwrap();
        assert_eq!(std_stream.peer_addr().unwrap(), addr);
        let std_listener = listener.into_std().unwrap();
        assert_eq!(std_listener.local_addr().unwrap(), addr);
    });
}

#[test]
#[should_panic(expected = "no running event loop")]
fn from_std_without_a_loop_panics() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let _ = TcpListener::from_std(listener);
}

#[test]
fn bind_reuseport_twice_on_one_port() {
    aioloop::run(async {
        let a = TcpListener::bind_reuseport("127.0.0.1:0").await.unwrap();
        let addr = a.local_addr().unwrap();
        let b = TcpListener::bind_reuseport(addr).await.unwrap();
        assert_eq!(b.local_addr().unwrap(), addr);
        assert!(
            TcpListener::bind(addr).await.is_err(),
            "a plain bind must not join the group"
        );
    });
}
