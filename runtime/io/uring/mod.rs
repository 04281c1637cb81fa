//! The io_uring io driver (cargo feature `io-uring`, Linux): readiness on a ring, and the
//! completion form of stream reads.
//!
//! Readiness: every registration arms one multishot `IORING_OP_POLL_ADD` on its descriptor,
//! and each completion sets the same readiness bits in the registrations' slab
//! (runtime/io/slots.rs) that an epoll event sets, so every socket, pipe and pidfd works
//! unchanged. What the ring changes there is the wait (no `epoll_ctl` per registration,
//! completions read from shared memory, a busy poll without a system call, and a nanosecond
//! timeout in the same `io_uring_enter`).
//!
//! Completion form (TCP and Unix streams, runtime/io/stream_read.rs): a stream's first read
//! arms a multishot `IORING_OP_RECV` with buffer select on the loop's provided-buffer ring
//! ([`bufring`]) (before Linux 6.17, chains of single receives one after the other: U9); the kernel
//! receives ahead into the ring's buffers, and the completions queue
//! them, in order, in the stream's [`recv::StreamRecv`], whose reads copy from them and give
//! each buffer back once read to its end. A stream's own poll asks for writability
//! only; its read readiness is the receive's (bytes or an end queued). A receive that the ring
//! ran dry for (`ENOBUFS`) stops; the stream then reads its socket, watching it with a
//! one-shot poll for readability (tagged as the receive: the two are never in the kernel
//! together), until a read finds it drained and the ring has a buffer to arm the receive
//! again. Writes copy into the stream's send buffer ([`send::StreamSend`]) and return; the
//! reactor hands each stream's buffer to the kernel (`IORING_OP_SEND`) in the enter that ends
//! the iteration, so the writes of an iteration cost no system call of their own
//! (runtime/io/stream_write.rs). The probe checks `IORING_OP_RECV` and `IORING_OP_SEND`; the
//! buffer ring (5.19) and a multishot receive with its total (6.17) are checked at first use
//! (a kernel refusing the total, multishot receives included before 6.0, gets single
//! receives; one refusing those too keeps the readiness form of reads). The form is the default (`Builder::io_uring_completion`;
//! `AIOLOOP_IO_URING_COMPLETION=0` turns it off): with sends it costs fewer system calls and
//! less CPU than the readiness form (docs/benchmarks-net.md).
//!
//! - [`probe`]: the ring's creation and the check of what the driver needs (the fallback's
//!   reason when the kernel refuses).
//! - [`ops`]: the submission entries and the `user_data` each completion is matched by.
//! - [`bufring`]: the provided-buffer ring the streams' receives fill.
//! - [`files`]: the ring's table of registered files, whose indices the streams' entries name
//!   instead of their descriptors (U12).
//! - [`busy`]: submitting again after the kernel refused for want of room for completions.
//! - [`recv`]: one stream's receive state (the queue of filled buffers, its end).
//! - [`send`]: one stream's send state (the bytes written, the bytes in the kernel's send).
//! - [`reactor`]: the [`UringReactor`] (the ring, the poll state per registration, and a
//!   side `mio::Poll` for what has no descriptor of its own: the remote queue's `mio::Waker`
//!   and the signal pipe).
//!
//! Invariants (the SAFETY comments cite them):
//!
//! - **U1.** No submission entry points into our memory but a send's: a poll entry carries a
//!   descriptor, an event mask and a `user_data` word (the registration's generation-checked
//!   token, runtime/io/slots.rs I1); a cancellation, a `user_data`; a receive, a descriptor and
//!   the buffer group (its buffers are the ring's, U5-U6); a send, the bytes of a stream's
//!   send buffer (U8); a file table update (U12), one descriptor number, which the kernel
//!   copies as it issues the entry, during the submission, from the table's array of them
//!   (boxed, alive as long as the reactor, an element written only while its index is free)
//!   or from a `static` -1. The only other memory the kernel reads is the enter's timeout,
//!   which it copies during the call.
//! - **U2.** A registration's slot is freed (and its key can be reused) only after the kernel's
//!   final completion for its poll (the one without `IORING_CQE_F_MORE`): deregistering submits
//!   `IORING_OP_ASYNC_CANCEL` for it (see [`ops::cancel`] for why not `POLL_REMOVE`) and
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
//!   (completions overflowed, task work pending). A stream's receive is the exception: it is
//!   submitted when a read arms it (once per stream, not per read), so what the socket
//!   already holds is completed before the reader looks again; the receives armed again as
//!   their last ones complete (chains of single receives under the cap, U9, each chain whole in
//!   one submission) are submitted together as
//!   the completions are taken in, for the same reason. The
//!   streams' sends are built at the enter (from what the iteration wrote) and go with it.
//! - **U5.** Each buffer of the ring is either the kernel's (published in the ring) or ours
//!   (consumed by the kernel and not given back: it neither selects nor writes it). The kernel
//!   fills a buffer in pieces (with incremental consumption, `IOU_PBUF_RING_INC`, several
//!   receives share the buffer at the ring's head; without it, one piece per buffer): each
//!   completion names a piece, the bytes it counted from where the buffer's previous piece
//!   ended, which the kernel writes no more. We read only such pieces, between the completion
//!   that named them and their release; we give a buffer back once, and only after the kernel
//!   consumed it (a completion without `IORING_CQE_F_BUF_MORE`) and each of its pieces was
//!   copied out or dropped with its stream.
//! - **U6.** The ring's memory and its buffers live until the ring is unregistered, which
//!   happens only once no receive that may select from it is in the kernel: when the reactor
//!   drops, every receive still there is cancelled and its final completion awaited first
//!   (if that never comes, the memory is leaked, never freed under the kernel).
//! - **U7.** A stream's receive state lives until the receive's final completion (the one
//!   without `IORING_CQE_F_MORE`), and its slot stays retiring until both its poll's and its
//!   receive's final completions came (U2 extended): dropping a stream cancels both, gives
//!   its buffered bytes' buffers back, and closes the descriptor (U3: the kernel holds the
//!   file until the cancellations complete, during the same enter); a buffer a later
//!   completion of that receive names goes straight back to the ring. So no byte the kernel
//!   already copied is lost while the stream lives (a dropped read future leaves them queued
//!   for the next read), and none is written into a buffer after we freed or reused it.
//!   A chain of single receives (U9) needs the same: its later receives look their
//!   descriptor up by number only when the kernel starts them, so one started after the
//!   close would read from whichever socket took the number next. None is: the cancellation
//!   goes to the kernel in the submission the drop makes, before the close (U3, U11: a full
//!   completion queue no longer leaves it queued), and it finds the chain's running receive
//!   (the next one starts in the same task work that completes the one before, before the
//!   loop runs again: so with cooperative task work, which runs until none is left; deferred
//!   task work, `IORING_SETUP_DEFER_TASKRUN`, may leave the next one queued where no
//!   cancellation finds it, which is one reason the probe does not ask for it), marks it cancelled, and the kernel fails the rest of the chain with
//!   `ECANCELED` without starting them (seen in every chain of tests/io_uring_recv_drop.rs,
//!   whose new connections take the dropped streams' numbers at once and get none of their
//!   bytes; with the cancellation left out, they lose bytes to the old chains).
//! - **U8.** The bytes a stream's `IORING_OP_SEND` reads (its [`send::StreamSend`]'s
//!   `inflight` buffer, a heap block the boxed state owns) are neither written, moved,
//!   reallocated nor freed from the send's submission to its completion: writes go to the
//!   state's other buffer meanwhile, at most one send per stream is in the kernel, and the
//!   state outlives the stream: a stream dropped with a send in the kernel or bytes left to
//!   send keeps its slot retiring (U2) and its state until the last send completed, its sends
//!   going to a duplicate of its descriptor that closes after them (so the socket, and the
//!   peer's EOF, come after the last byte). When the reactor drops, the sends get a moment to
//!   finish, then those still in the kernel are cancelled and their completions awaited; a
//!   state whose completion never comes is leaked, never freed under the kernel.
//! - **U9.** A stream never holds more than a cap of received bytes ([`recv::CAP_BYTES`],
//!   64 KiB, to the byte, in at most [`recv::CAP_PIECES`] pieces), so one stream nobody
//!   reads cannot take the ring's buffers from the others; the bytes beyond wait in the
//!   socket, whose buffer holds the peer back. Where the kernel takes a total for a multishot
//!   receive (6.17) and the room left under the cap is two buffers or more, the receive is
//!   armed with that room less one buffer as its total (the kernel ends it there, its last
//!   receive filling at most one buffer past it); one that reaches the cap in pieces first
//!   is cancelled (submitted at once), again at each completion that comes with the receive
//!   going on (a cancellation may find nothing, `ENOENT`, and a receive left running would
//!   pass the cap in pieces, each pinning a buffer), and completions the kernel posts before the
//!   cancellation's final one queue behind the others, in order (no byte lost). Otherwise (a
//!   little room left, a kernel before 6.17, or `AIOLOOP_IO_URING_RECV_TOTAL=0`; without a
//!   total a multishot receive has no end of its own and one burst between two looks may
//!   bring any number of buffers) the stream receives with single receives (`IORING_OP_RECV`
//!   with buffer select, whose length is the most the kernel reads): a chain of them linked
//!   with `IOSQE_IO_LINK`, all queued in one submission, which the kernel runs one after the
//!   other, in order, each of at most one buffer, their lengths adding up to at most the room
//!   left under the cap and their number to at most the pieces left (a short receive does not
//!   end the chain, the next one waits for bytes; one that fails or is cancelled ends it, the
//!   rest completing with `ECANCELED`, having received nothing). A receive (a chain: once its
//!   last receive completed) that ends with bytes under the cap is followed by the next at once; one stopped at the cap is armed again once its final
//!   completion came and the reader brought the stream below half the cap; either way its
//!   bytes queue behind those still held (no byte reordered: nothing reads the socket while
//!   bytes are held or a receive runs). Except for a bulk reader: a receive that ends (at its
//!   total, its chain's end or the cap) having brought [`recv::DIRECT_MIN`] bytes or more, or
//!   with the socket holding more (`IORING_CQE_F_SOCK_NONEMPTY`), to a stream whose last read
//!   asked for `DIRECT_MIN` bytes or more is not armed again: the reader reads what the stream
//!   holds, then (nothing held, no receive in the kernel, so the socket's bytes are next) its
//!   large reads call the socket's `recv(2)` into its own buffer, as the readiness form does,
//!   until one comes back short or `EAGAIN` (the socket drained) or a read is small or a
//!   peek: those arm the receive again. The cap is untouched: those bytes are never held.
//! - **U10.** A submission entry is only ever built by the `io-uring` crate's opcodes; where
//!   the crate does not name a field the kernel reads (a receive's total, `optlen`), the
//!   entry is rewritten as the 64 bytes of the kernel's `struct io_uring_sqe` it is
//!   (`squeue::Entry` is `#[repr(C)]` over it, every field a plain integer).
//! - **U11.** A submission the kernel refuses for want of room for completions (`EBUSY`: the
//!   completion queue overflowed and is full; or `EAGAIN`) is retried only after the
//!   completions waiting in the queue were taken out ([`busy`]); they are kept, in order,
//!   ahead of the queue's, and the next reap handles them first (a poll with such completions
//!   kept does not wait). So queueing into a full submission queue, from anywhere in the
//!   driver, always makes progress; a kernel that keeps refusing with nothing to reap ends the
//!   loop with a panic that says so after about a second, never a silent spin.
//! - **U12.** A stream in the completion form that finds a free index in the ring's table of
//!   registered files ([`files`]; on kernels that release a removed file once its own requests
//!   completed, 6.13, checked as 6.15) names that index (`IOSQE_FIXED_FILE`)
//!   in all its entries (its poll, receives, read watch, and its sends while it lives) instead
//!   of its descriptor: the kernel resolves the index when it starts a request, and the
//!   request holds that file until it completes, as it would a descriptor's. The table is
//!   filled and emptied by entries (`IORING_OP_FILES_UPDATE`), queued like the others, not by
//!   `io_uring_register` calls: a stream's install is queued at its registration, ahead of
//!   every entry that names its index, and goes with the next submission. That is in order
//!   because the kernel issues the entries of a submission one after the other
//!   (`io_submit_sqes`), and an update is done when it is issued: `io_files_update` takes
//!   the ring's lock the submission already holds, updates the table and completes, never
//!   asking to be retried from io-wq (no `-EAGAIN`, unlike 5.x kernels, which punted it;
//!   Linux 6.13 and later, io_uring/rsrc.c, which the gate below allows) and no entry of
//!   ours is linked to it or drained. An entry behind it in the same submission, or in a
//!   later one, finds the index filled; one started later from a link (a chain's next
//!   receive, U7) too. An install the kernel refuses (`ENOMEM`) leaves the index empty: the
//!   entries that named it fail (`EBADF`) having done nothing (it is looked up before the
//!   request does anything), and go again on the stream's descriptor, which the stream names
//!   from then on (the refusal's completion, tagged with [`files::FILES_BIT`], or the first
//!   such `EBADF`, whichever comes first, says so; a bounded number of them). Dropping the
//!   stream queues its index's removal right behind the cancellations of its requests, in
//!   the submission the drop makes at once (U3), before the owner closes the descriptor: the
//!   cancellations are issued first (the requests they find keep the file they resolved),
//!   then the index empties, so the close is still the file's last reference once they
//!   completed (U3); a refused removal is queued once more. The index is handed out again
//!   only when the stream's slot is freed, i.e. after the final completions of its poll, its
//!   receive and its sends (U2, U7, U8), and once its removal completed. So
//!   no request of a dropped stream acts on the file of the stream that takes its index next:
//!   one the kernel starts after the removal (a chain's next receive, U7) finds the index
//!   empty and fails (`EBADF`), and none is left in the kernel once the index is reused. A
//!   dropped stream's lingering sends go to its duplicate descriptor (U8), never to the
//!   index. The table is only an optimisation: a kernel that refuses it, or a table with no
//!   free index, leaves the stream on its descriptor, as before.

pub(crate) mod bufring;
pub(crate) mod busy;
pub(crate) mod files;
pub(crate) mod ops;
pub(crate) mod probe;
pub(crate) mod reactor;
pub(crate) mod recv;
pub(crate) mod send;

pub(crate) use reactor::UringReactor;
