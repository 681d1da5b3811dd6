//! The script a fake model replays: conversations of scripted turns, injected faults and an
//! optional programmable [`Responder`], plus loading a script from a JSON or YAML file.

use std::fmt;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use serde::Serialize;

use crate::request::ParsedRequest;

/// Everything the fake model answers with.
#[derive(Clone, Default)]
pub struct Script {
    /// When set, OpenAI requests must send `Authorization: Bearer KEY` and Anthropic requests
    /// `x-api-key: KEY` plus an `anthropic-version` header; anything else is answered 401 and
    /// recorded as a violation.
    pub api_key: Option<String>,
    /// Chosen by matching the request's system prompt and first user message; the first
    /// conversation whose `matches` all occur wins.
    pub conversations: Vec<Conversation>,
    /// Errors injected by request number.
    pub faults: Vec<Fault>,
    /// Consulted when no conversation matches.
    pub responder: Option<Arc<dyn Responder>>,
}

impl fmt::Debug for Script {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Script")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("conversations", &self.conversations)
            .field("faults", &self.faults)
            .field("responder", &self.responder.as_ref().map(|_| "<responder>"))
            .finish()
    }
}

/// One scripted dialogue: turn `k` answers the request whose history holds `k` assistant
/// messages, so turn selection is stateless and a retried request gets the same turn.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Conversation {
    pub name: String,
    /// All must be substrings of the system prompt followed by the first user message.
    #[serde(default)]
    pub matches: Vec<String>,
    pub turns: Vec<Turn>,
}

/// One scripted assistant answer.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub tool_calls: Vec<ScriptedCall>,
    /// Default: input = request JSON bytes / 4, output = answer bytes / 4 (each at least 1).
    #[serde(default)]
    pub usage: Option<ScriptedUsage>,
    /// The model's "thinking" time before the response starts.
    #[serde(default)]
    pub delay_ms: u64,
    /// Substrings the messages since the previous assistant turn (user text and tool results)
    /// must contain; a missing one is a violation, the turn is still answered.
    #[serde(default)]
    pub expect: Vec<String>,
}

/// A tool call the model makes; its id is derived from the conversation, turn and position.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedCall {
    pub name: String,
    pub arguments: serde_json::Value,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// An error injected into one request.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// 1-based index over all requests the server receives, whatever their route.
    pub request: usize,
    /// For example 429, 500 or 529; ignored when `cut_stream` is set.
    pub status: u16,
    /// Sent as a `Retry-After` header.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    /// Answer 200, send part of the response, then close the connection without its end.
    #[serde(default)]
    pub cut_stream: bool,
}

/// A programmable script, consulted when no conversation matches a request.
///
/// Implementations must be cheap and must not block: they run on the server's request task.
/// Returning `None` answers 500 and records a "no script for …" violation.
pub trait Responder: Send + Sync {
    fn respond(&self, request: &ParsedRequest) -> Option<Turn>;
}

#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("cannot read script {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid JSON script {}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid YAML script {}", path.display())]
    Yaml {
        path: PathBuf,
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    #[error("invalid script {}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

/// The serializable part of a [`Script`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptFile {
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    conversations: Vec<Conversation>,
    #[serde(default)]
    faults: Vec<Fault>,
}

impl Script {
    /// Loads `api_key`, `conversations` and `faults` from a `.json` file, or from YAML for any
    /// other extension.
    pub fn from_file(path: &Path) -> Result<Script, ScriptError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScriptError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let is_json = path
            .extension()
            .is_some_and(|extension| extension == "json");
        let script_file: ScriptFile = if is_json {
            serde_json::from_str(&text).map_err(|source| ScriptError::Json {
                path: path.to_path_buf(),
                source,
            })?
        } else {
            serde_saphyr::from_str(&text).map_err(|source| ScriptError::Yaml {
                path: path.to_path_buf(),
                source: Box::new(source),
            })?
        };
        if let Some(fault) = script_file.faults.iter().find(|fault| fault.request == 0) {
            return Err(ScriptError::Invalid {
                path: path.to_path_buf(),
                message: format!(
                    "fault with status {} has request 0; requests count from 1",
                    fault.status
                ),
            });
        }
        Ok(Script {
            api_key: script_file.api_key,
            conversations: script_file.conversations,
            faults: script_file.faults,
            responder: None,
        })
    }
}
