//! Network workloads on aioloop and on tokio's current_thread runtime (`enable_all()`), same
//! code shape, client and server on the same loop:
//! - `tcp_echo_50x64`: 50 persistent connections, each doing 100 round trips of 64 bytes
//!   concurrently (5,000 round trips per iteration);
//! - `tcp_connect_50`: 50 connections opened, one 64-byte round trip each, closed.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

use criterion::{criterion_group, criterion_main, Criterion};

const CONNS: usize = 50;
const ROUNDS: usize = 100;
const MSG: usize = 64;

mod on_aioloop {
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

mod on_tokio {
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

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn tcp_echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("tcp_echo_50x64");

    let rt = tokio_rt();
    let streams = rt.block_on(async {
        let addr = on_tokio::echo_server().await;
        let mut streams = Vec::new();
        for _ in 0..CONNS {
            streams.push(on_tokio::connect(addr).await);
        }
        Rc::new(RefCell::new(streams))
    });
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = streams
                    .borrow_mut()
                    .drain(..)
                    .map(|s| tokio::spawn(on_tokio::round_trips(s, ROUNDS)))
                    .collect();
                for task in tasks {
                    let stream = task.await.unwrap();
                    streams.borrow_mut().push(stream);
                }
            })
        })
    });

    let lp = aioloop::EventLoop::new().unwrap();
    let streams = lp.run_until_complete(async {
        let addr = on_aioloop::echo_server().await;
        let mut streams = Vec::new();
        for _ in 0..CONNS {
            streams.push(on_aioloop::connect(addr).await);
        }
        Rc::new(RefCell::new(streams))
    });
    group.bench_function("aioloop", |b| {
        b.iter(|| {
            lp.run_until_complete(async {
                let tasks: Vec<_> = streams
                    .borrow_mut()
                    .drain(..)
                    .map(|s| aioloop::spawn(on_aioloop::round_trips(s, ROUNDS)))
                    .collect();
                for task in tasks {
                    let stream = task.await.unwrap();
                    streams.borrow_mut().push(stream);
                }
            })
        })
    });
    group.finish();
}

fn tcp_connect(c: &mut Criterion) {
    let mut group = c.benchmark_group("tcp_connect_50");

    let rt = tokio_rt();
    let addr = rt.block_on(on_tokio::echo_server());
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..CONNS)
                    .map(|_| {
                        tokio::spawn(
                            async move { on_tokio::round_trips(on_tokio::connect(addr).await, 1).await },
                        )
                    })
                    .collect();
                for task in tasks {
                    drop(task.await.unwrap());
                }
            })
        })
    });

    let lp = aioloop::EventLoop::new().unwrap();
    let addr = lp.run_until_complete(on_aioloop::echo_server());
    group.bench_function("aioloop", |b| {
        b.iter(|| {
            lp.run_until_complete(async {
                let tasks: Vec<_> = (0..CONNS)
                    .map(|_| {
                        aioloop::spawn(async move {
                            on_aioloop::round_trips(on_aioloop::connect(addr).await, 1).await
                        })
                    })
                    .collect();
                for task in tasks {
                    drop(task.await.unwrap());
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, tcp_echo, tcp_connect);
criterion_main!(benches);
