//! The reactor's slab of I/O registrations: per source, the readiness the OS last reported and,
//! per direction, the wakers of the tasks waiting for it.
//!
//! - **I1.** A registration's mio `Token` packs `(generation << 32) | key`. The generation is a
//!   31-bit counter bumped on every registration, so an event carrying the token of a
//!   deregistered source never reaches a later occupant of the same key (a stale event is
//!   dropped), and no token ever equals the reserved `usize::MAX` (remote waker) or
//!   `usize::MAX - 1` (timerfd).
//! - **I2.** Readiness is edge-triggered: an event sets bits, an operation that meets
//!   `WouldBlock` (or a short read or write on a stream, which shows the socket buffer drained
//!   or full) clears its direction's bit and waits for the next edge. No event can arrive
//!   between an operation and the clearing that follows it: events are dispatched only by the
//!   loop, between task polls. "Read closed" and "write closed" (the peer's FIN, a hang-up) are
//!   final and never cleared: the edge that reported them will not come again, so a read that
//!   clears the readable bit after a short read must still find the stream ready to report its
//!   EOF.
//! - **I5.** Every task waiting for a direction is woken by its next edge, not only the last to
//!   poll (a [`WakerSet`] per direction, as tokio wakes every `accept`/`recv`/`readable` of one
//!   socket): the first to run takes what came, and the others meet `WouldBlock` and wait again.
//!   Several tasks may share a socket through an `Rc` (two accepts on one listener, two
//!   receivers on one datagram socket); none of them is left asleep.

use std::os::fd::RawFd;
use std::task::Waker;

use crate::waker_slot::WakerSet;
use mio::Token;
use slab::Slab;

/// A direction of readiness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Readable (also: read side closed, error).
    Read,
    /// Writable (also: write side closed, error).
    Write,
}

impl Direction {
    /// The clearable bit.
    fn bit(self) -> u8 {
        match self {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        }
    }

    /// Every bit that makes the direction ready.
    fn mask(self) -> u8 {
        match self {
            Direction::Read => READABLE | READ_CLOSED,
            Direction::Write => WRITABLE | WRITE_CLOSED,
        }
    }
}

/// The readiness bits of a slot; the public [`Ready`](crate::net::Ready) set uses the same.
pub(crate) const READABLE: u8 = 1;
pub(crate) const WRITABLE: u8 = 2;
pub(crate) const READ_CLOSED: u8 = 4;
pub(crate) const WRITE_CLOSED: u8 = 8;
/// Generations live in 31 bits: the top bit of a token is always clear.
const GEN_MASK: u32 = 0x7FFF_FFFF;

/// What an event reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ready {
    pub(crate) read: bool,
    pub(crate) write: bool,
    pub(crate) read_closed: bool,
    pub(crate) write_closed: bool,
}

impl Ready {
    /// Reduces a mio event. An error wakes both directions, whose next operation reports it.
    pub(crate) fn from_event(event: &mio::event::Event) -> Self {
        let error = event.is_error();
        Ready {
            read: event.is_readable() || error,
            write: event.is_writable() || error,
            read_closed: event.is_read_closed(),
            write_closed: event.is_write_closed(),
        }
    }

    fn bits(self) -> u8 {
        let mut bits = 0;
        for (on, bit) in [
            (self.read, READABLE),
            (self.write, WRITABLE),
            (self.read_closed, READ_CLOSED),
            (self.write_closed, WRITE_CLOSED),
        ] {
            if on {
                bits |= bit;
            }
        }
        bits
    }
}

struct Slot {
    gen: u32,
    ready: u8,
    /// The descriptor number the source holds (or claims, runtime/io/driver.rs I6); -1 for
    /// none, or once retired.
    fd: RawFd,
    readers: WakerSet,
    writers: WakerSet,
}

impl Slot {
    fn waiters(&mut self, dir: Direction) -> &mut WakerSet {
        match dir {
            Direction::Read => &mut self.readers,
            Direction::Write => &mut self.writers,
        }
    }
}

/// The slab of registrations.
#[derive(Default)]
pub(crate) struct IoSlots {
    slots: Slab<Slot>,
    next_gen: u32,
}

/// A registration's address in the slab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotId {
    key: u32,
    gen: u32,
}

impl SlotId {
    /// The mio token for this registration.
    pub(crate) fn token(self) -> Token {
        Token(((self.gen as usize) << 32) | self.key as usize)
    }

    /// The registration's key in the slab.
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub(crate) fn key(self) -> u32 {
        self.key
    }

    /// The id a token was made from (its generation is checked where it is used).
    pub(crate) fn from_token(token: Token) -> Self {
        SlotId {
            key: token.0 as u32,
            gen: (token.0 >> 32) as u32,
        }
    }
}

impl IoSlots {
    /// How many sources are registered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// [`IoSlots::insert_holding`] for a source without a descriptor (the tests').
    #[cfg(test)]
    pub(crate) fn insert(&mut self) -> SlotId {
        self.insert_holding(-1)
    }

