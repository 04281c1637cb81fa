//! Echo soak on loopback: two rounds of 5,000 connections (200 at a time), each sending 64 bytes
//! and reading them back, server and clients on one loop. Zero errors, and the process's
//! descriptor count is back where it started. Bounded: each round must finish within 120 s.
//! Its own test binary, so the fd count is not disturbed by other tests.

use std::io;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

const CONNECTIONS: usize = 5_000;
const CONCURRENT: usize = 200;

async fn round() -> io::Result<usize> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = aioloop::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await?;
            drop(aioloop::spawn(async move {
                let mut buf = [0u8; 64];
                stream.read_exact(&mut buf).await?;
                stream.write_all(&buf).await?;
                io::Result::Ok(())
            }));
        }
        #[allow(unreachable_code)]
        io::Result::Ok(())
    });
    let mut echoed = 0;
    for batch in 0..CONNECTIONS / CONCURRENT {
        let clients: Vec<_> = (0..CONCURRENT)
            .map(|i| {
                aioloop::spawn(async move {
                    let stream = TcpStream::connect(addr).await?;
                    let message = [(batch * CONCURRENT + i) as u8; 64];
                    stream.write_all(&message).await?;
                    let mut back = [0u8; 64];
                    stream.read_exact(&mut back).await?;
                    if back != message {
                        return Err(io::Error::other("echo differs"));
                    }
                    io::Result::Ok(())
                })
            })
            .collect();
        for client in clients {
            client.await.expect("client task")?;
            echoed += 1;
        }
    }
    server.cancel();
    Ok(echoed)
}

#[test]
#[cfg(target_os = "linux")]
fn two_rounds_of_5000_connections() {
    let before = open_fds();
    for _ in 0..2 {
        let echoed = aioloop::run(async { aioloop::wait_for(round(), Duration::from_secs(120)).await })
            .expect("the round took more than 120 s")
            .expect("an echo failed");
        assert_eq!(echoed, CONNECTIONS);
    }
    assert_eq!(open_fds(), before, "descriptors leaked");
}
