//! UDP and Unix-domain sockets through the public API.

use std::path::PathBuf;

use aioloop::net::{UdpSocket, UnixDatagram, UnixListener, UnixStream};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aioloop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn udp_echo_round_trips() {
    aioloop::run(async {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let echo = aioloop::spawn(async move {
            let mut buf = [0; 1500];
            loop {
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                if &buf[..n] == b"stop" {
                    break;
                }
                server.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for i in 0..100u32 {
            let msg = i.to_le_bytes();
            client.send_to(&msg, addr).await.unwrap();
            let mut buf = [0; 16];
            let (n, from) = client.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&msg[..], addr));
        }
        // Connected mode.
        client.connect(addr).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), addr);
        client.send(b"connected").await.unwrap();
        let mut buf = [0; 16];
        let n = client.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"connected");
        client.send(b"stop").await.unwrap();
        echo.await.unwrap();
    });
}

#[test]
fn udp_from_std_into_std() {
    aioloop::run(async {
        let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = std_socket.local_addr().unwrap();
        let socket = UdpSocket::from_std(std_socket).unwrap();
        assert!(matches!(
            socket.try_recv_from(&mut [0; 4]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
        ));
        assert_eq!(socket.into_std().unwrap().local_addr().unwrap(), addr);
    });
}

#[test]
fn unix_stream_echo_and_split() {
    let dir = temp_dir("unix-echo");
    let path = dir.join("echo.sock");
    aioloop::run(async {
        let listener = UnixListener::bind(&path).unwrap();
        let server = aioloop::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (mut read, mut write) = stream.into_split();
            let mut buf = [0; 1024];
            loop {
                let n = read.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                write.write_all(&buf[..n]).await.unwrap();
            }
        });
        let client = UnixStream::connect(&path).await.unwrap();
        for i in 0..50u8 {
            client.write_all(&[i; 300]).await.unwrap();
            let mut back = [0; 300];
            client.read_exact(&mut back).await.unwrap();
            assert_eq!(back, [i; 300]);
        }
        client.shutdown(std::net::Shutdown::Write).unwrap();
        server.await.unwrap();
        let mut buf = [0; 1];
        assert_eq!(
            client.read(&mut buf).await.unwrap(),
            0,
            "EOF after the server ends"
        );
    });
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unix_stream_pair() {
    aioloop::run(async {
        let (a, b) = UnixStream::pair().unwrap();
        a.write_all(b"ping").await.unwrap();
        let mut buf = [0; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        drop(a);
        assert_eq!(b.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn unix_connect_to_a_missing_socket_fails() {
    let dir = temp_dir("unix-missing");
    aioloop::run(async {
        let err = UnixStream::connect(dir.join("nobody")).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    });
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unix_datagram_round_trips() {
    let dir = temp_dir("unix-dgram");
    let (server_path, client_path) = (dir.join("server"), dir.join("client"));
    aioloop::run(async {
        let server = UnixDatagram::bind(&server_path).unwrap();
        let client = UnixDatagram::bind(&client_path).unwrap();
        for i in 0..20u8 {
            client.send_to(&[i; 10], &server_path).await.unwrap();
            let mut buf = [0; 32];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[i; 10]);
            let from = from.as_pathname().unwrap().to_owned();
            server.send_to(&buf[..n], from).await.unwrap();
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[i; 10]);
        }
        client.connect(&server_path).unwrap();
        client.send(b"hi").await.unwrap();
        let mut buf = [0; 4];
        let n = server.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hi");
        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(b"pair").await.unwrap();
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"pair");
    });
    std::fs::remove_dir_all(dir).unwrap();
}
