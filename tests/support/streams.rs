//! For the streams tests (tests/net_streams.rs, streams_tls.rs): a server's handler echoing
//! lines.

use aioloop::streams::{StreamReader, StreamWriter};

/// Writes each line `reader` reads back on `writer`, drained, until EOF; the writer stays open.
pub async fn echo_until_eof(reader: &mut StreamReader, writer: &StreamWriter) {
    loop {
        let line = reader.readline().await.unwrap();
        if line.is_empty() {
            break;
        }
        writer.write(&line);
        writer.drain().await.unwrap();
    }
}

/// A server's handler: echoes lines until EOF, then closes.
pub async fn echo_lines(mut reader: StreamReader, writer: StreamWriter) {
    echo_until_eof(&mut reader, &writer).await;
    writer.close();
}
