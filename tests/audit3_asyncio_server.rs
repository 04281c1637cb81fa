//! Third audit against CPython's Lib/test/test_asyncio/test_server.py and asyncio's `Server`
//! (base_events.py): the cases the earlier audits left. `test_start_server_1`,
//! `test_start_unix_server_1`, `test_wait_closed_basic`, `test_wait_closed_race`,
//! `test_close_race` and the Unix cleanup tests are ported in audit_asyncio_streams_writer.rs,
//! audit2_asyncio_streams.rs and streams_server.rs; `test_close_clients` and
//! `test_abort_clients` in s14_asyncio_streams.rs; `test_unix_server_sock_cleanup` and the
//! `start_serving=False` cases in asyncio_server_options.rs. Not ported:
//! `test_unix_server_cleanup_prevented` (no `cleanup_socket=False`).
//!
//! test_server.py has no test of its own for the rest of `Server`'s behaviour; the tests
//! below check asyncio's `Server` code (Lib/asyncio/base_events.py) and are named after it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use aioloop::streams::{open_connection, start_server, Server};
use aioloop::{get_running_loop, spawn, wait_for, yield_now};

const TIMEOUT: Duration = Duration::from_secs(10);

/// asyncio's `Server.serve_forever` awaited a second time while the first waits raises
/// `RuntimeError('server ... is already being awaited on serve_forever()')`. aioloop's lets both
/// wait, and `close()` ends both (docs/asyncio.md, the `Server` row).
#[aioloop::test]
async fn base_events_serve_forever_awaited_twice() {
    let server = Rc::new(start_server(|_, _| async {}, "127.0.0.1:0").await.unwrap());
    let forever = |server: &Rc<Server>| {
        let server = server.clone();
        spawn(async move { server.serve_forever().await })
    };
    let (first, second) = (forever(&server), forever(&server));
    yield_now().await;
    assert!(!first.is_done() && !second.is_done());
    server.close();
    wait_for(first, TIMEOUT).await.unwrap().unwrap();
    wait_for(second, TIMEOUT).await.unwrap().unwrap();
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
}

/// asyncio's `serve_forever` returns when a connection handler closes the server (a close
/// from anywhere ends the wait, as `test_start_server_1`'s cancel does), and the handler that
/// closed it runs to its end: `wait_closed` waits for it.
#[aioloop::test]
async fn base_events_serve_forever_ends_when_a_handler_closes_the_server() {
    let slot: Rc<RefCell<Option<Rc<Server>>>> = Rc::default();
    let finished = Rc::new(std::cell::Cell::new(false));
    let server = Rc::new(
        start_server(
            {
                let slot = slot.clone();
                let finished = finished.clone();
                move |mut reader, writer| {
                    let server = slot.borrow().clone().unwrap();
                    let finished = finished.clone();
                    async move {
                        reader.readline().await.unwrap();
                        server.close();
                        aioloop::sleep(Duration::from_millis(20)).await;
                        writer.write(b"bye\n");
                        writer.close();
                        finished.set(true);
                    }
                }
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap(),
    );
    *slot.borrow_mut() = Some(server.clone());
    let forever = spawn({
        let server = server.clone();
        async move { server.serve_forever().await }
    });
    let (mut reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    writer.write(b"close\n");
    wait_for(forever, TIMEOUT).await.unwrap().unwrap();
    assert!(!server.is_serving());
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
    assert!(finished.get(), "wait_closed waited for the handler");
    assert_eq!(reader.read_to_eof().await.unwrap(), b"bye\n");
    *slot.borrow_mut() = None;
}

/// A connection handler that panics (asyncio: its task's exception is logged as never
/// retrieved): the panic reaches the exception handler, the server goes on serving, and
/// `wait_closed` does not wait for the dead handler.
#[aioloop::test]
async fn base_events_handler_panic_is_reported_and_the_server_closes() {
    let reports: Rc<RefCell<Vec<String>>> = Rc::default();
    let sink = reports.clone();
    get_running_loop().set_exception_handler(move |ctx| sink.borrow_mut().push(ctx.to_string()));
    let server = start_server(
        |mut reader, writer| async move {
            let line = reader.readline().await.unwrap();
            if line == b"panic\n" {
                panic!("handler failed");
            }
            writer.write(&line);
            writer.close();
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();

    let (mut reader, writer) = open_connection(addr).await.unwrap();
    writer.write(b"panic\n");
    // The handler's halves are dropped as the panic unwinds: the connection ends.
    assert_eq!(
        wait_for(reader.read_to_eof(), TIMEOUT).await.unwrap().unwrap(),
        b""
    );
    let seen = reports.clone();
    wait_for(
        async move {
            while seen.borrow().is_empty() {
                yield_now().await;
            }
        },
        TIMEOUT,
    )
    .await
    .unwrap();
    assert!(
        reports.borrow()[0].contains("handler failed"),
        "{:?}",
        reports.borrow()
    );

    // Still serving.
    let (mut reader, writer) = open_connection(addr).await.unwrap();
    writer.write(b"echo\n");
    assert_eq!(reader.read_to_eof().await.unwrap(), b"echo\n");

    server.close();
    wait_for(server.wait_closed(), TIMEOUT)
        .await
        .expect("no handler left to wait for");
    assert_eq!(reports.borrow().len(), 1, "{:?}", reports.borrow());
}

/// asyncio's `serve_forever` cancelled while it waits closes the server and ends cancelled
/// (`test_start_server_1`); here by a `wait_for` timeout dropping it, as aioloop documents.
#[aioloop::test]
async fn base_events_serve_forever_timed_out_closes_the_server() {
    let server = start_server(|_, _| async {}, "127.0.0.1:0").await.unwrap();
    assert!(wait_for(server.serve_forever(), Duration::from_millis(20))
        .await
        .is_err());
    assert!(!server.is_serving());
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
    let refused = open_connection(server.local_addr().unwrap()).await.map(drop);
    assert_eq!(
        refused.map_err(|err| err.kind()),
        Err(std::io::ErrorKind::ConnectionRefused)
    );
}
