//! Submitting while the kernel has no room for completions (U11 in the module above).
//!
//! `io_uring_enter` refuses a submission with `EBUSY` when completions overflowed the
//! completion queue and cannot be moved back into it (the queue is full: the kernel keeps
//! them aside until the application reaps), and with `EAGAIN` when it is out of memory for
//! the requests; both tell the submitter to reap completions and submit again. The driver
//! queues entries from inside its own handling of completions (a receive armed again, a
//! cancellation), where nobody would reap for it: [`submit_retrying`] takes the completions
//! out of the queue itself (the reactor keeps them, in order, for its next reap) and submits
//! again, so the retry always makes progress, and gives up with an error after
//! [`BUSY_LIMIT`] refusals in a row that found nothing to reap, instead of spinning.

use std::io;
use std::time::Duration;

/// Refusals in a row, each with the completion queue found empty, before the submission
/// fails (a millisecond's pause after each: about a second in all).
pub(crate) const BUSY_LIMIT: u32 = 1000;

/// Submits with `submit` until the kernel takes the queue. On `EBUSY` or `EAGAIN` it calls
/// `reap`, which takes the completions waiting in the completion queue (and returns how many),
/// then submits again; after [`BUSY_LIMIT`] refusals in a row with nothing to reap (a kernel
/// that waits for completions still in flight) it returns the refusal. A signal retries; any
/// other error is returned at once.
pub(crate) fn submit_retrying<T>(
    target: &mut T,
    mut submit: impl FnMut(&mut T) -> io::Result<usize>,
    mut reap: impl FnMut(&mut T) -> usize,
) -> io::Result<()> {
    let mut idle = 0;
    loop {
        match submit(target) {
            Ok(_) => return Ok(()),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if matches!(err.raw_os_error(), Some(libc::EBUSY | libc::EAGAIN)) => {
                if reap(target) > 0 {
                    idle = 0;
                    continue;
                }
                idle += 1;
                if idle >= BUSY_LIMIT {
                    return Err(io::Error::new(
                        err.kind(),
                        format!("{err}, {BUSY_LIMIT} times in a row with no completion to reap"),
                    ));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake kernel: `queued` completions in its completion queue, which refuses submissions
    /// with `errno` while `full` says the queue is too full.
    struct Kernel {
        queued: usize,
        full: fn(usize) -> bool,
        errno: i32,
        submits: u32,
        reaped: usize,
    }

    fn submit(kernel: &mut Kernel) -> io::Result<usize> {
        kernel.submits += 1;
        if (kernel.full)(kernel.queued) {
            Err(io::Error::from_raw_os_error(kernel.errno))
        } else {
            Ok(1)
        }
    }

    fn reap(kernel: &mut Kernel) -> usize {
        let n = std::mem::take(&mut kernel.queued);
        kernel.reaped += n;
        n
    }

    /// Issue 20, item 3: a submission refused for a full completion queue (`EBUSY`) reaps the
    /// queue and goes through on the next try, the reaped completions kept (counted here).
    #[test]
    fn issue20_ebusy_reaps_the_completions_then_submits() {
        for errno in [libc::EBUSY, libc::EAGAIN, libc::EINTR] {
            let mut kernel = Kernel {
                queued: 1024,
                full: |queued| queued > 0,
                errno,
                submits: 0,
                reaped: 0,
            };
            if errno == libc::EINTR {
                kernel.full = |_| false;
            }
            submit_retrying(&mut kernel, submit, reap).unwrap();
            let (submits, reaped) = if errno == libc::EINTR { (1, 0) } else { (2, 1024) };
            assert_eq!(
                (kernel.submits, kernel.reaped),
                (submits, reaped),
                "errno {errno}"
            );
        }
    }

    /// A kernel that keeps refusing with nothing to reap makes the submission fail after
    /// [`BUSY_LIMIT`] tries, with the refusal named: no endless spin.
    #[test]
    fn issue20_ebusy_with_nothing_to_reap_fails_after_the_bound() {
        let mut kernel = Kernel {
            queued: 3,
            full: |_| true,
            errno: libc::EBUSY,
            submits: 0,
            reaped: 0,
        };
        let err = submit_retrying(&mut kernel, submit, reap).unwrap_err();
        assert_eq!(err.kind(), io::Error::from_raw_os_error(libc::EBUSY).kind());
        assert!(err.to_string().contains("no completion to reap"), "{err}");
        assert_eq!((kernel.submits, kernel.reaped), (BUSY_LIMIT + 1, 3));
    }

    /// Other errors are returned at once.
    #[test]
    fn other_errors_are_not_retried() {
        let mut kernel = Kernel {
            queued: 0,
            full: |_| true,
            errno: libc::EBADF,
            submits: 0,
            reaped: 0,
        };
        let err = submit_retrying(&mut kernel, submit, reap).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
        assert_eq!(kernel.submits, 1);
    }
}
