//! Issue 20, registered files (runtime/io/uring/files.rs, U12 in runtime/io/uring/mod.rs):
//! with a file table of two indices (`AIOLOOP_IO_URING_FILES=2`) and ten streams, two streams
//! name their index in the ring's table and the other eight, finding it full, their
//! descriptors; every stream echoes its bytes whole and in order either way. Dropping the
//! streams empties their indices (the peers see the end: the table holds no reference that
//! keeps a socket open, and the multishot polls of the streams still open, on the other
//! index, do not hold the dropped one's file back, as they would on kernels before 6.13),
//! and the next connections take the indices again and work. (Its own
//! test binary: the variable is set before any loop of the process reads it.)

mod io_uring_support;

use std::os::fd::AsRawFd;
use std::sync::MutexGuard;
use std::time::Duration;

use aioloop::net::TcpStream;
use aioloop::IoDriverKind;
use io_uring_support::{pair, run_on, serial};

/// Connections in each round: ten streams (both ends in the loop), two table indices.
const PAIRS: usize = 5;
const TABLE: usize = 2;

/// The sockets in the file tables of this process's rings, from `/proc/self/fdinfo` of each
/// io_uring descriptor (`UserFiles: size`, then a line `index: socket:[inode]` per occupied
/// index); `None` where no ring has a table (the driver registers none before Linux 6.15:
/// the streams use their descriptors) or the kernel does not list them.
fn registered_sockets() -> Option<usize> {
    let mut listed = None;
    for entry in std::fs::read_dir("/proc/self/fd").ok()?.flatten() {
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        if target.to_string_lossy() != "anon_inode:[io_uring]" {
            continue;
        }
        let name = entry.file_name();
        let Ok(info) = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", name.to_string_lossy()))
        else {
            continue;
        };
        let mut lines = info.lines().skip_while(|line| !line.starts_with("UserFiles:"));
        let size = lines
            .next()
            .and_then(|line| line["UserFiles:".len()..].trim().parse::<usize>().ok());
        if size.unwrap_or(0) == 0 {
            continue;
        }
        let sockets = lines
            .take_while(|line| line.trim_start().starts_with(|c: char| c.is_ascii_digit()))
            .filter(|line| line.contains("socket:"))
            .count();
        *listed.get_or_insert(0) += sockets;
    }
    listed
}

/// True if the running kernel is `major.minor` or later (`uname`).
fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (major, minor)
}

/// Sets the file table's size to `TABLE` for the loops of this binary and takes the suites'
/// lock; `None` where io_uring does not run here.
fn table_of_two() -> Option<MutexGuard<'static, ()>> {
    std::env::set_var("AIOLOOP_IO_URING_FILES", TABLE.to_string());
    let serial = serial();
    io_uring_support::drivers()
        .contains(&IoDriverKind::IoUring)
        .then_some(serial)
}

/// `PAIRS` connections, each end echoing a message of its own through the other, a few
/// times: every byte back whole and in order.
async fn echo_on_every_stream(round: usize) -> Vec<(TcpStream, TcpStream)> {
    let mut pairs = Vec::new();
    for _ in 0..PAIRS {
        pairs.push(pair().await);
    }
    for turn in 0..3 {
        for (i, (server, client)) in pairs.iter().enumerate() {
            let msg: Vec<u8> = format!("round {round} turn {turn} pair {i} ")
                .into_bytes()
                .repeat(100 + i * 37);
            client.write_all(&msg).await.unwrap();
            client.flush().await.unwrap();
            let mut got = vec![0; msg.len()];
            server.read_exact(&mut got).await.unwrap();
            assert!(got == msg, "pair {i}: the server got other bytes");
            server.write_all(&got).await.unwrap();
            server.flush().await.unwrap();
            client.read_exact(&mut got).await.unwrap();
            assert!(got == msg, "pair {i}: the client got other bytes back");
        }
    }
    pairs
}

