//! Server-sent-event framing shared by both protocols, and the splitting of streamed text into
//! fragments so that clients must reassemble deltas.

use bytes::Bytes;
use serde_json::Value;

/// The most characters one streamed fragment carries.
const FRAGMENT_CHARS: usize = 16;

/// A `data: JSON` frame (OpenAI style).
pub(crate) fn data(payload: &Value) -> Bytes {
    Bytes::from(format!("data: {payload}\n\n"))
}

/// An `event: NAME` plus `data: JSON` frame (Anthropic style).
pub(crate) fn event(name: &str, payload: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {payload}\n\n"))
}

/// Splits `text` on character boundaries into pieces of at most [`FRAGMENT_CHARS`] characters,
/// and into at least two pieces whenever it has two characters or more.
pub(crate) fn fragments(text: &str) -> Vec<&str> {
    let char_count = text.chars().count();
    if char_count < 2 {
        return if text.is_empty() {
            Vec::new()
        } else {
            vec![text]
        };
    }
    let piece_chars = char_count.div_ceil(2).min(FRAGMENT_CHARS);
    let mut pieces = Vec::new();
    let mut start = 0;
    for (position, (offset, _)) in text.char_indices().enumerate() {
        if position > 0 && position % piece_chars == 0 {
            pieces.push(&text[start..offset]);
            start = offset;
        }
    }
    pieces.push(&text[start..]);
    pieces
}

pub(crate) fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::fragments;

    #[test]
    fn fragments_split_at_least_twice_and_rejoin() {
        assert_eq!(fragments(""), Vec::<&str>::new());
        assert_eq!(fragments("a"), vec!["a"]);
        assert_eq!(fragments("{}"), vec!["{", "}"]);
        assert_eq!(fragments("héllo"), vec!["hél", "lo"]);
        let long = "x".repeat(40);
        let pieces = fragments(&long);
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces.concat(), long);
    }
}
