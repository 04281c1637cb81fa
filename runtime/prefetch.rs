//! A cache prefetch hint, for walks over memory the loop touches in scattered order (timer
//! entries fired in deadline order, task slots and cells stepped in wake order): asking for a
//! line a few steps ahead lets the misses of successive steps overlap instead of queueing.
//!
//! The one `unsafe` block is the x86_64 intrinsic. A prefetch reads nothing into the program
//! and never faults, whatever the address, so any pointer value is sound; elsewhere the hint
//! compiles to nothing.

/// A read prefetch of the cache line at `ptr` into all cache levels. Only a hint: `ptr` may
/// be dangling or stale, which costs at most a useless memory read.
#[inline(always)]
pub(crate) fn prefetch_read<T: ?Sized>(ptr: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the intrinsic needs SSE, part of every x86_64 CPU (the target's baseline); a
    // prefetch is a hint that reads nothing into the program and never faults, whatever the
    // address (module doc).
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(ptr.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_address_is_a_harmless_hint() {
        let value = 7u64;
        prefetch_read(&value);
        prefetch_read(std::ptr::null::<u8>());
        prefetch_read(usize::MAX as *const u8);
        assert_eq!(value, 7);
    }
}
