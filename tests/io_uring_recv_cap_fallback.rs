//! Issue 20, "a per-stream cap on held receive buffers", on the path kernels before 6.17 take
//! ("an exact cap before 6.17"): with `AIOLOOP_IO_URING_RECV_TOTAL=0` no multishot receive
//! is armed with a total, and a multishot receive without one brings any number of buffers
//! in one burst between two looks of the loop (it took the whole 4 MiB ring in one run of
//! three), so the stream receives with single receives, each of at most the room left under
//! its cap. The same flood as tests/io_uring_recv_cap.rs: the stream holds at most its cap,
//! to the byte, the receive starts again once the stream is read, and not a byte is lost or
//! reordered across the stops and restarts. (Its own test binary: the variable is set before
//! any loop of the process reads it.)

mod io_uring_support;

use io_uring_support::flood::flooded_unread_stream_holds_at_most;

/// The cap, exactly: a single receive reads at most the room left under it, and none is
/// armed once the stream holds it (runtime/io/uring/recv.rs `CAP_BYTES`).
const HELD_BOUND: usize = 64 * 1024;

#[test]
fn issue20_the_cap_without_the_kernels_total_is_exact_and_loses_nothing() {
    std::env::set_var("AIOLOOP_IO_URING_RECV_TOTAL", "0");
    flooded_unread_stream_holds_at_most(HELD_BOUND, 1);
}

/// Single receives go to the kernel in chains (U9, runtime/io/uring/reactor.rs
/// `RECV_CHAIN`): messages of every size from a byte to several buffers, some split by
/// pauses so that a receive of a chain comes back short and the next one waits, arrive
/// whole and in order.
#[test]
fn chained_single_receives_keep_order_and_lose_nothing() {
    std::env::set_var("AIOLOOP_IO_URING_RECV_TOTAL", "0");
    io_uring_support::on_every_driver(|kind| async move {
        let (server, client) = io_uring_support::pair().await;
        let data = io_uring_support::pattern(3 << 20);
        let sent = data.clone();
        let writer = aioloop::spawn(async move {
            let mut at = 0;
            let mut size = 1;
            while at < sent.len() {
                let end = (at + size).min(sent.len());
                client.write_all(&sent[at..end]).await.unwrap();
                client.flush().await.unwrap();
                at = end;
                size = size * 7 % 20_011 + 1;
                if size % 5 == 0 {
                    aioloop::sleep(std::time::Duration::from_millis(1)).await;
                }
            }
        });
        let mut got = Vec::with_capacity(data.len());
        let mut buf = vec![0u8; 3000];
        while got.len() < data.len() {
            let n = server.read(&mut buf).await.unwrap();
            assert!(n > 0, "{kind}: an early end");
            got.extend_from_slice(&buf[..n]);
        }
        writer.await.unwrap();
        assert!(got == data, "{kind}: the bytes came out of order or changed");
    });
}

/// A stream leaving the loop while a chain of single receives waits in the kernel stops the
/// whole chain (cancelling the receive that waits cancels the ones after it, `ECANCELED`):
/// `into_std` returns at once, and the standard stream reads what the peer sends next (no
/// receive of the chain left to take it).
#[test]
fn a_chain_of_single_receives_stops_when_the_stream_leaves_the_loop() {
    std::env::set_var("AIOLOOP_IO_URING_RECV_TOTAL", "0");
    io_uring_support::on_every_driver(|kind| async move {
        let (server, client) = io_uring_support::pair().await;
        for round in 0..3u8 {
            // Each read arms the next chain (after the first bytes, the receives chain).
            client.write_all(&[round; 10]).await.unwrap();
            let mut buf = [0u8; 10];
            server.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, [round; 10], "{kind}");
        }
        aioloop::sleep(std::time::Duration::from_millis(10)).await;
        let start = std::time::Instant::now();
        let std_stream = server.into_std().unwrap();
        assert!(
            start.elapsed() < std::time::Duration::from_secs(4),
            "{kind}: into_std waited {:?} for its receives",
            start.elapsed()
        );
        for round in 0..20u8 {
            client.write_all(&[round; 100]).await.unwrap();
        }
        client.flush().await.unwrap();
        std_stream.set_nonblocking(false).unwrap();
        let mut buf = [0u8; 2000];
        std::io::Read::read_exact(&mut &std_stream, &mut buf).unwrap();
        let want: Vec<u8> = (0..20u8).flat_map(|round| [round; 100]).collect();
        assert!(
            buf[..] == want[..],
            "{kind}: bytes went to a receive left in the kernel"
        );
    });
}

/// tests/io_uring_recv.rs's mixed large and small reads of a bulk transfer, on single
/// receives: every byte once and in order.
#[test]
fn issue20_large_reads_on_single_receives_keep_order_and_lose_nothing() {
    std::env::set_var("AIOLOOP_IO_URING_RECV_TOTAL", "0");
    io_uring_support::on_every_driver(io_uring_support::mixed_reads_keep_order);
}

/// tests/io_uring_recv_cap.rs's flood after a large read, on single receives.
#[test]
fn issue20_a_flooded_stream_of_a_large_reader_on_single_receives_holds_its_cap() {
    std::env::set_var("AIOLOOP_IO_URING_RECV_TOTAL", "0");
    flooded_unread_stream_holds_at_most(HELD_BOUND, 64 * 1024);
}
