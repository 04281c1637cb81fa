//! The ring's table of registered files (U12 in runtime/io/uring/mod.rs): each stream in the
//! completion form takes an index in it while one is free, and its entries name the index
//! (`IOSQE_FIXED_FILE`) instead of its descriptor, so the kernel neither looks the descriptor
//! up nor takes a reference on the file per submission (`fget`/`fput`, about 2.5 % of a
//! 500-connection echo run: docs/benchmarks-net.md, "Registered files").
//!
//! The table is registered sparse (empty) at the first stream, [`DEFAULT_SIZE`] indices unless
//! [`FILES_ENV_VAR`] says otherwise, and never more than the process may open descriptors
//! (`RLIMIT_NOFILE`: the kernel refuses a larger table). It is not grown: a registered table
//! can only be replaced once nothing in the kernel uses it, which a loop with streams never is;
//! a stream that finds it full (or a kernel that refused it) uses its descriptor, as before, so
//! the table is an optimisation and never a new way to fail.
//!
//! Only on kernels that release a removed file once *its* requests completed (Linux 6.13, which
//! counts references per index; [`kernel_releases_per_file`]). Sparse tables came with 5.19,
//! but until 6.12 a removal waited, in order, for every request on any registered file that
//! was in the kernel when it was made: one long-lived multishot poll of another stream would
//! keep every dropped stream's socket open (no end of stream for its peer) until that stream
//! went too.

use std::os::fd::RawFd;

use io_uring::Submitter;

/// The environment variable that sets the table's size (a number of indices; `0` or `off`:
/// no table, every entry names its descriptor). For the tests of a full table, and for
/// measuring with and without it.
pub(crate) const FILES_ENV_VAR: &str = "AIOLOOP_IO_URING_FILES";

/// The table's size unless [`FILES_ENV_VAR`] sets it: 4,096 indices. A sparse table costs
/// the kernel 8 bytes an index (a pointer to its node), 32 KiB here; at the usual
/// soft limit of 1,024 descriptors it is that limit, so every stream fits. A server holding
/// more streams at once runs the rest on their descriptors, which costs each of their
/// submissions the lookup the table saves (a few percent of the kernel's time), nothing more.
pub(crate) const DEFAULT_SIZE: u32 = 4096;

