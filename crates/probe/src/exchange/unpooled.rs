//! Sending a large body on a connection of its own while reading the answer at the same time.
//!
//! A server may answer 413 before reading a body that is over its limit and then close the
//! connection. A client that first writes the whole body and only then reads sees a broken
//! pipe instead of the 413 (reqwest/hyper do exactly that), which would turn a correct answer
//! into a spurious transport failure. Here the body is written by one task while the answer is
//! read by another, so the answer is seen whenever the server sent one.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::io::AsyncWriteExt;

/// What came back: status, headers (names lowercase) and the decoded body.
pub(super) type RawResponse = (u16, Vec<(String, String)>, Vec<u8>);

/// Sends one HTTP/1.1 request with `Connection: close` and reads the answer until the server
/// closes the connection.
pub(super) async fn send(
    url: &str,
    method: &str,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<RawResponse, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("invalid URL {url}: {e}"))?;
    let host = parsed.host_str().unwrap_or("127.0.0.1").to_string();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let target = match parsed.query() {
        Some(query) => format!("{}?{query}", parsed.path()),
        None => parsed.path().to_string(),
    };
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nhost: {host}:{port}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let exchange = async {
        let stream = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("connecting to {host}:{port}: {e}"))?;
        let (mut reader, mut writer) = stream.into_split();
        let mut payload = head.into_bytes();
        payload.extend_from_slice(body);
        // Write errors are expected when the server refuses the body; the answer decides.
        let writing = tokio::spawn(async move {
            let _ = writer.write_all(&payload).await;
            let _ = writer.flush().await;
            writer
        });
        let mut received = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        let read_error = loop {
            match reader.read(&mut chunk).await {
                Ok(0) => break None,
                Ok(count) => received.extend_from_slice(&chunk[..count]),
                Err(error) => break Some(error),
            }
        };
        writing.abort();
        match (parse(&received), read_error) {
            (Some(response), _) => Ok(response),
            (None, Some(error)) => Err(format!("reading the answer: {error}")),
            (None, None) => Err(format!(
                "the connection closed after {} bytes without a complete answer",
                received.len()
            )),
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no complete answer within {timeout:?} (timed out)")))
}

/// Parses a complete HTTP/1.1 response (Content-Length, chunked, or read-to-close body).
fn parse(bytes: &[u8]) -> Option<RawResponse> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &bytes[end + 4..];
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else if let Some(length) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        rest.get(..length)?.to_vec()
    } else {
        rest.to_vec()
    };
    Some((status, headers, body))
}

fn dechunk(mut bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = bytes.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&bytes[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(bytes.get(..size)?);
        bytes = bytes.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_length_and_chunked_bodies() {
        let (status, headers, body) =
            parse(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!((status, body.as_slice()), (413, b"{}".as_slice()));
        assert_eq!(headers, [("content-length".to_string(), "2".to_string())]);
        let (_, _, body) =
            parse(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                .unwrap();
        assert_eq!(body, b"abcde");
        assert!(parse(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab").is_none());
    }
}
