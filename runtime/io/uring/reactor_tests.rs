//! Unit tests of the io_uring reactor (they look at its private state).

use std::mem::MaybeUninit;

use super::*;
use crate::io::slots::Direction;
use crate::io::uring::recv::RecvStep;
use crate::io::uring::send::SendStep;

/// A connected pair, both ends non-blocking: ours for the reactor, theirs to act as the peer.
fn nonblocking_unix_pair() -> (mio::net::UnixStream, std::os::unix::net::UnixStream) {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    theirs.set_nonblocking(true).unwrap();
    (mio::net::UnixStream::from_std(ours), theirs)
}

/// A reactor, a connected pair (`ours`, registered in it at the slot, and `theirs`, the
/// peer) and the slots.
type RegisteredPair = (
    UringReactor,
    mio::net::UnixStream,
    std::os::unix::net::UnixStream,
    IoSlots,
    SlotId,
);

/// Interest of the pair's registered end.
const BOTH: Interest = Interest::READABLE.add(Interest::WRITABLE);

/// A reactor on a ring of 16 entries with registered files, and a pair registered for
/// reading and writing; `before_register` runs just before the registration. `None` (said on
/// stderr) where io_uring is unavailable.
fn registered_pair(before_register: impl FnOnce()) -> Option<RegisteredPair> {
    let Ok((ring, _)) = super::super::probe::probe(16, true) else {
        eprintln!("io_uring unavailable here: skipped");
        return None;
    };
    let mut reactor = UringReactor::new(ring, true).unwrap();
    let (mut ours, theirs) = nonblocking_unix_pair();
    let mut io = IoSlots::default();
    let id = io.insert();
    before_register();
    reactor.register(&mut ours, id, BOTH, true).unwrap();
    Some((reactor, ours, theirs, io, id))
}

/// U11 (issue 20, item 3): registrations queued without a poll in between, each of whose
/// polls completes at once (pipes are writable), overflow the completion queue (1,024
/// entries) of a ring of two submission entries; every push still goes through (a refused
/// submission reaps and submits again, never spins) and no readiness is lost: the next
/// poll reports every pipe writable, the overflowed completions included.
#[test]
fn issue20_an_overflowed_completion_queue_neither_spins_nor_loses_completions() {
    let Ok((ring, _)) = super::super::probe::probe(2, true) else {
        return eprintln!("io_uring unavailable here: skipped");
    };
    let mut reactor = UringReactor::new(ring, false).unwrap();
    let (mut io, mut woken) = (IoSlots::default(), Vec::new());
    let mut pipes = Vec::new();
    for _ in 0..1500 {
        let (mut sender, receiver) = mio::unix::pipe::new().unwrap();
        let id = io.insert();
        reactor
            .register(&mut sender, id, Interest::WRITABLE, false)
            .unwrap();
        pipes.push((id, sender, receiver));
    }
    let wait = PollWait::Until {
        deadline: 0,
        after: Duration::from_millis(100),
    };
    let mut events = 0;
    for _ in 0..10 {
        events += reactor.poll(wait, &mut io, &mut woken);
    }
    let writable = pipes
        .iter()
        .filter(|(id, ..)| io.is_ready(*id, Direction::Write))
        .count();
    assert_eq!(writable, pipes.len(), "{events} events");
    for (id, mut sender, _receiver) in pipes {
        reactor.deregister(&mut sender, id, &mut io);
    }
    for _ in 0..10 {
        reactor.poll(wait, &mut io, &mut woken);
    }
    assert_eq!(io.len(), 0, "every slot freed by its final completion");
}

