//! Runs the examples (cargo test builds them) and checks what they print.

use std::path::PathBuf;
use std::process::Command;

/// The path of a built example, next to this test's binary (target/<profile>/examples/).
/// A full `cargo test` builds every example; a filtered run (`--test examples`) may not have,
/// so a missing one is built here.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir.join("examples").join(name);
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--example", name]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build.status().unwrap();
        assert!(status.success(), "building example {name} failed");
    }
    path
}

fn run(name: &str, args: &[&str]) -> String {
    let path = example(name);
    let output = Command::new(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e} (cargo test builds examples)", path.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn hello_takes_turns() {
    let out = run("hello", &[]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..2], ["ping: hello #1", "pong: hello #1"]);
    assert!(out.contains("6 greetings"));
}

#[test]
fn round_robin_sorts_and_the_counter_takes_turns() {
    let out = run("round_robin", &[]);
    let sorted = out.lines().find(|l| l.starts_with("sorted:")).expect(&out);
    let list = &sorted[sorted.find('[').unwrap() + 1..sorted.find(']').unwrap()];
    let numbers: Vec<u32> = list.split(", ").map(|n| n.parse().unwrap()).collect();
    assert_eq!(numbers.len(), 7);
    assert!(numbers.windows(2).all(|w| w[0] <= w[1]), "{sorted}");
    let turns: u64 = sorted
        .rsplit("had ")
        .next()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let shuffles: u64 = sorted
        .split("after ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Strict alternation: the counter ran once per shuffle (plus its first turn).
    assert!(turns >= shuffles, "{sorted}");
}

#[test]
fn pipeline_prints_f_99() {
    let out = run("pipeline", &[]);
    assert!(out.contains("f(99) = 9804"), "{out}");
    let expected: u64 = (0..100u64).map(|x| x * x + 3).sum();
    assert!(out.contains(&format!("= {expected}")), "{out}");
}

#[test]
fn restaurant_serves_three_tables_and_the_progress_task_exits() {
    let out = run("restaurant", &[]);
    for table in 1..=3 {
        for step in [
            "got the menus",
            "ordered",
            "served after",
            "finished eating",
            "paid",
            "left after",
        ] {
            let prefix = format!("table {table}: ");
            let lines = out.lines().filter(|l| l.starts_with(&prefix) && l.contains(step));
            assert_eq!(lines.count(), 1, "{prefix}{step}\n{out}");
        }
    }
    assert!(out.contains("closing the restaurant"), "{out}");
    assert!(out.contains(".."), "the progress indicator printed dots\n{out}");
}

#[test]
fn future_resolve_prints_in_order() {
    let out = run("future_resolve", &[]);
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with("-- ") || !l.contains(" done in "))
        .collect();
    let round = [
        "foo: awaiting the future",
        "bar: sleeping 100ms",
        "bar: resolving the future",
        "bar: done",
        "foo: the future resolved to \"hello from bar\"",
    ];
    let mut expected = vec!["-- with gather!"];
    expected.extend(round);
    expected.push("-- with two spawned tasks");
    expected.extend(round);
    assert_eq!(lines, expected, "{out}");
}

#[test]
fn file_rotation_rotates_by_each_policy_and_stops() {
    let out = run("file_rotation", &[]);
    for (policy, first) in [
        ("daily", "daily.log -> daily.log.1"),
        ("interval", "interval.log -> interval.log.1"),
        ("size", "size.log -> size.log.1"),
    ] {
        assert!(out.contains(&format!("{policy}: {first}")), "{policy}\n{out}");
    }
    // Two simulated days from 22:00: midnights at day 1 and day 2, every 6 hours from 04:00.
    assert!(
        out.contains("[day 1 00:00] daily: daily.log -> daily.log.1"),
        "{out}"
    );
    assert!(
        out.contains("[day 2 00:00] daily: daily.log -> daily.log.2"),
        "{out}"
    );
    assert!(
        out.contains("[day 1 04:00] interval: interval.log -> interval.log.1"),
        "{out}"
    );
    let rotations = out.lines().find(|l| l.starts_with("rotations:")).expect(&out);
    assert!(
        rotations.starts_with("rotations: interval 7, size "),
        "{rotations}"
    );
    assert!(rotations.ends_with(", daily 2"), "{rotations}");
    assert!(out.contains("stopped: every task returned"), "{out}");
    assert!(out.contains("removed "), "{out}");
}
