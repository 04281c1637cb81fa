//! The server of examples/http_hello.rs, line for line, on tokio's current_thread runtime: the
//! baseline that scripts/http-wrk.sh compares aioloop against.
//!
//! Without arguments it serves the same self-test client and exits; `--serve [ADDR]` (default
//! 127.0.0.1:8081) serves until killed.

#[path = "common/http_client.rs"]
mod http_client;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const BODY: &[u8] = b"Hello, World!";

async fn serve(addr: SocketAddr, ready: impl FnOnce(SocketAddr)) {
    let listener = TcpListener::bind(addr).await.expect("bind");
    ready(listener.local_addr().unwrap());
    let shutdown = Rc::new(tokio::sync::Notify::new());
    let accept = {
        let shutdown = shutdown.clone();
        async move {
            loop {
                let (stream, _) = listener.accept().await.expect("accept");
                stream.set_nodelay(true).unwrap();
                let shutdown = shutdown.clone();
                let service = service_fn(move |req: Request<Incoming>| {
                    if req.uri().path() == "/shutdown" {
                        shutdown.notify_one();
                    }
                    async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(BODY)))) }
                });
                tokio::task::spawn_local(async move {
                    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    if let Err(err) = conn.await {
                        eprintln!("connection error: {err}");
                    }
                });
            }
        }
    };
    let accept = tokio::task::spawn_local(accept);
    shutdown.notified().await;
    accept.abort();
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let addr = args
            .get(1)
            .map_or("127.0.0.1:8081", String::as_str)
            .parse()
            .expect("address");
        local.block_on(
            &rt,
            serve(addr, |addr| println!("tokio + hyper serving on http://{addr}/")),
        );
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let client = std::thread::spawn(move || {
        let addr: SocketAddr = rx.recv().unwrap();
        http_client::run(addr, 4, 250, BODY)
    });
    local.block_on(
        &rt,
        serve("127.0.0.1:0".parse().unwrap(), move |addr| tx.send(addr).unwrap()),
    );
    let answered = client.join().expect("client thread");
    println!("tokio + hyper: {answered} keep-alive requests answered over 4 connections");
}
