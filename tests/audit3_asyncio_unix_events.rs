//! Third audit against CPython's Lib/test/test_asyncio/test_unix_events.py, its Unix server and
//! connection tests (`SelectorEventLoopUnixSocketTests`), through aioloop's
//! `streams::{start_unix_server, open_unix_connection}`. Each test is named after the CPython
//! test it ports. `test_create_unix_server_bind_error` (the socket is closed when the bind
//! fails) is in tests/net_fd_leak.rs, the binary that counts descriptors alone.
//!
//! Elsewhere: the server's `sock=` cases are tests/asyncio_server_options.rs's
//! (`ServerOptions::sock` serves a bound TCP or Unix stream socket; a datagram socket is
//! refused, as `_path_dgram`; no place or two places to listen, as `_nopath_nosock`); the
//! `ssl` cases are tests/streams_tls.rs's. Not ported: `_path_inetsock` and
//! `_path_stream_bittype` (`ServerOptions` is one entry point for both families, so an inet
//! socket is served, not refused), and the connection's `sock=` cases
//! (`open_unix_connection` takes a path; a connected `UnixStream` goes to
//! `StreamReader`/`StreamWriter` or `protocols::connect_accepted_socket`).

mod support;

use std::io;

use aioloop::streams::{open_unix_connection, start_unix_server, Server};
use support::net::SocketDir;

/// Closes `server`, waits for it, and checks that its socket file is gone.
async fn close_and_wait(server: Server, dir: &SocketDir) {
    server.close();
    aioloop::wait_for(server.wait_closed(), std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert!(!dir.path().exists(), "closing the server removes its socket file");
}

/// An echo of one line, then EOF.
async fn echo_line(mut reader: aioloop::streams::StreamReader, writer: aioloop::streams::StreamWriter) {
    if let Ok(line) = reader.readline().await {
        writer.write(&line);
    }
    writer.close();
}

/// `test_create_unix_server_existing_path_sock`: a socket file left behind by a closed
/// listener (a stale socket) is replaced: the server starts at that path and serves.
#[aioloop::test]
async fn test_create_unix_server_existing_path_sock() {
    let dir = SocketDir::new("existing-path-sock");
    drop(std::os::unix::net::UnixListener::bind(dir.path()).unwrap());
    assert!(dir.path().exists(), "std leaves the socket file behind");

    let server = start_unix_server(echo_line, dir.path()).await.unwrap();
    let (mut reader, writer) = open_unix_connection(dir.path()).await.unwrap();
    writer.write(b"ping\n");
    assert_eq!(reader.read_to_eof().await.unwrap(), b"ping\n");
    close_and_wait(server, &dir).await;
}

/// `test_create_unix_server_existing_path_nonsock`: a path taken by a regular file is not
/// removed: the server fails with `AddrInUse` ("Address ... is already in use") and the file
/// stays.
#[aioloop::test]
async fn test_create_unix_server_existing_path_nonsock() {
    let dir = SocketDir::new("existing-path-nonsock");
    std::fs::write(dir.path(), b"not a socket").unwrap();
    let err = start_unix_server(echo_line, dir.path()).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert_eq!(std::fs::read(dir.path()).unwrap(), b"not a socket");
}

/// `test_create_unix_server_pathlike`: the path may be given as any `AsRef<Path>` (a `String`
/// here, asyncio's path-like object).
#[aioloop::test]
async fn test_create_unix_server_pathlike() {
    let dir = SocketDir::new("server-pathlike");
    let path: String = dir.path().to_str().unwrap().to_owned();
    let server = start_unix_server(echo_line, path).await.unwrap();
    close_and_wait(server, &dir).await;
}

/// `test_create_unix_connection_pathlike`: a connection to a path where nothing is bound
/// fails with `NotFound` (asyncio's `FileNotFoundError`).
#[aioloop::test]
async fn test_create_unix_connection_pathlike() {
    let dir = SocketDir::new("connection-pathlike");
    let err = open_unix_connection(dir.path()).await.map(drop).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}
