//! The main job with model agents: `apiwright run api-development --spec requirements.md
//! --agents openai` against the scripted fake model server, from free-text requirements to a
//! live deployment. Every file the agents produce reaches the workspace through the tool loop
//! (`write_file`), every deliverable through `memory_store`, and the real gates judge them.
//!
//! The scripted model's "reasoning" is the built-in agents: for each step it reads the prompt
//! it was sent, does the built-in role's work in a scratch copy of the workspace, and answers
//! with the tool calls that reproduce that work (files that differ, deliverables), then
//! `finish`. For the product manager it turns the prose into the bookstore spec — first with a
//! mistake, which the spec check sends back, then correctly.

use std::collections::HashMap;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use apiwright_agents::Agent as _;
use apiwright_agents::ContextEntry;
use apiwright_agents::StepRequest;
use apiwright_agents::WriteTarget;
use apiwright_fakemodel::FakeModel;
use apiwright_fakemodel::ParsedMessage;
use apiwright_fakemodel::ParsedRequest;
use apiwright_fakemodel::Responder;
use apiwright_fakemodel::Script;
use apiwright_fakemodel::Turn;
use apiwright_store::Store;
use apiwright_store::StoreOptions;
use serde_json::json;

use crate::model_agents::call;
use crate::model_agents::turn;
use crate::support::Sandbox;
use crate::support::repo_root;
use crate::support::whole_workflow_lock;

const KEY: &str = "sk-fake-main-job-7a1c-never-stored";

/// What one step's prompt says (the prompt is all a model gets).
#[derive(Debug, Default)]
struct PromptFacts {
    run_id: String,
    phase_id: String,
    step_id: String,
    role: String,
    item: Option<String>,
    attempt: u32,
    task: String,
    reads: Vec<String>,
    writes: Vec<WriteTarget>,
    workspace: PathBuf,
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end).map_or(text.len(), |at| from + at);
    Some(&text[from..to])
}

fn parse_prompt(prompt: &str) -> PromptFacts {
    let mut facts = PromptFacts {
        attempt: 1,
        ..PromptFacts::default()
    };
    for line in prompt.lines() {
        if let Some(id) = between(line, "- **Task ID:** `", "`") {
            let mut parts = id.splitn(3, '/');
            facts.run_id = parts.next().unwrap_or_default().to_string();
            facts.phase_id = parts.next().unwrap_or_default().to_string();
            facts.step_id = parts.next().unwrap_or_default().to_string();
        } else if let Some(role) = between(line, "- **Agent:** `", "`") {
            facts.role = role.to_string();
        } else if let Some(item) = between(line, "- **Item:** `", "`") {
            facts.item = Some(item.to_string());
        } else if let Some(attempt) = between(line, "- **Attempt:** ", " ") {
            facts.attempt = attempt.parse().unwrap_or(1);
        } else if let Some(dir) = between(line, "Working directory: `", "`") {
            facts.workspace = PathBuf::from(dir);
        }
    }
    facts.task = between(prompt, "\n## Task\n", "\n\n## ")
        .unwrap_or_default()
        .trim()
        .to_string();
    let open = between(prompt, "### Open (Confirmed)", "### Blind").unwrap_or_default();
    facts.reads = open
        .lines()
        .filter_map(|line| line.strip_prefix("- `")?.strip_suffix("`:"))
        .map(str::to_string)
        .collect();
    let output = between(prompt, "\n## Output", "Working directory").unwrap_or_default();
    facts.writes = output
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("- `")?;
            let (name, key) = rest.split_once("` → `")?;
            Some(WriteTarget {
                name: name.to_string(),
                key: key.strip_suffix('`')?.to_string(),
            })
        })
        .collect();
    facts
}

/// The scripted model.
struct Brain {
    db: PathBuf,
    target_dir: PathBuf,
    scratch: PathBuf,
    spec_yaml: String,
    plans: Mutex<HashMap<String, Arc<Vec<Turn>>>>,
    /// Steps of a parallel phase are planned at the same time: each gets its own scratch copy.
    scratches: std::sync::atomic::AtomicUsize,
}

