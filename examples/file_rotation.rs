//! A log-rotation daemon: one loop, one writer task, three rotation policies.
//!
//! A writer task appends a line every minute to three log files in a temporary directory; three
//! rotator tasks rotate them (rename `x.log` to `x.log.1`, `x.log.2`, ...):
//! - `interval.log` every 6 hours (`aioloop::time::interval`),
//! - `size.log` whenever it holds more than 16 KiB (checked every 5 minutes),
//! - `daily.log` at midnight (`aioloop::time::interval_at` the next midnight, period one day).
//!
//! Every task ends when the stop `Event` is set: after the run's time is up, or on Ctrl-C. The directory is removed at the end.
//!
//! `cargo run --release --example file_rotation` simulates two days (from 22:00 on day 0) on
//! the loop's virtual clock (`Builder::start_paused`): the clock jumps from timer to timer, so
//! the run takes a fraction of a second. `-- --full` (or `AIOLOOP_FULL=1`) runs the same two
//! days on the real clock, one simulated hour per real second (48 s).

use std::cell::Cell;
use std::fs::{self, OpenOptions};
use std::future::{poll_fn, Future};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use aioloop::sync::Event;
use aioloop::time::{interval, interval_at};
use aioloop::{get_running_loop, sleep, spawn, EventLoop};

/// The simulated time of day at which the run starts: 22:00.
const START_MINUTE_OF_DAY: u64 = 22 * 60;
/// How long the run lasts, in simulated minutes: two days.
const RUN_MINUTES: u64 = 2 * 24 * 60;
/// The size above which `size.log` is rotated.
const MAX_SIZE: u64 = 16 * 1024;

/// The daemon's settings and shared state, one per run.
struct Daemon {
    dir: PathBuf,
    /// One simulated minute on the loop's clock.
    minute: Duration,
    /// The loop's clock when the run started (simulated 22:00 on day 0).
    start: Instant,
    /// Set to stop every task.
    stop: Event,
    lines_written: Cell<u64>,
}

