//! The network examples finish by themselves when run without arguments: run them, on epoll
//! and, with the `io-uring` feature, on io_uring (an example that blocks the loop's thread
//! while bytes wait in a stream's send buffer hangs there, as http_hello did: a run that does
//! not finish within a minute is killed and fails).
//!
//! Each example is built first with this test binary's features (`cargo build --example`, a
//! no-op when `cargo test` built it already).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The features this test binary was built with: the examples are built with the same, so
/// they share its build of the library (and a feature like `io-uring` reaches them).
fn features() -> Vec<&'static str> {
    let mut on = Vec::new();
    for (name, enabled) in [
        ("hyper", cfg!(feature = "hyper")),
        ("tokio-io", cfg!(feature = "tokio-io")),
        ("tokio-compat", cfg!(feature = "tokio-compat")),
        ("tracing", cfg!(feature = "tracing")),
        ("io-uring", cfg!(feature = "io-uring")),
    ] {
        if enabled {
            on.push(name);
        }
    }
    on
}

/// The example's binary, built with this test binary's features (a no-op when it is fresh;
/// `cargo test` builds the examples before it runs the tests, with the same features).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "--quiet", "--example", name]);
    let features = features();
    if !features.is_empty() {
        build.args(["--features", &features.join(",")]);
    }
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    assert!(build.status().unwrap().success(), "building example {name}");
    dir.join(name)
}

/// Runs the example with the io driver `driver` (`AIOLOOP_IO_DRIVER`) and checks what it
/// printed; one that has not finished within a minute is killed and fails the test.
fn run_on(name: &str, driver: &str, expect: &str) {
    let start = Instant::now();
    let mut child = Command::new(example(name))
        .env("AIOLOOP_IO_DRIVER", driver)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{name} on {driver} hung (killed after 60 s)\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{name} on {driver} failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(expect), "{name} on {driver} printed: {stdout}");
}

/// Runs the example on epoll, and with the `io-uring` feature once more on whatever `auto`
/// picks (io_uring where the kernel allows it).
fn run(name: &str, expect: &str) {
    run_on(name, "epoll", expect);
    if cfg!(feature = "io-uring") {
        run_on(name, "auto", expect);
    }
}

#[test]
fn echo_server_example() {
    run("echo_server", "100 lines echoed over 4 connections");
}

#[test]
fn per_core_server_example() {
    run("per_core_server", "400 connections");
}

#[cfg(feature = "hyper")]
#[test]
fn http_hello_example() {
    run("http_hello", "1000 keep-alive requests answered");
}

#[cfg(feature = "hyper")]
#[test]
fn http2_server_example() {
    run("http2_server", "2000 HTTP/2 requests answered over 1 connection");
}

#[cfg(feature = "hyper")]
#[test]
fn axum_app_example() {
    run("axum_app", "axum on aioloop: 6 requests answered");
}
