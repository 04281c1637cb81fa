//! `StreamReader::readuntil_any`: asyncio's `readuntil` with a tuple of separators (Python
//! 3.13). Ports CPython's Lib/test/test_asyncio/test_streams.py readuntil tests (the
//! multi-separator ones added with the tuple form, and the single-separator ones run through
//! the tuple form), each named after its CPython test; then a property test against a model.

mod stream_feed;

use aioloop::{spawn, yield_now};
use proptest::prelude::*;
use stream_feed::{fed_reader, incomplete, new_reader, overrun, Feed};

/// test_streams.py `test_readuntil_separator`, the tuple half: a tuple holding an empty
/// separator is refused as an empty separator is (asyncio: `ValueError('Separator should be
/// at least one-byte string')`; aioloop panics, a programming error).
#[aioloop::test]
#[should_panic(expected = "readuntil needs a non-empty separator")]
async fn test_readuntil_separator_empty_in_tuple() {
    let (_, mut stream) = new_reader(None);
    let _ = stream.readuntil_any(&[b"\n", b""]).await;
}

/// test_streams.py `test_readuntil_separator`, the empty tuple (asyncio: `ValueError('Separator
/// should contain at least one element')`).
#[aioloop::test]
#[should_panic(expected = "readuntil_any needs at least one separator")]
async fn test_readuntil_separator_empty_tuple() {
    let (_, mut stream) = new_reader(None);
    let _ = stream.readuntil_any(&[]).await;
}

/// test_streams.py `test_readuntil_multi_chunks` through the tuple form, with a second, longer
/// separator that never comes (it moves where the search resumes, not what is found).
#[aioloop::test]
async fn test_readuntil_multi_chunks() {
    let seps: &[&[u8]] = &[b"AAA", b"ZZZZZ"];
    let (feed, mut stream) = fed_reader(b"lineAAA", None);
    assert_eq!(stream.readuntil_any(seps).await.unwrap(), b"lineAAA");
    assert_eq!(stream.buffer(), b"");

    feed.feed_data(b"lineAAA");
    assert_eq!(stream.readuntil_any(seps).await.unwrap(), b"lineAAA");
    assert_eq!(stream.buffer(), b"");

    feed.feed_data(b"lineAAAxxx");
    assert_eq!(stream.readuntil_any(seps).await.unwrap(), b"lineAAA");
    assert_eq!(stream.buffer(), b"xxx");
}

/// test_streams.py `test_readuntil_multi_chunks_1` through the tuple form: a separator split
/// across chunks, in every position, is found; nothing past it is consumed. The chunks arrive
/// one per read (the stream_feed source), the least favourable split.
#[aioloop::test]
async fn test_readuntil_multi_chunks_1() {
    let seps: &[&[u8]] = &[b"aaaaaa", b"aaa"];
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
        assert_eq!(stream.readuntil_any(seps).await.unwrap(), expected);
        assert_eq!(stream.buffer(), b"");
    }
}

/// test_streams.py `test_readuntil_eof` through the tuple form: EOF before any separator:
/// IncompleteReadError with everything buffered, `expected` undefined, the buffer emptied.
#[aioloop::test]
async fn test_readuntil_eof() {
    let (feed, mut stream) = fed_reader(b"some dataAA", None);
    feed.feed_eof();
    let err = incomplete(stream.readuntil_any(&[b"AAA", b"BB"]).await.unwrap_err());
    assert_eq!(err.partial, b"some dataAA");
    assert_eq!(err.expected, None);
    assert_eq!(stream.buffer(), b"");
}

/// test_streams.py `test_readuntil_limit_found_sep` through the tuple form: not found within
/// the limit (data kept), then found beyond it (data kept).
#[aioloop::test]
async fn test_readuntil_limit_found_sep() {
    let seps: &[&[u8]] = &[b"AAA", b"BBB"];
    let (feed, mut stream) = fed_reader(b"some dataAA", Some(3));
    let err = overrun(stream.readuntil_any(seps).await.unwrap_err());
    assert!(!err.separator_found);
    assert!(err.to_string().contains("not found"), "{err}");
    assert_eq!(err.consumed, b"some dataAA".len() + 1 - 3);
    assert_eq!(stream.buffer(), b"some dataAA");

    feed.feed_data(b"A");
    let err = overrun(stream.readuntil_any(seps).await.unwrap_err());
    assert!(err.separator_found);
    assert!(err.to_string().contains("is found"), "{err}");
    assert_eq!(err.consumed, b"some data".len());
    assert_eq!(stream.buffer(), b"some dataAAA");
}

