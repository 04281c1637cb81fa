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

/// Many tasks ready in every iteration: the loop polls for I/O in every iteration, as
/// asyncio's `_run_once` does (and as tokio, whose driver runs every 61 scheduler ticks). The
/// busy loop counts steps since its last poll, not iterations: it used to poll once every 61
/// iterations whatever their size, so behind 100 yielding tasks a socket waited up to 61
/// iterations (6,100 steps). Five reads, each waiting on an empty socket, each woken within a
/// few iterations of its byte.
#[test]
fn many_ready_tasks_let_io_in_every_iteration() {
    aioloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        // Iterations, as the first of 100 yielding tasks counts them.
        let iterations = Rc::new(Cell::new(0u64));
        let stop = Rc::new(Cell::new(false));
        let spinners: Vec<_> = (0..100)
            .map(|i| {
                let (iterations, stop) = (iterations.clone(), stop.clone());
                aioloop::spawn(async move {
                    while !stop.get() {
                        if i == 0 {
                            iterations.set(iterations.get() + 1);
                        }
                        aioloop::yield_now().await;
                    }
                })
            })
            .collect();
        // The iteration at which each read was woken with its byte.
        let woken = Rc::new(std::cell::RefCell::new(Vec::new()));
        let reader = aioloop::spawn({
            let (iterations, woken) = (iterations.clone(), woken.clone());
            async move {
                for round in 0..5u8 {
                    let mut buf = [0; 1];
                    stream.read_exact(&mut buf).await.unwrap();
                    assert_eq!(buf, [round]);
                    woken.borrow_mut().push(iterations.get());
                }
            }
        });
        let mut late = Vec::new();
        for round in 0..5u8 {
            // The reader meets an empty socket and waits; the spinners run a varying number
            // of iterations meanwhile.
            for _ in 0..(7 * round as usize + 3) {
                aioloop::yield_now().await;
            }
            assert_eq!(woken.borrow().len(), round as usize);
            client.write_all(&[round]).unwrap();
            let at_write = iterations.get();
            while woken.borrow().len() == round as usize {
                aioloop::yield_now().await;
            }
            late.push(woken.borrow()[round as usize] - at_write);
        }
        reader.await.unwrap();
        stop.set(true);
        for spinner in spinners {
            spinner.await.unwrap();
        }
        assert!(
            late.iter().all(|&n| n <= 4),
            "iterations between the bytes and the read's wake-up: {late:?}"
        );
    });
}
