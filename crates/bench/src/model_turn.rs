//! `model-turn-overhead`: what apiwright itself adds to every model turn. A model agent does a
//! step of many turns against the scripted fake model server (which answers at once), each
//! turn a tool call on a real workspace; the server stamps when it finished each answer and
//! when the next request arrived. The gap is the orchestration: parsing the answer, running
//! the tool, metering, growing the conversation, serializing and sending the next request —
//! everything but the model's own time.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use apiwright_agents::Agent as _;
use apiwright_agents::ModelAgent;
use apiwright_agents::ModelAgentConfig;
use apiwright_agents::StepRequest;
use apiwright_agents::StepServices;
use apiwright_agents::WriteTarget;
use apiwright_agents::tools::ToolLimits;
use apiwright_fakemodel::Conversation;
use apiwright_fakemodel::FakeModel;
use apiwright_fakemodel::Script;
use apiwright_fakemodel::ScriptedCall;
use apiwright_fakemodel::Turn;
use apiwright_models::ClientConfig;
use apiwright_models::ModelClient;
use apiwright_models::Protocol;
use apiwright_models::RetryPolicy;
use serde::Serialize;
use serde_json::json;

use crate::stats::Summary;

/// The target: under 5 ms per turn.
pub const TARGET_MS: f64 = 5.0;

/// One protocol and streaming mode.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub protocol: String,
    pub stream: bool,
    pub turns: usize,
    /// Per-turn orchestration time.
    pub overhead: Summary,
    /// The step's whole wall time.
    pub step_ms: f64,
}

/// All rows.
#[derive(Debug, Clone, Serialize)]
pub struct ModelTurnOverhead {
    pub rows: Vec<Row>,
}

/// The tool calls of the scripted step, in rotation: the kinds of calls a coding step makes.
fn tool_call(turn: usize) -> ScriptedCall {
    let (name, arguments) = match turn % 6 {
        0 => ("read_file", json!({"path": "src/lib.rs"})),
        1 => (
            "write_file",
            json!({"path": format!("notes/turn-{turn}.md"), "content": "a note\n".repeat(20)}),
        ),
        2 => (
            "edit_file",
            json!({"path": "src/lib.rs", "old_string": "VALUE", "new_string": "VALUE"}),
        ),
        3 => ("grep", json!({"pattern": "fn [a-z]+", "path": "src"})),
        4 => (
            "todo_write",
            json!({"todos": [{"content": "write tests", "status": "completed"}, {"content": "implement", "status": "in_progress"}]}),
        ),
        _ => (
            "memory_store",
            json!({"key": "plan", "value": {"turn": turn, "endpoints": ["GET /a", "POST /a"]}}),
        ),
    };
    ScriptedCall {
        name: name.into(),
        arguments,
    }
}

fn script(turns: usize) -> Script {
    let mut scripted: Vec<Turn> = (0..turns)
        .map(|turn| Turn {
            tool_calls: vec![tool_call(turn)],
            text: Some("Working on it.".into()),
            ..Turn::default()
        })
        .collect();
    scripted.push(Turn {
        tool_calls: vec![ScriptedCall {
            name: "finish".into(),
            arguments: json!({"summary": "benchmark step done"}),
        }],
        ..Turn::default()
    });
    Script {
        conversations: vec![Conversation {
            name: "bench".into(),
            matches: vec!["BENCH STEP".into()],
            turns: scripted,
        }],
        ..Script::default()
    }
}

fn request(workspace: &std::path::Path) -> StepRequest {
    StepRequest {
        run_id: "bench".into(),
        workflow: "bench".into(),
        phase_id: "p".into(),
        phase_number: 1,
        phase_title: "Bench".into(),
        step_id: "s".into(),
        role: apiwright_workflow::AgentRole {
            id: "developer".into(),
            description: "Benchmark role".into(),
            focus: vec![],
            command: None,
        },
        task: "bench".into(),
        params: Default::default(),
        concurrent: false,
        iteration: 1,
        item: None,
        stage: None,
        reads: vec![],
        missing_reads: vec![],
        siblings: vec![],
        handoffs: vec![],
        feedback: vec![],
        gates: Arc::from(Vec::new()),
        writes: vec![WriteTarget {
            name: "plan".into(),
            key: "bench/p/developer/plan".into(),
        }],
        workspace: workspace.to_path_buf(),
        db_path: None,
        workflow_dir: None,
        // A prompt of a realistic size (a step prompt with its reads is a few KiB).
        prompt: format!(
            "BENCH STEP\n{}",
            "Context line of the step prompt.\n".repeat(150)
        ),
        timeout: Duration::from_secs(600),
        attempt: 1,
        services: StepServices {
            tools: true,
            ..StepServices::default()
        },
        env: vec![],
    }
}

