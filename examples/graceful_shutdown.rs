//! A server that stops cleanly on Ctrl-C: on SIGINT it stops accepting, lets the open
//! connections finish, and exits 0.
//!
//! Without arguments it runs a demo that finishes by itself: it starts the server on a free
//! port, serves a few in-process clients, raises SIGINT to itself while one connection is still
//! open, checks that new connections are refused while that one is still served, and exits.
//! `--serve [ADDR]` (default 127.0.0.1:8888) serves until Ctrl-C: try `nc 127.0.0.1 8888`.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use aioloop::net::{TcpListener, TcpStream};
use aioloop::signal::{signal, SignalKind, Signals};

/// Which of two futures finished first.
enum First<A, B> {
    Left(A),
    Right(B),
}

/// Waits for whichever of `a` and `b` finishes first (the other is dropped).
async fn first<A: Future, B: Future>(a: A, b: B) -> First<A::Output, B::Output> {
    let (mut a, mut b) = (pin!(a), pin!(b));
    poll_fn(|cx| {
        if let Poll::Ready(out) = a.as_mut().poll(cx) {
            return Poll::Ready(First::Left(out));
        }
        if let Poll::Ready(out) = b.as_mut().poll(cx) {
            return Poll::Ready(First::Right(out));
        }
        Poll::Pending
    })
    .await
}

/// Echoes what the client sends until it closes its side.
async fn handle(stream: TcpStream) {
    let mut buf = vec![0; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// Accepts until SIGINT, then closes the listener and waits for the open connections.
/// `accepting` turns false once the listener is closed. Returns how many connections were
/// served.
async fn serve(listener: TcpListener, mut sigint: Signals, accepting: Rc<Cell<bool>>) -> usize {
    let mut connections = Vec::new();
    loop {
        match first(listener.accept(), sigint.recv()).await {
            First::Left(Ok((stream, _peer))) => connections.push(aioloop::spawn(handle(stream))),
            First::Left(Err(err)) => eprintln!("accept: {err}"),
            First::Right(_) => break,
        }
    }
    drop(listener); // stop accepting: new connections are refused from here on
    accepting.set(false);
    let open = connections.iter().filter(|task| !task.is_done()).count();
    println!("SIGINT: stopped accepting, finishing {open} open connection(s)");
    let served = connections.len();
    for task in connections {
        let _ = task.await;
    }
    served
}

/// Sends one line and checks the echo.
async fn round_trip(stream: &TcpStream, line: &str) {
    stream.write_all(line.as_bytes()).await.expect("write");
    let mut back = vec![0; line.len()];
    stream.read_exact(&mut back).await.expect("read echo");
    assert_eq!(back, line.as_bytes());
}

async fn demo() {
    // Listen for SIGINT before anything can send it.
    let sigint = signal(SignalKind::interrupt()).expect("listen for SIGINT");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().unwrap();
    let accepting = Rc::new(Cell::new(true));
    let server = aioloop::spawn(serve(listener, sigint, accepting.clone()));

    for id in 0..3 {
        let stream = TcpStream::connect(addr).await.expect("connect");
        round_trip(&stream, &format!("short client {id}\n")).await;
        // Close and wait for the server's side to close too: this connection is finished.
        stream.shutdown(std::net::Shutdown::Write).expect("shutdown");
        assert_eq!(stream.read(&mut [0; 16]).await.expect("read EOF"), 0);
    }
    let long = TcpStream::connect(addr).await.expect("connect");
    round_trip(&long, "long client, before SIGINT\n").await;

    // What Ctrl-C in a terminal does.
    // SAFETY: kill and getpid are plain syscalls; SIGINT is caught by the listener above.
    unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
    // The server takes the signal in within an iteration or two and closes its listener.
    while accepting.get() {
        aioloop::sleep(Duration::from_millis(1)).await;
    }
    let refused = TcpStream::connect(addr)
        .await
        .expect_err("the server still accepts");
    println!("new connections are refused ({})", refused.kind());

    round_trip(&long, "long client, after SIGINT\n").await;
    drop(long); // the last open connection ends: the server can finish
    let served = server.await.expect("server task");
    println!("graceful shutdown: served {served} connections, exiting cleanly");
}

#[aioloop::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let sigint = signal(SignalKind::interrupt()).expect("listen for SIGINT");
        let addr = args.get(1).map_or("127.0.0.1:8888", String::as_str);
        let listener = TcpListener::bind(addr).await.expect("bind");
        println!("serving on {} (Ctrl-C stops)", listener.local_addr().unwrap());
        let served = serve(listener, sigint, Rc::new(Cell::new(true))).await;
        println!("graceful shutdown: served {served} connections, exiting cleanly");
        return;
    }
    demo().await;
}
