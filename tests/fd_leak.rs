//! File descriptors: creating and dropping 1000 loops leaves the process's fd count unchanged.
//! One test in its own binary, so no other test opens descriptors meanwhile.

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

#[test]
#[cfg(target_os = "linux")]
fn a_thousand_loops_leave_no_descriptor_behind() {
    drop(aioloop::EventLoop::new().unwrap());
    let before = open_fds();
    for i in 0..1000 {
        let lp = aioloop::EventLoop::new().unwrap();
        lp.run_until_complete(async move {
            aioloop::sleep(std::time::Duration::from_micros(10)).await;
            drop(aioloop::spawn(std::future::pending::<()>()));
            i
        });
    }
    assert_eq!(open_fds(), before);
}