    /// A new slot with no readiness (the OS reports the source's current state as a first edge
    /// once it is registered), for a registration that holds the descriptor number `fd` (-1:
    /// none).
    pub(crate) fn insert_holding(&mut self, fd: RawFd) -> SlotId {
        let gen = self.next_gen;
        self.next_gen = (gen + 1) & GEN_MASK;
        let entry = self.slots.vacant_entry();
        let key = u32::try_from(entry.key()).expect("aioloop: more than 2^32 I/O registrations");
        entry.insert(Slot {
            gen,
            ready: 0,
            fd,
            readers: WakerSet::new(),
            writers: WakerSet::new(),
        });
        SlotId { key, gen }
    }

    fn get_mut(&mut self, id: SlotId) -> Option<&mut Slot> {
        self.slots
            .get_mut(id.key as usize)
            .filter(|slot| slot.gen == id.gen)
    }

    /// Frees a slot; returns its wakers so the caller drops them outside any borrow.
    pub(crate) fn remove(&mut self, id: SlotId) -> Option<[WakerSet; 2]> {
        self.get_mut(id)?;
        let slot = self.slots.remove(id.key as usize);
        Some([slot.readers, slot.writers])
    }

    /// Takes a slot's wakers but keeps the slot, so its key is not reused, until
    /// [`IoSlots::remove`]: the io_uring reactor retires a registration this way while the
    /// kernel may still complete its poll (see runtime/io/uring/mod.rs, U2).
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub(crate) fn retire(&mut self, id: SlotId) -> Option<[WakerSet; 2]> {
        let slot = self.get_mut(id)?;
        slot.ready = 0;
        slot.fd = -1;
        Some([
            std::mem::take(&mut slot.readers),
            std::mem::take(&mut slot.writers),
        ])
    }

    /// True if a live registration holds the descriptor number `fd` (a scan: for the rare
    /// registrations of arbitrary descriptors, runtime/io/driver.rs I6).
    pub(crate) fn holds_fd(&self, fd: RawFd) -> bool {
        fd >= 0 && self.slots.iter().any(|(_, slot)| slot.fd == fd)
    }

    /// Records an event for `token`; pushes the wakers it releases onto `woken` (I5). A token whose
    /// generation does not match the slot's occupant (a stale event) is ignored.
    pub(crate) fn dispatch(&mut self, token: Token, ready: Ready, woken: &mut Vec<Waker>) {
        let Some(slot) = self.get_mut(SlotId::from_token(token)) else {
            return;
        };
        let bits = ready.bits();
        slot.ready |= bits;
        if bits & Direction::Read.mask() != 0 {
            slot.readers.take_into(woken);
        }
        if bits & Direction::Write.mask() != 0 {
            slot.writers.take_into(woken);
        }
    }

    /// True if `dir` is ready. Otherwise adds `waker` to its waiters (I5) and returns false. A
    /// missing slot counts as ready, so the operation runs and reports its own error.
    pub(crate) fn poll_ready(&mut self, id: SlotId, dir: Direction, waker: &Waker) -> bool {
        let Some(slot) = self.get_mut(id) else {
            return true;
        };
        if slot.ready & dir.mask() != 0 {
            return true;
        }
        slot.waiters(dir).register(waker);
        false
    }

    /// Adds `waker` to `dir`'s waiters whatever the readiness. The io_uring driver parks a
    /// stream's reader this way while its receive runs (its read readiness is then the
    /// receive's, runtime/io/uring/mod.rs).
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub(crate) fn park(&mut self, id: SlotId, dir: Direction, waker: &Waker) {
        if let Some(slot) = self.get_mut(id) {
            slot.waiters(dir).register(waker);
        }
    }

    /// The readiness bits of `id` ([`READABLE`], [`WRITABLE`], [`READ_CLOSED`],
    /// [`WRITE_CLOSED`]); a slot gone is ready both ways (the next operation reports it).
    pub(crate) fn ready_bits(&self, id: SlotId) -> u8 {
        self.slots
            .get(id.key as usize)
            .filter(|slot| slot.gen == id.gen)
            .map_or(READABLE | WRITABLE, |slot| slot.ready)
    }

    /// True if `dir` is ready (no waker is stored).
    pub(crate) fn is_ready(&self, id: SlotId, dir: Direction) -> bool {
        self.slots
            .get(id.key as usize)
            .filter(|slot| slot.gen == id.gen)
            .is_none_or(|slot| slot.ready & dir.mask() != 0)
    }

    /// Clears `dir`'s readiness of `id` and adds `waker` to its waiters (one lookup): a read
    /// that found nothing waits.
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub(crate) fn park_unready(&mut self, id: SlotId, dir: Direction, waker: &Waker) {
        if let Some(slot) = self.get_mut(id) {
            slot.ready &= !dir.bit();
            slot.waiters(dir).register(waker);
        }
    }