/// test_streams.py `test_readuntil_multi_separator`: each call stops at whichever separator
/// comes first; a match that ends first wins over one that starts first.
#[aioloop::test]
async fn test_readuntil_multi_separator() {
    let (feed, mut stream) = fed_reader(b"line 1\nline 2\r", None);
    // Simple case.
    assert_eq!(stream.readuntil_any(&[b"\r", b"\n"]).await.unwrap(), b"line 1\n");
    assert_eq!(stream.readuntil_any(&[b"\r", b"\n"]).await.unwrap(), b"line 2\r");
    assert_eq!(stream.buffer(), b"");

    // First end position matches, even if that's a longer match.
    feed.feed_data(b"ABCDEFG");
    assert_eq!(stream.readuntil_any(&[b"DEF", b"BCDE"]).await.unwrap(), b"ABCDE");
    assert_eq!(stream.buffer(), b"FG");
}

/// test_streams.py `test_readuntil_multi_separator_limit`: two matches end at the same byte;
/// the shorter separator's counts, and it starts beyond the limit (the longer one starts
/// within it): LimitOverrunError, separator found, the data kept.
#[aioloop::test]
async fn test_readuntil_multi_separator_limit() {
    let (_feed, mut stream) = fed_reader(b"some dataA", Some(3));
    let err = overrun(stream.readuntil_any(&[b"A", b"ome dataA"]).await.unwrap_err());
    assert!(err.separator_found);
    assert!(err.to_string().contains("is found"), "{err}");
    assert_eq!(err.consumed, 9);
    assert_eq!(stream.buffer(), b"some dataA");
}

/// The order of the separators does not matter: [`test_readuntil_multi_separator_limit`] with
/// the longer one first (asyncio sorts them by length).
#[aioloop::test]
async fn test_readuntil_multi_separator_limit_any_order() {
    let (_feed, mut stream) = fed_reader(b"some dataA", Some(3));
    let err = overrun(stream.readuntil_any(&[b"ome dataA", b"A"]).await.unwrap_err());
    assert!(err.separator_found);
    assert_eq!(err.consumed, 9);
    // Without the limit, the same tie goes to the shorter separator: the data is the same.
    let (_feed, mut stream) = fed_reader(b"some dataA", None);
    assert_eq!(
        stream.readuntil_any(&[b"ome dataA", b"A"]).await.unwrap(),
        b"some dataA"
    );
}

/// test_streams.py `test_readuntil_multi_separator_negative_offset`: a buffer long enough for
/// the shortest separator (without it) but shorter than the longest: the search resumes from
/// the start (asyncio's offset must not become negative), and the data that arrives next is
/// searched.
#[aioloop::test]
async fn test_readuntil_multi_separator_negative_offset() {
    let (feed, mut stream) = fed_reader(b"data", None);
    let reader = spawn(async move {
        let data = stream.readuntil_any(&[b"A", b"long sep"]).await.unwrap();
        (data, stream.buffer().to_vec())
    });
    yield_now().await;
    assert!(!reader.is_done());
    feed.feed_data(b"Z");
    feed.feed_data(b"Aaaa");
    let (data, rest) = reader.await.unwrap();
    assert_eq!(data, b"dataZA");
    assert_eq!(rest, b"aaa");
}

/// test_streams.py `test_readuntil_multi_chunks`'s waiting form with two separators: a
/// `\r\n` split across reads is not cut at its `\n`'s neighbour, and a bare `\n` also ends a
/// line (a reader of mixed line ends).
#[aioloop::test]
async fn test_readuntil_multi_separator_waits_across_chunks() {
    let (feed, mut stream) = new_reader(None);
    let reader = spawn(async move {
        let mut lines = Vec::new();
        for _ in 0..3 {
            lines.push(stream.readuntil_any(&[b"\r\n", b"\n"]).await.unwrap());
        }
        lines
    });
    for chunk in [&b"one\r"[..], b"\ntwo", b"\nthr", b"ee\r", b"\n"] {
        yield_now().await;
        assert!(!reader.is_done());
        feed.feed_data(chunk);
    }
    let lines = reader.await.unwrap();
    assert_eq!(lines, [&b"one\r\n"[..], b"two\n", b"three\r\n"]);
}

