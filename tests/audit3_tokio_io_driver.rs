//! Audit against tokio's tests/io_driver.rs and io_driver_drop.rs: the behaviour of each
//! upstream test, through aioloop's sockets and `EventLoop`, under the upstream test's name.
//!
//! Not ported: io_driver.rs `panics_when_io_disabled` (an aioloop loop always has its io
//! driver).

mod support;

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use aioloop::net::TcpListener;
use aioloop::EventLoop;

/// A listener made from a std one on `event_loop`.
fn listener_on(event_loop: &EventLoop) -> TcpListener {
    event_loop.run_until_complete(async {
        TcpListener::from_std(std::net::TcpListener::bind("127.0.0.1:0").unwrap()).unwrap()
    })
}

/// A waker that owns a future, as tokio's test task does (`ArcWake` around the future): the
/// reactor's copy of the waker is then the future's last owner, and releasing it drops the
/// future and the socket in it. Its wake does nothing.
struct Owner(std::cell::RefCell<Option<Pin<Box<dyn Future<Output = ()>>>>>);

fn owning_waker(owner: Rc<Owner>) -> Waker {
    unsafe fn clone(data: *const ()) -> RawWaker {
        // SAFETY: `data` came from `Rc::into_raw` and that count is still held.
        unsafe { Rc::increment_strong_count(data as *const Owner) };
        RawWaker::new(data, &VTABLE)
    }
    unsafe fn wake(data: *const ()) {
        // SAFETY: as `clone`: `wake` consumes the waker's count.
        drop(unsafe { Rc::from_raw(data as *const Owner) });
    }
    unsafe fn wake_by_ref(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, wake);
    // SAFETY: the vtable keeps `Rc`'s counts (each waker holds one). The `Rc` is not
    // thread-safe, but the waker never leaves this test's thread: the loop is single-threaded
    // and the listener stores it in this thread's reactor only.
    unsafe { Waker::from_raw(RawWaker::new(Rc::into_raw(owner) as *const (), &VTABLE)) }
}

/// io_driver.rs `test_drop_on_notify`: a future waiting in `accept` whose only owner is its
/// waker, stored in the reactor: the connection's event releases the waker, which drops the
/// future and its listener (deregistering it) while the loop dispatches events. Nothing
/// panics, the future is dropped (not leaked), and the loop goes on.
#[test]
fn test_drop_on_notify() {
    let drops = support::Drops::new();
    let event_loop = EventLoop::new().unwrap();
    let addr = event_loop.run_until_complete(async {
        let guard = drops.guard();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let owner = Rc::new(Owner(std::cell::RefCell::new(Some(Box::pin(async move {
            let _guard = guard;
            loop {
                let _ = listener.accept().await;
            }
        })))));
        let waker = owning_waker(owner.clone());
        let mut fut = owner.0.borrow_mut().take().unwrap();
        assert!(fut.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        // The future goes back to its owner, reachable only through the reactor's waker.
        *owner.0.borrow_mut() = Some(fut);
        drop(waker);
        drop(owner);
        addr
    });
    let _s = std::net::TcpStream::connect(addr).unwrap();
    event_loop.run_until_complete(async {
        for _ in 0..10 {
            aioloop::yield_now().await;
        }
        aioloop::sleep(std::time::Duration::from_millis(10)).await;
    });
    assert_eq!(drops.count(), 1, "the future was not released by the reactor");
}

/// io_driver_drop.rs `tcp_doesnt_block`, a divergence: tokio's `accept` on a listener whose
/// runtime was dropped is an error at once. aioloop panics, saying the loop was closed
/// (asyncio raises `RuntimeError: Event loop is closed`), rather than wait for a wakeup that
/// can never come.
#[test]
#[should_panic(expected = "polled after its event loop was closed")]
fn tcp_doesnt_block() {
    let event_loop = EventLoop::new().unwrap();
    let listener = listener_on(&event_loop);
    drop(event_loop);
    let mut accept = pin!(listener.accept());
    let _ = accept.as_mut().poll(&mut Context::from_waker(Waker::noop()));
}

/// io_driver_drop.rs `drop_wakes`, the same divergence: an `accept` pending when its loop
/// closes is not woken with an error as tokio's; polled again, it panics the same way.
#[test]
#[should_panic(expected = "polled after its event loop was closed")]
fn drop_wakes() {
    let event_loop = EventLoop::new().unwrap();
    let listener = listener_on(&event_loop);
    let mut accept = Box::pin(listener.accept());
    let first = event_loop
        .run_until_complete(async { poll_fn(|cx| Poll::Ready(accept.as_mut().poll(cx).is_pending())).await });
    assert!(first, "nothing connected: pending");
    drop(event_loop);
    let _ = accept.as_mut().poll(&mut Context::from_waker(Waker::noop()));
}
