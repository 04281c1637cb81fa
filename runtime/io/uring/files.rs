//! The ring's table of registered files (U12 in runtime/io/uring/mod.rs): each stream in the
//! completion form takes an index in it while one is free, and its entries name the index
//! (`IOSQE_FIXED_FILE`) instead of its descriptor, so the kernel neither looks the descriptor
//! up nor takes a reference on the file per submission (`fget`/`fput`, about 2.5 % of a
//! 500-connection echo run: docs/benchmarks-net.md, "Registered files").
//!
//! The table is filled and emptied by `IORING_OP_FILES_UPDATE` entries queued with the
//! others (U12: an install ahead of the entries that name its index, a removal behind the
//! cancellations of a dropped stream), so a stream costs no system call of its own; each
//! update's completion is tagged [`FILES_BIT`] and says whether the kernel took it. Only
//! the registration of the table is a system call (`io_uring_register`, once per loop).
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

use io_uring::{opcode, squeue, Submitter};

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
///
/// # Errors
/// `InvalidInput` if [`FILES_ENV_VAR`] is set to something other than a number of indices,
/// `0` or `off` (the message names the variable and its value), as a bad `AIOLOOP_IO_DRIVER`
/// fails the loop's build.
pub(crate) fn wanted_size() -> std::io::Result<u32> {
    let size = match std::env::var(FILES_ENV_VAR) {
        Ok(v) => parse_size(&v)?,
        Err(_) => DEFAULT_SIZE,
    };
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` through the pointer, valid for the call.
    Ok(
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            size.min(limit.rlim_cur.min(u32::MAX as libc::rlim_t) as u32)
        } else {
            size
        },
    )
}

/// [`FILES_ENV_VAR`]'s value as a table size: a number of indices, or `0` or `off` (no table);
/// an empty value is the default.
fn parse_size(value: &str) -> std::io::Result<u32> {
    match value.trim() {
        "" => Ok(DEFAULT_SIZE),
        "0" | "off" => Ok(0),
        v => v.parse().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "aioloop: {FILES_ENV_VAR}={value:?} is not a file table size \
                     (expected a number of indices, or 0 or off for none)"
                ),
            )
        }),
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

/// `user_data` bit of a table update's completion (`FILES_BIT | index`, and
/// [`REMOVAL_BIT`] for a removal): bit 31 without bit 63, which no poll token (bit 31 clear:
/// keys stay below 2^31), no receive (bit 63) and no send (both) has (runtime/io/uring/ops.rs).
pub(crate) const FILES_BIT: u64 = 1 << 31;
/// `user_data` bit of a removal's completion (with [`FILES_BIT`]).
const REMOVAL_BIT: u64 = 1 << 32;

/// The descriptor a removal puts in an index: none. The kernel reads it during the
/// submission that issues the removal (U1); a `static`, so it outlives every entry.
static EMPTY: RawFd = -1;

/// Where one index of a registered table is (U12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Free: handed out by [`Indices::take`] only.
    Free,
    /// Taken by the stream `token`; its install is queued or in the kernel, its completion
    /// not seen yet.
    Installing { token: u64 },
    /// The install completed: the index holds the stream's file.
    Installed,
    /// An entry of the stream found the index empty before the install's completion came
    /// (the install failed): the stream went back to its descriptor; the index is free once
    /// that completion came.
    Refused,
    /// The stream was dropped and its removal queued or in the kernel (`in_flight`), retried
    /// once after a refusal; the index is free once the removal completed and the stream's
    /// slot was freed (`released`). `installing`: the install's completion not seen yet.
    Removing {
        token: u64,
        installing: bool,
        in_flight: bool,
        retried: bool,
        released: bool,
    },
    /// A file the kernel would not take out twice: the index is never handed out again (its
    /// file closes with the ring).
    Leaked,
}

/// What a table update's completion asks of the reactor ([`FileTable::complete`]).
#[derive(Debug)]
pub(crate) enum Update {
    /// Nothing.
    Done,
    /// The stream `token`'s install failed: the index is empty, so the stream's entries that
    /// named it fail (`EBADF`) without acting; they go again on `fd`, its descriptor, as do
    /// its later ones. The index is free already if the stream is live.
    InstallFailed { token: u64, fd: RawFd },
    /// Queue this entry (a removal tried again).
    Queue(squeue::Entry),
}

/// The ring's file table: not registered yet, refused, or registered with its indices.
#[derive(Debug)]
pub(crate) enum FileTable {
    /// To be registered at the first stream, this many indices (0: never).
    Unregistered(u32),
    /// No table: every entry names its descriptor.
    Off,
    /// Registered: the indices, where each is, and the descriptor each install reads.
    On {
        indices: Indices,
        phases: Box<[Phase]>,
        /// The descriptor the install of each index puts there; the kernel reads it during
        /// the submission that issues the install (U1). Written only by
        /// [`FileTable::insert`], while the index is free, so no queued install reads it
        /// then; a boxed slice, never moved or reallocated while the table lives.
        fds: Box<[RawFd]>,
    },
}

impl FileTable {
    /// A table of [`wanted_size`] indices, registered at its first use, on a ring whose
    /// kernel [releases files per index](kernel_releases_per_file); else none.
    ///
    /// # Errors
    /// As [`wanted_size`] (checked on every kernel, so a bad value never goes unnoticed).
    pub(crate) fn new(params: &io_uring::Parameters) -> std::io::Result<Self> {
        let size = wanted_size()?;
        Ok(if kernel_releases_per_file(params) {
            FileTable::Unregistered(size)
        } else {
            FileTable::Off
        })
    }

    /// Takes a free index for the stream `token` on `fd` (registering the table first if
    /// this is its first use: one system call per loop) and returns it with the entry that
    /// puts `fd` there (`IORING_OP_FILES_UPDATE`), to be queued before any entry that names
    /// the index (U12); `None` where there is no table or no free index: the stream's
    /// entries name its descriptor.
    pub(crate) fn insert(
        &mut self,
        submitter: &Submitter<'_>,
        fd: RawFd,
        token: u64,
    ) -> Option<(u32, squeue::Entry)> {
        if let FileTable::Unregistered(size) = *self {
            *self = match size {
                0 => FileTable::Off,
                size => match submitter.register_files_sparse(size) {
                    Ok(()) => FileTable::On {
                        indices: Indices::new(size),
                        phases: vec![Phase::Free; size as usize].into_boxed_slice(),
                        fds: vec![-1; size as usize].into_boxed_slice(),
                    },
                    Err(_) => FileTable::Off,
                },
            };
        }
        let FileTable::On { indices, phases, fds } = self else {
            return None;
        };
        let index = indices.take()?;
        let at = index as usize;
        debug_assert_eq!(phases[at], Phase::Free, "aioloop: index {index} taken twice");
        phases[at] = Phase::Installing { token };
        fds[at] = fd;
        #[cfg(test)]
        if SPOIL.with(|spoil| spoil.replace(false)) {
            /// No open descriptor: a `static`, read by the kernel during the submission.
            static CLOSED: RawFd = 999_999;
            return Some((
                index,
                opcode::FilesUpdate::new(&CLOSED, 1)
                    .offset(index as i32)
                    .build()
                    .user_data(FILES_BIT | u64::from(index)),
            ));
        }
        let entry = opcode::FilesUpdate::new(&fds[at], 1)
            .offset(index as i32)
            .build()
            .user_data(FILES_BIT | u64::from(index));
        Some((index, entry))
    }

    /// The entry that empties `index` (its stream is being dropped, U12): queued right behind
    /// the cancellations of the stream's requests, in the same submission, so the table's
    /// reference goes and the descriptor's close is the file's last one once the kernel's
    /// requests on it completed (each holds the file it resolved); a request that would look
    /// the index up later finds it empty and fails (`EBADF`). The index stays taken:
    /// [`FileTable::release`] frees it once none of the stream's requests is in the kernel
    /// and the removal completed.
    pub(crate) fn remove(&mut self, index: u32) -> squeue::Entry {
        if let FileTable::On { phases, .. } = self {
            let at = index as usize;
            let (token, installing) = match phases[at] {
                Phase::Installing { token } => (token, true),
                _ => (0, false),
            };
            phases[at] = Phase::Removing {
                token,
                installing,
                in_flight: true,
                retried: false,
                released: false,
            };
        }
        removal(index)
    }

    /// The stream that held `index` settled (U12: its requests have all completed): the
    /// index is free once its removal completed too.
    pub(crate) fn release(&mut self, index: u32) {
        if let FileTable::On { indices, phases, .. } = self {
            let at = index as usize;
            if let Phase::Removing {
                in_flight,
                ref mut released,
                ..
            } = phases[at]
            {
                *released = true;
                if !in_flight {
                    phases[at] = Phase::Free;
                    indices.release(index);
                }
            }
        }
    }

    /// True if the install of `index` has not completed yet: an entry that found the index
    /// empty meanwhile tells of its failure before its completion does.
    pub(crate) fn unconfirmed(&self, index: u32) -> bool {
        match self {
            FileTable::On { phases, .. } => matches!(
                phases[index as usize],
                Phase::Installing { .. } | Phase::Removing { installing: true, .. }
            ),
            _ => false,
        }
    }

    /// An entry of the live stream on `index` found it empty (`EBADF`) before the install's
    /// completion came: the install failed; the stream goes back to the descriptor returned
    /// here, and the index is freed by that completion.
    pub(crate) fn refused(&mut self, index: u32) -> RawFd {
        let FileTable::On { phases, fds, .. } = self else {
            unreachable!("aioloop: an index without a table (U12)")
        };
        phases[index as usize] = Phase::Refused;
        fds[index as usize]
    }

    /// Handles the completion of a table update (its `user_data`, with [`FILES_BIT`] set,
    /// and its result).
    pub(crate) fn complete(&mut self, data: u64, result: i32) -> Update {
        let FileTable::On { indices, phases, fds } = self else {
            return Update::Done;
        };
        let index = (data & 0xffff_ffff & !FILES_BIT) as u32;
        let at = index as usize;
        let ok = result == 1;
        if data & REMOVAL_BIT == 0 {
            return match phases[at] {
                Phase::Installing { .. } if ok => {
                    phases[at] = Phase::Installed;
                    Update::Done
                }
                Phase::Installing { token } => {
                    // Nothing was put there: the index is free as it was; the reactor moves
                    // the stream to its descriptor before any entry names the index again.
                    phases[at] = Phase::Free;
                    indices.release(index);
                    Update::InstallFailed { token, fd: fds[at] }
                }
                Phase::Refused if ok => {
                    // Not seen (an entry found the index empty, so the install had failed);
                    // were it so, the file must not stay in the table: taken out.
                    phases[at] = Phase::Removing {
                        token: 0,
                        installing: false,
                        in_flight: true,
                        retried: false,
                        released: true,
                    };
                    Update::Queue(removal(index))
                }
                Phase::Refused => {
                    phases[at] = Phase::Free;
                    indices.release(index);
                    Update::Done
                }
                Phase::Removing {
                    token,
                    installing: true,
                    in_flight,
                    retried,
                    released,
                } => {
                    phases[at] = Phase::Removing {
                        token,
                        installing: false,
                        in_flight,
                        retried,
                        released,
                    };
                    if ok {
                        Update::Done
                    } else {
                        Update::InstallFailed { token, fd: fds[at] }
                    }
                }
                _ => Update::Done,
            };
        }
        let Phase::Removing {
            token,
            installing,
            retried,
            released,
            ..
        } = phases[at]
        else {
            debug_assert!(false, "aioloop: a removal of index {index} not being removed");
            return Update::Done;
        };
        if ok {
            if released {
                phases[at] = Phase::Free;
                indices.release(index);
            } else {
                phases[at] = Phase::Removing {
                    token,
                    installing,
                    in_flight: false,
                    retried,
                    released,
                };
            }
            Update::Done
        } else if !retried {
            // Refused (`ENOMEM`: the removal's bookkeeping): the file stays in the table, and
            // its socket open, until a removal goes through: tried once more.
            phases[at] = Phase::Removing {
                token,
                installing,
                in_flight: true,
                retried: true,
                released,
            };
            Update::Queue(removal(index))
        } else {
            phases[at] = Phase::Leaked;
            Update::Done
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Set by [`spoil_next_install`]: the next install of this thread puts a descriptor that
    /// is not open (the kernel refuses it with `EBADF`).
    static SPOIL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Makes the next install of this thread fail (the kernel refuses it with `EBADF`, leaving
/// the index empty, as a refusal for want of memory would): for the tests of the fallback.
#[cfg(test)]
pub(crate) fn spoil_next_install() {
    SPOIL.with(|spoil| spoil.set(true));
}

/// The entry that empties `index`, its completion tagged `FILES_BIT | REMOVAL_BIT | index`.
fn removal(index: u32) -> squeue::Entry {
    opcode::FilesUpdate::new(&EMPTY, 1)
        .offset(index as i32)
        .build()
        .user_data(FILES_BIT | REMOVAL_BIT | u64::from(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_size_variable_takes_a_number_or_off_and_names_itself_when_bad() {
        assert_eq!(parse_size("3").unwrap(), 3);
        assert_eq!(parse_size(" 0 ").unwrap(), 0);
        assert_eq!(parse_size("off").unwrap(), 0);
        assert_eq!(parse_size("").unwrap(), DEFAULT_SIZE);
        for bad in ["abc", "-1", "3k", "99999999999"] {
            let err = parse_size(bad).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
            let msg = err.to_string();
            assert!(msg.contains(FILES_ENV_VAR) && msg.contains(bad), "{msg}");
        }
    }

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

    /// Submits `entry` and returns its completion's (`user_data`, result).
    fn run(ring: &mut io_uring::IoUring, entry: squeue::Entry) -> (u64, i32) {
        // SAFETY: U1: the entry is a table update, which reads one descriptor of the table's
        // `fds` or the static `EMPTY`, both alive past the submission below.
        unsafe { ring.submission().push(&entry) }.unwrap();
        ring.submit_and_wait(1).unwrap();
        let cqe = ring.completion().next().unwrap();
        (cqe.user_data(), cqe.result())
    }

    /// The kernel's side, through entries: a table of one index takes one descriptor (its
    /// install completes with 1), refuses the next (the stream then uses its descriptor), and
    /// takes another only once the first was removed (the removal completed) and released; a
    /// failed install frees its index and names the stream's descriptor; a table of size 0 is
    /// never registered.
    #[test]
    fn a_full_table_falls_back_and_a_released_index_is_taken_again() {
        let Ok((mut ring, _)) = super::super::probe::probe(4, true) else {
            return eprintln!("io_uring unavailable here: skipped");
        };
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        use std::os::fd::AsRawFd;
        let mut table = FileTable::Unregistered(1);
        let Some((first, install)) = table.insert(&ring.submitter(), a.as_raw_fd(), 7) else {
            return eprintln!("no sparse file table on this kernel: skipped");
        };
        assert_eq!(first, 0);
        let (data, result) = run(&mut ring, install);
        assert_eq!((data, result), (FILES_BIT, 1), "installed");
        assert!(matches!(table.complete(data, result), Update::Done));
        assert!(!table.unconfirmed(first));
        assert!(
            table.insert(&ring.submitter(), b.as_raw_fd(), 8).is_none(),
            "full"
        );
        let removal = table.remove(first);
        table.release(first);
        assert!(
            table.insert(&ring.submitter(), b.as_raw_fd(), 8).is_none(),
            "released, its removal not completed"
        );
        let (data, result) = run(&mut ring, removal);
        assert_eq!(result, 1, "removed");
        assert!(matches!(table.complete(data, result), Update::Done));
        let (again, install) = table.insert(&ring.submitter(), b.as_raw_fd(), 8).unwrap();
        assert_eq!(again, 0);
        let (data, result) = run(&mut ring, install);
        assert_eq!(result, 1);
        table.complete(data, result);
        let (data, result) = run(&mut ring, table.remove(again));
        assert_eq!((data, result), (FILES_BIT | REMOVAL_BIT, 1));
        assert!(matches!(table.complete(data, result), Update::Done));
        table.release(again);
        // The kernel refuses a descriptor that is not open (`EBADF`): the stream falls back.
        const CLOSED: RawFd = 999_999;
        let (index, install) = table.insert(&ring.submitter(), CLOSED, 9).unwrap();
        let (data, result) = run(&mut ring, install);
        assert_eq!(result, -libc::EBADF, "an install of no open descriptor fails");
        match table.complete(data, result) {
            Update::InstallFailed { token: 9, fd: CLOSED } => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(
            table.insert(&ring.submitter(), a.as_raw_fd(), 10).map(|(i, _)| i),
            Some(index)
        );

        let mut off = FileTable::Unregistered(0);
        assert!(off.insert(&ring.submitter(), a.as_raw_fd(), 1).is_none());
        assert!(matches!(off, FileTable::Off));
    }
}
