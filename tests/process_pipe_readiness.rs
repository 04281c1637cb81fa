//! Issue 15 item 5: a child's pipes go through the sockets' stream plumbing, so a short read
//! clears the read readiness as it does on a socket (architecture.md I2): the next read or
//! `readable` waits for the next edge instead of trying a syscall that would find nothing. A
//! read that fills its buffer keeps the readiness (more data may be queued). Each wait runs
//! under a generous `wait_for`, so a lost wake-up fails the test instead of hanging it.

mod support;

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use aioloop::wait_for;
use support::process::piped_cat;

const LIMIT: Duration = Duration::from_secs(10);

/// Whether `fut` is pending at its first poll. No loop iteration runs during the check, so the
/// answer reflects the reactor's readiness as the last operation left it.
async fn pending_now(fut: impl Future) -> bool {
    let mut fut = pin!(fut);
    poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_pending())).await
}

#[aioloop::test]
async fn issue_15_item_5_a_short_pipe_read_clears_the_readiness() {
    let mut child = piped_cat();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();

    stdin.write_all(b"hello").await.unwrap();
    wait_for(stdout.readable(), LIMIT).await.unwrap().unwrap();
    let mut buf = [0; 64];
    assert_eq!(wait_for(stdout.read(&mut buf), LIMIT).await.unwrap().unwrap(), 5);
    assert!(
        pending_now(stdout.readable()).await,
        "a short read drained the pipe: readable must wait for new data"
    );

    // The next arrival is a new edge: it wakes the reader.
    stdin.write_all(b"more").await.unwrap();
    wait_for(stdout.readable(), LIMIT).await.unwrap().unwrap();
    // A full read keeps the readiness: data may still be queued, and it is.
    let mut small = [0; 2];
    assert_eq!(
        wait_for(stdout.read(&mut small), LIMIT).await.unwrap().unwrap(),
        2
    );
    assert!(!pending_now(stdout.readable()).await);
    assert_eq!(wait_for(stdout.read(&mut buf), LIMIT).await.unwrap().unwrap(), 2);
    assert_eq!(&buf[..2], b"re");

    // EOF once the child exits is final: the closed state is never cleared.
    drop(stdin);
    assert_eq!(wait_for(stdout.read(&mut buf), LIMIT).await.unwrap().unwrap(), 0);
    assert!(child.wait().await.unwrap().success());
}
