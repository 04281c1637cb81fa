//! smol's pieces: async-executor's `LocalExecutor` driven by async-io's `block_on` (its
//! reactor and `Timer`, a `BTreeMap` of deadlines), sockets as `Async<std::net::TcpStream>`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use async_executor::LocalExecutor;
use async_io::{Async, Timer};
use futures_lite::{AsyncReadExt, AsyncWriteExt};

use crate::shapes::{delay, EchoConns, Shape, MSG, SPAWNS, YIELDS, YIELD_TASKS};
use crate::{timed, Peer};

type Ex = Rc<LocalExecutor<'static>>;

struct Smol {
    ex: Ex,
    echo: EchoConns<Async<TcpStream>>,
}

pub fn new() -> std::io::Result<Box<dyn Peer>> {
    Ok(Box::new(Smol {
        ex: Rc::new(LocalExecutor::new()),
        echo: EchoConns::new(),
    }))
}

fn echo_server(ex: &Ex) -> SocketAddr {
    let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
    let addr = listener.get_ref().local_addr().unwrap();
    let ex2 = ex.clone();
    ex.spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            stream.get_ref().set_nodelay(true).unwrap();
            ex2.spawn(async move {
                let mut buf = [0; 4096];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => stream.write_all(&buf[..n]).await.unwrap(),
                    }
                }
            })
            .detach();
        }
    })
    .detach();
    addr
}

async fn round_trips(mut stream: Async<TcpStream>, rounds: usize) -> Async<TcpStream> {
    let (msg, mut buf) = ([7u8; MSG], [0u8; MSG]);
    for _ in 0..rounds {
        stream.write_all(&msg).await.unwrap();
        stream.read_exact(&mut buf).await.unwrap();
    }
    stream
}

impl Peer for Smol {
    fn run(&mut self, shape: Shape) -> Duration {
        let ex = &self.ex;
        match shape {
            Shape::SpawnJoin => timed(|| {
                async_io::block_on(ex.run(async {
                    let hs: Vec<_> = (0..SPAWNS).map(|i| ex.spawn(async move { i })).collect();
                    for h in hs {
                        h.await;
                    }
                }))
            }),
            Shape::Yield => timed(|| {
                async_io::block_on(ex.run(async {
                    let hs: Vec<_> = (0..YIELD_TASKS)
                        .map(|_| {
                            ex.spawn(async {
                                for _ in 0..YIELDS {
                                    futures_lite::future::yield_now().await
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await;
                    }
                }))
            }),
            Shape::Sleeps => timed(|| {
                async_io::block_on(ex.run(async {
                    let hs: Vec<_> = (0..SPAWNS)
                        .map(|i| {
                            ex.spawn(async move {
                                Timer::after(delay(i)).await;
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await;
                    }
                }))
            }),
            Shape::Echo50 | Shape::Echo500 => {
                let (conns, rounds) = shape.echo().unwrap();
                self.echo.run(
                    conns,
                    |conns| {
                        let addr = echo_server(ex);
                        async_io::block_on(ex.run(async {
                            let mut v = Vec::new();
                            for _ in 0..conns {
                                let s = Async::<TcpStream>::connect(addr).await.unwrap();
                                s.get_ref().set_nodelay(true).unwrap();
                                v.push(s);
                            }
                            v
                        }))
                    },
                    |streams| {
                        async_io::block_on(ex.run(async {
                            let hs: Vec<_> = streams
                                .into_iter()
                                .map(|s| ex.spawn(round_trips(s, rounds)))
                                .collect();
                            let mut back = Vec::new();
                            for h in hs {
                                back.push(h.await);
                            }
                            back
                        }))
                    },
                )
            }
        }
    }
}
