//! A small blocking HTTP/1.1 keep-alive client, shared by the HTTP examples' self-test: it runs
//! on its own thread against the example's server, checks every response, and finally asks
//! the server to stop with `GET /shutdown`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

/// Sends `requests` keep-alive requests on each of `connections` connections; returns how
/// many responses came back well-formed with `expected_body`.
pub fn run(addr: SocketAddr, connections: usize, requests: usize, expected_body: &[u8]) -> usize {
    let mut ok = 0;
    for _ in 0..connections {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        for _ in 0..requests {
            writer
                .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .unwrap();
            let (status, body) = read_response(&mut reader);
            assert_eq!(status, 200);
            assert_eq!(body, expected_body);
            ok += 1;
        }
    }
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .write_all(b"GET /shutdown HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    ok
}

fn read_response(reader: &mut impl BufRead) -> (u16, Vec<u8>) {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status: u16 = line.split(' ').nth(1).expect("status line").parse().unwrap();
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (status, body)
}
