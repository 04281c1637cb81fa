//! glommio's `LocalExecutor` (io_uring only; its rings need locked memory, which main raises
//! as far as the process may).

use std::net::SocketAddr;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::{TcpListener, TcpStream};
use glommio::{LocalExecutor, LocalExecutorBuilder};

use crate::shapes::{delay, yield_now, EchoConns, Shape, MSG, SPAWNS, YIELDS, YIELD_TASKS};
use crate::{timed, Peer};

struct Glommio {
    ex: LocalExecutor,
    echo: EchoConns<TcpStream>,
}

pub fn new() -> std::io::Result<Box<dyn Peer>> {
    let ex = LocalExecutorBuilder::default()
        .make()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(Box::new(Glommio {
        ex,
        echo: EchoConns::new(),
    }))
}

fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    glommio::spawn_local(async move {
        loop {
            let mut stream = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            glommio::spawn_local(async move {
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

async fn round_trips(mut stream: TcpStream, rounds: usize) -> TcpStream {
    let (msg, mut buf) = ([7u8; MSG], [0u8; MSG]);
    for _ in 0..rounds {
        stream.write_all(&msg).await.unwrap();
        stream.read_exact(&mut buf).await.unwrap();
    }
    stream
}

impl Peer for Glommio {
    fn run(&mut self, shape: Shape) -> Duration {
        let ex = &self.ex;
        match shape {
            Shape::SpawnJoin => timed(|| {
                ex.run(async {
                    let hs: Vec<_> = (0..SPAWNS)
                        .map(|i| glommio::spawn_local(async move { i }))
                        .collect();
                    for h in hs {
                        h.await;
                    }
                })
            }),
            Shape::Yield => timed(|| {
                ex.run(async {
                    let hs: Vec<_> = (0..YIELD_TASKS)
                        .map(|_| {
                            glommio::spawn_local(async {
                                for _ in 0..YIELDS {
                                    yield_now().await
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await;
                    }
                })
            }),
            Shape::Sleeps => timed(|| {
                ex.run(async {
                    let hs: Vec<_> = (0..SPAWNS)
                        .map(|i| glommio::spawn_local(glommio::timer::sleep(delay(i))))
                        .collect();
                    for h in hs {
                        h.await;
                    }
                })
            }),
            Shape::Echo50 | Shape::Echo500 => {
                let (conns, rounds) = shape.echo().unwrap();
                self.echo.run(
                    conns,
                    |conns| {
                        ex.run(async {
                            let addr = echo_server();
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
                        ex.run(async {
                            let hs: Vec<_> = streams
                                .into_iter()
                                .map(|s| glommio::spawn_local(round_trips(s, rounds)))
                                .collect();
                            let mut back = Vec::new();
                            for h in hs {
                                back.push(h.await);
                            }
                            back
                        })
                    },
                )
            }
        }
    }
}
