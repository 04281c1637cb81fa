//! Thread-per-core: one event loop per core, each accepting on its own `SO_REUSEPORT`
//! listener bound to the same port; the kernel spreads connections across them.
//!
//! Without arguments it serves a fixed number of connections from an in-process client
//! thread, prints how many each loop handled, and exits. `--serve [ADDR]` (default
//! 127.0.0.1:8889) serves until killed.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;

use aioloop::net::{pin_to_core, run_per_core, TcpListener};

const CONNECTIONS: usize = 400;

/// Serves one line-echo per connection; with `limit`, stops after the whole server (all
/// loops) has handled that many connections.
async fn serve(listener: TcpListener, served: &AtomicUsize, limit: Option<usize>) -> usize {
    let mut mine = 0;
    loop {
        let accept = listener.accept();
        let (stream, _) = match limit {
            None => accept.await.expect("accept"),
            Some(_) => {
                // Poll for the end now and then: another loop may have served the last one.
                match aioloop::wait_for(accept, std::time::Duration::from_millis(20)).await {
                    Ok(accepted) => accepted.expect("accept"),
                    Err(_) if limit.is_some_and(|n| served.load(Ordering::SeqCst) >= n) => return mine,
                    Err(_) => continue,
                }
            }
        };
        mine += 1;
        drop(aioloop::spawn(async move {
            let mut buf = [0; 64];
            if let Ok(n) = stream.read(&mut buf).await {
                let _ = stream.write_all(&buf[..n]).await;
            }
        }));
        served.fetch_add(1, Ordering::SeqCst);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let serve_forever = args.first().map(String::as_str) == Some("--serve");
    let cores = aioloop::net::available_cores().max(2);
    let addr: SocketAddr = if serve_forever {
        args.get(1)
            .map_or("127.0.0.1:8889", String::as_str)
            .parse()
            .expect("address")
    } else {
        // Pick a free port for the group.
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let served = AtomicUsize::new(0);
    let bound = Barrier::new(cores + 1);
    let limit = (!serve_forever).then_some(CONNECTIONS);

    let per_loop = std::thread::scope(|scope| {
        let server = scope.spawn(|| {
            let (bound, served) = (&bound, &served);
            run_per_core(cores, move |index| async move {
                // One CPU per loop keeps its caches warm; not fatal where pinning is refused.
                if let Err(err) = pin_to_core(index) {
                    eprintln!("loop {index} not pinned: {err}");
                }
                let listener = TcpListener::bind_reuseport(addr).await.expect("bind_reuseport");
                bound.wait();
                serve(listener, served, limit).await
            })
        });
        bound.wait();
        if serve_forever {
            println!("{cores} loops serving on {addr}");
        } else {
            for i in 0..CONNECTIONS {
                let mut stream = std::net::TcpStream::connect(addr).expect("connect");
                let msg = format!("hello {i}");
                stream.write_all(msg.as_bytes()).unwrap();
                let mut back = vec![0; msg.len()];
                stream.read_exact(&mut back).unwrap();
                assert_eq!(back, msg.as_bytes());
            }
        }
        server.join().expect("server threads")
    });
    println!("{CONNECTIONS} connections on {addr} across {cores} loops: {per_loop:?} per loop");
    assert_eq!(per_loop.iter().sum::<usize>(), CONNECTIONS);
}