    /// Forgets `dir`'s readiness after an operation met `WouldBlock` (or a short transfer
    /// showed the socket buffer is drained / full).
    pub(crate) fn clear(&mut self, id: SlotId, dir: Direction) {
        if let Some(slot) = self.get_mut(id) {
            slot.ready &= !dir.bit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wake_counter::wake_counter;

    const BOTH: Ready = Ready {
        read: true,
        write: true,
        read_closed: false,
        write_closed: false,
    };

    #[test]
    fn tokens_never_hit_the_reserved_values() {
        let id = SlotId {
            key: u32::MAX,
            gen: GEN_MASK,
        };
        assert!(id.token().0 < usize::MAX - 1);
        assert_eq!(SlotId::from_token(id.token()), id);
    }

    #[test]
    fn a_stale_event_never_reaches_the_next_occupant() {
        let mut slots = IoSlots::default();
        let (count, waker) = wake_counter();
        let mut woken = Vec::new();
        for _ in 0..if cfg!(miri) { 100 } else { 100_000 } {
            let old = slots.insert();
            slots.remove(old).unwrap();
            let new = slots.insert();
            assert_eq!(old.key, new.key, "the slab reuses the key");
            assert!(!slots.poll_ready(new, Direction::Read, &waker));
            assert!(!slots.poll_ready(new, Direction::Write, &waker));
            slots.dispatch(old.token(), BOTH, &mut woken);
            assert!(woken.is_empty());
            assert!(!slots.is_ready(new, Direction::Read));
            assert!(slots.remove(old).is_none(), "a stale id frees nothing");
            slots.remove(new).unwrap();
        }
        assert_eq!(count.wakes(), 0);
        assert_eq!(slots.len(), 0);
    }

    #[test]
    fn an_edge_wakes_every_task_waiting_for_its_direction() {
        let mut slots = IoSlots::default();
        let id = slots.insert();
        let (first, first_waker) = wake_counter();
        let (second, second_waker) = wake_counter();
        let (writer, writer_waker) = wake_counter();
        assert!(!slots.poll_ready(id, Direction::Read, &first_waker));
        assert!(!slots.poll_ready(id, Direction::Read, &second_waker));
        assert!(!slots.poll_ready(id, Direction::Write, &writer_waker));
        let mut woken = Vec::new();
        let readable = Ready {
            read: true,
            ..Ready::default()
        };
        slots.dispatch(id.token(), readable, &mut woken);
        assert_eq!(woken.len(), 2, "both readers; not the writer");
        woken.drain(..).for_each(Waker::wake);
        assert_eq!((first.wakes(), second.wakes(), writer.wakes()), (1, 1, 0));
        slots.clear(id, Direction::Read);
        slots.dispatch(id.token(), readable, &mut woken);
        assert!(woken.is_empty(), "the readers were taken: none waits now");
        let [readers, writers] = slots.remove(id).unwrap();
        drop(readers);
        let mut left = Vec::new();
        let mut writers = writers;
        writers.take_into(&mut left);
        assert_eq!(left.len(), 1, "a freed slot hands back the writer's waker");
    }

    #[test]
    fn events_set_readiness_and_release_one_waker_per_direction() {
        let mut slots = IoSlots::default();
        let id = slots.insert();
        let waker = Waker::noop();
        assert!(!slots.poll_ready(id, Direction::Read, waker));
        assert!(!slots.poll_ready(id, Direction::Write, waker));
        let mut woken = Vec::new();
        slots.dispatch(
            id.token(),
            Ready {
                read: true,
                ..Ready::default()
            },
            &mut woken,
        );
        assert_eq!(woken.len(), 1);
        assert!(slots.poll_ready(id, Direction::Read, waker));
        assert!(!slots.is_ready(id, Direction::Write));
        slots.clear(id, Direction::Read);
        assert!(!slots.is_ready(id, Direction::Read));
        woken.clear();
        slots.dispatch(id.token(), BOTH, &mut woken);
        assert_eq!(woken.len(), 1, "only the write waker was still stored");
    }

    #[test]
    fn a_number_is_held_while_its_registration_lives() {
        let mut slots = IoSlots::default();
        assert!(!slots.holds_fd(7));
        let id = slots.insert_holding(7);
        assert!(slots.holds_fd(7));
        assert!(!slots.holds_fd(-1), "no descriptor is no number");
        slots.remove(id).unwrap();
        assert!(!slots.holds_fd(7));
    }

    #[test]
    fn closed_states_are_never_cleared() {
        let mut slots = IoSlots::default();
        let id = slots.insert();
        let mut woken = Vec::new();
        let hangup = Ready {
            read: true,
            read_closed: true,
            ..Ready::default()
        };
        slots.dispatch(id.token(), hangup, &mut woken);
        slots.clear(id, Direction::Read);
        assert!(slots.is_ready(id, Direction::Read), "EOF must stay visible");
        assert!(!slots.is_ready(id, Direction::Write));
    }
}
