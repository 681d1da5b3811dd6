//! The engine against a real SQLite store with in-process agents: concurrency limits,
//! topology context, parameters and inputs, evidence and "not run" gates.

// Test helpers outside #[test] functions may unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::time::Duration;

use apiwright_agents::Agent;
use apiwright_agents::AgentError;
use apiwright_agents::AnyAgent;
use apiwright_agents::PromptRenderer;
use apiwright_agents::StepOutput;
use apiwright_agents::StepRequest;
use apiwright_engine::DriveOutcome;
use apiwright_engine::Engine;
use apiwright_engine::EngineConfig;
use apiwright_engine::EngineError;
use apiwright_engine::RunRequest;
use apiwright_engine::report;
use apiwright_store::Store;
use apiwright_store::StoreOptions;
use apiwright_store::Value;

/// An agent that records every request it gets and how many ran at once.
#[derive(Clone, Default)]
struct Recorder {
    requests: Arc<Mutex<Vec<StepRequest>>>,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    delay_ms: u64,
    fail_steps: Vec<String>,
}

impl Agent for Recorder {
    fn provider(&self) -> &str {
        "recorder"
    }

    async fn run(&self, request: StepRequest) -> Result<StepOutput, AgentError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        if self.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.delay_ms)).await;
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.requests.lock().unwrap().push(request.clone());
        if self.fail_steps.contains(&request.step_id) {
            return Err(AgentError::Fatal(format!(
                "{} cannot do it",
                request.step_id
            )));
        }
        Ok(StepOutput {
            deliverables: request
                .writes
                .iter()
                .map(|write| {
                    (
                        write.name.clone(),
                        serde_json::json!({ "by": request.step_id }),
                    )
                })
                .collect(),
            summary: format!("{} done", request.step_id),
            decisions: vec![format!("{} decided", request.step_id)],
            ..StepOutput::default()
        })
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    engine: Engine,
    workspace: std::path::PathBuf,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.db"), &StoreOptions::default()).unwrap();
    let engine = Engine::new(
        store,
        EngineConfig {
            db_path: None,
            prompts: PromptRenderer::builtin().unwrap(),
            default_step_timeout: Duration::from_secs(30),
            default_gate_timeout: Duration::from_secs(30),
            env: Vec::new(),
            budget: Default::default(),
            gate_hidden_env: Vec::new(),
        },
    );
    let workspace = dir.path().join("ws");
    Harness {
        _dir: dir,
        engine,
        workspace,
    }
}

fn request(
    h: &Harness,
    yaml: &str,
    params: &[(&str, &str)],
    inputs: &[(&str, &str)],
) -> RunRequest {
    RunRequest {
        workflow: apiwright_workflow::load_str("test.yaml", yaml).unwrap(),
        workflow_yaml: yaml.into(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        inputs: inputs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::Text(v.to_string())))
            .collect(),
        workspace: h.workspace.clone(),
        auto_approve: true,
        workflow_dir: None,
        agents: None,
    }
}

fn agents(roles: &[&str], agent: &Recorder) -> BTreeMap<String, AnyAgent> {
    roles
        .iter()
        .map(|role| (role.to_string(), AnyAgent::new(agent.clone())))
        .collect()
}

async fn run(h: &mut Harness, run_id: &str, agents: &BTreeMap<String, AnyAgent>) -> DriveOutcome {
    h.engine
        .drive(run_id, agents, std::future::pending())
        .await
        .unwrap()
}

const PARALLEL: &str = r#"
name: fan
description: parallel fan-out
parameters:
  feature: {default: f}
memory_pattern: "fan/{feature}/{agent}/{deliverable}"
inputs:
  - {name: spec, key: "fan/{feature}/input/spec", required: true}
agents:
  - {id: lead, description: leads}
  - {id: worker, description: works}
phases:
  - id: fan
    title: Fan
    mode: {parallel: {max_agents: 2, topology: TOPOLOGY}}
    steps:
      - {id: lead, agent: lead, task: "lead {feature}", reads: ["fan/{feature}/input/spec"], writes: [plan]}
      - {id: w1, agent: worker, task: work, writes: [w1]}
      - {id: w2, agent: worker, task: work, writes: [w2]}
      - {id: w3, agent: worker, task: work, writes: [w3]}
      - {id: w4, agent: worker, task: work, writes: [w4]}
"#;

