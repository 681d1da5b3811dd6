//! Deciding the reply to one request, with no IO: parse, authenticate, check the contract,
//! pick the scripted turn (or fault) and render it in the request's protocol.

use std::panic::AssertUnwindSafe;

use axum::http::HeaderMap;
use bytes::Bytes;
use serde_json::Value;

use crate::anthropic;
use crate::checks;
use crate::openai;
use crate::request::Answer;
use crate::request::AnswerCall;
use crate::request::Malformed;
use crate::request::ParsedRequest;
use crate::request::Protocol;
use crate::script::Script;
use crate::script::Turn;

const EVENT_STREAM: &str = "text/event-stream";
const JSON: &str = "application/json";

/// How a response body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    Complete,
    /// Close the connection after the frames, without the protocol's end.
    Cut,
}

/// Everything the server sends for one request, plus what the exchange log records.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub retry_after_secs: Option<u64>,
    pub frames: Vec<Bytes>,
    pub ending: Ending,
    pub delay_ms: u64,
    pub conversation: Option<String>,
    pub turn: usize,
    pub stream: bool,
    pub violations: Vec<String>,
}

impl Reply {
    fn error(protocol: Protocol, status: u16, message: &str) -> Reply {
        let body = match protocol {
            Protocol::OpenAi => openai::error_body(status, message),
            Protocol::Anthropic => anthropic::error_body(status, message),
        };
        Reply {
            status,
            content_type: JSON,
            retry_after_secs: None,
            frames: vec![Bytes::from(body.to_string())],
            ending: Ending::Complete,
            delay_ms: 0,
            conversation: None,
            turn: 0,
            stream: false,
            violations: Vec::new(),
        }
    }

    /// An error that is also a contract violation.
    fn violation(protocol: Protocol, status: u16, violation: String) -> Reply {
        let mut reply = Reply::error(protocol, status, &violation);
        reply.violations.push(violation);
        reply
    }
}

/// The scripted source of a request's answer.
struct Selection {
    /// The conversation's name; `None` for the responder or no script at all.
    conversation: Option<String>,
    /// The turn to answer, or the violation explaining why there is none.
    turn: Result<Turn, String>,
}

pub(crate) fn decide(
    script: &Script,
    protocol: Protocol,
    index: usize,
    headers: &HeaderMap,
    body: &[u8],
) -> Reply {
    let json: Value = match serde_json::from_slice(body) {
        Ok(json) => json,
        Err(error) => {
            return Reply::violation(protocol, 400, format!("malformed JSON body: {error}"));
        }
    };
    let parsed = match protocol {
        Protocol::OpenAi => openai::parse(&json),
        Protocol::Anthropic => anthropic::parse(&json),
    };
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(Malformed(message)) => {
            return Reply::violation(protocol, 400, format!("malformed request: {message}"));
        }
    };
    let request = parsed.request;
    let mut violations = parsed.violations;
    violations.extend(checks::tool_results(&request.messages));
    if let Some(failure) = authentication_failure(script, protocol, headers) {
        violations.push(failure);
        let mut reply = Reply::error(protocol, 401, "invalid x-api-key or bearer token");
        reply.violations = violations;
        reply.turn = request.turn;
        reply.stream = request.stream;
        return reply;
    }
    let selection = select(script, &request);
    let fault = script.faults.iter().find(|fault| fault.request == index);
    let mut reply = match (&selection.turn, fault) {
        (_, Some(fault)) if !fault.cut_stream => {
            let mut reply = Reply::error(protocol, fault.status, "scripted fault");
            reply.retry_after_secs = fault.retry_after_secs;
            reply
        }
        (Err(violation), _) => Reply::violation(protocol, 500, violation.clone()),
        (Ok(turn), _) => {
            let script_name = match &selection.conversation {
                Some(name) => format!("conversation {name}"),
                None => "responder".to_owned(),
            };
            violations.extend(checks::turn(&request, &script_name, turn));
            let answer = answer(
                &request,
                &selection,
                turn,
                index,
                parsed.include_usage,
                body.len(),
            );
            let mut reply = render(protocol, &answer, request.stream);
            reply.delay_ms = turn.delay_ms;
            if fault.is_some_and(|fault| fault.cut_stream) {
                cut(&mut reply);
            }
            reply
        }
    };
    violations.append(&mut reply.violations);
    reply.violations = violations;
    reply.conversation = selection.conversation;
    reply.turn = request.turn;
    reply.stream = request.stream;
    reply
}

