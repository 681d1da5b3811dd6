//! Model agents as a user runs them: `apiwright run … --agents openai|anthropic` against the
//! scripted fake model server (a real HTTP server on 127.0.0.1), with real cargo gates. An
//! honest script passes; scripts that cheat are caught by the gates, not by the agent.

use std::path::Path;

use apiwright_fakemodel::Conversation;
use apiwright_fakemodel::FakeModel;
use apiwright_fakemodel::Script;
use apiwright_fakemodel::ScriptedCall;
use apiwright_fakemodel::Turn;
use serde_json::json;

use crate::support::Sandbox;
use crate::support::repo_root;
use crate::support::whole_workflow_lock;

/// A key that must never be written anywhere apiwright keeps things.
const KEY: &str = "sk-fake-5f2b9c0e-never-stored";

const STUB: &str = "pub fn add(a: i64, b: i64) -> i64 {\n    let _ = (a, b);\n    0\n}\n";

/// One scripted tool call.
pub fn call(name: &str, arguments: serde_json::Value) -> ScriptedCall {
    ScriptedCall {
        name: name.into(),
        arguments,
    }
}

/// A scripted turn of tool calls.
pub fn turn(calls: Vec<ScriptedCall>) -> Turn {
    Turn {
        tool_calls: calls,
        ..Turn::default()
    }
}

fn finish(summary: &str) -> Turn {
    turn(vec![call("finish", json!({ "summary": summary }))])
}

fn conversation(role: &str, turns: Vec<Turn>) -> Conversation {
    Conversation {
        name: role.into(),
        matches: vec![format!("**Agent:** `{role}`")],
        turns,
    }
}

fn planner() -> Conversation {
    conversation(
        "planner",
        vec![
            turn(vec![
                call(
                    "write_file",
                    json!({"path": "Cargo.toml", "content": "[package]\nname = \"calc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"}),
                ),
                call("write_file", json!({"path": "src/lib.rs", "content": STUB})),
                call(
                    "memory_store",
                    json!({"key": "plan", "value": {"crate": "calc", "items": ["add"]}}),
                ),
                call("memory_store", json!({"key": "items", "value": ["add"]})),
            ]),
            finish("Set up the calc crate with a stub add"),
        ],
    )
}

const HONEST_TEST: &str =
    "#[test]\nfn adds_two_numbers() {\n    assert_eq!(calc::add(2, 3), 5);\n}\n";

fn tester(test: &str) -> Conversation {
    conversation(
        "tester",
        vec![
            turn(vec![
                call(
                    "write_file",
                    json!({"path": "tests/add.rs", "content": test}),
                ),
                call(
                    "bash",
                    json!({"command": "cargo test --quiet --test add 2>&1 | tail -3"}),
                ),
            ]),
            turn(vec![call(
                "memory_store",
                json!({"key": "add/tests", "value": test}),
            )]),
            finish("Wrote the tests of add"),
        ],
    )
}

fn honest_developer() -> Conversation {
    conversation(
        "developer",
        vec![
            turn(vec![call("read_file", json!({"path": "src/lib.rs"}))]),
            turn(vec![call(
                "edit_file",
                json!({"path": "src/lib.rs", "old_string": "let _ = (a, b);\n    0", "new_string": "a + b"}),
            )]),
            turn(vec![
                // A model that tries to read the key gets nothing: bash runs without it.
                call(
                    "bash",
                    json!({"command": "echo \"key=[${OPENAI_API_KEY:-}]\"; cargo test --quiet --test add; env"}),
                ),
                call(
                    "memory_store",
                    json!({"key": "add/impl", "value": {"files": ["src/lib.rs"]}}),
                ),
            ]),
            finish("Implemented add"),
        ],
    )
}

/// Claims the work without doing it: `finish` first (refused: nothing stored), then stores
/// a deliverable that says so and finishes, never touching the code.
fn lying_developer() -> Conversation {
    conversation(
        "developer",
        vec![
            finish("Implemented add; all tests pass"),
            turn(vec![call(
                "memory_store",
                json!({"key": "add/impl", "value": {"files": ["src/lib.rs"], "tests": "all passing"}}),
            )]),
            finish("Implemented add; all tests pass"),
        ],
    )
}

struct Server {
    runtime: tokio::runtime::Runtime,
    fake: Option<FakeModel>,
}

impl Server {
    fn start(conversations: Vec<Conversation>) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fake = runtime
            .block_on(FakeModel::start(Script {
                api_key: Some(KEY.into()),
                conversations,
                ..Script::default()
            }))
            .unwrap();
        Server {
            runtime,
            fake: Some(fake),
        }
    }

    fn fake(&self) -> &FakeModel {
        self.fake.as_ref().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(fake) = self.fake.take() {
            self.runtime.block_on(fake.shutdown());
        }
    }
}