/// U12 (issue 20): an install of a stream's index that fails leaves the index empty; the
/// stream's poll, send and receive queued behind it in the same submission find it empty
/// (`EBADF`) and did nothing: each goes again on the stream's descriptor, which the stream
/// names from then on. No entry and no byte is lost either way.
#[test]
fn issue20_a_failed_install_falls_back_to_the_descriptor_and_loses_nothing() {
    use std::io::{Read, Write};
    let Some((mut reactor, mut ours, mut theirs, mut io, id)) =
        registered_pair(super::super::files::spoil_next_install)
    else {
        return;
    };
    let mut woken = Vec::new();
    let key = id.key() as usize;
    let PollState::Armed {
        file: File::Fixed(index),
        ..
    } = reactor.polls[key]
    else {
        return eprintln!("no file table (or no completion form) here: skipped");
    };
    let step = reactor.send(id, &[&b"hello"[..]], None, &mut io).unwrap();
    assert!(matches!(step, SendStep::Done(Ok(5))));
    reactor.start_sends();
    assert!(reactor.arm_recv(id, &mut io), "the receive is armed");
    theirs.write_all(b"world").unwrap();
    let (mut sent, mut received) = (Vec::new(), Vec::new());
    let wait = PollWait::Until {
        deadline: 0,
        after: Duration::from_millis(20),
    };
    for _ in 0..250 {
        if sent.len() == 5 && received.len() == 5 {
            break;
        }
        reactor.poll(wait, &mut io, &mut woken);
        let mut buf = [0; 16];
        if let Ok(n) = theirs.read(&mut buf) {
            sent.extend_from_slice(&buf[..n]);
        }
        let mut dst = [MaybeUninit::uninit(); 16];
        match reactor.recv(id, &mut dst, false, None, &mut io, &mut woken) {
            RecvStep::Done(Ok(n)) => {
                // SAFETY: the read initialised the first `n` bytes of `dst`.
                received.extend(dst[..n].iter().map(|b| unsafe { b.assume_init() }));
            }
            RecvStep::Wait => reactor.watch_read(id, &mut io),
            RecvStep::Done(Err(err)) => panic!("the read failed: {err}"),
            RecvStep::Direct | RecvStep::Socket => match (&ours).read(&mut buf) {
                // As the streams do: the socket's own read, then the receive armed again.
                Ok(n) => received.extend_from_slice(&buf[..n]),
                Err(_) => {
                    if !reactor.arm_recv(id, &mut io) {
                        reactor.watch_read(id, &mut io);
                    }
                }
            },
        }
    }
    assert_eq!(sent, b"hello", "the send went again, on the descriptor");
    assert_eq!(received, b"world", "the receive went again, on the descriptor");
    assert!(
        matches!(
            reactor.polls[key],
            PollState::Armed {
                file: File::Fd(_),
                ..
            }
        ),
        "the poll armed again on the descriptor: {:?}",
        reactor.polls[key]
    );
    reactor.deregister(&mut ours, id, &mut io);
    for _ in 0..10 {
        reactor.poll(wait, &mut io, &mut woken);
    }
    assert_eq!(io.len(), 0, "the slot freed");
    // The index went back: the next stream takes it.
    let (next, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut next = mio::net::UnixStream::from_std(next);
    let id = io.insert();
    reactor.register(&mut next, id, BOTH, true).unwrap();
    assert_eq!(
        reactor.polls[id.key() as usize],
        PollState::Armed {
            token: id.token().0 as u64,
            file: File::Fixed(index),
            mask: ops::poll_mask(Interest::WRITABLE)
        }
    );
    reactor.deregister(&mut next, id, &mut io);
}

/// U2: a deregistered slot stays taken until its poll's final completion, and a poll that
/// reports readiness wakes the waiting direction.
#[test]
fn a_slot_is_freed_only_after_its_final_completion() {
    let Ok((ring, _)) = super::super::probe::probe(8, true) else {
        return eprintln!("io_uring unavailable here: skipped");
    };
    let mut reactor = UringReactor::new(ring, false).unwrap();
    let (mut sender, mut receiver) = mio::unix::pipe::new().unwrap();
    let (mut io, mut woken) = (IoSlots::default(), Vec::new());
    let id = io.insert();
    reactor
        .register(&mut receiver, id, Interest::READABLE, false)
        .unwrap();
    assert!(!io.poll_ready(id, Direction::Read, Waker::noop()));
    std::io::Write::write_all(&mut sender, b"x").unwrap();
    let wait = PollWait::Until {
        deadline: 0,
        after: Duration::from_secs(5),
    };
    assert_eq!(reactor.poll(wait, &mut io, &mut woken), 1);
    assert_eq!(woken.len(), 1, "the read waker");
    assert!(io.is_ready(id, Direction::Read));

    assert!(reactor.deregister(&mut receiver, id, &mut io).is_some());
    assert!(
        reactor.deregister(&mut receiver, id, &mut io).is_none(),
        "idempotent"
    );
    assert_eq!(
        io.len(),
        1,
        "retired, not freed: the kernel may still complete the poll"
    );
    reactor.poll(wait, &mut io, &mut woken);
    assert_eq!(io.len(), 0, "freed by the final completion");
    assert_eq!(
        io.insert(),
        SlotId::from_token(Token(1 << 32)),
        "key 0 reused, next generation"
    );
}

/// An abort (the streams server's `abort_clients`) drops the bytes a stream took and did
/// not hand to the kernel, fails its later writes, and wakes a task waiting to flush them,
/// which finds the flush settled with the error: nothing of the dropped bytes is ever sent.
#[test]
fn an_abandoned_send_drops_what_the_kernel_has_not_and_wakes_its_flush() {
    let Some((mut reactor, mut ours, mut theirs, mut io, id)) = registered_pair(|| {}) else {
        return;
    };
    let mut woken = Vec::new();
    let Some(step) = reactor.send(id, &[&b"never sent"[..]], None, &mut io) else {
        return eprintln!("no completion form here: skipped");
    };
    assert!(matches!(step, SendStep::Done(Ok(10))));
    let (count, waker) = crate::wake_counter::wake_counter();
    assert!(reactor.flush(id, &waker, &mut io).unwrap().is_pending());
    reactor.abandon_send(id, &mut io, &mut woken).unwrap();
    assert_eq!(woken.len(), 1, "the flush's task");
    woken.drain(..).for_each(Waker::wake);
    assert_eq!(count.wakes(), 1);
    match reactor.flush(id, &waker, &mut io).unwrap() {
        std::task::Poll::Ready(Err(err)) => assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe),
        other => panic!("the flush settles with the abort's error: {other:?}"),
    }
    assert!(matches!(
        reactor.send(id, &[&b"later"[..]], None, &mut io),
        Some(SendStep::Done(Err(_)))
    ));
    reactor.start_sends();
    let wait = PollWait::Until {
        deadline: 0,
        after: Duration::from_millis(20),
    };
    for _ in 0..5 {
        reactor.poll(wait, &mut io, &mut woken);
    }
    let mut buf = [0; 16];
    assert!(
        matches!(std::io::Read::read(&mut theirs, &mut buf), Err(err) if err.kind() == std::io::ErrorKind::WouldBlock),
        "none of the dropped bytes reached the peer"
    );
    reactor.deregister(&mut ours, id, &mut io);
}