#[tokio::test]
async fn parallel_phase_honours_max_agents_and_hierarchical_topology_hands_the_lead_plan_down() {
    let mut h = harness();
    let yaml = PARALLEL.replace("TOPOLOGY", "hierarchical");
    h.engine
        .start(
            "run-1",
            request(
                &h,
                &yaml,
                &[("feature", "books")],
                &[("spec", "the spec text")],
            ),
        )
        .unwrap();
    let recorder = Recorder {
        delay_ms: 50,
        ..Recorder::default()
    };
    let outcome = run(&mut h, "run-1", &agents(&["lead", "worker"], &recorder)).await;
    assert_eq!(outcome, DriveOutcome::Completed);
    assert_eq!(
        recorder.peak.load(Ordering::SeqCst),
        2,
        "max_agents 2 is the limit and is reached"
    );
    let requests = recorder.requests.lock().unwrap().clone();
    let lead = requests.iter().find(|r| r.step_id == "lead").unwrap();
    assert_eq!(lead.task, "lead books", "parameter override used");
    assert_eq!(
        lead.reads[0].value, "the spec text",
        "the input is in memory for the first step"
    );
    assert!(lead.prompt.contains("the spec text"));
    assert!(!lead.concurrent, "the hierarchical lead runs alone");
    for worker in requests.iter().filter(|r| r.step_id != "lead") {
        assert!(worker.concurrent, "workers run side by side");
        assert_eq!(worker.siblings.len(), 1, "workers see the lead's plan");
        assert_eq!(worker.siblings[0].key, "fan/books/lead/plan");
        assert!(worker.prompt.contains("## Parallel Context"));
        assert!(
            worker
                .handoffs
                .iter()
                .any(|handoff| handoff.agent == "lead")
        );
    }
    let written = h
        .engine
        .store()
        .memory_get("fan/books/worker/w3")
        .unwrap()
        .unwrap();
    assert_eq!(written.tags["who"], "worker");
}

#[tokio::test]
async fn star_workers_see_no_sibling_output() {
    let mut h = harness();
    let yaml = PARALLEL.replace("TOPOLOGY", "star");
    h.engine
        .start("run-1", request(&h, &yaml, &[], &[("spec", "s")]))
        .unwrap();
    let recorder = Recorder::default();
    run(&mut h, "run-1", &agents(&["lead", "worker"], &recorder)).await;
    assert!(
        recorder
            .requests
            .lock()
            .unwrap()
            .iter()
            .all(|r| r.siblings.is_empty())
    );
    assert!(
        recorder
            .requests
            .lock()
            .unwrap()
            .iter()
            .all(|r| r.concurrent),
        "in a star every step, the first included, runs beside the others"
    );
}