/// `readline` and `readuntil` still behave as before the shared implementation (their own
/// tests are in audit_asyncio_streams.rs); `readuntil_any` with one separator is `readuntil`.
#[aioloop::test]
async fn readuntil_any_with_one_separator_is_readuntil() {
    let (feed, mut stream) = fed_reader(b"a;b;", Some(3));
    assert_eq!(stream.readuntil_any(&[b";"]).await.unwrap(), b"a;");
    assert_eq!(stream.readuntil(b";").await.unwrap(), b"b;");
    feed.feed_data(b"toolong;");
    let one = overrun(stream.readuntil(b";").await.unwrap_err());
    let any = overrun(stream.readuntil_any(&[b";"]).await.unwrap_err());
    assert_eq!(one, any);
}

/// The model: the shortest prefix of `data` that ends with one of `seps`, as its length.
fn model_first_end(data: &[u8], seps: &[Vec<u8>]) -> Option<usize> {
    (1..=data.len()).find(|&end| seps.iter().any(|sep| data[..end].ends_with(sep)))
}

fn byte_string(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'c')], 1..=max)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any data, cut into any chunks, read with `readuntil_any` until EOF, gives the model's
    /// pieces (each the shortest prefix ending with a separator), then the rest as
    /// IncompleteRead: however a match straddles the chunks, it is neither missed nor cut.
    #[test]
    fn readuntil_any_matches_the_model(
        data in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'c')], 0..80),
        seps in proptest::collection::vec(byte_string(4), 1..4),
        cuts in proptest::collection::vec(1usize..8, 0..40),
    ) {
        check_against_the_model(&data, &seps, &cuts)?;
    }

    /// The same with sparse matches in long data (mostly filler): matches far into the
    /// buffer, past the windows a search of several separators goes through.
    #[test]
    fn readuntil_any_matches_the_model_far_into_the_buffer(
        data in proptest::collection::vec(
            prop_oneof![200 => Just(b'x'), 1 => Just(b'a'), 1 => Just(b'b')],
            0..3000,
        ),
        seps in proptest::collection::vec(
            proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'x')], 1..=5),
            1..4,
        ),
        cuts in proptest::collection::vec(1usize..1500, 0..8),
    ) {
        check_against_the_model(&data, &seps, &cuts)?;
    }
}

fn check_against_the_model(data: &[u8], seps: &[Vec<u8>], cuts: &[usize]) -> Result<(), TestCaseError> {
    {
        let mut expected = Vec::new();
        let mut rest = data;
        while let Some(end) = model_first_end(rest, seps) {
            expected.push(rest[..end].to_vec());
            rest = &rest[end..];
        }
        let expected_rest = rest.to_vec();

        let (got, got_rest) = aioloop::run(async {
            let feed = Feed::default();
            let mut stream = feed.reader(None);
            let mut chunks = data;
            for cut in cuts {
                let n = (*cut).min(chunks.len());
                feed.feed_data(&chunks[..n]);
                chunks = &chunks[n..];
            }
            if !chunks.is_empty() {
                feed.feed_data(chunks);
            }
            feed.feed_eof();
            let seps: Vec<&[u8]> = seps.iter().map(|sep| &sep[..]).collect();
            let mut got = Vec::new();
            loop {
                match stream.readuntil_any(&seps).await {
                    Ok(piece) => got.push(piece),
                    Err(err) => return (got, incomplete(err).partial),
                }
            }
        });
        prop_assert_eq!(got, expected);
        prop_assert_eq!(got_rest, expected_rest);
    }
    Ok(())
}

/// Matches that straddle the windows a search of several separators goes through (256 bytes,
/// then 512...), for the shorter and the longer separator.
#[aioloop::test]
async fn matches_across_the_search_windows() {
    for (filler, tail, seps, expected_end) in [
        (255usize, &b"\r\nrest"[..], &[&b"\r\n"[..], b"XYZW"][..], 257usize),
        (254, b"XYZWrest", &[b"\r\n", b"XYZW"], 258),
        (510, b"XYZ\nrest", &[b"\n", b"XYZ\n"], 514),
        (1000, b"\nrest\r\n", &[b"\r\n", b"\n"], 1001),
    ] {
        let mut data = vec![b'.'; filler];
        data.extend_from_slice(tail);
        let (_feed, mut stream) = fed_reader(&data, None);
        let line = stream.readuntil_any(seps).await.unwrap();
        assert_eq!(line.len(), expected_end, "{filler} {tail:?}");
        assert_eq!(line[..], data[..expected_end]);
    }
}
