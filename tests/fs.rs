//! Issue 18 item 5: `aioloop::fs` on the blocking pool, and `File` with tokio's `fs::File`
//! semantics (write-behind, read-ahead, seek after a pending write), through the public API.

use std::io::{ErrorKind, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};

use aioloop::fs::{self, File, OpenOptions};
use futures_core::Stream;

/// A fresh directory under the system's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("aioloop-fs-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn whole_file_and_path_operations() {
    let dir = TempDir::new("ops");
    aioloop::run(async {
        let file = dir.join("a.txt");
        fs::write(&file, "hello").await.unwrap();
        assert_eq!(fs::read(&file).await.unwrap(), b"hello");
        assert_eq!(fs::read_to_string(&file).await.unwrap(), "hello");
        let meta = fs::metadata(&file).await.unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.len(), 5);

        assert_eq!(fs::copy(&file, dir.join("b.txt")).await.unwrap(), 5);
        fs::rename(dir.join("b.txt"), dir.join("c.txt")).await.unwrap();
        assert!(!fs::try_exists(dir.join("b.txt")).await.unwrap());
        assert_eq!(fs::read_to_string(dir.join("c.txt")).await.unwrap(), "hello");
        fs::remove_file(dir.join("c.txt")).await.unwrap();

        fs::create_dir_all(dir.join("x/y/z")).await.unwrap();
        fs::create_dir_all(dir.join("x/y/z")).await.unwrap(); // fine if it exists
        assert!(fs::metadata(dir.join("x/y/z")).await.unwrap().is_dir());
        fs::remove_dir(dir.join("x/y/z")).await.unwrap();
        let err = fs::remove_dir(dir.join("x")).await.unwrap_err();
        assert!(err.kind() != ErrorKind::NotFound, "not empty: {err}");
        fs::write(dir.join("x/y/f"), [0u8; 10]).await.unwrap();
        fs::remove_dir_all(dir.join("x")).await.unwrap();
        assert!(!fs::try_exists(dir.join("x")).await.unwrap());
        let canonical = fs::canonicalize(dir.path()).await.unwrap();
        assert!(canonical.is_absolute());
    });
}

#[test]
fn errors_come_back_as_io_errors() {
    let dir = TempDir::new("errors");
    aioloop::run(async {
        let missing = dir.join("missing");
        assert_eq!(fs::read(&missing).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(
            fs::metadata(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            fs::remove_file(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            File::open(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        fs::write(dir.join("bin"), [0xff, 0xfe]).await.unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("bin")).await.unwrap_err().kind(),
            ErrorKind::InvalidData
        );
        assert_eq!(
            File::create_new(dir.join("bin")).await.unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
    });
}

#[test]
fn read_dir_lists_every_entry_across_chunks() {
    let dir = TempDir::new("read-dir");
    for i in 0..100 {
        std::fs::write(dir.join(&format!("f{i:03}")), "").unwrap();
    }
    std::fs::create_dir(dir.join("sub")).unwrap();
    aioloop::run(async {
        let mut entries = fs::read_dir(dir.path()).await.unwrap();
        let mut names = Vec::new();
        let mut dirs = 0;
        while let Some(entry) = entries.next_entry().await.unwrap() {
            assert_eq!(entry.path(), dir.join(entry.file_name().to_str().unwrap()));
            if entry.file_type().await.unwrap().is_dir() {
                dirs += 1;
                assert!(entry.metadata().await.unwrap().is_dir());
            }
            names.push(entry.file_name().into_string().unwrap());
        }
        assert!(entries.next_entry().await.unwrap().is_none(), "stays ended");
        names.sort();
        assert_eq!(names.len(), 101);
        assert_eq!(names[0], "f000");
        assert_eq!(dirs, 1);

        // The same as a Stream.
        let mut stream = fs::read_dir(dir.path()).await.unwrap();
        let mut count = 0;
        while let Some(entry) = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
            entry.unwrap();
            count += 1;
        }
        assert_eq!(count, 101);

        let empty = dir.join("sub");
        assert!(fs::read_dir(&empty)
            .await
            .unwrap()
            .next_entry()
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            fs::read_dir(dir.join("none")).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    });
}

#[test]
fn file_write_behind_then_read_back_in_small_reads() {
    let dir = TempDir::new("file-rw");
    let path = dir.join("data");
    aioloop::run(async {
        let mut file = File::create(&path).await.unwrap();
        let expected: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        for chunk in expected.chunks(1000) {
            file.write_all(chunk).await.unwrap();
        }
        file.flush().await.unwrap();
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), expected);

        let mut file = File::open(&path).await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0; 7];
        loop {
            let n = file.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, expected);
    });
}

// tokio: fs_file.rs `read_seek_write`-style: a write after a partial read lands where the
// reader is, not where the read-ahead left the OS cursor.
#[test]
fn write_after_a_partial_read_lands_at_the_readers_position() {
    let dir = TempDir::new("file-read-write");
    let path = dir.join("data");
    std::fs::write(&path, "abcdef").unwrap();
    aioloop::run(async {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await
            .unwrap();
        let mut two = [0; 2];
        file.read_exact(&mut two).await.unwrap();
        assert_eq!(&two, b"ab");
        file.write_all(b"XY").await.unwrap();
        file.flush().await.unwrap();
        let mut rest = Vec::new();
        file.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"ef");
    });
    assert_eq!(std::fs::read(&path).unwrap(), b"abXYef");
}

