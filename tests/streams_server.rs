//! `aioloop::streams::Server`: closing, `wait_closed` (asyncio's test_server.TestServer2,
//! ported, and issue 16 item 5).

use std::io;
use std::time::Duration;

use aioloop::streams::{open_connection, start_server};

/// Issue 16 item 5: once `close(); wait_closed().await` returned, the listening socket is
/// closed: a connect right then is refused (it used to be accepted by the kernel's backlog and
/// reset an iteration later).
#[aioloop::test]
async fn issue_16_item_5_wait_closed_returns_once_the_listener_is_closed() {
    let server = start_server(|_reader, _writer| async {}, "127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    server.close();
    server.wait_closed().await;
    // A blocking connect, so no loop iteration runs before it.
    let refused = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5));
    assert_eq!(
        refused.map(drop).map_err(|err| err.kind()),
        Err(io::ErrorKind::ConnectionRefused)
    );
}

/// asyncio's `test_wait_closed_basic`: `wait_closed` blocks while the server is open, and once
/// closed while a connection handler runs; it returns when the last handler has returned.
#[aioloop::test]
async fn test_wait_closed_basic() {
    let server = start_server(
        |mut reader, writer| async move {
            while reader.read(4096).await.is_ok_and(|data| !data.is_empty()) {} // until EOF
            writer.close();
            let _ = writer.wait_closed().await;
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let server = std::rc::Rc::new(server);
    let waiter = || {
        let server = server.clone();
        aioloop::spawn(async move { server.wait_closed().await })
    };
    // No connection, not closed: blocks.
    let task1 = waiter();
    aioloop::yield_now().await;
    assert!(!task1.is_done());

    // A connection, not closed: blocks.
    let (_reader, writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
    let task2 = waiter();
    aioloop::yield_now().await;
    assert!(!task1.is_done());
    assert!(!task2.is_done());

    // Closed, a connection still open: blocks.
    server.close();
    aioloop::yield_now().await;
    let task3 = waiter();
    aioloop::yield_now().await;
    assert!(!task1.is_done() && !task2.is_done() && !task3.is_done());

    // The last connection ends: all return.
    writer.close();
    writer.wait_closed().await.unwrap();
    for task in [task1, task2, task3] {
        aioloop::wait_for(task, Duration::from_secs(5))
            .await
            .expect("wait_closed returned")
            .unwrap();
    }
    server.wait_closed().await; // returns at once
}
