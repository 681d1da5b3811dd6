//! The model provider: a language model does the step through a tool loop.
//!
//! Each turn sends the conversation to the model; every tool call it makes gets exactly one
//! result (file tools confined to the workspace, bash, memory, todos), and the loop ends when
//! the model calls `finish` with every deliverable stored and passing its checks, or
//! `escalate`. Limits per step (turns, tokens, wall time via the engine) and the run's budget
//! stop it; usage is metered every turn so a failed attempt is still accounted for.

use std::sync::Arc;
use std::sync::Mutex;

use apiwright_models::ChatRequest;
use apiwright_models::Message;
use apiwright_models::ModelClient;
use apiwright_models::ModelError;
use apiwright_models::StopReason;
use apiwright_models::ToolCall;
use apiwright_models::ToolSpec;
use apiwright_workflow::EscalationKind;
use serde_json::json;

use crate::Agent;
use crate::request::AgentError;
use crate::request::EscalationRequest;
use crate::request::StepOutput;
use crate::request::StepRequest;
use crate::request::Usage;
use crate::tools::ToolBox;
use crate::tools::ToolBoxConfig;
use crate::tools::ToolLimits;

/// Longest text of one message kept in a stored transcript.
const TRANSCRIPT_MESSAGE_BYTES: usize = 8 * 1024;

/// How a model agent works.
#[derive(Debug, Clone)]
pub struct ModelAgentConfig {
    /// `openai` or `anthropic` (for reports).
    pub provider: &'static str,
    /// The provider client (endpoint, model, key, retries).
    pub client: ModelClient,
    /// Most model turns per step.
    pub max_turns: u32,
    /// Most tokens (input + output, all turns) per step.
    pub max_step_tokens: u64,
    /// US dollars per million input and output tokens, when known.
    pub price: Option<(f64, f64)>,
    /// Tool limits (bash, timeouts, output caps).
    pub tools: ToolLimits,
    /// Environment variables the model's `bash` must not see (the API keys).
    pub hidden_env: Vec<String>,
}

/// An agent played by a language model through a tool loop.
#[derive(Debug, Clone)]
pub struct ModelAgent {
    config: ModelAgentConfig,
}

impl ModelAgent {
    /// A model agent.
    pub fn new(config: ModelAgentConfig) -> ModelAgent {
        ModelAgent { config }
    }
}

impl Agent for ModelAgent {
    fn provider(&self) -> &str {
        self.config.provider
    }

    fn works_through_tools(&self) -> bool {
        true
    }

