//! An incremental decoder for server-sent events: bytes arrive in arbitrary chunks (a line, an
//! event or a UTF-8 character may be split anywhere) and complete events come out. It follows
//! the WHATWG event-stream rules that matter for model APIs: `\n`, `\r\n` and `\r` line ends,
//! `data:` lines joined with `\n`, `event:` names, comment lines starting with `:`, and one
//! optional space after the colon. `id:` and `retry:` are ignored.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field, if the server named the event.
    pub event: Option<String>,
    pub data: String,
}

#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    /// Bytes of the current, not yet terminated line.
    line: Vec<u8>,
    /// The previous chunk ended in `\r`, so a leading `\n` in the next one belongs to it.
    after_cr: bool,
    data: String,
    has_data: bool,
    event: Option<String>,
}

impl SseDecoder {
    /// Feeds a chunk and returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &byte in chunk {
            let after_cr = std::mem::replace(&mut self.after_cr, false);
            match byte {
                b'\n' if after_cr => {}
                b'\n' | b'\r' => {
                    self.after_cr = byte == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(event) = self.process_line(&line) {
                        events.push(event);
                    }
                }
                _ => self.line.push(byte),
            }
        }
        events
    }

    /// The end of the body: an unterminated last line and a pending event without its blank
    /// line are still delivered, because some servers close right after their last `data:`.
    pub fn finish(&mut self) -> Option<SseEvent> {
        let line = std::mem::take(&mut self.line);
        if !line.is_empty()
            && let Some(event) = self.process_line(&line)
        {
            return Some(event);
        }
        self.dispatch()
    }

    fn process_line(&mut self, line: &[u8]) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        let line = String::from_utf8_lossy(line);
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_owned()),
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        Some(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn data(data: &str) -> SseEvent {
        SseEvent {
            event: None,
            data: data.to_owned(),
        }
    }

    fn decode_in_pieces(input: &[u8], piece: usize) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::default();
        let mut events = Vec::new();
        for chunk in input.chunks(piece) {
            events.extend(decoder.push(chunk));
        }
        events.extend(decoder.finish());
        events
    }

    #[test]
    fn data_lines_become_events() {
        let events = decode_in_pieces(b"data: {\"a\":1}\n\ndata: [DONE]\n\n", 1000);
        assert_eq!(events, vec![data("{\"a\":1}"), data("[DONE]")]);
    }

    #[test]
    fn any_chunking_gives_the_same_events() {
        let input =
            "event: message_start\r\ndata: {\"x\":\"é\"}\r\n\r\n: ping\n\ndata:a\rdata:b\r\r";
        let whole = decode_in_pieces(input.as_bytes(), input.len());
        assert_eq!(
            whole,
            vec![
                SseEvent {
                    event: Some("message_start".to_owned()),
                    data: "{\"x\":\"é\"}".to_owned(),
                },
                data("a\nb"),
            ]
        );
        for piece in 1..input.len() {
            assert_eq!(
                decode_in_pieces(input.as_bytes(), piece),
                whole,
                "piece {piece}"
            );
        }
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored() {
        let events = decode_in_pieces(b": keep-alive\nid: 7\nretry: 10\nfoo\n\ndata:x\n\n", 3);
        assert_eq!(events, vec![data("x")]);
    }

    #[test]
    fn only_one_space_after_the_colon_is_stripped() {
        let events = decode_in_pieces(b"data:  two\n\n", 100);
        assert_eq!(events, vec![data(" two")]);
    }

    #[test]
    fn event_without_data_is_not_dispatched_and_its_name_does_not_leak() {
        let events = decode_in_pieces(b"event: ping\n\ndata: x\n\n", 100);
        assert_eq!(events, vec![data("x")]);
    }

    #[test]
    fn unterminated_last_event_is_delivered_at_the_end() {
        let events = decode_in_pieces(b"data: one\n\ndata: [DONE]", 4);
        assert_eq!(events, vec![data("one"), data("[DONE]")]);
    }

    #[test]
    fn invalid_utf8_does_not_panic() {
        let events = decode_in_pieces(b"data: \xff\xfe\n\n", 1);
        assert_eq!(events, vec![data("\u{fffd}\u{fffd}")]);
    }
}
