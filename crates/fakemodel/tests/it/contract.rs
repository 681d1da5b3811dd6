//! Contract violations the server records (and still answers), authentication, malformed
//! requests and the programmable responder.

use std::sync::Arc;
use std::sync::Mutex;

use apiwright_fakemodel::FakeModel;
use apiwright_fakemodel::ParsedMessage;
use apiwright_fakemodel::ParsedRequest;
use apiwright_fakemodel::Protocol;
use apiwright_fakemodel::Responder;
use apiwright_fakemodel::Script;
use apiwright_fakemodel::ScriptedCall;
use apiwright_fakemodel::Turn;
use serde_json::Value;
use serde_json::json;

use crate::support::TOOL_RESULT;
use crate::support::anthropic;
use crate::support::openai;
use crate::support::post;
use crate::support::post_raw;
use crate::support::weather_script;

fn openai_call(id: &str) -> Value {
    json!({ "role": "assistant", "content": null, "tool_calls": [{
        "id": id, "type": "function", "function": { "name": "get_weather", "arguments": "{}" },
    }] })
}

fn openai_result(id: &str) -> Value {
    json!({ "role": "tool", "tool_call_id": id, "content": TOOL_RESULT })
}

/// Posts an OpenAI history to the weather script and returns the status and violations.
async fn openai_violations(history: Vec<Value>) -> (u16, Vec<String>) {
    let model = FakeModel::start(weather_script()).await.unwrap();
    let url = format!("{}/chat/completions", model.openai_base_url());
    let mut messages = openai::opening();
    messages.extend(history);
    let reply = post(&url, &openai::request(messages, false), &[]).await;
    let violations = model.violations();
    model.shutdown().await;
    (reply.status, violations)
}

#[tokio::test]
async fn a_tool_call_answered_twice_is_a_violation() {
    let history = vec![
        openai_call("call_a"),
        openai_result("call_a"),
        openai_result("call_a"),
    ];
    assert_eq!(
        openai_violations(history).await,
        (
            200,
            vec![
                "request 1: tool call call_a (`get_weather`) from assistant turn 1 has 2 tool results; expected exactly one"
                    .to_owned()
            ]
        )
    );
}

#[tokio::test]
async fn a_tool_call_never_answered_is_a_violation() {
    let history = vec![
        openai_call("call_a"),
        json!({ "role": "user", "content": "go on, it is 18°C" }),
    ];
    let (status, violations) = openai_violations(history).await;
    assert_eq!(status, 200);
    assert_eq!(
        violations,
        vec![
            "request 1: tool call call_a (`get_weather`) from assistant turn 1 has no tool result"
        ]
    );
}

#[tokio::test]
async fn a_tool_result_for_an_unknown_id_is_a_violation() {
    let history = vec![
        openai_call("call_a"),
        openai_result("call_a"),
        openai_result("call_bogus"),
    ];
    let (status, violations) = openai_violations(history).await;
    assert_eq!(status, 200);
    assert_eq!(
        violations,
        vec!["request 1: tool result refers to unknown tool call id `call_bogus`"]
    );
}

#[tokio::test]
async fn anthropic_tool_use_without_result_and_broken_alternation_are_violations() {
    let model = FakeModel::start(weather_script()).await.unwrap();
    let url = format!("{}/v1/messages", model.anthropic_base_url());
    let mut request = anthropic::request(
        vec![
            json!({ "role": "user", "content": "What is the weather in Paris?" }),
            json!({ "role": "assistant", "content": [
                { "type": "tool_use", "id": "toolu_x", "name": "get_weather", "input": {} },
            ] }),
            json!({ "role": "user", "content": "never mind" }),
            json!({ "role": "user", "content": "really, 18°C" }),
        ],
        false,
    );
    request.as_object_mut().unwrap().remove("max_tokens");
    let reply = post(&url, &request, anthropic::HEADERS).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        model.violations(),
        vec![
            "request 1: missing `max_tokens`",
            "request 1: messages 3 and 4 both have role `user`; roles must alternate",
            "request 1: tool call toolu_x (`get_weather`) from assistant turn 1 has no tool result",
        ]
    );
    model.shutdown().await;
}

#[tokio::test]
async fn unmet_expectations_and_unoffered_tools_are_violations() {
    let model = FakeModel::start(weather_script()).await.unwrap();
    let url = format!("{}/chat/completions", model.openai_base_url());
    let mut request = openai::request(openai::opening(), false);
    request["tools"] = json!([]);
    assert_eq!(post(&url, &request, &[]).await.status, 200);
    let mut messages = openai::opening();
    messages.push(openai_call("call_a"));
    messages.push(json!({ "role": "tool", "tool_call_id": "call_a", "content": "no data" }));
    assert_eq!(
        post(&url, &openai::request(messages, false), &[])
            .await
            .status,
        200
    );
    assert_eq!(
        model.violations(),
        vec![
            "request 1: conversation weather turn 1: scripted tool `get_weather` is not among the request's tools []",
            "request 2: conversation weather turn 2: the messages since the previous assistant turn do not contain \"18°C\"",
        ]
    );
    model.shutdown().await;
}

