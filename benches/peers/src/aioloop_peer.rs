//! aioloop (path dependency: the checkout this crate sits in).

use std::net::SocketAddr;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream};

use crate::shapes::{delay, EchoConns, Shape, MSG, SPAWNS, YIELDS, YIELD_TASKS};
use crate::{timed, Peer};

struct Aioloop {
    lp: aioloop::EventLoop,
    echo: EchoConns<TcpStream>,
}

/// aioloop on epoll (asked for explicitly: with the `io-uring` feature on, the default driver
/// would be io_uring where the kernel allows it).
pub fn new() -> std::io::Result<Box<dyn Peer>> {
    on(aioloop::IoDriverKind::Epoll)
}

/// aioloop on its io_uring driver, in its default (completion) form of stream I/O; fails to
/// start where the kernel refuses io_uring.
pub fn new_uring() -> std::io::Result<Box<dyn Peer>> {
    on(aioloop::IoDriverKind::IoUring)
}

fn on(driver: aioloop::IoDriverKind) -> std::io::Result<Box<dyn Peer>> {
    Ok(Box::new(Aioloop {
        lp: aioloop::EventLoop::builder().io_driver(driver).build()?,
        echo: EchoConns::new(),
    }))
}

async fn echo_server() -> SocketAddr {
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

async fn round_trips(stream: TcpStream, rounds: usize) -> TcpStream {
    let (msg, mut buf) = ([7u8; MSG], [0u8; MSG]);
    for _ in 0..rounds {
        stream.write_all(&msg).await.unwrap();
        stream.read_exact(&mut buf).await.unwrap();
    }
    stream
}

impl Peer for Aioloop {
    fn run(&mut self, shape: Shape) -> Duration {
        let before = self.lp.stats();
        let d = self.run_shape(shape);
        if std::env::var_os("PEERS_STATS").is_some() {
            let after = self.lp.stats();
            let per = |a: u64, b: u64| (a - b) as f64 / shape.ops() as f64;
            eprintln!(
                "aioloop {}: per op: {:.3} iterations, {:.3} polls, {:.3} local wakes, {:.3} timers fired, {:.3} I/O events",
                shape.name(),
                per(after.iterations, before.iterations),
                per(after.polls, before.polls),
                per(after.local_wakes, before.local_wakes),
                per(after.timers_fired, before.timers_fired),
                per(after.io_events, before.io_events),
            );
        }
        d
    }
}

impl Aioloop {
    fn run_shape(&mut self, shape: Shape) -> Duration {
        let lp = &self.lp;
        match shape {
            Shape::SpawnJoin => timed(|| {
                lp.run_until_complete(async {
                    let hs: Vec<_> = (0..SPAWNS).map(|i| aioloop::spawn(async move { i })).collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                })
            }),
            Shape::Yield => timed(|| {
                lp.run_until_complete(async {
                    let hs: Vec<_> = (0..YIELD_TASKS)
                        .map(|_| {
                            aioloop::spawn(async {
                                for _ in 0..YIELDS {
                                    aioloop::yield_now().await
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
                lp.run_until_complete(async {
                    let hs: Vec<_> = (0..SPAWNS)
                        .map(|i| aioloop::spawn(aioloop::sleep(delay(i))))
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
                        lp.run_until_complete(async {
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
                        lp.run_until_complete(async {
                            let hs: Vec<_> = streams
                                .into_iter()
                                .map(|s| aioloop::spawn(round_trips(s, rounds)))
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
