//! Issue 20, registered files (runtime/io/uring/files.rs): a value of `AIOLOOP_IO_URING_FILES`
//! that is no table size (a number of indices, `0` or `off`) fails the io_uring loop's build
//! with a message naming the variable and the value, as a bad `AIOLOOP_IO_DRIVER` does,
//! instead of being taken as the default. (Its own test binary: the variable is process-wide.)

use aioloop::{EventLoop, IoDriverKind};

fn build(kind: IoDriverKind) -> std::io::Result<EventLoop> {
    EventLoop::builder().io_driver(kind).build()
}

#[test]
fn issue20_a_bad_file_table_size_fails_the_loop_build_and_names_the_variable() {
    std::env::remove_var("AIOLOOP_IO_URING_FILES");
    if build(IoDriverKind::IoUring).is_err() {
        return eprintln!("io_uring unavailable here: skipped");
    }
    std::env::set_var("AIOLOOP_IO_URING_FILES", "abc");
    for kind in [IoDriverKind::IoUring, IoDriverKind::Auto] {
        let err = build(kind).expect_err("the build fails");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{kind}: {err}");
        let msg = err.to_string();
        assert!(
            msg.contains("AIOLOOP_IO_URING_FILES") && msg.contains("abc"),
            "{kind}: {msg}"
        );
    }
    // The epoll driver has no file table: the variable is not its business.
    assert!(build(IoDriverKind::Epoll).is_ok());
    for good in ["3", "0", "off"] {
        std::env::set_var("AIOLOOP_IO_URING_FILES", good);
        assert!(build(IoDriverKind::IoUring).is_ok(), "{good}");
    }
}
