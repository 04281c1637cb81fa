//! axum on aioloop: an axum `Router` served by hyper on aioloop's `TcpListener`, with handlers
//! that await aioloop things (`aioloop::sleep`, an `aioloop::sync::Queue`, `to_thread`). axum
//! demands `Send` futures and aioloop's are not: each handler wraps its coroutine in
//! `LoopBound::new(async move { ... })`, which is `Send` and is polled on the loop's thread,
//! where hyper drives it. Run with `cargo run --release --features hyper --example axum_app`.
//!
//! Without arguments it serves a client of its own (on the same loop: hyper's HTTP/1.1 client),
//! prints what it got and exits. `--serve [ADDR]` (default 127.0.0.1:8084) serves until killed:
//! `curl http://127.0.0.1:8084/sleep/20`, `curl -X POST http://127.0.0.1:8084/queue/hello`,
//! `curl http://127.0.0.1:8084/queue`, `curl http://127.0.0.1:8084/checksum/text`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream};
use aioloop::sync::Queue;
use aioloop::LoopBound;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::service::TowerToHyperService;

/// The app's state: a queue of the loop's (not `Send`), made `Send + Sync` by its `LoopBound`.
type Shared = Arc<LoopBound<Queue<String>>>;

fn app() -> Router {
    let queue: Shared = Arc::new(LoopBound::new(Queue::new(0)));
    Router::new()
        .route(
            "/sleep/{ms}",
            get(|Path(ms): Path<u64>| {
                LoopBound::new(async move {
                    aioloop::sleep(Duration::from_millis(ms)).await;
                    format!("slept {ms} ms")
                })
            }),
        )
        .route(
            "/queue/{item}",
            post(|State(queue): State<Shared>, Path(item): Path<String>| {
                LoopBound::new(async move {
                    queue.get().put(item).await.expect("queue open");
                    format!("{} queued", queue.get().qsize())
                })
            }),
        )
        .route(
            "/queue",
            get(|State(queue): State<Shared>| {
                LoopBound::new(async move { queue.get().get().await.expect("queue open") })
            }),
        )
        .route(
            "/checksum/{text}",
            get(|Path(text): Path<String>| {
                LoopBound::new(async move {
                    // CPU work off the loop, on the blocking pool.
                    let sum = aioloop::to_thread(move || text.bytes().map(u64::from).sum::<u64>())
                        .await
                        .expect("to_thread");
                    format!("checksum {sum}")
                })
            }),
        )
        .with_state(queue)
}

/// Serves `app` over HTTP/1.1 on every connection `listener` accepts, until dropped.
async fn serve(listener: TcpListener, app: Router) {
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        let service = TowerToHyperService::new(app.clone());
        drop(aioloop::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(aioloop::hyper::Timer)
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(stream, service);
            if let Err(err) = conn.await {
                eprintln!("connection error: {err}");
            }
        }));
    }
}

/// GETs (or POSTs) `path` and returns the body as text.
async fn call(addr: SocketAddr, method: &str, path: &str) -> String {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(stream)
        .await
        .expect("handshake");
    let conn = aioloop::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .body(Empty::new())
        .unwrap();
    let res = sender.send_request(req).await.expect("request");
    assert!(res.status().is_success(), "{method} {path}: {}", res.status());
    let body = res.into_body().collect().await.expect("body").to_bytes();
    drop(sender);
    let _ = conn.await;
    String::from_utf8_lossy(&body).into_owned()
}

#[aioloop::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let addr = args.get(1).map_or("127.0.0.1:8084", String::as_str);
        let listener = TcpListener::bind(addr).await.expect("bind");
        println!(
            "aioloop + axum serving on http://{}/",
            listener.local_addr().unwrap()
        );
        serve(listener, app()).await;
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let server = aioloop::spawn(serve(listener, app()));

    // A GET /queue waits until an item arrives: start it first, then fill the queue.
    let waiting = aioloop::spawn(async move { call(addr, "GET", "/queue").await });
    let answers = aioloop::gather!(
        call(addr, "GET", "/sleep/20"),
        call(addr, "POST", "/queue/first"),
        call(addr, "GET", "/checksum/aioloop"),
    )
    .await;
    let popped = waiting.await.unwrap();
    let second = call(addr, "POST", "/queue/second").await;
    let popped_again = call(addr, "GET", "/queue").await;
    server.cancel();
    for line in [
        &answers.0,
        &answers.1,
        &answers.2,
        &popped,
        &second,
        &popped_again,
    ] {
        println!("{line}");
    }
    assert_eq!(popped, "first");
    assert_eq!(popped_again, "second");
    println!("axum on aioloop: 6 requests answered");
}
