//! Issue 18 item 1, the `hyper` feature: hyper serves and calls over aioloop's streams without
//! `TokioIo`, HTTP/2 spawns its streams through `aioloop::hyper::Executor`, and hyper's timeouts
//! run on `aioloop::hyper::Timer`, whose dropped sleeps leave no timer behind.
#![cfg(feature = "hyper")]

use std::convert::Infallible;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::rt::{Read, Timer as _, Write};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response};

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = format!("hello {}", req.uri().path());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

/// Serves HTTP/1.1 on `io` with a 30 s header-read timeout on aioloop's timer.
async fn serve_h1<I: Read + Write + Unpin + 'static>(io: I) -> hyper::Result<()> {
    http1::Builder::new()
        .timer(aioloop::hyper::Timer)
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(io, service_fn(hello))
        .await
}

/// Sends `n` keep-alive GETs over `io` with hyper's HTTP/1.1 client and checks the bodies.
async fn get_h1<I: Read + Write + Unpin + 'static>(io: I, n: usize) {
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(io)
        .await
        .unwrap();
    let conn = aioloop::spawn(conn);
    for i in 0..n {
        sender.ready().await.unwrap();
        let req = Request::get(format!("/{i}"))
            .header("host", "localhost")
            .body(Empty::new())
            .unwrap();
        let res = sender.send_request(req).await.unwrap();
        assert_eq!(res.status(), 200);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, format!("hello /{i}"));
        // At most one header-read timeout per connection at any time (a few connections run
        // at once in these tests).
        let pending = aioloop::get_running_loop().stats().pending_timers;
        assert!(pending <= 8, "{pending} pending timers");
    }
    drop(sender);
    conn.await.unwrap().unwrap();
}

#[test]
fn http1_over_tcp_and_unix_streams_without_tokio_io() {
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = aioloop::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            serve_h1(stream).await.unwrap();
        });
        get_h1(TcpStream::connect(addr).await.unwrap(), 20).await;
        server.await.unwrap();

        let (a, b) = UnixStream::pair().unwrap();
        let server = aioloop::spawn(async move { serve_h1(a).await.unwrap() });
        get_h1(b, 20).await;
        server.await.unwrap();
    });
}

#[test]
fn http1_large_bodies_cross_the_uninitialised_read_buffer() {
    // Bodies larger than hyper's first read buffer: many reads into uninitialised memory.
    aioloop::run(async {
        let dir = std::env::temp_dir().join(format!("aioloop-hyper-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let listener = UnixListener::bind(&dir).unwrap();
        let big: Bytes = (0..1_000_000u32)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<_>>()
            .into();
        let sent = big.clone();
        let server = aioloop::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = service_fn(move |req: Request<Incoming>| {
                let sent = sent.clone();
                async move {
                    let got = req.into_body().collect().await.unwrap().to_bytes();
                    assert_eq!(got, sent);
                    Ok::<_, Infallible>(Response::new(Full::new(sent)))
                }
            });
            http1::Builder::new()
                .serve_connection(stream, service)
                .await
                .unwrap();
        });
        let stream = UnixStream::connect(&dir).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
        let conn = aioloop::spawn(conn);
        let req = Request::post("/")
            .header("host", "x")
            .body(Full::new(big.clone()))
            .unwrap();
        let res = sender.send_request(req).await.unwrap();
        assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), big);
        drop(sender);
        conn.await.unwrap().unwrap();
        server.await.unwrap();
        let _ = std::fs::remove_file(&dir);
    });
}

#[test]
fn http2_many_concurrent_streams_over_one_connection() {
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = aioloop::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            http2::Builder::new(aioloop::hyper::Executor)
                .timer(aioloop::hyper::Timer)
                .keep_alive_interval(Duration::from_secs(10))
                .serve_connection(stream, service_fn(hello))
                .await
                .unwrap();
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let (sender, conn) = hyper::client::conn::http2::Builder::new(aioloop::hyper::Executor)
            .timer(aioloop::hyper::Timer)
            .handshake::<_, Empty<Bytes>>(stream)
            .await
            .unwrap();
        let conn = aioloop::spawn(conn);
        let requests = (0..500).map(|i| {
            let mut sender = sender.clone();
            async move {
                let req = Request::get(format!("http://localhost/{i}"))
                    .body(Empty::new())
                    .unwrap();
                let body = sender.send_request(req).await.unwrap().into_body();
                assert_eq!(body.collect().await.unwrap().to_bytes(), format!("hello /{i}"));
            }
        });
        aioloop::gather(requests).await;
        drop(sender);
        conn.await.unwrap().unwrap();
        server.await.unwrap();
    });
}