/// The size the table is asked for: [`FILES_ENV_VAR`] or [`DEFAULT_SIZE`], at most the soft
/// `RLIMIT_NOFILE` (0: no table).
pub(crate) fn wanted_size() -> u32 {
    let size = match std::env::var(FILES_ENV_VAR) {
        Ok(v) if matches!(v.trim(), "0" | "off") => 0,
        Ok(v) => v.trim().parse().unwrap_or(DEFAULT_SIZE),
        Err(_) => DEFAULT_SIZE,
    };
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` through the pointer, valid for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        size.min(limit.rlim_cur.min(u32::MAX as libc::rlim_t) as u32)
    } else {
        size
    }
}

/// The indices of a table of `size`: each is either free or taken, and a taken one becomes
/// free only by [`Indices::release`] (U12: once nothing in the kernel may use it).
#[derive(Debug)]
pub(crate) struct Indices {
    size: u32,
    /// Indices below it have been handed out at least once.
    next: u32,
    /// Released indices, reused last-released first.
    free: Vec<u32>,
}

impl Indices {
    /// A table of `size` indices, all free.
    pub(crate) fn new(size: u32) -> Self {
        Indices {
            size,
            next: 0,
            free: Vec::new(),
        }
    }

    /// A free index, now taken; `None` if every index is taken.
    pub(crate) fn take(&mut self) -> Option<u32> {
        if let Some(index) = self.free.pop() {
            return Some(index);
        }
        if self.next == self.size {
            return None;
        }
        self.next += 1;
        Some(self.next - 1)
    }

    /// Frees `index`, taken before.
    pub(crate) fn release(&mut self, index: u32) {
        debug_assert!(
            index < self.next && !self.free.contains(&index),
            "aioloop: index {index} released twice"
        );
        self.free.push(index);
    }
}

/// True if the ring's kernel releases a file taken out of the table as soon as the requests
/// that resolved it completed (Linux 6.13). No feature flag says so; the first one the
/// `io-uring` crate names after it, `IORING_FEAT_NO_IOWAIT` (6.15), stands for it: 6.13 and
/// 6.14 go without the table.
pub(crate) fn kernel_releases_per_file(params: &io_uring::Parameters) -> bool {
    params.is_feature_no_iowait()
}

/// The ring's file table: not registered yet, refused, or registered with its indices.
#[derive(Debug)]
pub(crate) enum FileTable {
    /// To be registered at the first stream, this many indices (0: never).
    Unregistered(u32),
    /// No table: every entry names its descriptor.
    Off,
    /// Registered; `unremoved`: the taken indices whose file [`FileTable::remove`] could not
    /// take out.
    On { indices: Indices, unremoved: Vec<u32> },
}

impl FileTable {
    /// A table of [`wanted_size`] indices, registered at its first use, on a ring whose
    /// kernel [releases files per index](kernel_releases_per_file); else none.
    pub(crate) fn new(params: &io_uring::Parameters) -> Self {
        if kernel_releases_per_file(params) {
            FileTable::Unregistered(wanted_size())
        } else {
            FileTable::Off
        }
    }

    /// Puts `fd` in a free index of the table (registering the table first if this is its
    /// first use) and returns the index; `None` where there is no table or no free index, or
    /// the kernel refuses: the stream's entries name its descriptor.
    pub(crate) fn insert(&mut self, submitter: &Submitter<'_>, fd: RawFd) -> Option<u32> {
        if let FileTable::Unregistered(size) = *self {
            *self = match size {
                0 => FileTable::Off,
                size => match submitter.register_files_sparse(size) {
                    Ok(()) => FileTable::On {
                        indices: Indices::new(size),
                        unremoved: Vec::new(),
                    },
                    Err(_) => FileTable::Off,
                },
            };
        }
        let FileTable::On { indices, .. } = self else {
            return None;
        };
        let index = indices.take()?;
        match submitter.register_files_update(index, &[fd]) {
            Ok(1) => Some(index),
            _ => {
                // Nothing was put there: the index is free as it was.
                indices.release(index);
                None
            }
        }
    }

    /// Takes the file out of `index` (its stream is being dropped, U12): the table's reference
    /// goes, so the descriptor's close is the file's last one once the kernel's requests on
    /// it completed (each holds the file it resolved); a request that would look the index up
    /// later finds it empty and fails (`EBADF`). The index stays taken: [`FileTable::release`]
    /// frees it once none of the stream's requests is in the kernel.
    pub(crate) fn remove(&mut self, submitter: &Submitter<'_>, index: u32) {
        if let FileTable::On { unremoved, .. } = self {
            // A refusal (`ENOMEM` before 6.13: the removal's bookkeeping) leaves the file in
            // the table; `release` tries again.
            if submitter.register_files_update(index, &[-1]).is_err() {
                unremoved.push(index);
            }
        }
    }

    /// Frees `index` (U12: it was removed and its stream's requests have all completed). An
    /// index whose file could not be taken out is tried once more, and never handed out
    /// again if that fails too (its file then closes with the ring).
    pub(crate) fn release(&mut self, submitter: &Submitter<'_>, index: u32) {
        if let FileTable::On { indices, unremoved } = self {
            if let Some(at) = unremoved.iter().position(|&i| i == index) {
                unremoved.swap_remove(at);
                if submitter.register_files_update(index, &[-1]).is_err() {
                    return;
                }
            }
            indices.release(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_is_reused_only_after_its_release() {
        let mut indices = Indices::new(3);
        let (a, b, c) = (indices.take(), indices.take(), indices.take());
        assert_eq!((a, b, c), (Some(0), Some(1), Some(2)));
        assert_eq!(indices.take(), None, "full: the stream uses its descriptor");
        indices.release(1);
        assert_eq!(indices.take(), Some(1), "the released index, and only it");
        assert_eq!(indices.take(), None);
        indices.release(0);
        indices.release(2);
        let mut again = [indices.take().unwrap(), indices.take().unwrap()];
        again.sort_unstable();
        assert_eq!(again, [0, 2]);
        assert_eq!(indices.take(), None);
    }

    #[test]
    fn an_empty_table_hands_out_nothing() {
        assert_eq!(Indices::new(0).take(), None);
    }

    /// The kernel's side: a table of one index takes one descriptor, refuses the next (the
    /// stream then uses its descriptor), and takes another once the first was removed and
    /// released; a table of size 0 is never registered.
    #[test]
    fn a_full_table_falls_back_and_a_released_index_is_taken_again() {
        let Ok((ring, _)) = super::super::probe::probe(4, true) else {
            return eprintln!("io_uring unavailable here: skipped");
        };
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        use std::os::fd::AsRawFd;
        let mut table = FileTable::Unregistered(1);
        let submitter = ring.submitter();
        let Some(first) = table.insert(&submitter, a.as_raw_fd()) else {
            return eprintln!("no sparse file table on this kernel: skipped");
        };
        assert_eq!(first, 0);
        assert_eq!(table.insert(&submitter, b.as_raw_fd()), None, "full");
        table.remove(&submitter, first);
        assert_eq!(
            table.insert(&submitter, b.as_raw_fd()),
            None,
            "removed, not released"
        );
        table.release(&submitter, first);
        assert_eq!(table.insert(&submitter, b.as_raw_fd()), Some(0));

        let mut off = FileTable::Unregistered(0);
        assert_eq!(off.insert(&submitter, a.as_raw_fd()), None);
        assert!(matches!(off, FileTable::Off));
    }
}
