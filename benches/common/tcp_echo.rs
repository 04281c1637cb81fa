//! The TCP echo workload, one code shape on both runtimes, shared by benches/net.rs (criterion)
//! and benches/compare.rs (the summary table): an echo server and `CONNS` persistent client
//! connections on one loop, each client doing `ROUNDS` round trips of `MSG` bytes concurrently
//! (the summary also runs 500 connections: [`TokioEcho::with`]). Included with `#[path]` (a
//! file directly in benches/ would be a bench target of its own).

#![allow(dead_code)] // each bench uses some of these

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

pub const CONNS: usize = 50;
pub const ROUNDS: usize = 100;
pub const MSG: usize = 64;

pub mod on_aioloop {
    use super::*;
    use aioloop::net::{TcpListener, TcpStream};

    pub async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(aioloop::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                drop(aioloop::spawn(async move {
                    let mut buf = [0; 4096];
                    loop {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => stream.write_all(&buf[..n]).await.unwrap(),
                        }
                    }
                }));
            }
        }));
        addr
    }

    pub async fn connect(addr: SocketAddr) -> TcpStream {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        stream
    }

    pub async fn round_trips(stream: TcpStream, rounds: usize) -> TcpStream {
        let msg = [7u8; MSG];
        let mut buf = [0u8; MSG];
        for _ in 0..rounds {
            stream.write_all(&msg).await.unwrap();
            stream.read_exact(&mut buf).await.unwrap();
        }
        stream
    }
}

pub mod on_tokio {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    pub async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let mut buf = [0; 4096];
                    loop {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => stream.write_all(&buf[..n]).await.unwrap(),
                        }
                    }
                });
            }
        });
        addr
    }

    pub async fn connect(addr: SocketAddr) -> TcpStream {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        stream
    }

    pub async fn round_trips(mut stream: TcpStream, rounds: usize) -> TcpStream {
        let msg = [7u8; MSG];
        let mut buf = [0u8; MSG];
        for _ in 0..rounds {
            stream.write_all(&msg).await.unwrap();
            stream.read_exact(&mut buf).await.unwrap();
        }
        stream
    }
}

/// tokio's current_thread runtime (`enable_all()`), as every comparison uses it.
pub fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The echo workload on tokio: server and connections are set up once, each run does
/// `CONNS * ROUNDS` round trips.
pub struct TokioEcho {
    rt: tokio::runtime::Runtime,
    streams: Rc<RefCell<Vec<tokio::net::TcpStream>>>,
    rounds: usize,
}

impl TokioEcho {
    pub fn new() -> Self {
        Self::with(CONNS, ROUNDS)
    }

    /// `conns` connections, each doing `rounds` round trips per run.
    pub fn with(conns: usize, rounds: usize) -> Self {
        let rt = tokio_rt();
        let streams = rt.block_on(async {
            let addr = on_tokio::echo_server().await;
            let mut streams = Vec::new();
            for _ in 0..conns {
                streams.push(on_tokio::connect(addr).await);
            }
            Rc::new(RefCell::new(streams))
        });
        TokioEcho { rt, streams, rounds }
    }

    pub fn run(&self) {
        let (streams, rounds) = (&self.streams, self.rounds);
        self.rt.block_on(async {
            let tasks: Vec<_> = streams
                .borrow_mut()
                .drain(..)
                .map(|s| tokio::spawn(on_tokio::round_trips(s, rounds)))
                .collect();
            for task in tasks {
                let stream = task.await.unwrap();
                streams.borrow_mut().push(stream);
            }
        })
    }
}

/// The echo workload on aioloop, the same shape as [`TokioEcho`].
pub struct AioloopEcho {
    lp: aioloop::EventLoop,
    streams: Rc<RefCell<Vec<aioloop::net::TcpStream>>>,
    rounds: usize,
}

impl AioloopEcho {
    pub fn new() -> Self {
        Self::with(CONNS, ROUNDS)
    }

    /// `conns` connections, each doing `rounds` round trips per run.
    pub fn with(conns: usize, rounds: usize) -> Self {
        let lp = aioloop::EventLoop::new().unwrap();
        let streams = lp.run_until_complete(async {
            let addr = on_aioloop::echo_server().await;
            let mut streams = Vec::new();
            for _ in 0..conns {
                streams.push(on_aioloop::connect(addr).await);
            }
            Rc::new(RefCell::new(streams))
        });
        AioloopEcho { lp, streams, rounds }
    }

    pub fn run(&self) {
        let (streams, rounds) = (&self.streams, self.rounds);
        self.lp.run_until_complete(async {
            let tasks: Vec<_> = streams
                .borrow_mut()
                .drain(..)
                .map(|s| aioloop::spawn(on_aioloop::round_trips(s, rounds)))
                .collect();
            for task in tasks {
                let stream = task.await.unwrap();
                streams.borrow_mut().push(stream);
            }
        })
    }
}