#[tokio::test]
async fn bad_parameters_and_missing_inputs_are_refused_before_anything_is_stored() {
    let h = harness();
    let yaml = PARALLEL.replace("TOPOLOGY", "star");
    let unknown = h.engine.start(
        "run-1",
        request(&h, &yaml, &[("colour", "red")], &[("spec", "s")]),
    );
    assert!(
        matches!(&unknown, Err(EngineError::InvalidRequest(m)) if m == "--param colour: expected one of feature, found unknown parameter `colour`"),
        "{unknown:?}"
    );
    let missing = h.engine.start("run-2", request(&h, &yaml, &[], &[]));
    assert!(
        matches!(&missing, Err(EngineError::InvalidRequest(m)) if m.contains("expected input `spec`")),
        "{missing:?}"
    );
    assert!(h.engine.store().runs(10).unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_step_fails_the_run_and_its_gates_are_reported_not_run() {
    let mut h = harness();
    let yaml = r#"
name: fails
description: a step that fails
memory_pattern: "f/{agent}/{deliverable}"
agents: [{id: a, description: a}]
phases:
  - id: one
    title: One
    steps: [{id: broken, agent: a, task: x, writes: [out]}]
    gates:
      - {id: tests, command: {run: "true"}}
      - {id: ship, approval: {prompt: "ship?"}}
"#;
    h.engine
        .start("run-1", request(&h, yaml, &[], &[]))
        .unwrap();
    let recorder = Recorder {
        fail_steps: vec!["broken".into()],
        ..Recorder::default()
    };
    let outcome = run(&mut h, "run-1", &agents(&["a"], &recorder)).await;
    assert!(
        matches!(&outcome, DriveOutcome::Failed { reason } if reason.contains("broken cannot do it")),
        "{outcome:?}"
    );
    assert!(
        !recorder.requests.lock().unwrap()[0].concurrent,
        "a sequential step runs alone"
    );
    let (workflow, _) = h.engine.load("run-1").unwrap();
    let events: Vec<(i64, apiwright_engine::Event)> = h
        .engine
        .events("run-1")
        .unwrap()
        .into_iter()
        .map(|e| (0, e))
        .collect();
    let report = report::build("run-1", &workflow, &events);
    let statuses: Vec<report::GateStatus> =
        report.phases[0].gates.iter().map(|g| g.status).collect();
    assert_eq!(
        statuses,
        vec![report::GateStatus::NotRun, report::GateStatus::NotRun]
    );
    assert_eq!(report.status, "failed");
}

#[tokio::test]
async fn a_second_process_cannot_drive_a_run_that_is_being_driven() {
    let mut h = harness();
    let yaml = PARALLEL.replace("TOPOLOGY", "star");
    h.engine
        .start("run-1", request(&h, &yaml, &[], &[("spec", "s")]))
        .unwrap();
    // Pretend a live process (this test's parent, which certainly exists) owns the run.
    let parent = std::os::unix::process::parent_id();
    assert_eq!(
        h.engine.store().claim_run("run-1", parent).unwrap(),
        apiwright_store::Claim::Acquired
    );
    let recorder = Recorder::default();
    let busy = h
        .engine
        .drive(
            "run-1",
            &agents(&["lead", "worker"], &recorder),
            std::future::pending(),
        )
        .await;
    assert!(matches!(busy, Err(EngineError::Busy { pid, .. }) if pid == i64::from(parent)));
    assert!(recorder.requests.lock().unwrap().is_empty());
}

struct Panicker;

impl Agent for Panicker {
    fn provider(&self) -> &str {
        "panicker"
    }

    async fn run(&self, _request: StepRequest) -> Result<StepOutput, AgentError> {
        panic!("agent bug");
    }
}

#[tokio::test]
async fn a_panicking_agent_fails_its_step_not_the_process() {
    let mut h = harness();
    let yaml = r#"
name: panics
description: an agent with a bug
memory_pattern: "p/{agent}/{deliverable}"
agents: [{id: a, description: a}]
phases:
  - id: one
    title: One
    steps: [{id: buggy, agent: a, task: x, writes: [out]}]
"#;
    h.engine
        .start("run-1", request(&h, yaml, &[], &[]))
        .unwrap();
    let agents = BTreeMap::from([("a".to_string(), AnyAgent::new(Panicker))]);
    let outcome = run(&mut h, "run-1", &agents).await;
    assert!(
        matches!(&outcome, DriveOutcome::Failed { reason } if reason.contains("agent panicked: agent bug")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn cancel_ends_an_unfinished_run_once_and_refuses_a_run_driven_elsewhere() {
    let mut h = harness();
    let yaml = PARALLEL.replace("TOPOLOGY", "star");
    h.engine
        .start("run-1", request(&h, &yaml, &[], &[("spec", "s")]))
        .unwrap();
    let parent = std::os::unix::process::parent_id();
    h.engine.store().claim_run("run-1", parent).unwrap();
    let busy = h.engine.cancel("run-1", "user:a@example.com", "wrong spec");
    assert!(matches!(busy, Err(EngineError::Busy { pid, .. }) if pid == i64::from(parent)));
    h.engine.store().release_run("run-1", parent).unwrap();

    let event = h
        .engine
        .cancel("run-1", "user:a@example.com", "wrong spec")
        .unwrap();
    assert_eq!(
        event,
        apiwright_engine::Event::RunFailed {
            reason: "cancelled by user:a@example.com: wrong spec".into()
        }
    );
    let stored = h.engine.store().run("run-1").unwrap().unwrap();
    assert_eq!(stored.status, apiwright_store::RunStatus::Failed);
    // A cancelled run does nothing when driven, and cannot be cancelled twice.
    let recorder = Recorder::default();
    let outcome = run(&mut h, "run-1", &agents(&["lead", "worker"], &recorder)).await;
    assert!(
        matches!(outcome, DriveOutcome::Failed { reason } if reason.starts_with("cancelled by"))
    );
    assert!(recorder.requests.lock().unwrap().is_empty());
    let again = h.engine.cancel("run-1", "user:b@example.com", "again");
    assert!(
        matches!(&again, Err(EngineError::NotWaiting(message)) if message.contains("already failed")),
        "{again:?}"
    );
}
