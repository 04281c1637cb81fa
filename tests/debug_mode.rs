//! Debug mode: slow steps, pending tasks at close, task dumps, statistics.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::{spawn_named, yield_now, Builder, EventLoop, TaskState};

type Reports = Rc<RefCell<Vec<(String, Option<String>, Option<String>)>>>;

fn recording_loop(debug: bool) -> (EventLoop, Reports) {
    recording(EventLoop::builder().debug(debug))
}

/// A loop built by `builder` whose exception handler records (message, task name, location).
fn recording(builder: Builder) -> (EventLoop, Reports) {
    let reports: Reports = Rc::new(RefCell::new(Vec::new()));
    let sink = reports.clone();
    let lp = builder
        .exception_handler(move |ctx| {
            sink.borrow_mut().push((
                ctx.message().to_string(),
                ctx.task_name().map(String::from),
                ctx.spawn_location().map(|l| format!("{}:{}", l.file(), l.line())),
            ))
        })
        .build()
        .unwrap();
    (lp, reports)
}

#[test]
fn a_task_that_blocks_150ms_is_reported_by_name_and_location() {
    let (lp, reports) = recording_loop(true);
    let line = line!() + 2;
    lp.run_until_complete(async {
        let slow = spawn_named("sluggish", async {
            std::thread::sleep(Duration::from_millis(150))
        });
        let fast = spawn_named("quick", async { yield_now().await });
        slow.await.unwrap();
        fast.await.unwrap();
    });
    let reports = reports.borrow();
    // On a loaded machine another step may be slow too; the sluggish one must be there, once.
    let sluggish: Vec<_> = reports
        .iter()
        .filter(|(_, name, _)| name.as_deref() == Some("sluggish"))
        .collect();
    assert_eq!(sluggish.len(), 1, "{reports:?}");
    let (message, name, location) = sluggish[0];
    assert!(message.starts_with("Executing task 'sluggish'"), "{message}");
    let took: f64 = message
        .split("took ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|secs| secs.parse().ok())
        .unwrap_or_else(|| panic!("no duration in {message:?}"));
    assert!(took >= 0.15, "{message}");
    assert_eq!(name.as_deref(), Some("sluggish"));
    assert_eq!(
        location.as_deref(),
        Some(format!("tests/debug_mode.rs:{line}").as_str())
    );
}

#[test]
fn without_debug_mode_slow_tasks_are_not_timed() {
    let (lp, reports) = recording_loop(false);
    lp.run_until_complete(async {
        spawn_named("sluggish", async {
            std::thread::sleep(Duration::from_millis(120))
        })
        .await
        .unwrap();
    });
    assert!(reports.borrow().is_empty());
}

#[test]
fn a_loop_dropped_with_pending_tasks_names_them() {
    let (lp, reports) = recording_loop(true);
    let keep = lp.spawn_named("never-finishes", std::future::pending::<()>());
    lp.run_until_complete(yield_now());
    drop(lp);
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].0, "Task was destroyed but it is pending!");
    assert_eq!(reports[0].1.as_deref(), Some("never-finishes"));
    drop(keep);
}

#[test]
fn dump_tasks_lists_three_named_tasks_with_their_states() {
    let (lp, _reports) = recording_loop(true);
    lp.run_until_complete(async {
        let main_name = aioloop::current_task().unwrap().name();
        let waiting = spawn_named("waiting", std::future::pending::<()>());
        let done = spawn_named("done", async {});
        yield_now().await;
        let scheduled = spawn_named("scheduled", async {});
        let dump = aioloop::dump_tasks();
        let state = |name: &str| {
            dump.tasks
                .iter()
                .find(|t| t.name == name)
                .map(|t| (t.state, t.polls))
        };
        assert_eq!(dump.tasks.len(), 4, "the main task and three others: {dump}");
        assert_eq!(state("waiting"), Some((TaskState::Waiting, Some(1))));
        assert_eq!(state("done"), Some((TaskState::Done, Some(1))));
        assert_eq!(state("scheduled"), Some((TaskState::Scheduled, Some(0))));
        assert!(dump
            .tasks
            .iter()
            .filter(|t| t.name != main_name)
            .all(|t| t.age.is_some() && t.location.map(|l| l.file()) == Some("tests/debug_mode.rs")));
        let text = dump.to_string();
        assert!(text.contains("\"waiting\" Waiting"), "{text}");
        waiting.cancel();
        drop((done, scheduled));
    });
}

