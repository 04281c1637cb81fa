//! hyper's HTTP/2 on aioloop: a "Hello, World!" server and a client over one connection, many
//! streams at once. `aioloop::hyper::Executor` spawns hyper's per-stream tasks on the loop (they
//! need not be `Send`), `aioloop::hyper::Timer` runs its timers, and aioloop's `TcpStream` is
//! handed to hyper as it is. Run with
//! `cargo run --release --features hyper --example http2_server`.
//!
//! Without arguments it runs the server and, on the same loop, a client that sends 2,000
//! requests over one HTTP/2 connection, 200 streams at a time, then prints a summary and exits.
//! `--serve [ADDR]` (default 127.0.0.1:8082) serves until killed, plain-text HTTP/2 with prior
//! knowledge: `h2load -n 100000 -c 10 -m 10 http://127.0.0.1:8082/` or
//! `curl --http2-prior-knowledge http://127.0.0.1:8082/`. The same server code on tokio's
//! current_thread runtime is examples/h2_hello_tokio.rs (scripts/http2-h2load.sh compares them).

use std::convert::Infallible;
use std::net::SocketAddr;

use aioloop::net::{TcpListener, TcpStream};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper::{Request, Response};

const BODY: &[u8] = b"Hello, World!";

/// Accepts connections on `listener` and serves HTTP/2 on each, until dropped.
async fn serve(listener: TcpListener) {
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        stream.set_nodelay(true).unwrap();
        let service = service_fn(|_req: Request<Incoming>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(BODY))))
        });
        drop(aioloop::spawn(async move {
            let conn = http2::Builder::new(aioloop::hyper::Executor)
                .timer(aioloop::hyper::Timer)
                .serve_connection(stream, service);
            if let Err(err) = conn.await {
                eprintln!("connection error: {err}");
            }
        }));
    }
}

/// Sends `waves` × `streams` GETs over one HTTP/2 connection, `streams` at a time; returns how
/// many came back with `BODY`.
async fn client(addr: SocketAddr, waves: usize, streams: usize) -> usize {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http2::Builder::new(aioloop::hyper::Executor)
        .timer(aioloop::hyper::Timer)
        .handshake::<_, Empty<Bytes>>(stream)
        .await
        .expect("HTTP/2 handshake");
    let conn = aioloop::spawn(conn);
    let mut answered = 0;
    for _ in 0..waves {
        let wave = (0..streams).map(|i| {
            let mut sender = sender.clone();
            async move {
                let req = Request::get(format!("http://{addr}/{i}"))
                    .body(Empty::new())
                    .unwrap();
                let res = sender.send_request(req).await.expect("request");
                res.into_body().collect().await.expect("body").to_bytes()
            }
        });
        answered += aioloop::gather(wave)
            .await
            .iter()
            .filter(|body| body.as_ref() == BODY)
            .count();
    }
    drop(sender);
    conn.await.unwrap().expect("connection");
    answered
}

#[aioloop::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let addr = args.get(1).map_or("127.0.0.1:8082", String::as_str);
        let listener = TcpListener::bind(addr).await.expect("bind");
        println!(
            "aioloop + hyper serving HTTP/2 on http://{}/",
            listener.local_addr().unwrap()
        );
        serve(listener).await;
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let server = aioloop::spawn(serve(listener));
    let (waves, streams) = (10, 200);
    let answered = client(addr, waves, streams).await;
    server.cancel();
    println!("aioloop + hyper: {answered} HTTP/2 requests answered over 1 connection ({streams} streams at a time)");
    assert_eq!(answered, waves * streams);
}