#[test]
fn seek_after_a_pending_write_sees_the_write() {
    let dir = TempDir::new("file-seek");
    let path = dir.join("data");
    aioloop::run(async {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await
            .unwrap();
        file.write_all(b"hello world").await.unwrap();
        // No flush: the seek waits for the write behind.
        assert_eq!(file.seek(SeekFrom::Start(6)).await.unwrap(), 6);
        let mut word = Vec::new();
        file.read_to_end(&mut word).await.unwrap();
        assert_eq!(word, b"world");
        // A relative seek counts from the reader's position, not the read-ahead's.
        file.seek(SeekFrom::Start(0)).await.unwrap();
        let mut one = [0; 1];
        file.read_exact(&mut one).await.unwrap();
        assert_eq!(file.seek(SeekFrom::Current(0)).await.unwrap(), 1);
        assert_eq!(file.seek(SeekFrom::End(-5)).await.unwrap(), 6);
    });
}

#[test]
fn a_failed_write_behind_is_reported_by_the_next_flush() {
    let dir = TempDir::new("file-error");
    let path = dir.join("read-only");
    std::fs::write(&path, "x").unwrap();
    aioloop::run(async {
        let mut file = File::open(&path).await.unwrap(); // opened for reading only
        assert_eq!(file.write(b"data").await.unwrap(), 4, "taken into the buffer");
        let err = file.flush().await.unwrap_err();
        assert!(err.raw_os_error().is_some(), "the OS error: {err}");
        file.flush().await.unwrap(); // reported once
                                     // Reported by the next write when no flush came between.
        file.write(b"data").await.unwrap();
        file.seek(SeekFrom::Start(0)).await.unwrap_err();
    });
}

#[test]
fn small_max_buf_size_splits_writes_and_reads() {
    let dir = TempDir::new("file-max-buf");
    let path = dir.join("data");
    aioloop::run(async {
        let mut file = File::create(&path).await.unwrap();
        file.set_max_buf_size(4);
        assert_eq!(file.max_buf_size(), 4);
        assert_eq!(file.write(b"0123456789").await.unwrap(), 4);
        file.write_all(b"456789").await.unwrap();
        file.sync_all().await.unwrap();
        let mut file = File::open(&path).await.unwrap();
        file.set_max_buf_size(3);
        let mut buf = [0; 10];
        assert_eq!(file.read(&mut buf).await.unwrap(), 3);
    });
    assert_eq!(std::fs::read(&path).unwrap(), b"0123456789");
}

#[test]
fn append_set_len_metadata_clone_and_into_std() {
    let dir = TempDir::new("file-misc");
    let path = dir.join("data");
    aioloop::run(async {
        fs::write(&path, "one\n").await.unwrap();
        let mut log = OpenOptions::new().append(true).open(&path).await.unwrap();
        log.write_all(b"two\n").await.unwrap();
        log.sync_data().await.unwrap();
        assert_eq!(log.metadata().await.unwrap().len(), 8);
        log.set_len(3).await.unwrap();
        assert_eq!(fs::read(&path).await.unwrap(), b"one");

        let mut file = File::open(&path).await.unwrap();
        let mut first = [0; 1];
        file.read_exact(&mut first).await.unwrap();
        let clone = file.try_clone().await.unwrap();
        assert_eq!(clone.metadata().await.unwrap().len(), 3);
        let mut std = file.into_std().await.unwrap();
        use std::io::Read;
        let mut rest = String::new();
        std.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "ne", "into_std keeps the reader's position");
    });
}

