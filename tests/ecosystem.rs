//! Issue 18 item 6: the rows of docs/ecosystem.md that need a crate of their own, each run on
//! aioloop: hyper-util's auto (HTTP/1.1 or HTTP/2) server, tower-http's timeout (a tokio
//! timer, through `with_tokio`), tokio-tungstenite (tokio's I/O traits, `tokio-io`).
#![cfg(all(feature = "hyper", feature = "tokio-compat", feature = "tokio-io"))]

use std::convert::Infallible;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream};
use aioloop::LoopBound;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from(format!(
        "{:?}",
        req.version()
    )))))
}

#[test]
fn hyper_util_auto_serves_http1_and_http2() {
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = aioloop::spawn(async move {
            for _ in 0..2 {
                let (stream, _) = listener.accept().await.unwrap();
                drop(aioloop::spawn(async move {
                    hyper_util::server::conn::auto::Builder::new(aioloop::hyper::Executor)
                        .serve_connection(stream, service_fn(hello))
                        .await
                        .unwrap();
                }));
            }
        });
        let h1 = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(h1)
            .await
            .unwrap();
        let _conn = aioloop::spawn(conn);
        let req = Request::get("/").header("host", "x").body(Empty::new()).unwrap();
        let body = sender
            .send_request(req)
            .await
            .unwrap()
            .into_body()
            .collect()
            .await
            .unwrap();
        assert_eq!(body.to_bytes(), "HTTP/1.1");

        let h2 = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(aioloop::hyper::Executor, h2)
                .await
                .unwrap();
        let _conn = aioloop::spawn(conn);
        let req = Request::get("http://x/").body(Empty::new()).unwrap();
        let body = sender
            .send_request(req)
            .await
            .unwrap()
            .into_body()
            .collect()
            .await
            .unwrap();
        assert_eq!(body.to_bytes(), "HTTP/2.0");
        server.await.unwrap();
    });
}

#[test]
fn tower_http_timeout_on_an_axum_app_through_with_tokio() {
    use axum::routing::get;
    use tower_http::timeout::TimeoutLayer;

    aioloop::run(async {
        let app = axum::Router::new()
            .route(
                "/slow",
                get(|| LoopBound::new(async { aioloop::sleep(Duration::from_secs(10)).await })),
            )
            .route("/fast", get(|| async { "fast" }))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_millis(50),
            ));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _server = aioloop::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper_util::service::TowerToHyperService::new(app);
            let conn = hyper::server::conn::http1::Builder::new().serve_connection(stream, service);
            // The timeout layer sleeps on tokio's timer: the connection runs in tokio's context.
            aioloop::compat::with_tokio(conn).await.unwrap();
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(stream)
            .await
            .unwrap();
        let _conn = aioloop::spawn(conn);
        for (path, status) in [("/fast", StatusCode::OK), ("/slow", StatusCode::REQUEST_TIMEOUT)] {
            sender.ready().await.unwrap();
            let req = Request::get(path).header("host", "x").body(Empty::new()).unwrap();
            let res = sender.send_request(req).await.unwrap();
            assert_eq!(res.status(), status, "{path}");
            res.into_body().collect().await.unwrap();
        }
        // The slow handler was dropped at the timeout: its aioloop sleep is gone.
        assert_eq!(aioloop::get_running_loop().stats().pending_timers, 0);
    });
}

#[test]
fn tokio_tungstenite_echo_over_aioloop_tcp() {
    use tokio_tungstenite::tungstenite::Message;

    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = aioloop::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
            while let Some(msg) = ws.next().await {
                let msg = msg.unwrap();
                if msg.is_close() {
                    break;
                }
                ws.send(msg).await.unwrap();
            }
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), stream)
            .await
            .unwrap();
        for i in 0..10 {
            ws.send(Message::text(format!("ping {i}"))).await.unwrap();
            let back = ws.next().await.unwrap().unwrap();
            assert_eq!(back.into_text().unwrap().as_str(), format!("ping {i}"));
        }
        ws.close(None).await.unwrap();
        server.await.unwrap();
    });
}
