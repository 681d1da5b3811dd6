//! The tool loop as a model drives it. Each test scripts the model's turns; the fake server
//! checks on every request that each tool call got exactly one answer (its violations).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use apiwright_agents::Agent;
use apiwright_agents::AgentError;
use apiwright_agents::BoundCheck;
use apiwright_agents::Budget;
use apiwright_agents::DeliverableCheck;
use apiwright_agents::ModelAgent;
use apiwright_agents::ModelAgentConfig;
use apiwright_agents::StepRequest;
use apiwright_agents::StepServices;
use apiwright_agents::WriteTarget;
use apiwright_agents::tools::ToolLimits;
use apiwright_fakemodel::Conversation;
use apiwright_fakemodel::FakeModel;
use apiwright_fakemodel::Fault;
use apiwright_fakemodel::Script;
use apiwright_fakemodel::ScriptedCall;
use apiwright_fakemodel::ScriptedUsage;
use apiwright_fakemodel::Turn;
use apiwright_models::ClientConfig;
use apiwright_models::ModelClient;
use apiwright_models::Protocol;
use apiwright_models::RetryPolicy;
use apiwright_models::Secret;
use serde_json::json;

const KEY: &str = "sk-test-never-store-me-5d41402a";

fn request(workspace: &Path, writes: &[&str], services: StepServices) -> StepRequest {
    StepRequest {
        run_id: "run-1".into(),
        workflow: "wf".into(),
        phase_id: "planning".into(),
        phase_number: 1,
        phase_title: "Planning".into(),
        step_id: "product-manager".into(),
        role: apiwright_workflow::AgentRole {
            id: "product-manager".into(),
            description: "Requirements".into(),
            focus: vec![],
            command: None,
        },
        task: "Write the plan".into(),
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
        writes: writes
            .iter()
            .map(|name| WriteTarget {
                name: name.to_string(),
                key: format!("wf/x/phase-1/product-manager/{name}"),
            })
            .collect(),
        workspace: workspace.to_path_buf(),
        db_path: None,
        workflow_dir: None,
        prompt: "STEP product-manager: write the plan".into(),
        timeout: Duration::from_secs(60),
        attempt: 1,
        services,
        env: vec![],
    }
}

fn services() -> StepServices {
    StepServices {
        namespace: Some("wf/x/phase-1/product-manager/".into()),
        tools: true,
        ..StepServices::default()
    }
}

fn agent(fake: &FakeModel, protocol: Protocol, stream: bool, max_turns: u32) -> ModelAgent {
    let base_url = match protocol {
        Protocol::OpenAi => fake.openai_base_url(),
        Protocol::Anthropic => fake.anthropic_base_url(),
    };
    let client = ModelClient::new(ClientConfig {
        protocol,
        base_url,
        api_key: Some(Secret::new(KEY.to_string())),
        model: "scripted".into(),
        stream,
        max_output_tokens: 1024,
        temperature: None,
        request_timeout: Duration::from_secs(20),
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        },
    })
    .unwrap();
    ModelAgent::new(ModelAgentConfig {
        provider: match protocol {
            Protocol::OpenAi => "openai",
            Protocol::Anthropic => "anthropic",
        },
        client,
        max_turns,
        max_step_tokens: 1_000_000,
        price: Some((2.0, 8.0)),
        tools: ToolLimits::default(),
        hidden_env: vec!["HOME".into()],
    })
}

fn call(name: &str, arguments: serde_json::Value) -> ScriptedCall {
    ScriptedCall {
        name: name.into(),
        arguments,
    }
}

fn turn(calls: Vec<ScriptedCall>) -> Turn {
    Turn {
        tool_calls: calls,
        usage: Some(ScriptedUsage {
            input_tokens: 1000,
            output_tokens: 100,
        }),
        ..Turn::default()
    }
}

fn expecting(mut turn: Turn, text: &str) -> Turn {
    turn.expect = vec![text.to_string()];
    turn
}

fn script(turns: Vec<Turn>) -> Script {
    Script {
        api_key: Some(KEY.into()),
        conversations: vec![Conversation {
            name: "pm".into(),
            matches: vec!["STEP product-manager".into()],
            turns,
        }],
        ..Script::default()
    }
}

/// The ordinary step: write a file, try to escape the workspace (refused, and the model is
/// told), store the deliverable, finish.
fn ordinary_turns() -> Vec<Turn> {
    vec![
        turn(vec![
            call(
                "write_file",
                json!({"path": "src/plan.md", "content": "# Plan\n"}),
            ),
            call("read_file", json!({"path": "../../etc/passwd"})),
            call("bash", json!({"command": "echo \"hidden=[${HOME:-}]\""})),
        ]),
        expecting(
            turn(vec![call(
                "memory_store",
                json!({"key": "plan", "value": {"endpoints": ["GET /books"]}}),
            )]),
            "outside the workspace",
        ),
        turn(vec![call(
            "finish",
            json!({"summary": "Wrote the plan", "decisions": ["JWT auth"]}),
        )]),
    ]
}

