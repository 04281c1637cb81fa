//! hyper on aioloop (cargo feature `hyper`): hyper's runtime traits implemented by aioloop.
//!
//! - [`Executor`] implements `hyper::rt::Executor<F>` for every `F: Future + 'static`: it
//!   spawns on the running loop, so the futures hyper hands it (HTTP/2 streams, client
//!   connections) need not be `Send`.
//! - [`Timer`] implements `hyper::rt::Timer` on the loop's timer wheel, for hyper's timeouts
//!   (`header_read_timeout`, HTTP/2 keep-alive pings). A dropped sleep cancels its timer.
//! - [`TcpStream`](crate::net::TcpStream) and [`UnixStream`](crate::net::UnixStream)
//!   implement `hyper::rt::Read` and `hyper::rt::Write` themselves: hand them to hyper as they
//!   are, no `TokioIo` wrapper (nor the `tokio-io` feature) is needed.
//!
//! An HTTP/2 server and client over one connection, with many streams at once:
//!
//! ```
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use hyper::{Request, Response};
//! use aioloop::net::{TcpListener, TcpStream};
//!
//! aioloop::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     let _server = aioloop::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let service = hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
//!             let body = format!("hello {}", req.uri().path());
//!             Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(body))))
//!         });
//!         hyper::server::conn::http2::Builder::new(aioloop::hyper::Executor)
//!             .timer(aioloop::hyper::Timer)
//!             .serve_connection(stream, service)
//!             .await
//!             .unwrap();
//!     });
//!
//!     let stream = TcpStream::connect(addr).await.unwrap();
//!     let (sender, conn) = hyper::client::conn::http2::handshake::<_, _, Full<Bytes>>(
//!         aioloop::hyper::Executor,
//!         stream,
//!     )
//!     .await
//!     .unwrap();
//!     let _conn = aioloop::spawn(conn);
//!     let requests = (0..10).map(|i| {
//!         let mut sender = sender.clone();
//!         async move {
//!             let req = Request::get(format!("http://localhost/{i}")).body(Full::default()).unwrap();
//!             let body = sender.send_request(req).await.unwrap().into_body();
//!             body.collect().await.unwrap().to_bytes()
//!         }
//!     });
//!     let bodies = aioloop::gather(requests).await;
//!     assert_eq!(bodies[3], "hello /3");
//! });
//! ```

mod executor;
mod timer;

pub use executor::Executor;
pub use timer::Timer;
