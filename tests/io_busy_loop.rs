//! A loop kept busy by a task that never stops yielding still notices I/O: while tasks are
//! ready the loop skips `epoll_wait` in most iterations, but polls at least every few dozen
//! (runtime/reactor.rs, `BUSY_POLL_INTERVAL`), so sockets are never starved.

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;

use aioloop::net::{TcpListener, TcpStream};

/// The spinner gives up after this many yields; reaching it means I/O was starved.
const LIMIT: u64 = 200_000;

#[test]
fn a_yielding_task_does_not_starve_sockets() {
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let spins = Rc::new(Cell::new(0u64));
        let stop = Rc::new(Cell::new(false));
        let spinner = aioloop::spawn({
            let (spins, stop) = (spins.clone(), stop.clone());
            async move {
                while !stop.get() && spins.get() < LIMIT {
                    spins.set(spins.get() + 1);
                    aioloop::yield_now().await;
                }
            }
        });
        aioloop::yield_now().await;
        // A blocking client: the kernel completes the connect and buffers the bytes at once,
        // so everything after this point is the loop noticing readiness.
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        client.write_all(b"ping").unwrap();
        let at_write = spins.get();
        let (stream, _) = listener.accept().await.unwrap();
        let mut buf = [0; 4];
        stream.read_exact(&mut buf).await.unwrap();
        let waited = spins.get() - at_write;
        stop.set(true);
        spinner.await.unwrap();
        assert_eq!(&buf, b"ping");
        assert!(
            spins.get() < LIMIT,
            "the socket was served only after the busy task gave up: I/O starved"
        );
        assert!(
            waited <= 1_000,
            "accept + read took {waited} iterations of a busy loop"
        );
    });
}

#[test]
fn a_busy_loop_still_serves_a_socket_many_times() {
    // Echo 200 round trips between a client task and a server task on the same loop while a
    // third task spins: every round trip needs the loop to poll for I/O while busy. All on one
    // thread, so the count of spins does not depend on how the OS schedules threads.
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Rc::new(Cell::new(false));
        let spinner = aioloop::spawn({
            let stop = stop.clone();
            async move {
                let mut spins = 0;
                while !stop.get() && spins < 5 * LIMIT {
                    spins += 1;
                    aioloop::yield_now().await;
                }
                spins
            }
        });
        let client = aioloop::spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let mut buf = [0; 8];
            for i in 0u64..200 {
                stream.write_all(&i.to_le_bytes()).await.unwrap();
                stream.read_exact(&mut buf).await.unwrap();
                assert_eq!(u64::from_le_bytes(buf), i);
            }
        });
        let (stream, _) = listener.accept().await.unwrap();
        let mut buf = [0; 8];
        for _ in 0..200 {
            stream.read_exact(&mut buf).await.unwrap();
            stream.write_all(&buf).await.unwrap();
        }
        client.await.unwrap();
        stop.set(true);
        let spins = spinner.await.unwrap();
        assert!(
            spins < 5 * LIMIT,
            "the echo finished only after the busy task gave up"
        );
    });
}
