//! Audit against CPython's Lib/test/test_asyncio/test_streams.py: `StreamReader`'s
//! readuntil / readexactly / readline / read semantics, with the data fed chunk by chunk as
//! asyncio's tests do with `feed_data` / `feed_eof`. Each test is named after the CPython test.

mod stream_feed;

use aioloop::{spawn, yield_now};
use stream_feed::{fed_reader, incomplete, new_reader, overrun};

/// test_streams.py `test_readuntil_multi_chunks_1`: a multi-byte separator split across fed
/// chunks, in every position, is found, and nothing beyond it is consumed.
#[aioloop::test]
async fn test_readuntil_multi_chunks_1() {
    let (feed, mut stream) = new_reader(None);
    let cases: [(&[&[u8]], &[u8]); 5] = [
        (&[b"QWEaa", b"XYaa", b"a"], b"QWEaaXYaaa"),
        (&[b"QWEaa", b"XYa", b"aa"], b"QWEaaXYaaa"),
        (&[b"aaa"], b"aaa"),
        (&[b"Xaaa"], b"Xaaa"),
        (&[b"XXX", b"a", b"a", b"a"], b"XXXaaa"),
    ];
    for (chunks, expected) in cases {
        for chunk in chunks {
            feed.feed_data(chunk);
        }
        assert_eq!(stream.readuntil(b"aaa").await.unwrap(), expected);
        assert_eq!(stream.buffer(), b"");
    }
}

/// test_streams.py `test_readuntil_multi_chunks`, with the data arriving while `readuntil`
/// waits: it keeps waiting until the separator is complete.
#[aioloop::test]
async fn test_readuntil_waits_for_a_split_separator() {
    let (feed, mut stream) = new_reader(None);
    let reader = spawn(async move {
        let line = stream.readuntil(b"\r\n").await.unwrap();
        (line, stream.readuntil(b"\r\n").await.unwrap())
    });
    for chunk in [&b"line"[..], b"1\r", b"\nline2", b"\r", b"\n"] {
        yield_now().await;
        assert!(!reader.is_done(), "the second separator is not complete yet");
        feed.feed_data(chunk);
    }
    let (one, two) = reader.await.unwrap();
    assert_eq!(one, b"line1\r\n");
    assert_eq!(two, b"line2\r\n");
}

/// test_streams.py `test_readuntil_eof`: EOF before the separator: IncompleteReadError with
/// everything buffered as `partial`, `expected` undefined, and the buffer emptied.
#[aioloop::test]
async fn test_readuntil_eof() {
    let (feed, mut stream) = fed_reader(b"some dataAA", None);
    feed.feed_eof();
    let err = incomplete(stream.readuntil(b"AAA").await.unwrap_err());
    assert_eq!(err.partial, b"some dataAA");
    assert_eq!(err.expected, None);
    assert!(err.to_string().contains("undefined expected bytes"), "{err}");
    assert_eq!(stream.buffer(), b"");
}

/// test_streams.py `test_readuntil_limit_found_sep`'s first half with a multi-byte separator
/// not found: LimitOverrunError with `consumed` = the offset searched to, data kept.
#[aioloop::test]
async fn test_readuntil_limit_not_found_keeps_the_data() {
    let (_feed, mut stream) = fed_reader(b"some dataAA", Some(3));
    let err = overrun(stream.readuntil(b"AAA").await.unwrap_err());
    assert!(!err.separator_found);
    assert!(err.to_string().contains("not found"), "{err}");
    assert_eq!(err.consumed, b"some dataAA".len() + 1 - 3);
    assert_eq!(stream.buffer(), b"some dataAA");
}

/// test_streams.py `test_readexactly_zero_or_less` (the zero half; `n` is unsigned here):
/// `readexactly(0)` returns nothing and consumes nothing.
#[aioloop::test]
async fn test_readexactly_zero_or_less() {
    let (_feed, mut stream) = fed_reader(b"chunk", None);
    assert_eq!(stream.read(1).await.unwrap(), b"c");
    assert_eq!(stream.readexactly(0).await.unwrap(), b"");
    assert_eq!(stream.buffer(), b"hunk");
}

