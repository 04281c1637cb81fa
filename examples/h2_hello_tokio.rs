//! The HTTP/2 server of examples/http2_server.rs, line for line, on tokio's current_thread
//! runtime (a `LocalSet`, hyper-util's `TokioIo` and `TokioTimer`, a local executor): the
//! baseline that scripts/http2-h2load.sh compares aioloop against.
//!
//! `--serve [ADDR]` (default 127.0.0.1:8083) serves until killed; without arguments it serves
//! one request of its own over HTTP/2 and exits.

use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};

const BODY: &[u8] = b"Hello, World!";

/// Spawns hyper's tasks on the `LocalSet` (they need not be `Send`).
#[derive(Clone, Copy)]
struct LocalExec;

impl<F: Future + 'static> hyper::rt::Executor<F> for LocalExec {
    fn execute(&self, fut: F) {
        tokio::task::spawn_local(fut);
    }
}

async fn serve(listener: TcpListener) {
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        stream.set_nodelay(true).unwrap();
        let service = service_fn(|_req: Request<Incoming>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(BODY))))
        });
        tokio::task::spawn_local(async move {
            let conn = http2::Builder::new(LocalExec)
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service);
            if let Err(err) = conn.await {
                eprintln!("connection error: {err}");
            }
        });
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    let args: Vec<String> = std::env::args().skip(1).collect();
    local.block_on(&rt, async {
        if args.first().map(String::as_str) == Some("--serve") {
            let addr = args.get(1).map_or("127.0.0.1:8083", String::as_str);
            let listener = TcpListener::bind(addr).await.expect("bind");
            println!(
                "tokio + hyper serving HTTP/2 on http://{}/",
                listener.local_addr().unwrap()
            );
            serve(listener).await;
            return;
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let server = tokio::task::spawn_local(serve(listener));
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(LocalExec, TokioIo::new(stream))
                .await
                .unwrap();
        tokio::task::spawn_local(conn);
        let req = Request::get(format!("http://{addr}/"))
            .body(Empty::new())
            .unwrap();
        let body = sender
            .send_request(req)
            .await
            .unwrap()
            .into_body()
            .collect()
            .await
            .unwrap();
        assert_eq!(body.to_bytes().as_ref(), BODY);
        server.abort();
        println!("tokio + hyper: 1 HTTP/2 request answered");
    });
}