fn authentication_failure(
    script: &Script,
    protocol: Protocol,
    headers: &HeaderMap,
) -> Option<String> {
    let api_key = script.api_key.as_deref()?;
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    match protocol {
        Protocol::OpenAi => match header("authorization") {
            None => Some("OpenAI request without an `Authorization` header".to_owned()),
            Some(value) if value.strip_prefix("Bearer ") == Some(api_key) => None,
            Some(_) => Some("OpenAI request with the wrong bearer token".to_owned()),
        },
        Protocol::Anthropic => match (header("x-api-key"), header("anthropic-version")) {
            (None, _) => Some("Anthropic request without an `x-api-key` header".to_owned()),
            (Some(value), _) if value != api_key => {
                Some("Anthropic request with the wrong `x-api-key`".to_owned())
            }
            (Some(_), None) => {
                Some("Anthropic request without an `anthropic-version` header".to_owned())
            }
            (Some(_), Some(_)) => None,
        },
    }
}

fn select(script: &Script, request: &ParsedRequest) -> Selection {
    let opening = request.opening();
    let conversation = script.conversations.iter().find(|conversation| {
        conversation
            .matches
            .iter()
            .all(|needle| opening.contains(needle.as_str()))
    });
    if let Some(conversation) = conversation {
        let turn = conversation
            .turns
            .get(request.turn)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "conversation {} has {} turns, request asked for turn {}",
                    conversation.name,
                    conversation.turns.len(),
                    request.turn + 1
                )
            });
        return Selection {
            conversation: Some(conversation.name.clone()),
            turn,
        };
    }
    let Some(responder) = &script.responder else {
        return Selection {
            conversation: None,
            turn: Err(format!(
                "no script for request: no conversation matches {:?} and there is no responder",
                abbreviate(&opening)
            )),
        };
    };
    let response = std::panic::catch_unwind(AssertUnwindSafe(|| responder.respond(request)));
    let turn = match response {
        Ok(Some(turn)) => Ok(turn),
        Ok(None) => Err(format!(
            "no script for request: no conversation matches {:?} and the responder declined",
            abbreviate(&opening)
        )),
        Err(_) => Err("the responder panicked".to_owned()),
    };
    Selection {
        conversation: None,
        turn,
    }
}

fn abbreviate(text: &str) -> String {
    const LIMIT: usize = 120;
    match text.char_indices().nth(LIMIT) {
        Some((offset, _)) => format!("{}…", &text[..offset]),
        None => text.to_owned(),
    }
}

fn answer(
    request: &ParsedRequest,
    selection: &Selection,
    turn: &Turn,
    index: usize,
    include_usage: bool,
    request_bytes: usize,
) -> Answer {
    let label: String = selection
        .conversation
        .as_deref()
        .unwrap_or("r")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let (id_prefix, response_id) = match request.protocol {
        Protocol::OpenAi => ("call", format!("chatcmpl-fake-{index}")),
        Protocol::Anthropic => ("toolu", format!("msg_fake_{index}")),
    };
    let tool_calls: Vec<AnswerCall> = turn
        .tool_calls
        .iter()
        .enumerate()
        .map(|(position, call)| AnswerCall {
            id: format!("{id_prefix}_{label}_{}_{position}", request.turn),
            name: call.name.clone(),
            arguments: call.arguments.clone(),
        })
        .collect();
    let (input_tokens, output_tokens) = match turn.usage {
        Some(usage) => (usage.input_tokens, usage.output_tokens),
        None => {
            let answer_bytes = turn.text.as_ref().map_or(0, String::len)
                + tool_calls
                    .iter()
                    .map(|call| call.name.len() + call.arguments.to_string().len())
                    .sum::<usize>();
            let tokens = |bytes: usize| u64::try_from(bytes / 4).unwrap_or(u64::MAX).max(1);
            (tokens(request_bytes), tokens(answer_bytes))
        }
    };
    Answer {
        response_id,
        model: if request.model.is_empty() {
            "fake-model".to_owned()
        } else {
            request.model.clone()
        },
        text: turn.text.clone(),
        tool_calls,
        input_tokens,
        output_tokens,
        include_usage,
    }
}

fn render(protocol: Protocol, answer: &Answer, stream: bool) -> Reply {
    let (content_type, frames) = match (protocol, stream) {
        (Protocol::OpenAi, false) => (JSON, vec![Bytes::from(openai::render(answer).to_string())]),
        (Protocol::OpenAi, true) => (EVENT_STREAM, openai::render_stream(answer)),
        (Protocol::Anthropic, false) => (
            JSON,
            vec![Bytes::from(anthropic::render(answer).to_string())],
        ),
        (Protocol::Anthropic, true) => (EVENT_STREAM, anthropic::render_stream(answer)),
    };
    Reply {
        status: 200,
        content_type,
        retry_after_secs: None,
        frames,
        ending: Ending::Complete,
        delay_ms: 0,
        conversation: None,
        turn: 0,
        stream,
        violations: Vec::new(),
    }
}

/// Keeps the first half of the frames (of the bytes, for a single JSON body) and cuts.
fn cut(reply: &mut Reply) {
    if let [body] = reply.frames.as_slice() {
        let half = body.len() / 2;
        reply.frames = vec![body.slice(..half)];
    } else {
        let keep = (reply.frames.len() / 2).max(1);
        reply.frames.truncate(keep);
    }
    reply.ending = Ending::Cut;
}
