//! `workflow list | show | validate | export | schema`.

use crate::support::Sandbox;
use crate::support::repo_root;

#[test]
fn list_shows_all_nine_built_in_workflows() {
    let sandbox = Sandbox::new();
    let listed: serde_json::Value =
        serde_json::from_str(&sandbox.expect(&["workflow", "list", "--json"], 0)).unwrap();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "api-development",
            "develop-backend",
            "api-orchestration-sop",
            "sequential-feature",
            "parallel-tasks",
            "iterative-refinement",
            "debug-fix-verify",
            "sprint-task",
            "backend-iteration"
        ]
    );
}

#[test]
fn show_prints_every_phase_and_gate_of_each_built_in() {
    let sandbox = Sandbox::new();
    for name in apiwright_workflow::builtin::NAMES {
        let workflow = apiwright_workflow::builtin::load(name).unwrap().unwrap();
        let shown = sandbox.expect(&["workflow", "show", name], 0);
        for phase in &workflow.phases {
            assert!(
                shown.contains(&format!("`{}`: {}", phase.id, phase.title)),
                "{name}: phase {}",
                phase.id
            );
            for gate in &phase.gates {
                assert!(
                    shown.contains(&format!("{}:", gate.id)),
                    "{name}: gate {}",
                    gate.id
                );
            }
        }
    }
    let api = sandbox.expect(&["workflow", "show", "api-development"], 0);
    assert!(
        api.contains(
            "gate openapi-matches-routes: openapi openapi.json matches the routes of axum sources in src"
        ),
        "{api}"
    );
    let develop = sandbox.expect(&["workflow", "show", "develop-backend"], 0);
    assert!(
        develop.contains("go back to `auth-security` (max 2)"),
        "{develop}"
    );
}

#[test]
fn export_then_validate_round_trips_and_a_broken_file_names_line_and_column() {
    let sandbox = Sandbox::new();
    let exported = sandbox.path().join("mine.yaml");
    sandbox.expect(
        &[
            "workflow",
            "export",
            "iterative-refinement",
            "--out",
            exported.to_str().unwrap(),
        ],
        0,
    );
    let ok = sandbox.expect(&["workflow", "validate", exported.to_str().unwrap()], 0);
    assert!(ok.contains(": ok ("), "{ok}");

    let broken = sandbox.write(
        "broken.yaml",
        "name: broken\ndescription: x\nmemory_pattern: b/{agent}/{deliverable}\nagents:\n  - {id: a, description: a}\nphases:\n  - id: one\n    title: One\n    steps:\n      - agent: nobody\n        task: x\n",
    );
    let output = sandbox.run(&["workflow", "validate", broken.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.yaml:10:16:"), "{stderr}");
    assert!(stderr.contains("nobody"), "{stderr}");
}

#[test]
fn the_example_workflows_validate() {
    let sandbox = Sandbox::new();
    let example = repo_root().join("examples/workflows/feature-delivery.yaml");
    sandbox.expect(&["workflow", "validate", example.to_str().unwrap()], 0);
}

#[test]
fn show_renders_a_built_in_as_text() {
    let sandbox = Sandbox::new();
    insta::assert_snapshot!(sandbox.expect(&["workflow", "show", "iterative-refinement"], 0));
}