    async fn run(&self, request: StepRequest) -> Result<StepOutput, AgentError> {
        let toolbox = ToolBox::new(ToolBoxConfig {
            workspace: request.workspace.clone(),
            env: request
                .env
                .iter()
                .cloned()
                .chain(
                    self.config
                        .hidden_env
                        .iter()
                        .map(|name| (name.clone(), String::new())),
                )
                .collect(),
            limits: self.config.tools.clone(),
            memory: request.services.memory.clone(),
            writes: request.writes.clone(),
            namespace: request.services.namespace.clone(),
            checks: request.services.checks.clone(),
        })
        .map_err(|error| {
            AgentError::Fatal(format!("cannot prepare the workspace tools: {error}"))
        })?;
        let mut specs: Vec<ToolSpec> = toolbox
            .definitions()
            .into_iter()
            .map(|definition| ToolSpec {
                name: definition.name,
                description: definition.description,
                parameters: definition.parameters,
            })
            .collect();
        specs.extend(control_tools(&request));
        let mut conversation = Conversation::new(
            ChatRequest {
                system: system_prompt(&request),
                messages: Vec::new(),
                tools: specs,
            },
            Arc::clone(&request.services.transcript),
        );
        conversation.push(Message::User(request.prompt.clone()));
        for turn in 1..=self.config.max_turns {
            if let Some(spent) = request.services.meter.usage() {
                if let Some(reason) = request.services.budget.exceeded_by(&spent) {
                    return Err(AgentError::Fatal(reason));
                }
                let tokens = spent.input_tokens + spent.output_tokens;
                if tokens > self.config.max_step_tokens {
                    return Err(AgentError::Fatal(format!(
                        "the step used {tokens} tokens, over its limit of {} (max_step_tokens)",
                        self.config.max_step_tokens
                    )));
                }
            }
            let response = self
                .config
                .client
                .complete(&conversation.chat)
                .await
                .map_err(model_error)?;
            request.services.meter.add_turn(self.usage(&response.usage));
            let calls = response.tool_calls;
            conversation.push(Message::Assistant {
                text: response.text.clone(),
                tool_calls: calls.clone(),
            });
            if calls.is_empty() {
                let nudge = match response.stop {
                    StopReason::MaxTokens => {
                        "Your answer was cut at the output token limit. Continue with smaller \
                         steps: write files with the tools, then call `finish`."
                            .to_string()
                    }
                    _ => match finish_check(&toolbox, &request) {
                        Ok(()) => {
                            // Everything is stored: a model that ends its turn is done.
                            return Ok(output(
                                &toolbox,
                                response.text.unwrap_or_default(),
                                Vec::new(),
                                None,
                            ));
                        }
                        Err(missing) => format!(
                            "You ended your turn without calling `finish`. {missing} Store each \
                             deliverable with `memory_store`, then call `finish` (turn {turn} of {}).",
                            self.config.max_turns
                        ),
                    },
                };
                conversation.push(Message::User(nudge));
                continue;
            }
            let mut ended: Option<StepOutput> = None;
            for call in &calls {
                if ended.is_some() {
                    conversation.push(tool_result(
                        call,
                        "not run: the step already ended with an earlier call of this turn",
                        true,
                    ));
                    continue;
                }
                match call.name.as_str() {
                    "finish" => match finish(&toolbox, &request, call).await {
                        Ok(done) => {
                            conversation.push(tool_result(
                                call,
                                "accepted; the step is done",
                                false,
                            ));
                            ended = Some(done);
                        }
                        Err(problem) => conversation.push(tool_result(call, &problem, true)),
                    },
                    "escalate" => match escalation(call) {
                        Ok(raised) => {
                            conversation.push(tool_result(
                                call,
                                "escalated; the run pauses until a person decides",
                                false,
                            ));
                            ended = Some(output(
                                &toolbox,
                                format!("escalated: {}", raised.message),
                                Vec::new(),
                                Some(raised),
                            ));
                        }
                        Err(problem) => conversation.push(tool_result(call, &problem, true)),
                    },
                    name => {
                        let outcome = toolbox.call(name, &call.arguments).await;
                        conversation.push(tool_result(call, &outcome.content, outcome.is_error));
                    }
                }
            }
            if let Some(done) = ended {
                return Ok(done);
            }
        }
        Err(AgentError::Fatal(format!(
            "the model used all {} turns of the step without calling `finish` (max_turns); \
             files changed: {}",
            self.config.max_turns,
            list_or_none(&toolbox.files_changed())
        )))
    }
}

impl ModelAgent {
    fn usage(&self, tokens: &apiwright_models::TokenUsage) -> Usage {
        let cost_usd = self.config.price.map_or(0.0, |(input, output)| {
            // Token counts are far below 2^52: the conversion is exact.
            #[allow(clippy::cast_precision_loss)]
            let (i, o) = (tokens.input_tokens as f64, tokens.output_tokens as f64);
            (i * input + o * output) / 1_000_000.0
        });
        Usage {
            input_tokens: tokens.input_tokens,
            output_tokens: tokens.output_tokens,
            cost_usd,
        }
    }
}

/// The conversation: the request sent every turn (grown in place, never copied), and its
/// transcript, handed to the engine's slot when the conversation is dropped — however the
/// step ends, a timeout or a cancellation included.
struct Conversation {
    chat: ChatRequest,
    sink: Arc<Mutex<Option<serde_json::Value>>>,
    transcript: Vec<serde_json::Value>,
}

