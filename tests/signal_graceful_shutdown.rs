//! examples/graceful_shutdown.rs: its self-driving demo exits 0, and in `--serve` mode a real
//! SIGINT from outside stops it accepting while an open connection is still served.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The example's binary (`cargo test` builds examples first; built here when run alone).
fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("graceful_shutdown");
    if !path.exists() {
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--example", "graceful_shutdown"]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        assert!(build.status().unwrap().success(), "building the example");
    }
    path
}

#[test]
fn the_demo_finishes_by_itself() {
    let start = Instant::now();
    let out = Command::new(example()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("finishing 1 open connection(s)"), "{stdout}");
    assert!(stdout.contains("new connections are refused"), "{stdout}");
    assert!(
        stdout.contains("served 4 connections, exiting cleanly"),
        "{stdout}"
    );
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn sigint_from_outside_stops_the_server_after_its_open_connection() {
    let mut child = Command::new(example())
        .args(["--serve", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .strip_prefix("serving on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();

    let mut conn = TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut echo = [0u8; 6];
    conn.write_all(b"hello\n").unwrap();
    conn.read_exact(&mut echo).unwrap();

    // SAFETY: kill is a plain syscall on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    line.clear();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("stopped accepting"), "{line}");
    assert!(TcpStream::connect(&addr).is_err(), "the server still accepts");

    conn.write_all(b"again\n").unwrap();
    conn.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"again\n");
    drop(conn);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("served 1 connections"), "{rest}");
}
