//! hyper on aioloop: an HTTP/1.1 "Hello, World!" server with keep-alive. With the `hyper`
//! feature aioloop's `TcpStream` implements hyper's `Read`/`Write` itself: no `TokioIo`. Run
//! with `cargo run --release --features hyper --example http_hello`.
//!
//! Without arguments it serves a self-test client (on the loop's thread pool: 4 connections × 250
//! keep-alive requests), prints a summary and exits. `--serve [ADDR]` (default
//! 127.0.0.1:8080) serves until killed: `curl http://127.0.0.1:8080/`. The same server code on
//! tokio's current_thread runtime is examples/http_hello_tokio.rs (scripts/http-wrk.sh runs
//! wrk against both).

#[path = "common/http_client.rs"]
mod http_client;

use std::convert::Infallible;
use std::net::SocketAddr;

use aioloop::net::TcpListener;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};

const BODY: &[u8] = b"Hello, World!";

async fn serve(addr: SocketAddr, ready: impl FnOnce(SocketAddr)) {
    let listener = TcpListener::bind(addr).await.expect("bind");
    ready(listener.local_addr().unwrap());
    let shutdown = aioloop::Future::<()>::new();
    let stop = shutdown.clone();
    let accept = async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            stream.set_nodelay(true).unwrap();
            let stop = stop.clone();
            let service = service_fn(move |req: Request<Incoming>| {
                if req.uri().path() == "/shutdown" {
                    let _ = stop.set_result(());
                }
                async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(BODY)))) }
            });
            drop(aioloop::spawn(async move {
                let conn = http1::Builder::new().serve_connection(stream, service);
                if let Err(err) = conn.await {
                    eprintln!("connection error: {err}");
                }
            }));
        }
    };
    let accept = aioloop::spawn(accept);
    let _ = shutdown.await;
    accept.cancel();
}

#[aioloop::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let addr = args
            .get(1)
            .map_or("127.0.0.1:8080", String::as_str)
            .parse()
            .expect("address");
        serve(addr, |addr| println!("aioloop + hyper serving on http://{addr}/")).await;
        return;
    }
    // The blocking client runs on the loop's thread pool, and its result is awaited: joining
    // a thread here would block the loop, and with it the last response (to `/shutdown`),
    // which the io_uring driver sends at the end of the loop's iteration.
    let (tx, rx) = std::sync::mpsc::channel();
    let client = aioloop::to_thread(move || {
        let addr: SocketAddr = rx.recv().unwrap();
        http_client::run(addr, 4, 250, BODY)
    });
    serve("127.0.0.1:0".parse().unwrap(), move |addr| tx.send(addr).unwrap()).await;
    let answered = client.await.expect("client thread");
    println!("aioloop + hyper: {answered} keep-alive requests answered over 4 connections");
}