impl Conversation {
    fn new(chat: ChatRequest, sink: Arc<Mutex<Option<serde_json::Value>>>) -> Conversation {
        Conversation {
            chat,
            sink,
            transcript: Vec::new(),
        }
    }

    fn push(&mut self, message: Message) {
        self.transcript.push(transcript_entry(&message));
        self.chat.messages.push(message);
    }
}

impl Drop for Conversation {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.sink.lock() {
            *slot = Some(serde_json::Value::Array(std::mem::take(
                &mut self.transcript,
            )));
        }
    }
}

fn clip(text: &str) -> String {
    if text.len() <= TRANSCRIPT_MESSAGE_BYTES {
        return text.to_string();
    }
    let mut cut = TRANSCRIPT_MESSAGE_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… [{} bytes in all]", &text[..cut], text.len())
}

fn transcript_entry(message: &Message) -> serde_json::Value {
    match message {
        Message::User(text) => json!({ "role": "user", "text": clip(text) }),
        Message::Assistant { text, tool_calls } => json!({
            "role": "assistant",
            "text": text.as_deref().map(clip),
            "tool_calls": tool_calls
                .iter()
                .map(|call| json!({ "id": call.id, "name": call.name, "arguments": clip(&call.arguments) }))
                .collect::<Vec<_>>(),
        }),
        Message::ToolResult {
            call_id,
            content,
            is_error,
        } => json!({ "role": "tool", "id": call_id, "is_error": is_error, "text": clip(content) }),
    }
}

fn tool_result(call: &ToolCall, content: &str, is_error: bool) -> Message {
    Message::ToolResult {
        call_id: call.id.clone(),
        content: content.to_string(),
        is_error,
    }
}

fn system_prompt(request: &StepRequest) -> String {
    format!(
        "You are the `{}` agent of an apiwright run (workflow `{}`, phase {} `{}`, step `{}`). \
         You work only through the tools you are given; file paths are relative to the \
         workspace. Every claim you make is checked afterwards by gates that build, run and \
         probe what is in the workspace, so do the work rather than describe it. End the step \
         by calling `finish` (after storing every deliverable with `memory_store`) or \
         `escalate` when a person must decide.",
        request.role.id, request.workflow, request.phase_number, request.phase_id, request.step_id
    )
}

/// `finish` and `escalate`: the step's own control tools.
fn control_tools(request: &StepRequest) -> Vec<ToolSpec> {
    let names: Vec<&str> = request
        .writes
        .iter()
        .map(|write| write.name.as_str())
        .collect();
    vec![
        ToolSpec {
            name: "finish".into(),
            description: format!(
                "End the step. Every deliverable ({}) must be stored with memory_store first (or \
                 given here in `deliverables`) and pass its checks; otherwise this returns what \
                 is missing and the step goes on.",
                if names.is_empty() {
                    "none for this step".to_string()
                } else {
                    names.join(", ")
                }
            ),
            parameters: json!({
                "type": "object",
                "properties": {
                    "summary": { "type": "string", "description": "What was done, for the agents that come next." },
                    "decisions": { "type": "array", "items": { "type": "string" }, "description": "Key decisions later agents must respect." },
                    "deliverables": { "type": "object", "description": "Deliverables by name (optional; same as memory_store)." }
                },
                "required": ["summary"]
            }),
        },
        ToolSpec {
            name: "escalate".into(),
            description: "Pause the run for a person: a blocker you must not decide alone.".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "kind": { "type": "string", "enum": ["security_alert", "data_risk", "architecture_conflict", "clarification_needed", "technical_debt"] },
                    "message": { "type": "string" },
                    "options": { "type": "array", "items": { "type": "string" } }
                },
                "required": ["kind", "message"]
            }),
        },
    ]
}