#[tokio::test]
async fn a_turn_past_the_script_is_a_500_and_a_violation() {
    let history = vec![
        openai_call("call_a"),
        openai_result("call_a"),
        json!({ "role": "assistant", "content": "done" }),
        json!({ "role": "user", "content": "and tomorrow?" }),
    ];
    let (status, violations) = openai_violations(history).await;
    assert_eq!(status, 500);
    assert_eq!(
        violations,
        vec!["request 1: conversation weather has 2 turns, request asked for turn 3"]
    );
}

#[tokio::test]
async fn malformed_requests_get_400_in_each_providers_error_shape() {
    let model = FakeModel::start(weather_script()).await.unwrap();
    let openai_reply = post_raw(
        &format!("{}/chat/completions", model.openai_base_url()),
        b"{not json".to_vec(),
        &[],
    )
    .await;
    assert_eq!(openai_reply.status, 400);
    assert_eq!(
        openai_reply.json()["error"]["type"],
        "invalid_request_error"
    );
    let anthropic_reply = post(
        &format!("{}/v1/messages", model.anthropic_base_url()),
        &json!({ "model": "m" }),
        &[],
    )
    .await;
    assert_eq!(anthropic_reply.status, 400);
    assert_eq!(anthropic_reply.json()["type"], "error");
    assert_eq!(
        anthropic_reply.json()["error"]["type"],
        "invalid_request_error"
    );
    let violations = model.violations();
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert!(
        violations[0].starts_with("request 1: malformed JSON body"),
        "{violations:?}"
    );
    assert_eq!(
        violations[1],
        "request 2: malformed request: `messages` must be an array"
    );
    let statuses: Vec<u16> = model
        .exchanges()
        .iter()
        .map(|exchange| exchange.status)
        .collect();
    assert_eq!(statuses, vec![400, 400]);
    model.shutdown().await;
}

#[tokio::test]
async fn a_wrong_api_key_gets_401_and_a_violation() {
    let script = Script {
        api_key: Some("sk-right".to_owned()),
        ..weather_script()
    };
    let model = FakeModel::start(script).await.unwrap();
    let openai_url = format!("{}/chat/completions", model.openai_base_url());
    let anthropic_url = format!("{}/v1/messages", model.anthropic_base_url());
    let openai_request = openai::request(openai::opening(), false);
    let anthropic_request = anthropic::request(anthropic::opening(), false);

    let wrong = post(
        &openai_url,
        &openai_request,
        &[("authorization", "Bearer sk-wrong")],
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["error"]["code"], "invalid_api_key");
    let missing = post(&anthropic_url, &anthropic_request, anthropic::HEADERS).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json()["error"]["type"], "authentication_error");
    let no_version = post(
        &anthropic_url,
        &anthropic_request,
        &[("x-api-key", "sk-right")],
    )
    .await;
    assert_eq!(no_version.status, 401);
    assert_eq!(
        model.violations(),
        vec![
            "request 1: OpenAI request with the wrong bearer token",
            "request 2: Anthropic request without an `x-api-key` header",
            "request 3: Anthropic request without an `anthropic-version` header",
        ]
    );

    let right = post(
        &openai_url,
        &openai_request,
        &[("authorization", "Bearer sk-right")],
    )
    .await;
    assert_eq!(right.status, 200);
    let right = post(
        &anthropic_url,
        &anthropic_request,
        &[
            ("x-api-key", "sk-right"),
            ("anthropic-version", "2023-06-01"),
        ],
    )
    .await;
    assert_eq!(right.status, 200);
    assert_eq!(model.violations().len(), 3);
    model.shutdown().await;
}

/// What the responder saw of one request: protocol, turn, offered tools, message count.
type Seen = (Protocol, usize, Vec<String>, usize);

/// Answers any request mentioning "ping" with a call to `echo`, then with text; remembers what
/// it saw.
#[derive(Default)]
struct PingResponder {
    seen: Mutex<Vec<Seen>>,
}

