//! The probe at loop creation: sets up a ring and checks that the kernel has what the driver
//! needs, or says why not (the reason an `Auto` loop falls back to epoll with, and the error an
//! `IoUring` loop fails to build with).

use std::io;

use io_uring::{opcode, IoUring, Probe};

/// The environment variable that turns the completion form of stream reads and writes off
/// (`0` or `off`: streams read and write as in the readiness form); the form is on without it.
pub(crate) const COMPLETION_ENV_VAR: &str = "AIOLOOP_IO_URING_COMPLETION";

/// False if `AIOLOOP_IO_URING_COMPLETION` turns the completion form of stream reads and writes
/// off (the default of `Builder::io_uring_completion`).
pub(crate) fn completion_form_wanted() -> bool {
    !turned_off(COMPLETION_ENV_VAR)
}

/// True if the environment variable `var` is `0` or `off`.
fn turned_off(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| matches!(v.trim(), "0" | "off"))
}

/// The environment variable that keeps a multishot receive's total off (`0` or `off`): the
/// receives are armed without it, as on kernels before 6.17, and a stream's cap (U9) is kept
/// by cancelling its receive. For a kernel whose totals misbehave, and for the tests of that
/// path on kernels that have them.
pub(crate) const RECV_TOTAL_ENV_VAR: &str = "AIOLOOP_IO_URING_RECV_TOTAL";

/// False if `AIOLOOP_IO_URING_RECV_TOTAL` keeps a multishot receive's total off.
pub(crate) fn recv_total_wanted() -> bool {
    !turned_off(RECV_TOTAL_ENV_VAR)
}

/// Sets up a ring with `entries` submission entries (and room for sixteen times as many
/// completions, so a burst of multishot polls rarely overflows), and checks it:
/// `IORING_FEAT_EXT_ARG` (the wait's timeout, 5.11), poll add and cancel, and multishot polls
/// (5.13, inferred from `IORING_FEAT_RSRC_TAGS`, which came with them). The second value says
/// whether the completion form of stream reads and writes runs: asked for (`completion`: the builder's
/// `io_uring_completion`, by default [`COMPLETION_ENV_VAR`]) and
/// `IORING_OP_RECV` and `IORING_OP_SEND` are there (the
/// buffer ring, 5.19, and a multishot receive with its total, 6.17, are checked at the first
/// receive: a kernel that refuses the receive with `EINVAL` gets single receives, and one
/// that refuses those too, or the ring, keeps the readiness form).
///
/// # Errors
/// Why io_uring cannot run here, as an error whose message names the cause.
pub(crate) fn probe(entries: u32, completion: bool) -> io::Result<(IoUring, bool)> {
    let cq_entries = entries.saturating_mul(16).max(1024);
    // Completions are handed over cooperatively (IORING_SETUP_COOP_TASKRUN, 5.19): the kernel
    // does not interrupt the loop's thread to run their task work, it runs it at the loop's
    // next enter, and flags pending work in the submission ring (IORING_SETUP_TASKRUN_FLAG),
    // which the zero-timeout poll checks (`enter`). Older kernels refuse the flags: set up
    // without them. `SINGLE_ISSUER | DEFER_TASKRUN` (6.1) was measured against this setup
    // and made no difference the TCP echo benchmarks could resolve; it also breaks U7 (a
    // chain's next receive, started from deferred task work, escapes the drop's
    // cancellation): docs/benchmarks-net.md, "deferred task work".
    let ring = match IoUring::builder()
        .setup_cqsize(cq_entries)
        .setup_coop_taskrun()
        .setup_taskrun_flag()
        .build(entries)
    {
        Err(err) if err.raw_os_error() == Some(libc::EINVAL) => {
            IoUring::builder().setup_cqsize(cq_entries).build(entries)
        }
        built => built,
    }
    .map_err(setup_refused)?;
    let params = ring.params();
    if !params.is_feature_ext_arg() || !params.is_feature_resource_tagging() {
        return Err(too_old("multishot polls and wait timeouts (Linux 5.13)"));
    }
    let mut probe = Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .map_err(|err| explain(err, "IORING_REGISTER_PROBE failed"))?;
    for (code, name) in [
        (opcode::PollAdd::CODE, "IORING_OP_POLL_ADD"),
        (opcode::AsyncCancel::CODE, "IORING_OP_ASYNC_CANCEL"),
    ] {
        if !probe.is_supported(code) {
            return Err(too_old(name));
        }
    }
    let recv_form =
        completion && probe.is_supported(opcode::RecvMulti::CODE) && probe.is_supported(opcode::Send::CODE);
    Ok((ring, recv_form))
}

/// The error for a kernel that lacks `what`.
fn too_old(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("aioloop: io_uring without {what} on this kernel"),
    )
}

/// Names the usual causes of a refused `io_uring_setup`.
fn setup_refused(err: io::Error) -> io::Error {
    let why = match err.raw_os_error() {
        Some(libc::EPERM) => {
            "io_uring_setup refused (EPERM: a seccomp profile, as Docker's and containerd's \
             defaults, or kernel.io_uring_disabled)"
        }
        Some(libc::ENOSYS) => {
            "io_uring_setup is not implemented (ENOSYS: kernel too old or built without io_uring)"
        }
        Some(libc::ENOMEM) => "io_uring_setup found no memory for the ring (ENOMEM)",
        Some(libc::EINVAL) => "io_uring_setup rejected the ring's parameters (EINVAL)",
        _ => "io_uring_setup failed",
    };
    explain(err, why)
}

/// `err` with `why` in front, keeping its kind.
fn explain(err: io::Error, why: &str) -> io::Error {
    io::Error::new(err.kind(), format!("aioloop: {why}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_setup_names_its_cause() {
        let err = setup_refused(io::Error::from_raw_os_error(libc::EPERM));
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("seccomp"), "{err}");
        let err = setup_refused(io::Error::from_raw_os_error(libc::ENOSYS));
        assert!(err.to_string().contains("ENOSYS"), "{err}");
    }

    #[test]
    fn zero_entries_are_refused_by_the_kernel() {
        let err = probe(0, false).err().expect("a ring of 0 entries");
        assert!(err.to_string().contains("io_uring_setup"), "{err}");
    }
}
