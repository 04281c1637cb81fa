//! Issue 17, item 10: examples/restaurant.rs, the line-by-line port of the tutorial's Listing 2,
//! prints progress dots until the last table leaves, then stops. Run on the paused clock with
//! one minute = 1 s, it takes no real time.

use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn test_restaurant_progress_indicator_prints_dots_until_the_last_table_leaves() {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = dir.join("examples").join("restaurant");
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        assert!(Command::new(cargo)
            .args(["build", "--example", "restaurant"])
            .status()
            .unwrap()
            .success());
    }
    let mut child = Command::new(&path)
        .args(["--paused", "--full"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().ok();
            panic!("the restaurant never closed: the progress indicator did not stop");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let out = String::from_utf8(out.stdout).unwrap();
    // The last table leaves at `last` minutes (whole minutes on the virtual clock).
    let last = out
        .lines()
        .filter_map(|l| l.split(": left after ").nth(1))
        .map(|m| m.trim_end_matches(" min").parse::<f64>().unwrap())
        .fold(0.0, f64::max);
    assert!(last > 0.0, "{out}");
    let dots: usize = out
        .lines()
        .filter(|l| !l.is_empty() && l.chars().all(|c| c == '.'))
        .map(str::len)
        .sum();
    // One dot every half minute while a table is served; the indicator stops at the first tick
    // at or after the last table left (that tick may print before or after the table leaves).
    let expected = (last * 2.0).round() as usize;
    assert!(
        dots == expected || dots == expected + 1,
        "{dots} dots for {last} min, expected {expected}\n{out}"
    );
    assert!(out.contains("closing the restaurant"), "{out}");
}
