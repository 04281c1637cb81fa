//! tokio's current_thread runtime (`enable_all()`).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::shapes::{delay, EchoConns, Shape, MSG, SPAWNS, YIELDS, YIELD_TASKS};
use crate::{timed, Peer};

struct Tokio {
    rt: tokio::runtime::Runtime,
    echo: EchoConns<TcpStream>,
}

pub fn new() -> std::io::Result<Box<dyn Peer>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(Box::new(Tokio {
        rt,
        echo: EchoConns::new(),
    }))
}

async fn echo_server() -> SocketAddr {
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

async fn round_trips(mut stream: TcpStream, rounds: usize) -> TcpStream {
    let (msg, mut buf) = ([7u8; MSG], [0u8; MSG]);
    for _ in 0..rounds {
        stream.write_all(&msg).await.unwrap();
        stream.read_exact(&mut buf).await.unwrap();
    }
    stream
}

impl Peer for Tokio {
    fn run(&mut self, shape: Shape) -> Duration {
        let rt = &self.rt;
        match shape {
            Shape::SpawnJoin => timed(|| {
                rt.block_on(async {
                    let hs: Vec<_> = (0..SPAWNS).map(|i| tokio::spawn(async move { i })).collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                })
            }),
            Shape::Yield => timed(|| {
                rt.block_on(async {
                    let hs: Vec<_> = (0..YIELD_TASKS)
                        .map(|_| {
                            tokio::spawn(async {
                                for _ in 0..YIELDS {
                                    tokio::task::yield_now().await
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                })
            }),
            Shape::Sleeps => timed(|| {
                rt.block_on(async {
                    let hs: Vec<_> = (0..SPAWNS)
                        .map(|i| tokio::spawn(tokio::time::sleep(delay(i))))
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                })
            }),
            Shape::Echo50 | Shape::Echo500 => {
                let (conns, rounds) = shape.echo().unwrap();
                self.echo.run(
                    conns,
                    |conns| {
                        rt.block_on(async {
                            let addr = echo_server().await;
                            let mut v = Vec::new();
                            for _ in 0..conns {
                                let s = TcpStream::connect(addr).await.unwrap();
                                s.set_nodelay(true).unwrap();
                                v.push(s);
                            }
                            v
                        })
                    },
                    |streams| {
                        rt.block_on(async {
                            let hs: Vec<_> = streams
                                .into_iter()
                                .map(|s| tokio::spawn(round_trips(s, rounds)))
                                .collect();
                            let mut back = Vec::new();
                            for h in hs {
                                back.push(h.await.unwrap());
                            }
                            back
                        })
                    },
                )
            }
        }
    }
}