async fn one(protocol: Protocol, stream: bool, turns: usize) -> anyhow::Result<Row> {
    let workspace = tempfile::tempdir()?;
    std::fs::create_dir_all(workspace.path().join("src"))?;
    std::fs::write(
        workspace.path().join("src/lib.rs"),
        "pub const VALUE: u32 = 1;\n\npub fn answer() -> u32 {\n    VALUE\n}\n".repeat(20),
    )?;
    let fake = FakeModel::start(script(turns)).await?;
    let base_url = match protocol {
        Protocol::OpenAi => fake.openai_base_url(),
        Protocol::Anthropic => fake.anthropic_base_url(),
    };
    let client = ModelClient::new(ClientConfig {
        protocol,
        base_url,
        api_key: None,
        model: "scripted".into(),
        stream,
        max_output_tokens: 4096,
        temperature: None,
        request_timeout: Duration::from_secs(60),
        retry: RetryPolicy::default(),
    })?;
    let agent = ModelAgent::new(ModelAgentConfig {
        provider: "openai",
        client,
        max_turns: u32::try_from(turns + 5)?,
        max_step_tokens: u64::MAX,
        price: None,
        tools: ToolLimits::default(),
        hidden_env: Vec::new(),
    });
    let started = std::time::Instant::now();
    agent
        .run(request(workspace.path()))
        .await
        .map_err(|error| anyhow::anyhow!("the benchmark step failed: {error}"))?;
    let step_ms = started.elapsed().as_secs_f64() * 1000.0;
    let violations = fake.violations();
    anyhow::ensure!(violations.is_empty(), "protocol violations: {violations:?}");
    let exchanges = fake.exchanges();
    fake.shutdown().await;
    let gaps: Vec<Duration> = exchanges
        .windows(2)
        .map(|pair| Duration::from_micros(pair[1].received_us.saturating_sub(pair[0].answered_us)))
        .collect();
    Ok(Row {
        protocol: match protocol {
            Protocol::OpenAi => "openai".into(),
            Protocol::Anthropic => "anthropic".into(),
        },
        stream,
        turns: exchanges.len(),
        overhead: Summary::of(&gaps).context("no turns measured")?,
        step_ms,
    })
}

/// Runs every protocol and streaming mode, `rounds` times each, interleaved.
pub fn run(turns: usize, rounds: usize) -> anyhow::Result<ModelTurnOverhead> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    for _ in 0..rounds {
        for (protocol, stream) in [
            (Protocol::OpenAi, false),
            (Protocol::OpenAi, true),
            (Protocol::Anthropic, false),
            (Protocol::Anthropic, true),
        ] {
            rows.push(runtime.block_on(one(protocol, stream, turns))?);
        }
    }
    Ok(ModelTurnOverhead { rows })
}

/// Markdown for BENCHMARKS.md.
pub fn render(result: &ModelTurnOverhead, header: &str) -> String {
    let mut out = format!(
        "### model-turn-overhead\n\n{header}A model agent's step of many turns against the scripted fake model server (answers at once); each turn one tool call on a real workspace (read, write, edit, grep, todo, memory, in rotation). Orchestration per turn = the server's time from finishing an answer to receiving the next request. Target: under {TARGET_MS} ms per turn.\n\n| protocol | stream | turns | p50 | p95 | p99 | max | mean | step wall time | target |\n|---|---|---|---|---|---|---|---|---|---|\n"
    );
    for row in &result.rows {
        let met = row.overhead.p99_ms < TARGET_MS;
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.0} ms | {} |\n",
            row.protocol,
            if row.stream { "yes" } else { "no" },
            row.turns,
            row.overhead.p50_ms,
            row.overhead.p95_ms,
            row.overhead.p99_ms,
            row.overhead.max_ms,
            row.overhead.mean_ms,
            row.step_ms,
            if met { "**met** (p99)" } else { "**MISSED** (p99)" }
        ));
    }
    out
}