#[test]
fn issue20_streams_beyond_a_full_file_table_use_their_descriptors() {
    let Some(_serial) = table_of_two() else {
        return eprintln!("io_uring unavailable here: skipped");
    };
    run_on(IoDriverKind::IoUring, async {
        let pairs = echo_on_every_stream(0).await;
        // The table is registered at the loop's first stream: no socket in it before.
        let listed = registered_sockets().map(|_| 0);
        if listed.is_none() {
            assert!(
                !kernel_at_least(6, 15),
                "the driver registers a file table from Linux 6.15 on (runtime/io/uring/files.rs)"
            );
            eprintln!("no file table before Linux 6.15: only the fallback checked");
        }
        if let Some(before) = listed {
            assert_eq!(
                registered_sockets(),
                Some(before + TABLE),
                "the table's two indices taken, the other streams on their descriptors"
            );
        }
        // The accepted ends go: each connected end sees the end of its stream (a stream
        // that named an index closes at its drop as one on its descriptor does).
        let (servers, clients): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
        drop(servers);
        for client in &clients {
            let mut buf = [0; 16];
            let n = aioloop::wait_for(client.read(&mut buf), Duration::from_secs(10))
                .await
                .expect("the peer sees the dropped stream's end")
                .unwrap();
            assert_eq!(n, 0, "{}: end of stream", client.as_raw_fd());
        }
        drop(clients);
        if let Some(before) = listed {
            let mut now = registered_sockets();
            for _ in 0..100 {
                if now == Some(before) {
                    break;
                }
                aioloop::sleep(Duration::from_millis(10)).await;
                now = registered_sockets();
            }
            assert_eq!(now, Some(before), "every index emptied once its stream settled");
        }
        // The freed indices are taken again; every stream works.
        let pairs = echo_on_every_stream(1).await;
        if let Some(before) = listed {
            assert_eq!(registered_sockets(), Some(before + TABLE));
        }
        drop(pairs);
    });
}

/// Issue 20, U12: streams opened and used in the same iteration of the loop, their installs
/// and their first entries (polls, the first receive, the first send) in one submission: the
/// kernel fills each index as it issues the install, before the entries behind it that name
/// the index, so every byte goes through, both ways, on Unix and TCP streams alike.
#[test]
fn issue20_a_stream_used_in_the_iteration_that_opened_it_works() {
    let Some(_serial) = table_of_two() else {
        return eprintln!("io_uring unavailable here: skipped");
    };
    run_on(IoDriverKind::IoUring, async {
        let before = registered_sockets();
        for round in 0..3 {
            let msg = format!("round {round} ").into_bytes().repeat(300);
            // No await between the registrations and the first operations: the read arms
            // the receive and submits the installs, the polls and the receive at once; the
            // send goes with the enter that ends the iteration.
            let (a, b) = aioloop::net::UnixStream::pair().unwrap();
            a.write_all(&msg).await.unwrap();
            let mut got = vec![0; msg.len()];
            b.read_exact(&mut got).await.unwrap();
            assert!(got == msg, "round {round}: b got other bytes");
            b.write_all(&got).await.unwrap();
            a.read_exact(&mut got).await.unwrap();
            assert!(got == msg, "round {round}: a got other bytes back");
            if let Some(before) = before {
                assert_eq!(registered_sockets(), Some(before + TABLE), "both in the table");
            }
            drop((a, b));

            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (server, _) = listener.accept().unwrap();
            client.set_nonblocking(true).unwrap();
            server.set_nonblocking(true).unwrap();
            let (client, server) = (
                TcpStream::from_std(client).unwrap(),
                TcpStream::from_std(server).unwrap(),
            );
            client.write_all(&msg).await.unwrap();
            server.read_exact(&mut got).await.unwrap();
            assert!(got == msg, "round {round}: the server got other bytes");
            server.write_all(&got).await.unwrap();
            client.read_exact(&mut got).await.unwrap();
            assert!(got == msg, "round {round}: the client got other bytes back");
        }
    });
}