#[tokio::test]
async fn both_protocols_with_and_without_streaming_run_the_tool_loop() {
    for (protocol, stream) in [
        (Protocol::OpenAi, false),
        (Protocol::OpenAi, true),
        (Protocol::Anthropic, false),
        (Protocol::Anthropic, true),
    ] {
        let workspace = tempfile::tempdir().unwrap();
        let fake = FakeModel::start(script(ordinary_turns())).await.unwrap();
        let services = services();
        let meter = Arc::clone(&services.meter);
        let transcript = Arc::clone(&services.transcript);
        let output = agent(&fake, protocol, stream, 10)
            .run(request(workspace.path(), &["plan"], services))
            .await
            .unwrap_or_else(|error| panic!("{protocol:?} stream={stream}: {error}"));
        assert_eq!(
            std::fs::read_to_string(workspace.path().join("src/plan.md")).unwrap(),
            "# Plan\n"
        );
        assert_eq!(
            output.deliverables["plan"],
            json!({"endpoints": ["GET /books"]})
        );
        assert!(
            output.summary.starts_with("Wrote the plan"),
            "{}",
            output.summary
        );
        assert!(
            output.summary.contains("src/plan.md"),
            "files changed are named"
        );
        assert_eq!(output.decisions, vec!["JWT auth".to_string()]);
        assert!(output.escalation.is_none());
        let usage = meter.usage().unwrap();
        assert_eq!((usage.input_tokens, usage.output_tokens), (3000, 300));
        assert!((usage.cost_usd - (3000.0 * 2.0 + 300.0 * 8.0) / 1e6).abs() < 1e-12);
        assert_eq!(meter.turns(), 3);
        assert!(
            fake.violations().is_empty(),
            "{protocol:?} stream={stream}: {:?}",
            fake.violations()
        );
        let kept = transcript.lock().unwrap().clone().unwrap();
        let text = kept.to_string();
        assert!(
            text.contains("outside the workspace"),
            "the refusal is in the transcript"
        );
        assert!(
            text.contains("hidden=[]"),
            "a hidden variable is not in bash's environment: {text}"
        );
        assert!(!text.contains(KEY), "the key never reaches a transcript");
        assert_eq!(fake.exchanges().len(), 3);
        fake.shutdown().await;
    }
}

#[tokio::test]
async fn finishing_without_the_deliverables_is_refused_and_the_model_is_told() {
    let workspace = tempfile::tempdir().unwrap();
    let turns = vec![
        turn(vec![call(
            "finish",
            json!({"summary": "all done, tests pass"}),
        )]),
        expecting(
            turn(vec![call(
                "memory_store",
                json!({"key": "plan", "value": "v"}),
            )]),
            "Deliverables not stored yet",
        ),
        turn(vec![call("finish", json!({"summary": "stored the plan"}))]),
    ];
    let fake = FakeModel::start(script(turns)).await.unwrap();
    let output = agent(&fake, Protocol::OpenAi, false, 10)
        .run(request(workspace.path(), &["plan"], services()))
        .await
        .unwrap();
    assert_eq!(output.summary, "stored the plan");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    fake.shutdown().await;
}

struct NeedsEndpoints;

impl DeliverableCheck for NeedsEndpoints {
    fn describe(&self) -> String {
        "requires endpoints".into()
    }

    fn check(&self, value: &serde_json::Value) -> Result<(), String> {
        match value.get("endpoints") {
            Some(serde_json::Value::Array(items)) if !items.is_empty() => Ok(()),
            _ => Err("gate `stored` will fail: expected field `endpoints` to be non-empty".into()),
        }
    }
}