impl Responder for PingResponder {
    fn respond(&self, request: &ParsedRequest) -> Option<Turn> {
        self.seen.lock().unwrap().push((
            request.protocol,
            request.turn,
            request.tools.clone(),
            request.messages.len(),
        ));
        if !request.opening().contains("ping") {
            return None;
        }
        let answered = request
            .messages
            .iter()
            .any(|message| matches!(message, ParsedMessage::ToolResult { .. }));
        Some(if answered {
            Turn {
                text: Some("pong".to_owned()),
                ..Turn::default()
            }
        } else {
            Turn {
                tool_calls: vec![ScriptedCall {
                    name: "echo".to_owned(),
                    arguments: json!({ "say": "ping" }),
                }],
                ..Turn::default()
            }
        })
    }
}

#[tokio::test]
async fn the_responder_answers_when_no_conversation_matches() {
    let responder = Arc::new(PingResponder::default());
    let script = Script {
        responder: Some(responder.clone()),
        ..weather_script()
    };
    let model = FakeModel::start(script).await.unwrap();
    let url = format!("{}/chat/completions", model.openai_base_url());
    let tools = json!([{ "type": "function", "function": { "name": "echo" } }]);
    let mut messages = vec![json!({ "role": "user", "content": "ping" })];
    let first = post(
        &url,
        &json!({ "model": "m", "tools": tools, "messages": messages }),
        &[],
    )
    .await;
    let call_id = first.json()["choices"][0]["message"]["tool_calls"][0]["id"].clone();
    assert_eq!(call_id, "call_r_0_0");
    messages.push(
        json!({ "role": "assistant", "tool_calls": [{ "id": call_id, "type": "function",
        "function": { "name": "echo", "arguments": "{\"say\":\"ping\"}" } }] }),
    );
    messages.push(json!({ "role": "tool", "tool_call_id": call_id, "content": "ping" }));
    let second = post(
        &url,
        &json!({ "model": "m", "tools": tools, "messages": messages }),
        &[],
    )
    .await;
    assert_eq!(second.json()["choices"][0]["message"]["content"], "pong");

    // The weather conversation still wins when it matches; the responder is not asked.
    assert_eq!(
        post(&url, &openai::request(openai::opening(), false), &[])
            .await
            .status,
        200
    );
    let declined = post(
        &url,
        &json!({ "model": "m", "messages": [{ "role": "user", "content": "hi" }] }),
        &[],
    )
    .await;
    assert_eq!(declined.status, 500);

    assert_eq!(
        *responder.seen.lock().unwrap(),
        vec![
            (Protocol::OpenAi, 0, vec!["echo".to_owned()], 1),
            (Protocol::OpenAi, 1, vec!["echo".to_owned()], 3),
            (Protocol::OpenAi, 0, vec![], 1),
        ]
    );
    let violations = model.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].starts_with("request 4: no script for request"),
        "{violations:?}"
    );
    let conversations: Vec<Option<String>> = model
        .exchanges()
        .into_iter()
        .map(|exchange| exchange.conversation)
        .collect();
    assert_eq!(
        conversations,
        vec![None, None, Some("weather".to_owned()), None]
    );
    model.shutdown().await;
}

#[tokio::test]
async fn odd_request_bodies_are_answered_without_crashing() {
    let model = FakeModel::start(weather_script()).await.unwrap();
    let urls = [
        format!("{}/chat/completions", model.openai_base_url()),
        format!("{}/v1/messages", model.anthropic_base_url()),
    ];
    let bodies = [
        json!(null),
        json!([]),
        json!({ "messages": 3 }),
        json!({ "messages": [1, "two", null] }),
        json!({ "messages": [{ "role": 7 }] }),
        json!({ "model": 1, "messages": [{ "role": "user", "content": 5 }] }),
        json!({ "model": "m", "messages": [{ "role": "user", "content": [1, { "type": "tool_result" }] }] }),
        json!({ "model": "m", "messages": [{ "role": "assistant", "content": [{ "type": "tool_use" }],
                "tool_calls": [{ "function": { "arguments": "{" } }, 3] }] }),
        json!({ "model": "m", "messages": [{ "role": "tool" }, { "role": "wizard", "content": "x" }] }),
    ];
    for url in &urls {
        for body in &bodies {
            let reply = post(url, body, &[]).await;
            assert!(
                [400, 500].contains(&reply.status),
                "{url} {body} → {}",
                reply.status
            );
            assert!(reply.json().get("error").is_some(), "{url} {body}");
        }
    }
    // The server is still up and well.
    let reply = post(&urls[0], &openai::request(openai::opening(), false), &[]).await;
    assert_eq!(reply.status, 200);
    let reply = post(
        &format!("{}/v1/unknown", model.anthropic_base_url()),
        &json!({}),
        &[],
    )
    .await;
    assert_eq!(reply.status, 404);
    assert!(
        model
            .violations()
            .last()
            .unwrap()
            .ends_with("request to unknown route /v1/unknown")
    );
    model.shutdown().await;
}
