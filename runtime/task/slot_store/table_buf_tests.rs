use std::cell::Cell;
use std::rc::Rc;

use super::*;

/// Elements to push so that a buffer of `E` passes the mapping threshold and then its
/// reservation (1 MiB in the tests), so it is remapped (fewer under Miri, where the buffer
/// stays on the heap).
fn past_threshold<E>() -> usize {
    if cfg!(miri) {
        300
    } else {
        3 * RESERVE / size_of::<E>() + 7
    }
}

#[test]
fn growth_across_the_threshold_keeps_every_value() {
    let n = past_threshold::<[u64; 3]>();
    let mut buf = TableBuf::default();
    let mut caps = Vec::new();
    for i in 0..n as u64 {
        buf.push([i, !i, i.wrapping_mul(31)]);
        if caps.last() != Some(&buf.capacity()) {
            caps.push(buf.capacity());
            let all = buf.as_slice();
            assert!(
                all.iter()
                    .enumerate()
                    .all(|(k, v)| *v == [k as u64, !(k as u64), (k as u64).wrapping_mul(31)]),
                "a value changed when the capacity became {}",
                buf.capacity()
            );
        }
    }
    assert_eq!(buf.len(), n);
    assert!(caps.windows(2).all(|w| w[1] >= 2 * w[0]), "capacities {caps:?}");
    assert_eq!(buf.is_mapped(), mappable::<[u64; 3]>());
    buf.as_mut_slice()[n - 1] = [0; 3];
    assert_eq!(buf.as_slice()[n - 1], [0; 3]);
    assert_eq!(buf.as_slice()[n - 2][0], n as u64 - 2);
}

#[test]
fn below_the_threshold_it_stays_on_the_heap() {
    let mut buf = TableBuf::default();
    for i in 0..MAP_THRESHOLD / 16 / 2 {
        buf.push([i as u64, 0]);
    }
    assert!(!buf.is_mapped());
    assert_eq!(
        buf.capacity(),
        MAP_THRESHOLD / 16 / 2,
        "doubling from 4, as a Vec"
    );
    buf.push([0, 0]);
    assert_eq!(
        buf.is_mapped(),
        mappable::<[u64; 2]>(),
        "64 KiB: a mapping of its own"
    );
}

/// Counts its drops; panics in its drop if told to.
struct Counted {
    drops: Rc<Cell<usize>>,
    panics: bool,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
        if self.panics {
            panic!("this value's drop panics");
        }
    }
}

#[test]
fn drop_drops_each_value_once_heap_and_mapped() {
    for n in [0, 3, 100, past_threshold::<Counted>()] {
        let drops = Rc::new(Cell::new(0));
        let mut buf = TableBuf::default();
        for _ in 0..n {
            buf.push(Counted {
                drops: drops.clone(),
                panics: false,
            });
        }
        assert_eq!(drops.get(), 0, "growing moves the values, it drops none");
        drop(buf);
        assert_eq!(drops.get(), n);
    }
}

#[test]
fn a_panicking_drop_drops_the_others_once() {
    let n = past_threshold::<Counted>();
    let drops = Rc::new(Cell::new(0));
    let mut buf = TableBuf::default();
    for i in 0..n {
        buf.push(Counted {
            drops: drops.clone(),
            panics: i == n / 2,
        });
    }
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(buf)));
    assert!(caught.is_err());
    assert_eq!(drops.get(), n, "every value dropped exactly once");
}

#[test]
fn a_dropped_mapping_serves_the_next_buffer_on_its_thread() {
    if !mappable::<u64>() {
        return;
    }
    let fill = |n: usize, salt: u64| {
        let mut buf = TableBuf::default();
        for i in 0..n as u64 {
            buf.push(i ^ salt);
        }
        buf
    };
    let (short, long) = (fill(MAP_THRESHOLD / 8, 1), fill(MAP_THRESHOLD / 4, 2));
    assert!(short.is_mapped() && long.is_mapped());
    let long_at = long.as_ptr();
    drop(long);
    drop(short);
    let again = fill(MAP_THRESHOLD / 8 + 1, 3);
    assert_eq!(
        again.as_ptr(),
        long_at,
        "the mapping with the longer touched prefix was kept"
    );
    assert!(again
        .as_slice()
        .iter()
        .enumerate()
        .all(|(i, v)| *v == i as u64 ^ 3));
    let other = std::thread::spawn(move || fill(MAP_THRESHOLD / 8, 4).as_ptr() as usize)
        .join()
        .unwrap();
    assert_ne!(other, long_at as usize, "the spare is this thread's");
}

#[test]
fn a_buffer_is_three_words_as_a_vec() {
    assert_eq!(size_of::<TableBuf<[u64; 5]>>(), size_of::<Vec<[u64; 5]>>());
}

/// A spare keeps at most `SPARE_KEEP` bytes of touched pages: the pages past what it keeps
/// go back to the kernel (read again, they are zero), the ones it keeps hold their bytes.
#[test]
fn a_spare_gives_back_the_pages_past_what_it_keeps() {
    if !mappable::<u64>() {
        return;
    }
    const PAGE: usize = 4096;
    let (map, len) = map::take(2 * MAP_THRESHOLD).expect("a mapping");
    let touched = 3 * PAGE;
    // SAFETY: the mapping is ours (`take` handed it over), at least `2 * MAP_THRESHOLD`
    // bytes long, and holds no value; it is given back once, at the end.
    unsafe {
        std::ptr::write_bytes(map.as_ptr(), 0xAB, touched);
        assert_eq!(map::release_beyond(map, touched, PAGE), PAGE);
        let bytes = std::slice::from_raw_parts(map.as_ptr(), touched);
        assert!(
            bytes[..PAGE].iter().all(|b| *b == 0xAB),
            "the kept page is intact"
        );
        assert!(
            bytes[PAGE..].iter().all(|b| *b == 0),
            "the pages past it were given back"
        );
        assert_eq!(
            map::release_beyond(map, PAGE, 2 * PAGE),
            PAGE,
            "nothing past the keep"
        );
        map::give_back(map, len, PAGE);
    }
}
