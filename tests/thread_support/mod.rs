//! Helpers shared by the thread tests: a watchdog that turns a hang into a failure, and a loop
//! running on its own thread.

#![allow(dead_code)] // each test file uses some of these

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use aioloop::{EventLoop, LoopHandle};

/// Runs `f` on a new thread and fails the test if it has not finished within `secs`.
pub fn watchdog<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        let out = f();
        let _ = tx.send(());
        out
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => worker.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("watchdog: the test hung for {secs} s"),
    }
}

/// A loop running `run_forever` on its own thread; `stop` stops and closes it.
pub struct LoopThread {
    pub handle: LoopHandle,
    pub thread: Option<thread::JoinHandle<()>>,
}

impl LoopThread {
    pub fn start() -> Self {
        let (tx, rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            let event_loop = EventLoop::new().unwrap();
            tx.send(event_loop.handle()).unwrap();
            event_loop.run_forever();
        });
        LoopThread {
            handle: rx.recv().unwrap(),
            thread: Some(thread),
        }
    }

    pub fn stop(mut self) {
        self.handle.stop().unwrap();
        self.thread.take().unwrap().join().unwrap();
        assert!(self.handle.is_closed());
    }
}
