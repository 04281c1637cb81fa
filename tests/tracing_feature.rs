//! The `tracing` feature: spans for task polls, events for spawn, wake and cancel.
//! Runs with `cargo test --features tracing --test tracing_feature`.
#![cfg(feature = "tracing")]

use std::sync::{Arc, Mutex};

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records span names and event messages.
#[derive(Clone, Default)]
struct Recorder {
    log: Arc<Mutex<Vec<String>>>,
    next: Arc<Mutex<u64>>,
}

struct Message(String);
impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        self.log
            .lock()
            .unwrap()
            .push(format!("span {}", attrs.metadata().name()));
        let mut next = self.next.lock().unwrap();
        *next += 1;
        Id::from_u64(*next)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        self.log.lock().unwrap().push(format!("event {}", message.0));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn polls_are_spans_and_spawn_wake_cancel_are_events() {
    let recorder = Recorder::default();
    let log = recorder.log.clone();
    tracing::subscriber::with_default(recorder, || {
        aioloop::run(async {
            let t = aioloop::spawn(async { aioloop::yield_now().await });
            t.await.unwrap();
            let p = aioloop::spawn(std::future::pending::<()>());
            aioloop::yield_now().await;
            p.cancel();
            assert!(p.await.is_err());
        });
    });
    let log = log.lock().unwrap();
    let count = |what: &str| log.iter().filter(|l| l.as_str() == what).count();
    assert_eq!(count("event spawn"), 2, "{log:?}");
    assert_eq!(count("event cancel"), 1, "{log:?}");
    assert!(count("event wake") >= 2, "{log:?}");
    assert_eq!(
        count("span poll"),
        3,
        "t is polled twice, p once (its cancel step is no poll): {log:?}"
    );
}