#[test]
fn outside_debug_mode_tasks_keep_their_names_but_record_no_trace() {
    let (lp, reports) = recording_loop(false);
    lp.run_until_complete(async {
        let main = aioloop::current_task().unwrap().name();
        let named = spawn_named("named", std::future::pending::<()>());
        let plain = aioloop::spawn(std::future::pending::<()>());
        let me = spawn_named("me", async { aioloop::current_task().unwrap().name() });
        assert_eq!(me.await.unwrap(), "me");
        let dump = aioloop::dump_tasks();
        let names: Vec<&str> = dump.tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, [main.as_str(), "named", plain.name().as_str()], "{dump}");
        assert!(dump
            .tasks
            .iter()
            .all(|t| t.location.is_none() && t.polls.is_none() && t.age.is_none()));
        assert_eq!(
            aioloop::all_tasks().iter().map(|t| t.name()).collect::<Vec<_>>(),
            [main.clone(), "named".to_string(), plain.name()]
        );
        drop(spawn_named("panicky", async { panic!("unobserved") }));
        yield_now().await;
        named.cancel();
        plain.cancel();
    });
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].1.as_deref(), Some("panicky"));
    assert_eq!(
        reports[0].2, None,
        "spawn locations are recorded in debug mode only"
    );
}

#[test]
fn a_task_spawned_before_debug_mode_was_turned_on_is_reported_without_a_location() {
    // Every step counts as slow, so every step is reported once debug mode is on.
    let (lp, reports) = recording(
        EventLoop::builder()
            .debug(false)
            .slow_callback_duration(Duration::ZERO),
    );
    let lp_handle = lp.clone_handle();
    let line = line!() + 4;
    lp.run_until_complete(async move {
        let before = spawn_named("before", async {});
        lp_handle.set_debug(true);
        let after = spawn_named("after", async {});
        before.await.unwrap();
        after.await.unwrap();
    });
    let reports = reports.borrow();
    let about = |name: &str| {
        reports
            .iter()
            .find(|r| r.1.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no report about {name}: {reports:?}"))
            .clone()
    };
    let (message, _, location) = about("before");
    assert!(message.starts_with("Executing task 'before' took"), "{message}");
    assert_eq!(location, None);
    let (message, _, location) = about("after");
    assert!(
        message.starts_with("Executing task 'after' (spawned at tests/debug_mode.rs:"),
        "{message}"
    );
    assert_eq!(
        location.as_deref(),
        Some(format!("tests/debug_mode.rs:{line}").as_str())
    );
}

#[test]
fn loop_statistics_count_what_happened() {
    let lp = EventLoop::new().unwrap();
    let before = lp.stats();
    lp.run_until_complete(async {
        let t = aioloop::spawn(async {
            yield_now().await;
            aioloop::sleep(Duration::from_millis(1)).await;
        });
        aioloop::call_soon(|| {});
        t.await.unwrap();
    });
    let after = lp.stats();
    assert_eq!(
        after.polls - before.polls,
        3,
        "spawned task: first poll, after yield, after sleep"
    );
    assert_eq!(after.callbacks - before.callbacks, 1);
    assert_eq!(after.timers_fired - before.timers_fired, 1);
    assert!(after.local_wakes - before.local_wakes >= 2);
    assert!(after.iterations - before.iterations >= 3);
}
