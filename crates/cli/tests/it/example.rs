//! The script-agent example end to end: every mode, an approval and a remediation loop.

use crate::support::Sandbox;
use crate::support::repo_root;

#[test]
fn feature_delivery_runs_end_to_end_with_script_agents() {
    let sandbox = Sandbox::new();
    let example = repo_root().join("examples/workflows/feature-delivery.yaml");
    let workspace = sandbox.path().join("ws");
    sandbox.expect(
        &[
            "run",
            example.to_str().unwrap(),
            "--yes",
            "--out",
            workspace.to_str().unwrap(),
        ],
        0,
    );
    let run_id = sandbox.last_run_id();
    let report = sandbox.report(&run_id);
    assert_eq!(report["status"], "completed");

    let phases: Vec<(String, u64, String)> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["phase"].as_str().unwrap().to_string(),
                p["visit"].as_u64().unwrap(),
                p["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, u64, String)> = [
        ("plan", 1, "completed"),
        ("foundation", 1, "completed"),
        ("build", 1, "completed"),
        ("refine", 1, "completed"),
        ("harden", 1, "completed"),
        ("verify", 1, "failed"),
        ("harden", 2, "completed"),
        ("verify", 2, "completed"),
    ]
    .iter()
    .map(|(p, v, s)| (p.to_string(), *v, s.to_string()))
    .collect();
    pretty_assertions::assert_eq!(phases, expected);

    // TDD: every item's red gate saw the test fail, green and refactor saw it pass.
    let build = &report["phases"][2];
    assert_eq!(
        build["items"],
        serde_json::json!(["GET /todos", "POST /todos"])
    );
    let gates: Vec<(String, String)> = build["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["gate"].as_str().unwrap().to_string(),
                g["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(gates.len(), 6);
    assert!(
        gates.iter().all(|(_, status)| status == "passed"),
        "{gates:?}"
    );
    let red = &build["gates"][0]["evidence"];
    assert_eq!(red["expect"], "failure");
    assert_ne!(red["exit_code"], 0);

    let tdd: Vec<(String, serde_json::Value, serde_json::Value)> = report["tdd"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["item"].as_str().unwrap().to_string(),
                row["red"].clone(),
                row["green"].clone(),
            )
        })
        .collect();
    assert_eq!(
        tdd,
        vec![
            (
                "GET /todos".to_string(),
                serde_json::json!([1, 1]),
                serde_json::json!([1, 1])
            ),
            (
                "POST /todos".to_string(),
                serde_json::json!([1, 1]),
                serde_json::json!([1, 1])
            ),
        ]
    );

    // Iterative: two rounds; the approval was given by --yes; one loop back.
    assert_eq!(report["phases"][3]["rounds"], 2);
    let approval = report["phases"][0]["gates"][1].clone();
    assert_eq!(approval["status"], "approved");
    assert_eq!(approval["evidence"]["by"], "--yes");
    assert_eq!(report["loops"][0]["to"], "harden");

    // Deliverables are in memory under the workflow's pattern, tagged with who wrote them.
    let entry: serde_json::Value = serde_json::from_str(&sandbox.expect(
        &[
            "memory",
            "retrieve",
            "--key",
            "feature-delivery/todo-api/phase-3/developer/get-todos/impl",
            "--json",
        ],
        0,
    ))
    .unwrap();
    assert_eq!(entry[0]["tags"]["who"], "developer");
    assert!(workspace.join("impl/post-todos").exists());

    let written = std::fs::read_to_string(workspace.join("REPORT.md")).unwrap();
    assert!(written.contains("## Validation evidence"), "{written}");
    assert!(
        written.contains("2 of 2 items were seen failing before their implementation"),
        "{written}"
    );
    assert!(
        written.contains("Confidence: 0.95 (ceiling: observation 0.95) - 11 of 11 gate checks verified by running them"),
        "{written}"
    );

    let shown = sandbox.expect(&["runs", "show", &run_id], 0);
    assert!(shown.contains("gate #1/item-1/red red-fails"), "{shown}");
    assert!(
        shown.contains("TDD adherence: 2/2 items verified red before green"),
        "{shown}"
    );
}