/// The figure: 10,000 requests, each arming hyper's header-read timeout and dropping it
/// when the head arrives, leave no pending timer behind (and never more than one per
/// connection while they run).
#[test]
fn ten_thousand_header_read_timeouts_leave_no_pending_timer() {
    aioloop::run(async {
        let lp = aioloop::get_running_loop();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        const CONNS: usize = 4;
        let server = aioloop::spawn(async move {
            let mut conns = Vec::new();
            for _ in 0..CONNS {
                let (stream, _) = listener.accept().await.unwrap();
                conns.push(aioloop::spawn(serve_h1(stream)));
            }
            for conn in conns {
                conn.await.unwrap().unwrap();
            }
        });
        let mut clients = Vec::new();
        for _ in 0..CONNS {
            let stream = TcpStream::connect(addr).await.unwrap();
            clients.push(aioloop::spawn(get_h1(stream, 10_000 / CONNS)));
        }
        for client in clients {
            client.await.unwrap();
        }
        server.await.unwrap();
        assert_eq!(lp.stats().pending_timers, 0);
    });
}

#[aioloop::test(start_paused)]
async fn header_read_timeout_fires_on_the_loops_clock() {
    let lp = aioloop::get_running_loop();
    let (server_side, _client_side) = UnixStream::pair().unwrap();
    let start = lp.time();
    // The client never sends a head: hyper gives up after the timeout, in virtual time.
    let err = serve_h1(server_side).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(lp.time() - start >= Duration::from_secs(30));
    assert_eq!(lp.stats().pending_timers, 0);
}

#[test]
fn timer_reset_moves_the_sleep_in_place() {
    aioloop::run(async {
        let lp = aioloop::get_running_loop();
        let timer = aioloop::hyper::Timer;
        let mut sleep = timer.sleep(Duration::from_secs(3600));
        let poll_once = std::future::poll_fn(|cx| {
            assert!(sleep.as_mut().poll(cx).is_pending());
            std::task::Poll::Ready(())
        });
        poll_once.await;
        assert_eq!(lp.stats().pending_timers, 1);
        timer.reset(&mut sleep, timer.now() + Duration::from_millis(2));
        assert_eq!(lp.stats().pending_timers, 1, "reset reuses the timer");
        sleep.await;
        assert_eq!(lp.stats().pending_timers, 0);
    });
}

#[test]
fn timer_sleep_polled_on_another_thread_panics_and_dropped_there_goes_home() {
    aioloop::run(async {
        let lp = aioloop::get_running_loop();
        let mut sleep = aioloop::hyper::Timer.sleep(Duration::from_secs(3600));
        std::future::poll_fn(|cx| {
            let _ = sleep.as_mut().poll(cx);
            std::task::Poll::Ready(())
        })
        .await;
        assert_eq!(lp.stats().pending_timers, 1);
        let message = std::thread::Builder::new()
            .name("not-the-loop".into())
            .spawn(move || {
                let waker = std::task::Waker::noop();
                let mut cx = std::task::Context::from_waker(waker);
                let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let _ = sleep.as_mut().poll(&mut cx);
                }));
                drop(sleep); // sent home: its timer is cancelled there
                let panic = caught.unwrap_err();
                panic.downcast_ref::<String>().cloned().unwrap()
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(message.contains("not-the-loop"), "{message}");
        assert!(message.contains("event loop #"), "{message}");
        aioloop::yield_now().await; // the loop takes the dropped sleep in
        aioloop::yield_now().await;
        assert_eq!(lp.stats().pending_timers, 0);
    });
}

#[test]
fn executor_spawns_futures_that_are_not_send() {
    use hyper::rt::Executor as _;
    aioloop::run(async {
        let (tx, rx) = aioloop::sync::oneshot::channel();
        let rc = std::rc::Rc::new(7);
        aioloop::hyper::Executor.execute(async move {
            aioloop::yield_now().await;
            let _ = tx.send(*rc);
        });
        assert_eq!(rx.await.unwrap(), 7);
    });
}
