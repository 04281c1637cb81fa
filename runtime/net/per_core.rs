//! Thread-per-core: one loop per core, each with its own listener.
//!
//! A single loop runs on one thread. To use every core, run one loop per core, each accepting
//! on its own `SO_REUSEPORT` listener bound to the same address
//! ([`TcpListener::bind_reuseport`](super::TcpListener::bind_reuseport)): the kernel spreads
//! incoming connections across the listeners, and a connection stays on the loop that
//! accepted it, with no locks or cross-thread wakes on the hot path (nginx's, Seastar's and
//! glommio's design). [`pin_to_core`] pins a loop's thread to one CPU, so its caches stay warm
//! and the scheduler does not move it.

use std::future::Future;
use std::io;
use std::num::NonZeroUsize;
use std::thread;

use crate::Builder;

/// The number of loops [`run_per_core`] starts for `threads == 0`: the cores this process may
/// use (`std::thread::available_parallelism`), at least 1.
pub fn available_cores() -> usize {
    thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Runs `make(index)` on its own event loop in each of `threads` new threads (`0` means one
/// per core, see [`available_cores`]) and returns the outputs in index order once all have
/// finished.
///
/// `make` is shared by the threads (it must be `Send + Sync`); the future it returns is created
/// on, and stays on, the loop's own thread, so it need not be `Send`. Each loop typically binds
/// its own listener with [`TcpListener::bind_reuseport`](super::TcpListener::bind_reuseport),
/// and may call [`pin_to_core(index)`](pin_to_core) first to stay on one CPU.
///
/// # Panics
/// If a thread cannot be spawned, or re-raises the panic of a loop that panicked (after all
/// loops have finished).
///
/// ```
/// use aioloop::net::{run_per_core, TcpListener};
///
/// let ports = run_per_core(2, |index| async move {
///     let listener = TcpListener::bind_reuseport("127.0.0.1:0").await.unwrap();
///     (index, listener.local_addr().unwrap().port())
/// });
/// assert_eq!(ports.len(), 2);
/// assert_eq!(ports[1].0, 1);
/// ```
pub fn run_per_core<F, Fut>(threads: usize, make: F) -> Vec<Fut::Output>
where
    F: Fn(usize) -> Fut + Send + Sync,
    Fut: Future,
    Fut::Output: Send,
{
    let threads = if threads == 0 { available_cores() } else { threads };
    let make = &make;
    thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|index| {
                thread::Builder::new()
                    .name(format!("aioloop-core-{index}"))
                    .spawn_scoped(scope, move || Builder::new().run(make(index)))
                    .expect("aioloop: failed to spawn a per-core thread")
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|handle| handle.join()).collect();
        results
            .into_iter()
            .map(|result| result.unwrap_or_else(|payload| std::panic::resume_unwind(payload)))
            .collect()
    })
}

/// Pins the calling thread to one CPU: the `index`-th (modulo their number) of the CPUs this
/// process may run on, and returns that CPU's number. Call it at the start of a loop's thread
/// (in [`run_per_core`]'s `make`, with the loop's index) so the loop keeps its caches and is
/// never migrated.
///
/// # Errors
/// `Unsupported` outside Linux; the OS error if the affinity cannot be read or set (e.g. in a
/// container that forbids it).
///
/// ```
/// use aioloop::net::{pin_to_core, run_per_core};
///
/// let cpus = run_per_core(2, |index| async move { pin_to_core(index) });
/// if cfg!(target_os = "linux") {
///     for cpu in cpus {
///         println!("a loop runs on CPU {}", cpu.unwrap());
///     }
/// }
/// ```
pub fn pin_to_core(index: usize) -> io::Result<usize> {
    affinity::pin(index)
}

#[cfg(target_os = "linux")]
mod affinity {
    use std::io;

    /// The calling thread's allowed CPUs.
    fn allowed() -> io::Result<libc::cpu_set_t> {
        // SAFETY: cpu_set_t is plain data for which all-zero bytes are a valid (empty) set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: pid 0 is the calling thread; the size and pointer describe `set`, which
        // lives across the call.
        let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(set)
    }

    /// The CPUs the calling thread may run on, in increasing order.
    pub(super) fn allowed_cpus() -> io::Result<Vec<usize>> {
        let set = allowed()?;
        let max = 8 * std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: CPU_ISSET reads bit `cpu` of `set`; every `cpu` is below the set's size.
        Ok((0..max)
            .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
            .collect())
    }

    pub(super) fn pin(index: usize) -> io::Result<usize> {
        let cpus = allowed_cpus()?;
        if cpus.is_empty() {
            return Err(io::Error::other("no CPU is allowed for this thread"));
        }
        let cpu = cpus[index % cpus.len()];
        // SAFETY: as in `allowed`; CPU_ZERO/CPU_SET only write bits inside `set`, and `cpu`
        // came from the set's own range.
        let rc = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_ZERO(&mut set);
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set)
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(cpu)
    }
}

#[cfg(not(target_os = "linux"))]
mod affinity {
    use std::io;

    pub(super) fn pin(_index: usize) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "pinning a thread to a CPU is implemented on Linux only",
        ))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "sched_setaffinity is FFI Miri cannot run")]
    fn a_pinned_thread_may_run_only_on_its_cpu() {
        let before = affinity::allowed_cpus().unwrap();
        let index = before.len() + 1;
        let (cpu, after) = thread::spawn(move || {
            let cpu = pin_to_core(index).unwrap();
            (cpu, affinity::allowed_cpus().unwrap())
        })
        .join()
        .unwrap();
        assert_eq!(after, [cpu], "the thread is pinned to exactly the CPU returned");
        // index = len + 1 wraps around to the second allowed CPU (or the only one).
        assert_eq!(cpu, before[1 % before.len()]);
        assert_eq!(
            affinity::allowed_cpus().unwrap(),
            before,
            "other threads keep their affinity"
        );
    }
}