fn configure(sandbox: &Sandbox, server: &Server, extra: &str) {
    std::fs::write(
        sandbox.path().join("apiwright.toml"),
        format!(
            "[providers.openai]\nbase_url = \"{}\"\nmodel = \"scripted\"\nretry_base_ms = 5\n\n\
             [providers.anthropic]\nbase_url = \"{}\"\nmodel = \"scripted\"\nstream = true\n\n\
             [prices.scripted]\ninput_per_mtok = 3.0\noutput_per_mtok = 15.0\n{extra}",
            server.fake().openai_base_url(),
            server.fake().anthropic_base_url()
        ),
    )
    .unwrap();
}

fn run_model_tdd(sandbox: &Sandbox, agents: &str) -> std::process::Output {
    // The run's gates build and test a cargo project: kept off the other tests' load gates.
    let _one_at_a_time = whole_workflow_lock();
    let workflow = repo_root().join("crates/cli/tests/fixtures/model-tdd.yaml");
    sandbox
        .command(&[
            "run",
            workflow.to_str().unwrap(),
            "--agents",
            agents,
            "--out",
            "ws",
            "--json",
        ])
        .env("OPENAI_API_KEY", KEY)
        .env("ANTHROPIC_API_KEY", KEY)
        .env("APIWRIGHT_TARGET_DIR", sandbox.path().join("target"))
        .output()
        .unwrap()
}

fn run_id_of(sandbox: &Sandbox) -> String {
    let listed = sandbox.expect(&["runs", "list", "--json"], 0);
    let runs: serde_json::Value = serde_json::from_str(&listed).unwrap();
    runs[0]["id"].as_str().unwrap().to_string()
}

fn gate<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|phase| phase["gates"].as_array().unwrap())
        .rfind(|gate| gate["gate"] == id)
        .unwrap_or_else(|| panic!("no gate {id} in {report}"))
}

