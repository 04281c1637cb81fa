//! The io_uring io driver (cargo feature `io-uring`, Linux): readiness on a ring.
//!
//! This is the readiness form: every registration arms one multishot `IORING_OP_POLL_ADD` on
//! its descriptor, and each completion sets the same readiness bits in the registrations' slab
//! (runtime/io/slots.rs) that an epoll event sets, so every socket, pipe and pidfd works
//! unchanged. Reads and writes are still the sockets' own system calls; what the ring changes
//! is the wait (no `epoll_ctl` per registration, completions read from shared memory, a busy
//! poll without a system call, and a nanosecond timeout in the same `io_uring_enter`).
//!
//! - [`probe`]: the ring's creation and the check of what the driver needs (the fallback's
//!   reason when the kernel refuses).
//! - [`ops`]: the submission entries and the `user_data` each completion is matched by.
//! - [`reactor`]: the [`UringReactor`] (the ring, the poll state per registration, and a
//!   side `mio::Poll` for what has no descriptor of its own: the remote queue's `mio::Waker`
//!   and the signal pipe).
//!
//! Invariants (the SAFETY comments cite them):
//!
//! - **U1.** The readiness form lends the kernel no memory of ours: a poll entry carries a
//!   descriptor, an event mask and a `user_data` word (the registration's generation-checked
//!   token, runtime/io/slots.rs I1), nothing that points into our memory. The only memory the
//!   kernel reads is the enter's timeout, which it copies during the call.
//! - **U2.** A registration's slot is freed (and its key can be reused) only after the kernel's
//!   final completion for its poll (the one without `IORING_CQE_F_MORE`): deregistering submits
//!   `IORING_OP_ASYNC_CANCEL` for it (see [`ops::poll_cancel`] for why not `POLL_REMOVE`) and
//!   *retires* the slot (its wakers dropped, its key kept); the final completion frees it. So
//!   each live or retiring slot has exactly one poll request in the kernel (or in the
//!   submission queue), and a completion always finds the slot it was armed for. A multishot
//!   poll the kernel ends on its own (the completion queue overflowed) is armed again while
//!   the slot is live; one that failed (`EBADF`, ...) is not, and wakes both directions so the
//!   next operation reports the error.
//! - **U3.** A poll is submitted before its descriptor can be closed: the removal is submitted
//!   at once (one `io_uring_enter`, as epoll's `epoll_ctl(DEL)`), together with any poll still
//!   queued, before the owner closes the descriptor (runtime/io/evented.rs I4). The kernel polls
//!   the file it resolved at submission and holds it until the final completion, so a
//!   descriptor number reused by a later socket is never polled under an old token, and the
//!   close is the file's last reference once the cancellation ran (the peer sees the FIN at
//!   drop, and a port is free again at once).
//! - **U4.** Every other submission of an iteration (new polls, polls armed again) goes to the
//!   kernel in the `io_uring_enter` that waits for completions; a poll that must not block
//!   makes no system call at all unless something is queued or the kernel asks for one
//!   (completions overflowed, task work pending).

pub(crate) mod ops;
pub(crate) mod probe;
pub(crate) mod reactor;

pub(crate) use reactor::UringReactor;