impl Daemon {
    /// The simulated time now, as `day D HH:MM`.
    fn timestamp(&self) -> String {
        let elapsed = get_running_loop().time() - self.start;
        let minutes =
            START_MINUTE_OF_DAY + (elapsed.as_secs_f64() / self.minute.as_secs_f64()).round() as u64;
        let (day, minute_of_day) = (minutes / (24 * 60), minutes % (24 * 60));
        format!("day {day} {:02}:{:02}", minute_of_day / 60, minute_of_day % 60)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Renames `name` to `name.N`, N counting this policy's rotations, and reports it.
    fn rotate(&self, policy: &str, name: &str, rotations: &Cell<u32>) {
        let from = self.path(name);
        let Ok(meta) = fs::metadata(&from) else {
            return; // nothing written since the last rotation
        };
        let n = rotations.get() + 1;
        let to = self.path(&format!("{name}.{n}"));
        fs::rename(&from, &to).expect("rename the log file");
        rotations.set(n);
        println!(
            "[{}] {policy}: {name} -> {name}.{n} ({} bytes)",
            self.timestamp(),
            meta.len()
        );
    }
}

/// Runs `future` until it finishes (`Some(output)`) or `stop` is set (`None`, the future is
/// dropped). A two-way select, written with `poll_fn` so the example needs no extra crate.
async fn or_stop<F: Future>(stop: &Event, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut stopped = pin!(stop.wait());
    poll_fn(|cx| {
        if stopped.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        future.as_mut().poll(cx).map(Some)
    })
    .await
}

/// Appends one line a minute to each log file (reopening it each time, as a logger that
/// tolerates rotation does).
async fn writer(d: Rc<Daemon>) {
    let mut every_minute = interval(d.minute);
    while or_stop(&d.stop, every_minute.tick()).await.is_some() {
        let stamp = d.timestamp();
        for name in ["interval.log", "size.log", "daily.log"] {
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(d.path(name))
                .expect("open the log file");
            writeln!(file, "[{stamp}] GET /status 200, one line a minute in {name}")
                .expect("write the log file");
        }
        d.lines_written.set(d.lines_written.get() + 1);
    }
}

/// Rotates `interval.log` every 6 hours.
async fn rotate_by_interval(d: Rc<Daemon>) -> u32 {
    let rotations = Cell::new(0);
    let period = d.minute * 6 * 60;
    let mut every = interval_at(get_running_loop().time() + period, period);
    while or_stop(&d.stop, every.tick()).await.is_some() {
        d.rotate("interval", "interval.log", &rotations);
    }
    rotations.get()
}

/// Rotates `size.log` once it holds more than `MAX_SIZE` bytes, checking every 5 minutes.
async fn rotate_by_size(d: Rc<Daemon>) -> u32 {
    let rotations = Cell::new(0);
    let mut every = interval(d.minute * 5);
    while or_stop(&d.stop, every.tick()).await.is_some() {
        let size = fs::metadata(d.path("size.log")).map_or(0, |m| m.len());
        if size > MAX_SIZE {
            d.rotate("size", "size.log", &rotations);
        }
    }
    rotations.get()
}

/// Rotates `daily.log` at every midnight.
async fn rotate_daily(d: Rc<Daemon>) -> u32 {
    let rotations = Cell::new(0);
    let day = d.minute * 24 * 60;
    let first_midnight = d.start + d.minute * (24 * 60 - START_MINUTE_OF_DAY) as u32;
    let mut every = interval_at(first_midnight, day);
    while or_stop(&d.stop, every.tick()).await.is_some() {
        d.rotate("daily", "daily.log", &rotations);
    }
    rotations.get()
}

/// Removes the temporary directory when dropped, also if the run panics.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let unique = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("aioloop-file-rotation-{}-{unique}", std::process::id()));
        fs::create_dir_all(&dir).expect("create the temporary directory");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

async fn daemon(dir: PathBuf, minute: Duration) {
    let d = Rc::new(Daemon {
        dir,
        minute,
        start: get_running_loop().time(),
        stop: Event::new(),
        lines_written: Cell::new(0),
    });
    println!("[{}] rotating logs in {}", d.timestamp(), d.dir.display());

    let writer = spawn(writer(d.clone()));
    let by_interval = spawn(rotate_by_interval(d.clone()));
    let by_size = spawn(rotate_by_size(d.clone()));
    let daily = spawn(rotate_daily(d.clone()));

    // Ctrl-C stops the daemon early, cleanly: every task sees the same stop event.
    let ctrl_c = spawn({
        let stop = d.stop.clone();
        async move {
            if aioloop::signal::ctrl_c().await.is_ok() {
                println!("Ctrl-C: stopping");
                stop.set();
            }
        }
    });

    // The run's time is up: stop every task. (A stop already set by Ctrl-C ends this wait too.)
    or_stop(&d.stop, sleep(minute * RUN_MINUTES as u32)).await;
    d.stop.set();

    writer.await.unwrap();
    ctrl_c.cancel();
    let (by_interval, by_size, daily) = (
        by_interval.await.unwrap(),
        by_size.await.unwrap(),
        daily.await.unwrap(),
    );
    println!("[{}] stopped: every task returned", d.timestamp());

    let mut files: Vec<String> = fs::read_dir(&d.dir)
        .expect("list the directory")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    println!(
        "{} lines written to each log; files: {}",
        d.lines_written.get(),
        files.join(" ")
    );
    println!("rotations: interval {by_interval}, size {by_size}, daily {daily}");
}

fn main() {
    let full =
        std::env::args().any(|a| a == "--full") || std::env::var_os("AIOLOOP_FULL").is_some_and(|v| v != "0");
    let dir = TempDir::new();
    let real_start = Instant::now();
    if full {
        // One simulated hour per real second, on the real clock.
        let event_loop = EventLoop::new().expect("create the loop");
        event_loop.run_until_complete(daemon(dir.path().to_owned(), Duration::from_secs(1) / 60));
    } else {
        // Real minutes on a virtual clock that jumps from one timer to the next.
        EventLoop::builder()
            .start_paused(true)
            .run(daemon(dir.path().to_owned(), Duration::from_secs(60)));
    }
    println!("two simulated days in {:.2?} of real time", real_start.elapsed());
    let path = dir.path().to_owned();
    drop(dir);
    assert!(!path.exists(), "the temporary directory is removed");
    println!("removed {}", path.display());
}
