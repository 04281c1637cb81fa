//! No zombies: many concurrent children are all reaped, and so are children whose `Child` was
//! dropped before they exited. One test in its own binary, so `waitpid(-1)` sees only its
//! children.

use std::time::{Duration, Instant};

use aioloop::process::Command;

fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// True once this process has no child left at all (every one exited and was reaped). Peeks
/// with `WNOWAIT`, so it never reaps anything itself.
fn no_children_left() -> bool {
    // SAFETY: siginfo_t is plain old data, all zeroes is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: a non-blocking waitid that writes into a local and reaps nothing.
    let rc = unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD)
}

#[test]
fn every_child_is_reaped() {
    aioloop::run(async {
        // 200 concurrent short children, all awaited.
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                aioloop::spawn(async move {
                    let mut child = Command::new("sh")
                        .args(["-c", &format!("exit {}", i % 5)])
                        .spawn()
                        .unwrap();
                    let pid = child.id().unwrap();
                    let status = child.wait().await.unwrap();
                    assert_eq!(status.code(), Some(i % 5));
                    pid
                })
            })
            .collect();
        let mut pids = Vec::new();
        for task in tasks {
            pids.push(task.await.unwrap());
        }
        for pid in &pids {
            assert_ne!(state(*pid), Some('Z'), "child {pid} is a zombie");
        }

        // Children dropped while running: one killed on drop, others left to exit by themselves.
        let mut dropped = Vec::new();
        let killed = Command::new("sleep")
            .arg("100")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        dropped.push(killed.id().unwrap());
        drop(killed);
        for _ in 0..20 {
            let child = Command::new("sleep").arg("0.05").spawn().unwrap();
            dropped.push(child.id().unwrap());
        }
        let sigchld = Command::new("sleep")
            .arg("0.05")
            .watch_with_sigchld(true)
            .spawn()
            .unwrap();
        dropped.push(sigchld.id().unwrap());
        drop(sigchld);

        // The loop's reaper tasks reap them as they exit: no timer involved, we just wait.
        let start = Instant::now();
        while !no_children_left() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "children left unreaped"
            );
            aioloop::sleep(Duration::from_millis(10)).await;
        }
        for pid in &dropped {
            assert_ne!(state(*pid), Some('Z'), "dropped child {pid} is a zombie");
        }
    });

    // A child still running when its loop closes is reaped by a helper thread.
    let pid = aioloop::run(async { Command::new("sleep").arg("0.05").spawn().unwrap().id().unwrap() });
    let start = Instant::now();
    while !no_children_left() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "child {pid} left unreaped after close"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
