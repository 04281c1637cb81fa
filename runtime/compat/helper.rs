//! The process's helper tokio runtime: started once, on its own thread sitting in the
//! runtime's `block_on`, shut down at process exit.

use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// How long process exit waits for the helper runtime to shut down.
const EXIT_WAIT: Duration = Duration::from_secs(1);

struct Helper {
    handle: Handle,
    /// Ends the helper's `block_on`; taken by the first shutdown.
    stop: Mutex<Option<oneshot::Sender<()>>>,
    /// Signalled when the runtime is shut down and the thread is about to end.
    done: Mutex<mpsc::Receiver<()>>,
}

static HELPER: OnceLock<Helper> = OnceLock::new();

/// The helper runtime's handle, starting it on first use.
pub(super) fn handle() -> Handle {
    HELPER.get_or_init(start).handle.clone()
}

fn start() -> Helper {
    let runtime = Builder::new_current_thread()
        .enable_all()
        .thread_name("aioloop-tokio")
        .build()
        .expect("aioloop::compat: cannot build the helper tokio runtime");
    let handle = runtime.handle().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let (done_tx, done) = mpsc::channel();
    std::thread::Builder::new()
        .name("aioloop-tokio".into())
        .spawn(move || {
            // A current-thread runtime drives its reactor, timers and spawned tasks only while
            // a thread sits in its `block_on`: this one, until shutdown.
            runtime.block_on(async {
                let _ = stopped.await;
            });
            runtime.shutdown_timeout(EXIT_WAIT);
            let _ = done_tx.send(());
        })
        .expect("aioloop::compat: cannot start the helper tokio thread");
    // SAFETY: `shutdown_at_exit` is an `extern "C" fn()` that never unwinds (it catches
    // nothing because nothing in it panics: poisoned locks and closed channels are ignored).
    unsafe { libc::atexit(shutdown_at_exit) };
    Helper {
        handle,
        stop: Mutex::new(Some(stop)),
        done: Mutex::new(done),
    }
}

/// Ends the helper runtime at process exit: its tasks are dropped and its sockets closed,
/// waiting at most [`EXIT_WAIT`] (exit is never held up for long, nor forever).
extern "C" fn shutdown_at_exit() {
    let Some(helper) = HELPER.get() else { return };
    let stop = helper.stop.lock().ok().and_then(|mut stop| stop.take());
    if let Some(stop) = stop {
        let _ = stop.send(());
        if let Ok(done) = helper.done.lock() {
            let _ = done.recv_timeout(EXIT_WAIT + Duration::from_millis(100));
        }
    }
}