impl Responder for Brain {
    fn respond(&self, request: &ParsedRequest) -> Option<Turn> {
        let prompt = request.messages.iter().find_map(|message| match message {
            ParsedMessage::User(text) => Some(text.clone()),
            _ => None,
        })?;
        let facts = parse_prompt(&prompt);
        let key = format!(
            "{}/{}/{}/{:?}/{}",
            facts.run_id, facts.phase_id, facts.step_id, facts.item, facts.attempt
        );
        let plan = {
            let known = self.plans.lock().unwrap().get(&key).cloned();
            match known {
                Some(plan) => plan,
                None => {
                    let plan = Arc::new(self.plan(&facts, &prompt));
                    self.plans.lock().unwrap().insert(key, Arc::clone(&plan));
                    plan
                }
            }
        };
        plan.get(request.turn).cloned()
    }
}

impl Brain {
    /// The turns that reproduce the built-in role's work through tools.
    fn plan(&self, facts: &PromptFacts, prompt: &str) -> Vec<Turn> {
        let store = Store::open(&self.db, &StoreOptions::default()).unwrap();
        let mut reads = Vec::new();
        for key in &facts.reads {
            let value = if key.ends_with("/input/spec") {
                // The model's reading of the prose: the structured spec it stands for.
                self.spec_yaml.clone()
            } else {
                store
                    .memory_get(key)
                    .unwrap()
                    .map(|entry| entry.value.to_text())
                    .unwrap_or_default()
            };
            reads.push(ContextEntry {
                key: key.clone(),
                value,
            });
        }
        let engine = apiwright_engine::Engine::new(
            store,
            apiwright_engine::EngineConfig {
                db_path: None,
                prompts: apiwright_agents::PromptRenderer::builtin().unwrap(),
                default_step_timeout: Duration::from_secs(600),
                default_gate_timeout: Duration::from_secs(600),
                env: Vec::new(),
                budget: Default::default(),
                gate_hidden_env: Vec::new(),
            },
        );
        let (workflow, machine) = engine.load(&facts.run_id).unwrap();
        let role = workflow.agent(&facts.role).cloned().unwrap();
        let phase = &workflow.phases[workflow.phase_index(&facts.phase_id).unwrap()];
        let stage = phase
            .steps
            .iter()
            .find(|step| step.id() == facts.step_id)
            .and_then(|step| step.stage);
        let scratch = self.scratch.join(format!(
            "{}-{}",
            facts.step_id,
            self.scratches
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        sync(&facts.workspace, &scratch);
        let request = StepRequest {
            run_id: facts.run_id.clone(),
            workflow: workflow.name.clone(),
            phase_id: facts.phase_id.clone(),
            phase_number: workflow.phase_index(&facts.phase_id).unwrap() as u32 + 1,
            phase_title: phase.title.clone(),
            step_id: facts.step_id.clone(),
            role,
            task: facts.task.clone(),
            params: machine.params().clone().into_iter().collect(),
            concurrent: false,
            iteration: 1,
            item: facts.item.clone(),
            stage,
            reads,
            missing_reads: Vec::new(),
            siblings: Vec::new(),
            handoffs: machine.handoffs().to_vec(),
            feedback: Vec::new(),
            gates: Arc::clone(machine.gate_log()),
            writes: facts.writes.clone(),
            workspace: scratch.clone(),
            db_path: None,
            workflow_dir: None,
            prompt: prompt.to_string(),
            timeout: Duration::from_secs(1800),
            env: vec![
                (
                    "CARGO_TARGET_DIR".into(),
                    self.target_dir.display().to_string(),
                ),
                ("CARGO_INCREMENTAL".into(), "0".into()),
            ],
            attempt: facts.attempt,
            services: Default::default(),
        };
        let agent = apiwright_builtin::BuiltinAgent::new(&facts.role).unwrap();
        // The fake server calls us on its runtime: the built-in role gets a runtime of its own.
        let output = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap()
                        .block_on(agent.run(request))
                })
                .join()
                .unwrap()
        })
        .unwrap_or_else(|error| panic!("built-in {} failed: {error}", facts.role));
        let mut first = Vec::new();
        for path in changed_files(&scratch, &facts.workspace) {
            let content = std::fs::read_to_string(scratch.join(&path)).unwrap();
            first.push(call(
                "write_file",
                json!({"path": path, "content": content}),
            ));
        }
        let _ = std::fs::remove_dir_all(&scratch);
        let mut turns = Vec::new();
        let mut store_all = Vec::new();
        for (name, value) in &output.deliverables {
            store_all.push(call("memory_store", json!({"key": name, "value": value})));
        }
        if facts.role == "product-manager" {
            // A first attempt with a mistake in the spec: the check sends it back.
            let mut wrong = output.deliverables["requirements"].clone();
            wrong["spec"]["resources"][0]["fields"][0]["type"] = json!("strng");
            first.push(call(
                "memory_store",
                json!({"key": "requirements", "value": wrong}),
            ));
            turns.push(turn(first));
            let mut fixed = turn(store_all);
            fixed.expect = vec!["does not load like a --spec file".into()];
            turns.push(fixed);
        } else {
            first.extend(store_all);
            turns.push(turn(first));
        }
        let end = match &output.escalation {
            Some(escalation) => call(
                "escalate",
                json!({"kind": escalation.kind, "message": escalation.message, "options": escalation.options}),
            ),
            None => call(
                "finish",
                json!({"summary": output.summary, "decisions": output.decisions}),
            ),
        };
        turns.push(turn(vec![end]));
        turns
    }
}

