//! The network examples finish by themselves when run without arguments: run them.
//!
//! `cargo test` builds the examples before it runs the tests; when this test runs alone and
//! an example binary is missing, it is built with `cargo build --example`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn example(name: &str, features: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(name);
    if !path.exists() {
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--example", name]);
        if !features.is_empty() {
            build.args(["--features", &features.join(",")]);
        }
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        assert!(build.status().unwrap().success(), "building example {name}");
    }
    path
}

fn run(name: &str, features: &[&str], expect: &str) {
    let start = Instant::now();
    let out = Command::new(example(name, features)).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{name} failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(expect), "{name} printed: {stdout}");
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn echo_server_example() {
    run("echo_server", &[], "100 lines echoed over 4 connections");
}

#[test]
fn per_core_server_example() {
    run("per_core_server", &[], "400 connections");
}

#[cfg(feature = "hyper")]
#[test]
fn http_hello_example() {
    run("http_hello", &["hyper"], "1000 keep-alive requests answered");
}

#[cfg(feature = "hyper")]
#[test]
fn http2_server_example() {
    run(
        "http2_server",
        &["hyper"],
        "2000 HTTP/2 requests answered over 1 connection",
    );
}

#[cfg(feature = "hyper")]
#[test]
fn axum_app_example() {
    run("axum_app", &["hyper"], "axum on aioloop: 6 requests answered");
}
