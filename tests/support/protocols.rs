//! For the transports and protocols tests (tests/asyncio_protocols.rs, asyncio_datagram.rs,
//! asyncio_buffered_protocol.rs, asyncio_pipes.rs): the lock that keeps their descriptor counts
//! apart, a bounded wait for a condition, the count of open descriptors, the exception
//! handler's messages (and panics), and a count of the protocols a factory made.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

static SERIAL: Mutex<()> = Mutex::new(());

/// Held by every test of a file: the descriptor counts must not see another test's sockets.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls `cond` every millisecond, for at most 10 s.
pub async fn until(mut cond: impl FnMut() -> bool) {
    aioloop::wait_for(
        async {
            while !cond() {
                aioloop::sleep(Duration::from_millis(1)).await;
            }
        },
        Duration::from_secs(10),
    )
    .await
    .expect("condition not reached in 10 s");
}

/// Waits for a protocol's `connection_lost` (at most 10 s, as [`until`]), gives a second one
/// a moment to come, and asserts it came once, without an error; `lost` reads the protocol's
/// record of its arguments.
pub async fn lost_once_cleanly<T: PartialEq + std::fmt::Debug>(lost: impl Fn() -> Vec<Option<T>>) {
    until(|| !lost().is_empty()).await;
    aioloop::sleep(Duration::from_millis(10)).await;
    assert_eq!(lost(), [None], "connection_lost once, without an error");
}

/// The process's open descriptors (0 where /proc is missing).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

/// Collects the messages the running loop's exception handler gets (a task's panic lands
/// there).
pub fn exceptions() -> Rc<RefCell<Vec<String>>> {
    let reported: Rc<RefCell<Vec<String>>> = Rc::default();
    let r = reported.clone();
    aioloop::get_running_loop()
        .set_exception_handler(move |ctx| r.borrow_mut().push(ctx.message().to_owned()));
    reported
}

/// A report to the exception handler: its message, and the message of the panic reported, if
/// any.
pub type Report = (String, Option<String>);

/// Collects what the running loop's exception handler gets.
pub fn exception_panics() -> Rc<RefCell<Vec<Report>>> {
    exception_panics_checking(|| {})
}

/// [`exception_panics`], running `check` in the handler before it records the report (a
/// panic there is the handler's: the report is not recorded).
pub fn exception_panics_checking(check: impl Fn() + 'static) -> Rc<RefCell<Vec<Report>>> {
    let reported: Rc<RefCell<Vec<Report>>> = Rc::default();
    let r = reported.clone();
    aioloop::get_running_loop().set_exception_handler(move |ctx| {
        check();
        r.borrow_mut()
            .push((ctx.message().to_owned(), ctx.panic_message().map(String::from)))
    });
    reported
}

/// The reports of panics in the flow calls `calls` names ("pause", "resume") that panicked
/// with "{call} boom", as the transports hand them to the exception handler (asyncio's
/// "protocol.pause_writing() failed").
pub fn flow_failures(calls: &[&str]) -> Vec<Report> {
    calls
        .iter()
        .map(|call| {
            (
                format!("protocol.{call}_writing() failed"),
                Some(format!("{call} boom")),
            )
        })
        .collect()
}

/// Counts the protocols its factories make (an entry point that fails must make none).
#[derive(Default)]
pub struct Made(Rc<Cell<usize>>);

impl Made {
    /// A protocol factory that makes `make()` and counts it.
    pub fn factory<P>(&self, make: fn() -> P) -> impl FnOnce() -> P {
        let made = self.0.clone();
        move || {
            made.set(made.get() + 1);
            make()
        }
    }

    /// How many protocols were made.
    pub fn count(&self) -> usize {
        self.0.get()
    }
}
