//! Peers in plain threads for the socket tests (asyncio's test_utils `run_test_server`,
//! `run_test_unix_server`, `run_udp_echo_server`), and a directory of its own for a Unix socket.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// What the test server answers a request without a body.
pub const RESPONSE: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nTest message";

/// asyncio's `run_test_server`, minimal: answers one HTTP request on `conn`, then closes the
/// connection. A request without a body gets [`RESPONSE`]; one with a `Content-Length` gets
/// its body back (asyncio's `/loop` page), streamed: the headers as soon as the request's
/// headers are read, then each chunk of the body as it arrives.
pub fn serve_one_request(mut conn: impl Read + Write) {
    let mut request = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    let end = loop {
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = conn.read(&mut buf).unwrap();
        if n == 0 {
            return;
        }
        request.extend_from_slice(&buf[..n]);
    };
    let headers = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
    let length = headers
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map(|len| len.trim().parse::<usize>().unwrap());
    let Some(length) = length else {
        conn.write_all(RESPONSE).unwrap();
        return;
    };
    write!(conn, "HTTP/1.0 200 OK\r\nContent-Length: {length}\r\n\r\n").unwrap();
    let mut left = length;
    let early = request.split_off(end);
    conn.write_all(&early).unwrap();
    left -= early.len();
    while left > 0 {
        let n = conn.read(&mut buf[..left.min(64 * 1024)]).unwrap();
        assert!(n > 0, "the client closed {left} bytes before the body's end");
        conn.write_all(&buf[..n]).unwrap();
        left -= n;
    }
}

/// A TCP test server in a thread, for one request (see [`serve_one_request`]); answers its
/// address.
pub fn run_test_server() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || serve_one_request(listener.accept().unwrap().0));
    addr
}

/// asyncio's `run_test_unix_server`: [`run_test_server`] on the Unix socket `path`.
pub fn run_test_unix_server(path: &Path) {
    let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
    std::thread::spawn(move || serve_one_request(listener.accept().unwrap().0));
}

/// asyncio's `run_udp_echo_server`: a thread that sends each datagram back to its sender,
/// until it gets `b"STOP"`; answers its address.
pub fn run_udp_echo_server() -> SocketAddr {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = vec![0; 64 * 1024];
        loop {
            let (n, from) = socket.recv_from(&mut buf).unwrap();
            if &buf[..n] == b"STOP" {
                return;
            }
            socket.send_to(&buf[..n], from).unwrap();
        }
    });
    addr
}

/// A directory of its own for a Unix socket, removed on drop.
pub struct SocketDir(PathBuf);

impl SocketDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("aioloop-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        SocketDir(dir)
    }

    /// The socket's path in the directory.
    pub fn path(&self) -> PathBuf {
        self.0.join("s.sock")
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
