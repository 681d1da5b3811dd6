//! What the two protocol modules share: how they report a bad answer to the HTTP layer
//! (`WireError`), whether a stream has reached its end (`StreamStep`), and small lenient
//! readers for JSON fields.

use serde_json::Value;

/// The longest body excerpt put into an error.
pub(crate) const EXCERPT_CHARS: usize = 500;

/// Why an answer from a 2xx response could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WireError {
    /// Not the protocol: invalid JSON, a missing field, an event out of order. Fatal.
    Malformed(String),
    /// The server reported an error inside a successful response (a JSON `error` object or an
    /// SSE `error` event); handled like an HTTP error with this status.
    InBand { status: u16, body: String },
    /// The stream ended before its end marker: the connection was cut. Retried.
    Incomplete(String),
}

/// What the stream driver does after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamStep {
    Continue,
    /// The end marker arrived; nothing after it is read.
    Done,
}

/// At most [`EXCERPT_CHARS`] characters of `text`, a cut one ending in `…`.
pub(crate) fn excerpt(text: &str) -> String {
    if text.chars().nth(EXCERPT_CHARS).is_none() {
        return text.to_owned();
    }
    let kept: String = text.chars().take(EXCERPT_CHARS - 1).collect();
    format!("{kept}…")
}

/// A byte body as an excerpt for an error message.
pub(crate) fn body_excerpt(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(EXCERPT_CHARS * 4)];
    excerpt(&String::from_utf8_lossy(cut))
}

pub(crate) fn parse_json(bytes: &[u8], what: &str) -> Result<Value, WireError> {
    serde_json::from_slice(bytes).map_err(|error| {
        WireError::Malformed(format!(
            "expected {what} as JSON, found invalid JSON ({error}): {}",
            body_excerpt(bytes)
        ))
    })
}

/// A token count: a non-negative integer, or 0 for anything else (servers send `null`).
pub(crate) fn count(value: Option<&Value>) -> u64 {
    value.and_then(Value::as_u64).unwrap_or(0)
}

/// A string field, or `None` for a missing, `null` or non-string value.
pub(crate) fn string<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// A float as JSON without the noise of widening `f32` (0.2 stays 0.2, not 0.200000003).
pub(crate) fn float(value: f32) -> Value {
    value
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// Tool-call text that must reach the caller as JSON text: strings are taken as they are,
/// other JSON (servers that send `arguments` as an object) is serialized.
pub(crate) fn json_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn excerpts_are_cut_at_character_boundaries() {
        let long = "é".repeat(600);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt("short"), "short");
        assert_eq!(body_excerpt(&[0xff; 3000]).chars().count(), EXCERPT_CHARS);
        let exact = "x".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&exact), exact);
    }

    #[test]
    fn floats_keep_their_short_form() {
        assert_eq!(float(0.2), json!(0.2));
        assert_eq!(float(1.0), json!(1.0));
        assert_eq!(float(f32::NAN), Value::Null);
    }

    #[test]
    fn counts_and_texts_are_lenient() {
        assert_eq!(count(Some(&json!(null))), 0);
        assert_eq!(count(Some(&json!(-3))), 0);
        assert_eq!(count(Some(&json!(12))), 12);
        assert_eq!(json_text(Some(&json!({"a": 1}))), r#"{"a":1}"#);
        assert_eq!(json_text(Some(&json!("{\"a\""))), "{\"a\"");
        assert_eq!(json_text(None), "");
    }
}