#[test]
fn futures_io_traits() {
    use futures_util::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
    let dir = TempDir::new("file-futures-io");
    let path = dir.join("data");
    aioloop::run(async {
        let mut file = File::create(&path).await.unwrap();
        AsyncWriteExt::write_all(&mut file, b"through futures-io")
            .await
            .unwrap();
        AsyncWriteExt::close(&mut file).await.unwrap();
        let mut file = File::open(&path).await.unwrap();
        AsyncSeekExt::seek(&mut file, SeekFrom::Start(8)).await.unwrap();
        let mut rest = String::new();
        AsyncReadExt::read_to_string(&mut file, &mut rest).await.unwrap();
        assert_eq!(rest, "futures-io");
        // A copy between two files.
        let mut from = File::open(&path).await.unwrap();
        let mut to = File::create(dir.join("copy")).await.unwrap();
        assert_eq!(futures_util::io::copy(&mut from, &mut to).await.unwrap(), 18);
        AsyncWriteExt::flush(&mut to).await.unwrap();
    });
    assert_eq!(std::fs::read(dir.join("copy")).unwrap(), b"through futures-io");
}

#[cfg(feature = "tokio-io")]
#[test]
fn tokio_io_traits() {
    use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
    let dir = TempDir::new("file-tokio-io");
    let path = dir.join("data");
    aioloop::run(async {
        let mut file = File::create(&path).await.unwrap();
        AsyncWriteExt::write_all(&mut file, b"through tokio")
            .await
            .unwrap();
        AsyncWriteExt::shutdown(&mut file).await.unwrap();
        let mut file = File::open(&path).await.unwrap();
        AsyncSeekExt::seek(&mut file, SeekFrom::Start(8)).await.unwrap();
        let mut rest = String::new();
        AsyncReadExt::read_to_string(&mut file, &mut rest).await.unwrap();
        assert_eq!(rest, "tokio");
        // Misuse: a second start_seek before poll_complete is a clear error.
        let mut file = Pin::new(&mut file);
        tokio::io::AsyncSeek::start_seek(file.as_mut(), SeekFrom::Start(0)).unwrap();
        let err = tokio::io::AsyncSeek::start_seek(file.as_mut(), SeekFrom::Start(1)).unwrap_err();
        assert!(
            err.to_string().contains("call poll_complete before start_seek"),
            "{err}"
        );
        let pos = std::future::poll_fn(|cx| tokio::io::AsyncSeek::poll_complete(file.as_mut(), cx)).await;
        assert_eq!(pos.unwrap(), 0);
    });
}

#[test]
fn operations_run_off_the_loop_thread() {
    let dir = TempDir::new("off-loop");
    let fifo = dir.join("fifo");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    aioloop::run(async {
        // Opening a FIFO for reading blocks until a writer comes: on the pool, while the loop
        // runs the writer.
        let reader = aioloop::spawn({
            let fifo = fifo.clone();
            async move { fs::read(&fifo).await.unwrap() }
        });
        aioloop::sleep(std::time::Duration::from_millis(20)).await;
        fs::write(&fifo, "through a fifo").await.unwrap();
        assert_eq!(reader.await.unwrap(), b"through a fifo");
    });
}

#[test]
fn a_file_dropped_with_a_write_behind_still_writes_it() {
    let dir = TempDir::new("file-drop");
    let path = dir.join("data");
    aioloop::run(async {
        let mut file = File::create(&path).await.unwrap();
        file.write_all(b"written behind").await.unwrap();
        drop(file); // no flush: the pool finishes the write
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while fs::read(&path).await.unwrap() != b"written behind" {
            assert!(std::time::Instant::now() < deadline, "the write behind was lost");
            aioloop::sleep(std::time::Duration::from_millis(1)).await;
        }
    });
}

/// A write behind still queued on the pool when the loop closes (its one thread is busy) is
/// run, and the close waits for it: the bytes are in the file as soon as the loop is gone, as
/// tokio's runtime (mandatory blocking tasks) and asyncio's `run` (it shuts the executor down
/// waiting) guarantee. Before, the close dropped the queued write and the bytes were lost.
#[test]
fn a_write_behind_queued_at_loop_close_is_not_lost() {
    let dir = TempDir::new("file-close");
    let path = dir.join("data");
    let event_loop = aioloop::Builder::new().blocking_threads(1).build().unwrap();
    event_loop.run_until_complete(async {
        let mut file = File::create(&path).await.unwrap();
        // Occupy the pool's only thread, so the write below waits in its queue.
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let _busy = aioloop::to_thread(move || {
            started_tx.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(200));
        });
        while started_rx.try_recv().is_err() {
            aioloop::sleep(std::time::Duration::from_millis(1)).await;
        }
        file.write_all(b"queued at close").await.unwrap();
        drop(file);
    });
    drop(event_loop); // closes the loop
    assert_eq!(std::fs::read(&path).unwrap(), b"queued at close");
}
