//! monoio with its io_uring driver and with its legacy (epoll) driver, timer enabled.

use std::net::SocketAddr;
use std::time::Duration;

use monoio::io::{AsyncReadRent, AsyncReadRentExt, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};
use monoio::{IoUringDriver, LegacyDriver, Runtime, RuntimeBuilder};

use crate::shapes::{delay, yield_now, EchoConns, Shape, MSG, SPAWNS, YIELDS, YIELD_TASKS};
use crate::{timed, Peer};

struct Monoio<D> {
    rt: Runtime<D>,
    echo: EchoConns<TcpStream>,
}

pub fn new_uring() -> std::io::Result<Box<dyn Peer>> {
    let rt = RuntimeBuilder::<IoUringDriver>::new().enable_timer().build()?;
    Ok(Box::new(Monoio {
        rt,
        echo: EchoConns::new(),
    }))
}

pub fn new_legacy() -> std::io::Result<Box<dyn Peer>> {
    let rt = RuntimeBuilder::<LegacyDriver>::new().enable_timer().build()?;
    Ok(Box::new(Monoio {
        rt,
        echo: EchoConns::new(),
    }))
}

fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    monoio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            monoio::spawn(async move {
                let mut buf = Vec::with_capacity(4096);
                loop {
                    buf.clear();
                    let (res, b) = stream.read(buf).await;
                    buf = b;
                    match res {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let (res, b) = stream.write_all(buf).await;
                            buf = b;
                            res.unwrap();
                        }
                    }
                }
            });
        }
    });
    addr
}

async fn round_trips(mut stream: TcpStream, rounds: usize) -> TcpStream {
    let (mut msg, mut buf) = (vec![7u8; MSG], Vec::with_capacity(MSG));
    for _ in 0..rounds {
        let (res, m) = stream.write_all(msg).await;
        res.unwrap();
        msg = m;
        buf.clear();
        let (res, b) = stream.read_exact(buf).await;
        res.unwrap();
        buf = b;
    }
    stream
}

impl<D: monoio::Driver> Peer for Monoio<D> {
    fn run(&mut self, shape: Shape) -> Duration {
        let rt = &mut self.rt;
        match shape {
            Shape::SpawnJoin => timed(|| {
                rt.block_on(async {
                    let hs: Vec<_> = (0..SPAWNS).map(|i| monoio::spawn(async move { i })).collect();
                    for h in hs {
                        h.await;
                    }
                })
            }),
            Shape::Yield => timed(|| {
                rt.block_on(async {
                    let hs: Vec<_> = (0..YIELD_TASKS)
                        .map(|_| {
                            monoio::spawn(async {
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
                rt.block_on(async {
                    let hs: Vec<_> = (0..SPAWNS)
                        .map(|i| monoio::spawn(monoio::time::sleep(delay(i))))
                        .collect();
                    for h in hs {
                        h.await;
                    }
                })
            }),
            Shape::Echo50 | Shape::Echo500 => {
                let (conns, rounds) = shape.echo().unwrap();
                let streams = match self.echo.take(conns) {
                    Some(v) => v,
                    None => rt.block_on(async {
                        let addr = echo_server();
                        let mut v = Vec::new();
                        for _ in 0..conns {
                            let s = TcpStream::connect(addr).await.unwrap();
                            s.set_nodelay(true).unwrap();
                            v.push(s);
                        }
                        v
                    }),
                };
                let mut back = Vec::new();
                let d = timed(|| {
                    back = rt.block_on(async {
                        let hs: Vec<_> = streams
                            .into_iter()
                            .map(|s| monoio::spawn(round_trips(s, rounds)))
                            .collect();
                        let mut back = Vec::new();
                        for h in hs {
                            back.push(h.await);
                        }
                        back
                    })
                });
                self.echo.put(conns, back);
                d
            }
        }
    }
}
