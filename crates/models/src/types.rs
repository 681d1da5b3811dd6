//! The provider-neutral vocabulary: client configuration, the conversation sent to a model and
//! the answer that comes back. Nothing here knows a wire format; `openai.rs` and `anthropic.rs`
//! map these types to and from their protocols.

use std::fmt;
use std::time::Duration;

/// Which wire protocol the server at `ClientConfig::base_url` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OpenAI-compatible chat completions (`POST {base}/chat/completions`): OpenAI, vLLM,
    /// Ollama, llama.cpp's server and anything else that copies it.
    OpenAi,
    /// Anthropic messages (`POST {base}/v1/messages`) with tool use.
    Anthropic,
}

/// An API key. Its `Debug` and `Display` print `***`, so a key can sit inside configs and
/// errors that get logged without leaking; only [`Secret::expose`] reveals it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The key itself, for the one place that puts it into a request header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("***")
    }
}

/// How often and how patiently a failed HTTP attempt is repeated inside one
/// [`crate::ModelClient::complete`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; `0` sends exactly one request.
    pub max_retries: u32,
    /// Delay before the first retry; it doubles with every further retry.
    pub base_delay: Duration,
    /// Upper bound for any delay, including one a server asks for with `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// Everything a [`crate::ModelClient`] needs. It has no `Default` on purpose: the protocol, URL
/// and model must always be chosen by the caller. `Debug` shows the key as `***` and hides a
/// user or password in the base URL.
#[derive(Clone)]
pub struct ClientConfig {
    pub protocol: Protocol,
    /// OpenAI: the API root including `/v1` (requests go to `{base}/chat/completions`).
    /// Anthropic: the host root, e.g. `https://api.anthropic.com` (requests go to
    /// `{base}/v1/messages`). A trailing `/` is ignored.
    pub base_url: String,
    /// `None` sends no authentication header, for local servers.
    pub api_key: Option<Secret>,
    pub model: String,
    /// Use server-sent events; the answer is still returned whole.
    pub stream: bool,
    /// Sent as `max_tokens` in both protocols.
    pub max_output_tokens: u32,
    pub temperature: Option<f32>,
    /// Limit for one whole HTTP exchange, including reading a streamed body.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ClientConfig {
            protocol,
            base_url,
            api_key,
            model,
            stream,
            max_output_tokens,
            temperature,
            request_timeout,
            retry,
        } = self;
        formatter
            .debug_struct("ClientConfig")
            .field("protocol", protocol)
            .field("base_url", &without_credentials(base_url))
            .field("api_key", api_key)
            .field("model", model)
            .field("stream", stream)
            .field("max_output_tokens", max_output_tokens)
            .field("temperature", temperature)
            .field("request_timeout", request_timeout)
            .field("retry", retry)
            .finish()
    }
}

/// `url` with any `user:password@` replaced by `***@`.
pub(crate) fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// A JSON Schema object describing the arguments.
    pub parameters: serde_json::Value,
}

/// One call of a tool requested by the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// The provider's id, which the matching [`Message::ToolResult`] must quote. Servers that
    /// send none get `call_<n>` (n = position in the answer).
    pub id: String,
    pub name: String,
    /// The arguments as raw JSON text, exactly as the model produced them (it may be invalid
    /// JSON); an empty string means no arguments, see [`ToolCall::arguments_json`].
    pub arguments: String,
}

impl ToolCall {
    /// The arguments with an empty (or blank) text replaced by `{}`.
    pub fn arguments_json(&self) -> &str {
        if self.arguments.trim().is_empty() {
            "{}"
        } else {
            &self.arguments
        }
    }
}

/// One turn of the conversation (the system prompt is separate, in [`ChatRequest::system`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    User(String),
    Assistant {
        text: Option<String>,
        tool_calls: Vec<ToolCall>,
    },
    ToolResult {
        call_id: String,
        content: String,
        is_error: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    /// Any other reason, verbatim; empty when the server gave none.
    Other(String),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    /// Prompt tokens, including Anthropic's cache reads and writes.
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatResponse {
    /// All text of the answer concatenated; `None` when there was none.
    pub text: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub stop: StopReason,
    /// Zeros when the server reported no usage.
    pub usage: TokenUsage,
    /// HTTP attempts made, retries included (1 = no retry).
    pub attempts: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_hidden() {
        assert_eq!(
            without_credentials("https://user:pw@host:8/v1?x=a@b"),
            "https://***@host:8/v1?x=a@b"
        );
        assert_eq!(
            without_credentials("http://host/v1/a@b"),
            "http://host/v1/a@b"
        );
        assert_eq!(without_credentials("no scheme@all"), "no scheme@all");
    }
}