#[tokio::test]
async fn a_deliverable_that_fails_its_gate_check_is_sent_back() {
    let workspace = tempfile::tempdir().unwrap();
    let turns = vec![
        turn(vec![call(
            "memory_store",
            json!({"key": "plan", "value": {"endpoints": []}}),
        )]),
        expecting(
            turn(vec![call(
                "memory_store",
                json!({"key": "plan", "value": {"endpoints": ["GET /a"]}}),
            )]),
            "expected field `endpoints` to be non-empty",
        ),
        turn(vec![call("finish", json!({"summary": "fixed"}))]),
    ];
    let fake = FakeModel::start(script(turns)).await.unwrap();
    let mut services = services();
    services.checks = vec![BoundCheck {
        deliverable: "plan".into(),
        check: Arc::new(NeedsEndpoints),
    }];
    let output = agent(&fake, Protocol::Anthropic, true, 10)
        .run(request(workspace.path(), &["plan"], services))
        .await
        .unwrap();
    assert_eq!(
        output.deliverables["plan"],
        json!({"endpoints": ["GET /a"]})
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    fake.shutdown().await;
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried() {
    let workspace = tempfile::tempdir().unwrap();
    let mut script = script(ordinary_turns());
    script.faults = vec![
        Fault {
            request: 1,
            status: 429,
            retry_after_secs: Some(0),
            cut_stream: false,
        },
        Fault {
            request: 3,
            status: 503,
            retry_after_secs: None,
            cut_stream: false,
        },
    ];
    let fake = FakeModel::start(script).await.unwrap();
    let output = agent(&fake, Protocol::OpenAi, false, 10)
        .run(request(workspace.path(), &["plan"], services()))
        .await
        .unwrap();
    assert_eq!(output.deliverables.len(), 1);
    let statuses: Vec<u16> = fake.exchanges().iter().map(|e| e.status).collect();
    assert_eq!(statuses, vec![429, 200, 503, 200, 200]);
    fake.shutdown().await;
}

#[tokio::test]
async fn a_model_that_never_finishes_stops_at_its_turn_limit() {
    let workspace = tempfile::tempdir().unwrap();
    let turns = vec![
        turn(vec![call("list_files", json!({}))]),
        turn(vec![call("list_files", json!({}))]),
        turn(vec![call("list_files", json!({}))]),
    ];
    let fake = FakeModel::start(script(turns)).await.unwrap();
    let error = agent(&fake, Protocol::OpenAi, false, 2)
        .run(request(workspace.path(), &["plan"], services()))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, AgentError::Fatal(text) if text.contains("all 2 turns")),
        "{error}"
    );
    assert_eq!(fake.exchanges().len(), 2);
    fake.shutdown().await;
}

#[tokio::test]
async fn the_run_budget_stops_a_step_and_its_usage_is_still_metered() {
    let workspace = tempfile::tempdir().unwrap();
    let fake = FakeModel::start(script(ordinary_turns())).await.unwrap();
    let mut services = services();
    services.budget = Budget {
        tokens_left: Some(1500),
        cost_left_usd: None,
    };
    let meter = Arc::clone(&services.meter);
    let error = agent(&fake, Protocol::OpenAi, false, 10)
        .run(request(workspace.path(), &["plan"], services))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("token budget"), "{error}");
    assert_eq!(
        meter.usage().map(|u| u.input_tokens + u.output_tokens),
        Some(2200)
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn escalate_ends_the_step_with_a_blocker_and_answers_every_other_call() {
    let workspace = tempfile::tempdir().unwrap();
    let turns = vec![turn(vec![
        call(
            "escalate",
            json!({"kind": "clarification_needed", "message": "Which auth?", "options": ["JWT", "OAuth"]}),
        ),
        call("write_file", json!({"path": "x.txt", "content": "late"})),
    ])];
    let fake = FakeModel::start(script(turns)).await.unwrap();
    let transcript_slot = services();
    let transcript = Arc::clone(&transcript_slot.transcript);
    let output = agent(&fake, Protocol::Anthropic, false, 5)
        .run(request(workspace.path(), &["plan"], transcript_slot))
        .await
        .unwrap();
    let escalation = output.escalation.unwrap();
    assert_eq!(escalation.message, "Which auth?");
    assert_eq!(
        escalation.options,
        vec!["JWT".to_string(), "OAuth".to_string()]
    );
    assert!(
        !workspace.path().join("x.txt").exists(),
        "calls after the end are not run"
    );
    let kept = transcript.lock().unwrap().clone().unwrap().to_string();
    assert!(kept.contains("not run: the step already ended"), "{kept}");
    fake.shutdown().await;
}

#[tokio::test]
async fn a_wrong_key_is_fatal_and_never_echoed() {
    let workspace = tempfile::tempdir().unwrap();
    let mut script = script(ordinary_turns());
    script.api_key = Some("sk-the-right-one".into());
    let fake = FakeModel::start(script).await.unwrap();
    let error = agent(&fake, Protocol::OpenAi, false, 5)
        .run(request(workspace.path(), &["plan"], services()))
        .await
        .unwrap_err();
    assert!(matches!(error, AgentError::Fatal(_)), "{error}");
    assert!(!error.to_string().contains(KEY), "{error}");
    assert_eq!(fake.exchanges().len(), 1, "a 401 is not retried");
    fake.shutdown().await;
}
