//! compio with its io_uring driver and with its poll driver (both built in: the "fusion"
//! driver, the type chosen explicitly so no fallback hides a refused io_uring).

use std::net::SocketAddr;
use std::time::Duration;

use compio::buf::BufResult;
use compio::driver::{DriverType, ProactorBuilder};
use compio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use compio::net::{TcpListener, TcpStream};
use compio::runtime::{Runtime, RuntimeBuilder};

use crate::shapes::{delay, yield_now, EchoConns, Shape, MSG, SPAWNS, YIELDS, YIELD_TASKS};
use crate::{timed, Peer};

struct Compio {
    rt: Runtime,
    echo: EchoConns<TcpStream>,
}

fn build(ty: DriverType) -> std::io::Result<Box<dyn Peer>> {
    let mut proactor = ProactorBuilder::new();
    proactor.driver_type(ty);
    let rt = RuntimeBuilder::new().with_proactor(proactor).build()?;
    Ok(Box::new(Compio {
        rt,
        echo: EchoConns::new(),
    }))
}

pub fn new_uring() -> std::io::Result<Box<dyn Peer>> {
    build(DriverType::IoUring)
}

pub fn new_poll() -> std::io::Result<Box<dyn Peer>> {
    build(DriverType::Poll)
}

async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    compio::runtime::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            compio::runtime::spawn(async move {
                let mut buf = Vec::with_capacity(4096);
                loop {
                    buf.clear();
                    let BufResult(res, b) = stream.read(buf).await;
                    buf = b;
                    match res {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let BufResult(res, b) = stream.write_all(buf).await;
                            buf = b;
                            res.unwrap();
                        }
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
    let (mut msg, mut buf) = (vec![7u8; MSG], Vec::with_capacity(MSG));
    for _ in 0..rounds {
        let BufResult(res, m) = stream.write_all(msg).await;
        res.unwrap();
        msg = m;
        buf.clear();
        let BufResult(res, b) = stream.read_exact(buf).await;
        res.unwrap();
        buf = b;
    }
    stream
}

impl Peer for Compio {
    fn run(&mut self, shape: Shape) -> Duration {
        let rt = &self.rt;
        match shape {
            Shape::SpawnJoin => timed(|| {
                rt.block_on(async {
                    let hs: Vec<_> = (0..SPAWNS)
                        .map(|i| compio::runtime::spawn(async move { i }))
                        .collect();
                    for h in hs {
                        assert!(h.await.is_ok());
                    }
                })
            }),
            Shape::Yield => timed(|| {
                rt.block_on(async {
                    let hs: Vec<_> = (0..YIELD_TASKS)
                        .map(|_| {
                            compio::runtime::spawn(async {
                                for _ in 0..YIELDS {
                                    yield_now().await
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        assert!(h.await.is_ok());
                    }
                })
            }),
            Shape::Sleeps => timed(|| {
                rt.block_on(async {
                    let hs: Vec<_> = (0..SPAWNS)
                        .map(|i| compio::runtime::spawn(compio::time::sleep(delay(i))))
                        .collect();
                    for h in hs {
                        assert!(h.await.is_ok());
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
                                .map(|s| compio::runtime::spawn(round_trips(s, rounds)))
                                .collect();
                            let mut back = Vec::new();
                            for h in hs {
                                back.push(h.await.ok().unwrap());
                            }
                            back
                        })
                    },
                )
            }
        }
    }
}
