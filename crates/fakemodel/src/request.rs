//! The protocol-neutral view of a request ([`ParsedRequest`]) that scripts and checks work
//! on, and the protocol-neutral answer ([`Answer`]) that the protocol modules render.

use serde::Serialize;

/// Which provider protocol a request spoke, decided by its route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// `POST /v1/chat/completions`.
    OpenAi,
    /// `POST /v1/messages`.
    Anthropic,
}

/// A request as the fake model understood it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedRequest {
    pub protocol: Protocol,
    /// Empty when the request had no `model` (a violation).
    pub model: String,
    pub stream: bool,
    /// OpenAI `system`/`developer` messages or the Anthropic `system` field, joined by newlines.
    pub system: String,
    pub messages: Vec<ParsedMessage>,
    /// Names of the tools the request offers.
    pub tools: Vec<String>,
    /// The number of assistant messages in the history: the index of the turn to answer.
    pub turn: usize,
}

/// One message of the history; an Anthropic user message holding tool results becomes one
/// [`ParsedMessage::ToolResult`] per block, in block order.
#[derive(Clone, Debug, PartialEq)]
pub enum ParsedMessage {
    User(String),
    Assistant {
        text: Option<String>,
        /// `(id, name, arguments)`.
        tool_calls: Vec<(String, String, serde_json::Value)>,
    },
    ToolResult {
        call_id: String,
        content: String,
        is_error: bool,
    },
}

impl ParsedRequest {
    /// The system prompt followed by the first user message: what conversations match on.
    pub fn opening(&self) -> String {
        let first_user = self.messages.iter().find_map(|message| match message {
            ParsedMessage::User(text) => Some(text.as_str()),
            ParsedMessage::Assistant { .. } | ParsedMessage::ToolResult { .. } => None,
        });
        format!("{}\n{}", self.system, first_user.unwrap_or_default())
    }

    /// The user text and tool results since the last assistant message, joined by newlines.
    pub fn latest_input(&self) -> String {
        let start = self
            .messages
            .iter()
            .rposition(|message| matches!(message, ParsedMessage::Assistant { .. }))
            .map_or(0, |position| position + 1);
        let parts: Vec<&str> = self.messages[start..]
            .iter()
            .filter_map(|message| match message {
                ParsedMessage::User(text) => Some(text.as_str()),
                ParsedMessage::ToolResult { content, .. } => Some(content.as_str()),
                ParsedMessage::Assistant { .. } => None,
            })
            .collect();
        parts.join("\n")
    }
}

/// A parsed request plus what only its protocol module knows.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub request: ParsedRequest,
    /// OpenAI `stream_options.include_usage`.
    pub include_usage: bool,
    /// Protocol-level contract violations found while parsing.
    pub violations: Vec<String>,
}

/// A request that cannot be answered at all (400).
#[derive(Debug)]
pub(crate) struct Malformed(pub String);

/// What the fake model answers, before a protocol module renders it.
#[derive(Debug)]
pub(crate) struct Answer {
    pub response_id: String,
    pub model: String,
    pub text: Option<String>,
    pub tool_calls: Vec<AnswerCall>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// OpenAI streams only: send a final usage chunk.
    pub include_usage: bool,
}

#[derive(Debug)]
pub(crate) struct AnswerCall {
    pub id: String,
    pub name: String,
    pub arguments: serde_json::Value,
}

/// The text of an OpenAI content value or an Anthropic content/system value: a string, or an
/// array whose `text` parts are concatenated. Anything else reads as empty.
pub(crate) fn text_of(content: Option<&serde_json::Value>) -> String {
    match content {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(serde_json::Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(serde_json::Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}