/// test_streams.py `test_readexactly`: the bytes arrive in several chunks while it waits.
#[aioloop::test]
async fn test_readexactly() {
    let data = b"chunk-chunk-chunk-";
    let (feed, mut stream) = new_reader(None);
    let reader = spawn(async move { stream.readexactly(2 * data.len()).await.unwrap() });
    for _ in 0..2 {
        yield_now().await;
        feed.feed_data(data);
    }
    assert_eq!(reader.await.unwrap(), [&data[..], &data[..]].concat());
}

/// test_streams.py `test_readexactly_eof`: EOF first: IncompleteReadError with the bytes read
/// as `partial` and `expected` = n; the buffer is emptied.
#[aioloop::test]
async fn test_readexactly_eof() {
    let (feed, mut stream) = fed_reader(b"chunk-", None);
    feed.feed_eof();
    let err = incomplete(stream.readexactly(12).await.unwrap_err());
    assert_eq!(err.partial, b"chunk-");
    assert_eq!(err.expected, Some(12));
    assert_eq!(err.to_string(), "6 bytes read on a total of 12 expected bytes");
    assert_eq!(stream.buffer(), b"");
}

/// test_streams.py `test_readline_limit`: a line of exactly `limit` bytes before its `\n` is
/// fine; a longer one is an error and is discarded through its `\n`; one with no `\n` at all
/// clears the buffer.
#[aioloop::test]
async fn test_readline_limit() {
    let (feed, mut stream) = fed_reader(b"1234567\n", Some(7));
    assert_eq!(stream.readline().await.unwrap(), b"1234567\n");
    assert_eq!(stream.buffer(), b"");

    feed.feed_data(b"12345678\n");
    assert!(overrun(stream.readline().await.unwrap_err()).separator_found);
    assert_eq!(stream.buffer(), b"");

    feed.feed_data(b"12345678");
    assert!(!overrun(stream.readline().await.unwrap_err()).separator_found);
    assert_eq!(stream.buffer(), b"");
}

/// test_streams.py `test_readline_empty_eof` and `test_readline_read_byte_count`'s tail:
/// at EOF, `readline` returns what is left, then nothing, without an error.
#[aioloop::test]
async fn test_readline_empty_eof() {
    let (feed, mut stream) = fed_reader(b"some data", None);
    feed.feed_eof();
    assert_eq!(stream.readline().await.unwrap(), b"some data");
    assert_eq!(stream.readline().await.unwrap(), b"");
    assert!(stream.at_eof());
}

/// test_streams.py `test_read_zero` and `test_read_eof`: `read(0)` returns nothing and consumes
/// nothing; `read(n)` at EOF returns nothing.
#[aioloop::test]
async fn test_read_zero() {
    let (feed, mut stream) = fed_reader(b"line1\n", None);
    assert_eq!(stream.readline().await.unwrap(), b"line1\n");
    feed.feed_data(b"line2\n");
    assert_eq!(stream.read(0).await.unwrap(), b"");
    assert_eq!(stream.read(100).await.unwrap(), b"line2\n");
    feed.feed_eof();
    assert_eq!(stream.read(100).await.unwrap(), b"");
    assert_eq!(stream.read_to_eof().await.unwrap(), b"");
}

/// test_streams.py `test_read_until_eof`: `read(-1)` collects every chunk until EOF.
#[aioloop::test]
async fn test_read_until_eof() {
    let (feed, mut stream) = new_reader(None);
    let reader = spawn(async move { stream.read_to_eof().await.unwrap() });
    for chunk in [&b"chunk1\n"[..], b"chunk2"] {
        yield_now().await;
        feed.feed_data(chunk);
    }
    yield_now().await;
    assert!(!reader.is_done());
    feed.feed_eof();
    assert_eq!(reader.await.unwrap(), b"chunk1\nchunk2");
}
