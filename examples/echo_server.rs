//! An echo server on asyncio's streams API (the asyncio docs' "TCP echo server", ported).
//!
//! Without arguments it starts the server on a free port, runs an in-process client that sends
//! a few lines over a few connections and checks the echoes, prints a summary and exits.
//! `--serve [ADDR]` (default 127.0.0.1:8888) serves until killed: try `nc 127.0.0.1 8888`.

use aioloop::streams::{open_connection, start_server, StreamReader, StreamWriter};

async fn handle_echo(mut reader: StreamReader, writer: StreamWriter) {
    let peer = writer.peer_addr();
    loop {
        match reader.readline().await {
            Ok(line) if line.is_empty() => break, // EOF
            Ok(line) => {
                writer.write(&line);
                if writer.drain().await.is_err() {
                    break;
                }
            }
            Err(err) => {
                eprintln!("{peer:?}: {err}");
                break;
            }
        }
    }
    writer.close();
    let _ = writer.wait_closed().await;
}

async fn client(addr: std::net::SocketAddr, id: usize, lines: usize) -> usize {
    let (mut reader, writer) = open_connection(addr).await.expect("connect");
    let mut echoed = 0;
    for i in 0..lines {
        let line = format!("client {id}: line {i}\n");
        writer.write(line.as_bytes());
        writer.drain().await.expect("drain");
        let back = reader.readline().await.expect("readline");
        assert_eq!(back, line.as_bytes());
        echoed += 1;
    }
    writer.close();
    writer.wait_closed().await.expect("close");
    echoed
}

#[aioloop::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let addr = args.get(1).map_or("127.0.0.1:8888", String::as_str);
        let server = start_server(handle_echo, addr).await.expect("bind");
        println!("serving on {}", server.local_addr().unwrap());
        server.serve_forever().await;
        return;
    }

    let server = start_server(handle_echo, "127.0.0.1:0").await.expect("bind");
    let addr = server.local_addr().unwrap();
    let clients: Vec<_> = (0..4).map(|id| aioloop::spawn(client(addr, id, 25))).collect();
    let mut total = 0;
    for task in clients {
        total += task.await.expect("client task");
    }
    server.close();
    server.wait_closed().await;
    println!("echo server on {addr}: {total} lines echoed over 4 connections");
}