/// Whether every deliverable is staged; the error names what is missing.
fn finish_check(toolbox: &ToolBox, request: &StepRequest) -> Result<(), String> {
    let staged = toolbox.staged();
    let missing: Vec<String> = request
        .writes
        .iter()
        .filter(|write| !staged.deliverables.contains_key(&write.name))
        .map(|write| format!("`{}` ({})", write.name, write.key))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "Deliverables not stored yet: {}.",
            missing.join(", ")
        ))
    }
}

async fn finish(
    toolbox: &ToolBox,
    request: &StepRequest,
    call: &ToolCall,
) -> Result<StepOutput, String> {
    let arguments = parse_arguments(&call.arguments)?;
    if let Some(given) = arguments
        .get("deliverables")
        .and_then(serde_json::Value::as_object)
    {
        let mut problems = Vec::new();
        for (name, value) in given {
            let stored = json!({ "key": name, "value": value }).to_string();
            let outcome = toolbox.call("memory_store", &stored).await;
            if outcome.is_error {
                problems.push(outcome.content);
            }
        }
        if !problems.is_empty() {
            return Err(format!("not finished: {}", problems.join("; ")));
        }
    }
    finish_check(toolbox, request).map_err(|missing| format!("not finished: {missing}"))?;
    let summary = text_field(&arguments, "summary");
    if summary.is_empty() {
        return Err("not finished: expected a non-empty `summary` of what was done".into());
    }
    let decisions = strings_field(&arguments, "decisions");
    Ok(output(toolbox, summary, decisions, None))
}

fn escalation(call: &ToolCall) -> Result<EscalationRequest, String> {
    let arguments = parse_arguments(&call.arguments)?;
    let kind: EscalationKind = serde_json::from_value(
        arguments.get("kind").cloned().unwrap_or_default(),
    )
    .map_err(|_| {
        format!(
            "expected `kind` to be one of security_alert, data_risk, architecture_conflict, \
                 clarification_needed, technical_debt, found {}",
            arguments
                .get("kind")
                .map_or("nothing".to_string(), ToString::to_string)
        )
    })?;
    let message = text_field(&arguments, "message");
    if message.is_empty() {
        return Err("expected a non-empty `message` saying what needs deciding".into());
    }
    let options = strings_field(&arguments, "options");
    Ok(EscalationRequest {
        kind,
        message,
        options,
    })
}

/// A string argument, trimmed (empty when absent or not a string).
fn text_field(arguments: &serde_json::Map<String, serde_json::Value>, name: &str) -> String {
    arguments
        .get(name)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The strings of an array argument (other items are left out).
fn strings_field(
    arguments: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Vec<String> {
    arguments
        .get(name)
        .and_then(serde_json::Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn parse_arguments(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let text = if text.trim().is_empty() { "{}" } else { text };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!(
            "expected the arguments as a JSON object, found {other}"
        )),
        Err(error) => Err(format!(
            "expected the arguments as a JSON object, found invalid JSON: {error}"
        )),
    }
}

fn output(
    toolbox: &ToolBox,
    summary: String,
    decisions: Vec<String>,
    escalation: Option<EscalationRequest>,
) -> StepOutput {
    let staged = toolbox.staged();
    let mut summary = summary.trim().to_string();
    let files = toolbox.files_changed();
    if !files.is_empty() {
        summary.push_str(&format!("\n\nFiles changed: {}", files.join(", ")));
    }
    StepOutput {
        deliverables: staged.deliverables,
        summary,
        decisions,
        escalation,
        usage: None,
        memory: staged.memory,
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Maps a provider failure to who reacts: a key problem or a refused request is fatal (a retry
/// would fail the same way); an endpoint that stayed unavailable after the client's own
/// retries may be retried by the engine.
fn model_error(error: ModelError) -> AgentError {
    if error.is_retryable() {
        AgentError::Retryable(format!("the model endpoint failed: {error}"))
    } else {
        AgentError::Fatal(format!("the model endpoint refused the request: {error}"))
    }
}
