//! The wire protocols of language-model providers, behind one call:
//! [`ModelClient::complete`] sends a conversation with tool definitions and returns the whole
//! answer (text, tool calls, stop reason, token usage).
//!
//! Owns: OpenAI-compatible chat completions with tool calls (OpenAI, vLLM, Ollama, llama.cpp's
//! server — anything at a base URL, `openai.rs`) and Anthropic messages with tool use
//! (`anthropic.rs`); server-sent events and plain JSON answers (`sse.rs`, `http.rs`); retries
//! with backoff that honour the server's `Retry-After` (`retry.rs`, `client.rs`); keeping the
//! API key out of every error, log line and `Debug` output ([`Secret`]).
//!
//! Must not: know about workflows, runs, the store, prompts, or what tools do. It moves
//! messages, tool specifications and tool results as given; deciding what to send and running
//! the tools the model asks for belong to the callers. It spawns no tasks: dropping the future
//! of a call cancels its request.

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod anthropic;
mod client;
mod error;
mod http;
mod openai;
mod retry;
mod sse;
mod types;
mod wire;

pub use client::ModelClient;
pub use error::ModelError;
pub use error::Result;
pub use types::ChatRequest;
pub use types::ChatResponse;
pub use types::ClientConfig;
pub use types::Message;
pub use types::Protocol;
pub use types::RetryPolicy;
pub use types::Secret;
pub use types::StopReason;
pub use types::TokenUsage;
pub use types::ToolCall;
pub use types::ToolSpec;
