//! The HTTP/1.1 "Hello, World!" workload for the summary (benches/compare.rs): hyper 1's
//! HTTP/1.1 server (keep-alive) and `conns` persistent client connections on one loop, each
//! client sending `rounds` GET requests in turn and reading each whole response. The server is
//! hyper on both runtimes; the client writes a fixed request and reads the response's known
//! length (measured on the connection's first request), so nearly all the HTTP work is
//! hyper's. Included with `#[path]`.
//!
//! On tokio the stream goes through hyper-util's `TokioIo`; on aioloop through [`HyperIo`],
//! which does what aioloop's `tokio-io` feature plus `TokioIo` do (examples/http_hello.rs),
//! without needing that feature in the bench build.

use std::cell::RefCell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};

pub const BODY: &[u8] = b"Hello, World!";
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(BODY))))
}

/// Length of one response, read the slow way: up to the end of a body equal to [`BODY`].
fn response_done(buf: &[u8]) -> bool {
    buf.ends_with(BODY) && buf.windows(4).any(|w| w == b"\r\n\r\n")
}

/// An aioloop stream as hyper's I/O: reads zero the unfilled part first (as tokio's
/// `ReadBuf::initialize_unfilled` does in aioloop's `tokio-io` path).
pub struct HyperIo(pub aioloop::net::TcpStream);

impl hyper::rt::Read for HyperIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        // SAFETY: the slice is only written (zeroed, then filled by the read), and `advance`
        // covers only bytes the read reported as filled.
        let uninit = unsafe { buf.as_mut() };
        for b in uninit.iter_mut() {
            b.write(0);
        }
        // SAFETY: every byte of `uninit` was just initialized above.
        let init = unsafe { &mut *(uninit as *mut [std::mem::MaybeUninit<u8>] as *mut [u8]) };
        let n = std::task::ready!(futures_io::AsyncRead::poll_read(
            Pin::new(&mut self.get_mut().0),
            cx,
            init
        ))?;
        // SAFETY: `n` bytes were filled by the read.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for HyperIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        futures_io::AsyncWrite::poll_write(Pin::new(&mut self.get_mut().0), cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        futures_io::AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().0), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        futures_io::AsyncWrite::poll_close(Pin::new(&mut self.get_mut().0), cx)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        futures_io::AsyncWrite::poll_write_vectored(Pin::new(&mut self.get_mut().0), cx, bufs)
    }
}

pub mod on_aioloop {
    use super::*;
    use aioloop::net::{TcpListener, TcpStream};

    pub async fn server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(aioloop::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                drop(aioloop::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(HyperIo(stream), service_fn(hello))
                        .await;
                }));
            }
        }));
        addr
    }

    /// Connects and sends one request; returns the stream and the response's length.
    pub async fn connect(addr: SocketAddr) -> (TcpStream, usize) {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        stream.write_all(REQUEST).await.unwrap();
        let (mut buf, mut chunk) = (Vec::new(), [0u8; 1024]);
        while !response_done(&buf) {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "server closed the connection");
            buf.extend_from_slice(&chunk[..n]);
        }
        (stream, buf.len())
    }

    pub async fn requests(stream: TcpStream, len: usize, rounds: usize) -> TcpStream {
        let mut buf = vec![0u8; len];
        for _ in 0..rounds {
            stream.write_all(REQUEST).await.unwrap();
            stream.read_exact(&mut buf).await.unwrap();
            assert!(buf.ends_with(BODY));
        }
        stream
    }
}

pub mod on_tokio {
    use super::*;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    pub async fn server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service_fn(hello))
                        .await;
                });
            }
        });
        addr
    }

    pub async fn connect(addr: SocketAddr) -> (TcpStream, usize) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        stream.write_all(REQUEST).await.unwrap();
        let (mut buf, mut chunk) = (Vec::new(), [0u8; 1024]);
        while !response_done(&buf) {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "server closed the connection");
            buf.extend_from_slice(&chunk[..n]);
        }
        (stream, buf.len())
    }

    pub async fn requests(mut stream: TcpStream, len: usize, rounds: usize) -> TcpStream {
        let mut buf = vec![0u8; len];
        for _ in 0..rounds {
            stream.write_all(REQUEST).await.unwrap();
            stream.read_exact(&mut buf).await.unwrap();
            assert!(buf.ends_with(BODY));
        }
        stream
    }
}

type Conns<S> = Rc<RefCell<Vec<(S, usize)>>>;

/// The workload on tokio's current_thread runtime: server and connections set up once, each
/// run sends `conns * rounds` requests.
pub struct TokioHttp {
    rt: tokio::runtime::Runtime,
    conns: Conns<tokio::net::TcpStream>,
    rounds: usize,
}

impl TokioHttp {
    pub fn new(conns: usize, rounds: usize) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let streams = rt.block_on(async {
            let addr = on_tokio::server().await;
            let mut streams = Vec::new();
            for _ in 0..conns {
                streams.push(on_tokio::connect(addr).await);
            }
            Rc::new(RefCell::new(streams))
        });
        TokioHttp {
            rt,
            conns: streams,
            rounds,
        }
    }

    pub fn run(&self) {
        let (conns, rounds) = (&self.conns, self.rounds);
        self.rt.block_on(async {
            let tasks: Vec<_> = conns
                .borrow_mut()
                .drain(..)
                .map(|(s, len)| tokio::spawn(async move { (on_tokio::requests(s, len, rounds).await, len) }))
                .collect();
            for task in tasks {
                let conn = task.await.unwrap();
                conns.borrow_mut().push(conn);
            }
        })
    }
}

/// The same workload on aioloop.
pub struct AioloopHttp {
    lp: aioloop::EventLoop,
    conns: Conns<aioloop::net::TcpStream>,
    rounds: usize,
}

impl AioloopHttp {
    pub fn new(conns: usize, rounds: usize) -> Self {
        let lp = aioloop::EventLoop::new().unwrap();
        let streams = lp.run_until_complete(async {
            let addr = on_aioloop::server().await;
            let mut streams = Vec::new();
            for _ in 0..conns {
                streams.push(on_aioloop::connect(addr).await);
            }
            Rc::new(RefCell::new(streams))
        });
        AioloopHttp {
            lp,
            conns: streams,
            rounds,
        }
    }

    pub fn run(&self) {
        let (conns, rounds) = (&self.conns, self.rounds);
        self.lp.run_until_complete(async {
            let tasks: Vec<_> = conns
                .borrow_mut()
                .drain(..)
                .map(|(s, len)| {
                    aioloop::spawn(async move { (on_aioloop::requests(s, len, rounds).await, len) })
                })
                .collect();
            for task in tasks {
                let conn = task.await.unwrap();
                conns.borrow_mut().push(conn);
            }
        })
    }
}
