//! Third audit against CPython's Lib/test/test_asyncio/test_pep492.py, the parts that apply to
//! Rust: asynchronous iteration over a `StreamReader` (`async for line in stream`, aioloop's
//! `StreamReader::next_line`). Each test is named after the CPython test it ports. (`async for`
//! over a listener's connections is tests/net_incoming.rs.)
//!
//! Not ported: `test_context_manager_async_with` / `_with_await` (the lock guards, audited with
//! test_locks.py), `test_iscoroutine`, `test_iscoroutinefunction`, `test_types_coroutine`,
//! `test_async_def_coroutines`, `test_task_print_stack` (Python's coroutine types) and
//! `test_double_await` (a Rust future moved into `spawn` cannot be awaited again: the compiler
//! refuses it, where asyncio raises `RuntimeError`).

mod stream_feed;

use stream_feed::{fed_reader, new_reader};

/// `test_readline`: `async for line in stream` yields each line, the last one without its
/// `\n`, and ends at EOF.
#[aioloop::test]
async fn test_readline() {
    let (feed, mut stream) = fed_reader(b"line1\nline2\nline3", None);
    feed.feed_eof();
    let mut data = Vec::new();
    while let Some(line) = stream.next_line().await {
        data.push(line.unwrap());
    }
    assert_eq!(data, [&b"line1\n"[..], b"line2\n", b"line3"]);
    assert!(stream.next_line().await.is_none(), "still at EOF");
}

/// `test_readline`, with the lines arriving one chunk at a time while the iteration waits: it
/// ends only at EOF, not when the buffer runs empty.
#[aioloop::test]
async fn test_readline_fed_while_iterating() {
    let (feed, mut stream) = new_reader(None);
    let fed = feed.clone();
    let feeder = aioloop::spawn(async move {
        for chunk in [&b"li"[..], b"ne1\nline2", b"\n", b"line3"] {
            aioloop::yield_now().await;
            fed.feed_data(chunk);
        }
        aioloop::yield_now().await;
        fed.feed_eof();
    });
    let mut data = Vec::new();
    while let Some(line) = stream.next_line().await {
        data.push(line.unwrap());
    }
    assert_eq!(data, [&b"line1\n"[..], b"line2\n", b"line3"]);
    feeder.await.unwrap();
}

/// A line over the limit is an error item, and the iteration goes on after it (asyncio's
/// `__anext__` raises what `readline` raises; a caller may catch it and iterate on).
#[aioloop::test]
async fn test_readline_limit_error_then_iteration_goes_on() {
    let (feed, mut stream) = fed_reader(b"0123456789\nok\n", Some(4));
    feed.feed_eof();
    assert!(stream.next_line().await.unwrap().is_err());
    assert_eq!(stream.next_line().await.unwrap().unwrap(), b"ok\n");
    assert!(stream.next_line().await.is_none());
}