/// No file apiwright keeps (database, workspace, report) contains the key.
fn assert_key_nowhere(dir: &Path) {
    for entry in walk(dir) {
        if entry.components().any(|c| c.as_os_str() == "target") {
            continue;
        }
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !bytes
                .windows(KEY.len())
                .any(|window| window == KEY.as_bytes()),
            "the API key was written to {}",
            entry.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn an_honest_model_passes_the_real_gates_and_is_accounted() {
    let server = Server::start(vec![planner(), tester(HONEST_TEST), honest_developer()]);
    let sandbox = Sandbox::new();
    configure(&sandbox, &server, "");
    let output = run_model_tdd(&sandbox, "openai");
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        server.fake().violations().is_empty(),
        "{:?}",
        server.fake().violations()
    );
    let lib = std::fs::read_to_string(sandbox.path().join("ws/src/lib.rs")).unwrap();
    assert!(
        lib.contains("a + b"),
        "the model's edit is in the workspace:\n{lib}"
    );

    let run = run_id_of(&sandbox);
    let report: serde_json::Value =
        serde_json::from_str(&sandbox.expect(&["runs", "show", &run, "--json"], 0)).unwrap();
    assert_eq!(gate(&report, "red-fails")["status"], "passed");
    assert_eq!(gate(&report, "green-passes")["status"], "passed");
    assert_eq!(
        gate(&report, "keys-hidden")["status"],
        "passed",
        "gates run without the keys"
    );
    // Accounting: every step's tokens, per role and in total, with the configured price.
    let usage = &report["usage"];
    let total_in = usage["total"]["input_tokens"].as_u64().unwrap();
    let total_out = usage["total"]["output_tokens"].as_u64().unwrap();
    assert!(total_in > 0 && total_out > 0, "{usage}");
    let roles: Vec<&str> = usage["by_role"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(roles, vec!["developer", "planner", "tester"]);
    let expected_cost = (total_in as f64 * 3.0 + total_out as f64 * 15.0) / 1e6;
    assert!((usage["total"]["cost_usd"].as_f64().unwrap() - expected_cost).abs() < 1e-9);
    let text = sandbox.expect(&["runs", "show", &run], 0);
    assert!(text.contains("model usage"), "{text}");
    let report_md = std::fs::read_to_string(sandbox.path().join("ws/REPORT.md")).unwrap();
    assert!(report_md.contains("## Model usage"), "{report_md}");
    // The prompt each step was given, and the model's conversation.
    let prompt = sandbox.expect(&["prompt", "show", &run, "green", "--transcript"], 0);
    assert!(prompt.contains("GREEN: implement add"), "{prompt}");
    assert!(
        prompt.contains("memory_store"),
        "a model agent is told to use tools:\n{prompt}"
    );
    assert!(
        prompt.contains("---- transcript ----") && prompt.contains("edit_file"),
        "{prompt}"
    );
    assert!(
        prompt.contains("key=[]"),
        "bash ran without the key:\n{prompt}"
    );
    let missing = sandbox.run(&["prompt", "show", &run, "nosuch"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("recorded steps: planning/planner"));
    assert_key_nowhere(sandbox.path());
}

#[test]
fn tests_that_pass_before_the_implementation_are_caught_by_the_red_gate() {
    let cheating = "#[test]\nfn adds_nothing() {\n    assert_eq!(calc::add(0, 0), 0);\n}\n";
    let server = Server::start(vec![planner(), tester(cheating), honest_developer()]);
    let sandbox = Sandbox::new();
    configure(&sandbox, &server, "");
    let output = run_model_tdd(&sandbox, "anthropic");
    assert_eq!(
        output.status.code(),
        Some(3),
        "the run pauses on the failed gate\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run = run_id_of(&sandbox);
    let report: serde_json::Value =
        serde_json::from_str(&sandbox.expect(&["runs", "show", &run, "--json"], 0)).unwrap();
    let red = gate(&report, "red-fails");
    assert_eq!(red["status"], "failed", "{red}");
    assert!(
        red["summary"]
            .as_str()
            .unwrap()
            .contains("expected failing tests before the implementation"),
        "{red}"
    );
    // The run stops there: no implementation is started on tests that prove nothing.
    let steps: Vec<&str> = report["phases"][1]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, vec!["red"]);
    assert_eq!(report["escalations"][0]["kind"], "technical_debt");
    // Approving resumes the run with the agents it was started with (`--agents anthropic`,
    // kept with the run): the built-in provider could not play these roles.
    let approved = sandbox
        .command(&[
            "approve",
            &run,
            "escalation-1",
            "--reason",
            "accept the debt",
        ])
        .env("ANTHROPIC_API_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(
        approved.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&approved.stderr)
    );
    assert!(
        server.fake().violations().is_empty(),
        "{:?}",
        server.fake().violations()
    );
    assert_key_nowhere(sandbox.path());
}

#[test]
fn a_model_that_claims_success_without_writing_is_caught_by_the_green_gate() {
    let server = Server::start(vec![planner(), tester(HONEST_TEST), lying_developer()]);
    let sandbox = Sandbox::new();
    configure(&sandbox, &server, "");
    let output = run_model_tdd(&sandbox, "openai");
    assert_eq!(
        output.status.code(),
        Some(3),
        "stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run = run_id_of(&sandbox);
    let report: serde_json::Value =
        serde_json::from_str(&sandbox.expect(&["runs", "show", &run, "--json"], 0)).unwrap();
    assert_eq!(gate(&report, "red-fails")["status"], "passed");
    let green = gate(&report, "green-passes");
    assert_eq!(green["status"], "failed", "{green}");
    // The claim was refused by the tool loop first (nothing stored), and the code is untouched.
    let transcript = sandbox.expect(&["prompt", "show", &run, "green", "--transcript"], 0);
    assert!(
        transcript.contains("not finished: Deliverables not stored yet"),
        "{transcript}"
    );
    let lib = std::fs::read_to_string(sandbox.path().join("ws/src/lib.rs")).unwrap();
    assert_eq!(lib, STUB);
}

#[test]
fn a_missing_key_or_agent_cli_is_refused_before_the_run_is_created() {
    let sandbox = Sandbox::new();
    let workflow = repo_root().join("crates/cli/tests/fixtures/model-tdd.yaml");
    std::fs::write(
        sandbox.path().join("apiwright.toml"),
        "[providers.openai]\nmodel = \"gpt-test\"\n",
    )
    .unwrap();
    let output = sandbox
        .command(&["run", workflow.to_str().unwrap(), "--agents", "openai"])
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("OPENAI_API_KEY"), "{stderr}");
    let output = sandbox
        .command(&["run", workflow.to_str().unwrap(), "--agents", "claude-code"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("preset `claude-code` runs `claude`, which is not installed")
            && stderr.contains("npm install -g @anthropic-ai/claude-code"),
        "{stderr}"
    );
    // Prose needs a model: the built-in product manager cannot read it.
    let prose = repo_root().join("examples/bookstore-requirements.md");
    let output = sandbox.run(&["run", "api-development", "--spec", prose.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("found free text") && stderr.contains("`product-manager`"),
        "{stderr}"
    );
    let listed = sandbox.expect(&["runs", "list", "--json"], 0);
    assert_eq!(listed.trim(), "[]", "nothing was created");
}
