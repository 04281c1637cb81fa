//! Issue 18 item 3, the `tokio-compat` feature: `aioloop::compat::with_tokio` runs futures that
//! need a tokio runtime (reqwest, `tokio::time`) from aioloop tasks, without busy polling.
#![cfg(all(feature = "tokio-compat", feature = "hyper"))]

use std::convert::Infallible;
use std::time::{Duration, Instant};

use aioloop::compat::with_tokio;
use aioloop::net::TcpListener;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};

/// `/hello` answers at once; `/tokio-sleep` awaits `tokio::time::sleep` inside `with_tokio`
/// first.
async fn handler(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match req.uri().path() {
        "/tokio-sleep" => {
            let start = Instant::now();
            with_tokio(async { tokio::time::sleep(Duration::from_millis(30)).await }).await;
            assert!(start.elapsed() >= Duration::from_millis(30));
            "slept on tokio's timer"
        }
        _ => "hello from aioloop",
    };
    Ok(Response::new(Full::new(Bytes::from_static(body.as_bytes()))))
}

/// Serves `handler` over HTTP/1.1 on every accepted connection, until dropped.
async fn serve(listener: TcpListener) {
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        drop(aioloop::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(stream, service_fn(handler))
                .await;
        }));
    }
}

#[test]
fn reqwest_get_against_an_aioloop_hyper_server() {
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = aioloop::spawn(serve(listener));
        let (hello, slept) = with_tokio(async move {
            let client = reqwest::Client::builder().no_proxy().build().unwrap();
            let get = |path: &str| client.get(format!("http://{addr}{path}")).send();
            let hello = get("/hello").await.unwrap().text().await.unwrap();
            let slept = get("/tokio-sleep").await.unwrap().text().await.unwrap();
            (hello, slept)
        })
        .await;
        assert_eq!(hello, "hello from aioloop");
        assert_eq!(slept, "slept on tokio's timer");
        server.cancel();
    });
}

#[test]
fn a_tokio_sleep_wakes_the_loop_from_the_helper_thread_without_busy_polling() {
    aioloop::run(async {
        let lp = aioloop::get_running_loop();
        let before = lp.stats();
        let start = Instant::now();
        with_tokio(async { tokio::time::sleep(Duration::from_millis(50)).await }).await;
        assert!(start.elapsed() >= Duration::from_millis(50));
        let after = lp.stats();
        // The wait was one sleep in epoll: a handful of polls and iterations, not thousands.
        assert!(after.polls - before.polls <= 5, "{before:?} -> {after:?}");
        assert!(
            after.iterations - before.iterations <= 10,
            "{before:?} -> {after:?}"
        );
        assert!(
            after.remote_wakes > before.remote_wakes,
            "the wake came through the remote queue"
        );
    });
}

#[test]
fn tokio_spawn_and_loops_on_several_threads_share_one_helper_runtime() {
    let threads: Vec<_> = (0..3)
        .map(|i| {
            std::thread::spawn(move || {
                aioloop::run(async move {
                    with_tokio(async move {
                        let name = tokio::spawn(async { std::thread::current().name().map(str::to_string) })
                            .await
                            .unwrap();
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        (i, name)
                    })
                    .await
                })
            })
        })
        .collect();
    for (i, thread) in threads.into_iter().enumerate() {
        let (got, ran_on) = thread.join().unwrap();
        assert_eq!(got, i);
        assert_eq!(
            ran_on.as_deref(),
            Some("aioloop-tokio"),
            "spawned tasks run on the helper"
        );
    }
}