fn skip(path: &Path) -> bool {
    path.components().any(|c| {
        matches!(
            c.as_os_str().to_str(),
            Some("target" | ".git" | ".apiwright")
        )
    })
}

fn files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(root).unwrap().to_path_buf();
            if skip(&relative) || entry.file_type().is_ok_and(|t| t.is_symlink()) {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(relative);
            }
        }
    }
    found.sort();
    found
}

/// Makes `scratch` a copy of `workspace` (sources only).
fn sync(workspace: &Path, scratch: &Path) {
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch).unwrap();
    for relative in files(workspace) {
        let to = scratch.join(&relative);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(workspace.join(&relative), to).unwrap();
    }
}

/// Files of `scratch` that are new or differ from `workspace` (text files only).
fn changed_files(scratch: &Path, workspace: &Path) -> Vec<String> {
    files(scratch)
        .into_iter()
        .filter(|relative| {
            let Ok(new) = std::fs::read(scratch.join(relative)) else {
                return false;
            };
            std::str::from_utf8(&new).is_ok()
                && std::fs::read(workspace.join(relative)).ok().as_deref() != Some(&new[..])
        })
        .map(|relative| relative.display().to_string())
        .collect()
}

/// The tails of the deployment's logs, for a failure message.
fn deployment_logs(dir: &Path) -> String {
    let mut out = String::new();
    let deployments = dir.join(".apiwright/deploy");
    for deployment in std::fs::read_dir(deployments)
        .into_iter()
        .flatten()
        .flatten()
    {
        for log in std::fs::read_dir(deployment.path().join("logs"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let text = std::fs::read_to_string(log.path()).unwrap_or_default();
            out.push_str(&format!("== {}\n", log.path().display()));
            // A panic's message, then the last lines.
            let lines: Vec<&str> = text.lines().collect();
            if let Some(at) = lines.iter().position(|line| line.contains("panicked")) {
                for line in lines.iter().skip(at).take(4) {
                    out.push_str(line);
                    out.push('\n');
                }
                out.push_str("…\n");
            }
            for line in lines.iter().rev().take(20).rev() {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn the_main_job_runs_with_model_agents_from_free_text_requirements() {
    let _lock = whole_workflow_lock();
    let sandbox = Sandbox::new();
    let _stop = sandbox.stop_deployments_on_drop();
    let target_dir = repo_root().join("target/generated");
    let brain = Arc::new(Brain {
        db: sandbox.db(),
        target_dir: target_dir.clone(),
        scratch: sandbox.path().join("scratch"),
        spec_yaml: std::fs::read_to_string(repo_root().join("examples/bookstore.yaml")).unwrap(),
        plans: Mutex::new(HashMap::new()),
        scratches: std::sync::atomic::AtomicUsize::new(0),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let fake = runtime
        .block_on(FakeModel::start(Script {
            api_key: Some(KEY.into()),
            responder: Some(brain),
            ..Script::default()
        }))
        .unwrap();
    std::fs::write(
        sandbox.path().join("apiwright.toml"),
        format!(
            "[providers.openai]\nbase_url = \"{}\"\nmodel = \"scripted\"\nstream = true\n",
            fake.openai_base_url()
        ),
    )
    .unwrap();
    std::fs::copy(
        repo_root().join("examples/bookstore-requirements.md"),
        sandbox.path().join("requirements.md"),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let output = sandbox
        .command(&[
            "run",
            "api-development",
            "--spec",
            "requirements.md",
            "--agents",
            "openai",
            "--yes",
            "--out",
            "out",
            "--param",
            "api_id=bookstore",
            "--param",
            "api_name=Bookstore API",
            "--param",
            "canary_watch_10_secs=3",
            "--param",
            "canary_watch_50_secs=3",
            "--param",
            "monitor_window_secs=5",
        ])
        .env("OPENAI_API_KEY", KEY)
        .env("APIWRIGHT_TARGET_DIR", &target_dir)
        .output()
        .unwrap();
    eprintln!(
        "main job with model agents: {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let violations = fake.violations();
    let exchanges = fake.exchanges().len();
    runtime.block_on(fake.shutdown());
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}\ndeployment logs:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        deployment_logs(sandbox.path())
    );
    assert!(violations.is_empty(), "{violations:#?}");
    let listed = sandbox.expect(&["runs", "list", "--json"], 0);
    let runs: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let run = runs[0]["id"].as_str().unwrap().to_string();
    let report: serde_json::Value =
        serde_json::from_str(&sandbox.expect(&["runs", "show", &run, "--json"], 0)).unwrap();
    assert_eq!(report["status"], "completed");
    // Every step was a model agent's.
    for phase in report["phases"].as_array().unwrap() {
        for step in phase["steps"].as_array().unwrap() {
            assert_eq!(step["provider"], "openai", "{step}");
        }
    }
    let spec_gate = report["phases"][0]["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|gate| gate["gate"] == "spec-valid")
        .unwrap();
    assert_eq!(spec_gate["status"], "passed", "{spec_gate}");
    let (verified, total) = (
        report["tdd"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row["red"][1].as_u64() > Some(0) && row["green"][1].as_u64() > Some(0))
            .count(),
        report["tdd"].as_array().unwrap().len(),
    );
    assert!(
        total > 0 && verified == total,
        "TDD adherence {verified}/{total}"
    );
    assert!(report["usage"]["total"]["input_tokens"].as_u64().unwrap() > 0);
    assert!(exchanges >= 2 * report["steps_finished"].as_u64().unwrap() as usize);
    // The product manager's spec was sent back once with the loader's errors.
    let transcript = sandbox.expect(
        &["prompt", "show", &run, "product-manager", "--transcript"],
        0,
    );
    assert!(transcript.contains("strng"), "{transcript}");
    // The key is nowhere apiwright writes (database, workspace, deployment state, logs).
    let mut pending = vec![sandbox.path().to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("target") {
                    pending.push(path);
                }
                continue;
            }
            let bytes = std::fs::read(&path).unwrap_or_default();
            assert!(
                !bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
                "the key was written to {}",
                path.display()
            );
        }
    }
}