#[test]
fn the_main_job_refuses_a_missing_or_bad_spec_before_the_run_is_created() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["run", "api-development", "--yes"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("expected input `spec`"), "{stderr}");
    assert!(stderr.contains("pass --spec FILE"), "{stderr}");

    let bad = sandbox.write(
        "bad.yaml",
        "api: {name: shop, version: 1.0.0}\nresources:\n  - name: item\n    fields:\n      - {name: price, type: money}\n",
    );
    let output = sandbox.run(&[
        "run",
        "api-development",
        "--spec",
        bad.to_str().unwrap(),
        "--yes",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.yaml:5:"), "{stderr}");
    assert!(stderr.contains("money"), "{stderr}");
    let runs = sandbox.expect(&["runs", "list", "--json"], 0);
    assert_eq!(runs.trim(), "[]", "nothing was created");
}

#[test]
fn roles_without_a_command_or_a_built_in_are_named_in_one_error() {
    let sandbox = Sandbox::new();
    let workflow = sandbox.write(
        "custom.yaml",
        "name: custom\ndescription: d\nmemory_pattern: \"c/{agent}/{deliverable}\"\nagents:\n  - {id: wizard, description: w}\n  - {id: oracle, description: o}\nphases:\n  - id: one\n    title: One\n    steps: [{agent: wizard, task: t}, {agent: oracle, task: t}]\n",
    );
    let output = sandbox.run(&["run", workflow.to_str().unwrap(), "--yes"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no agent for roles `oracle`, `wizard`"),
        "{stderr}"
    );
}

#[test]
fn a_user_prompt_template_from_apiwright_toml_reaches_the_agent() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "prompts/mine.md.j2",
        "ROLE={{ role.id }} TASK={{ task }} WRITES={% for w in writes %}{{ w.key }}{% endfor %}",
    );
    sandbox.write(
        "apiwright.toml",
        "[prompts]\nstep_template = \"prompts/mine.md.j2\"\n",
    );
    let workflow = sandbox.write(
        "echo.yaml",
        r#"name: echo
description: the agent echoes its prompt
parameters: {who: {default: world}}
memory_pattern: "echo/{agent}/{deliverable}"
agents:
  - {id: echoer, description: echoes, command: 'cat'}
phases:
  - id: one
    title: One
    steps: [{agent: echoer, task: "greet {who}", writes: [prompt]}]
"#,
    );
    sandbox.expect(
        &[
            "run",
            workflow.to_str().unwrap(),
            "--param",
            "who=apiwright",
            "--out",
            "ws",
        ],
        0,
    );
    let prompt = sandbox.expect(&["memory", "retrieve", "--key", "echo/echoer/prompt"], 0);
    assert_eq!(
        prompt.trim(),
        "ROLE=echoer TASK=greet apiwright WRITES=echo/echoer/prompt"
    );
}

#[test]
fn tests_that_pass_before_their_implementation_fail_the_red_check() {
    let sandbox = Sandbox::new();
    let example = repo_root().join("examples/workflows/feature-delivery.yaml");
    sandbox.expect(
        &["run", example.to_str().unwrap(), "--yes", "--out", "ws"],
        0,
    );
    // A second run in the same workspace finds the implementations already there: its new
    // tests pass before anything is implemented, which is not test-first.
    sandbox.expect(
        &["run", example.to_str().unwrap(), "--yes", "--out", "ws"],
        4,
    );
    let report = sandbox.report(&sandbox.last_run_id());
    assert!(
        report["failure"]
            .as_str()
            .unwrap()
            .contains("gate `red-fails` failed"),
        "{report}"
    );
    let tdd = &report["tdd"][0];
    assert_eq!(tdd["red"], serde_json::json!([1, 0]));
    let written = std::fs::read_to_string(sandbox.path().join("ws/REPORT.md")).unwrap();
    assert!(written.contains("(ceiling: inference 0.70)"), "{written}");
}
