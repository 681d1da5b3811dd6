//! Kill the process with SIGKILL at random points of a multi-phase run, many times, resume
//! each time, and check that every step finished exactly once and nothing is lost.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::io::BufReader;
use std::process::Stdio;
use std::time::Duration;

use rand::Rng;

use crate::support::Sandbox;

const WORKFLOW: &str = r#"name: chaos
description: every mode, slow enough to be killed in the middle
memory_pattern: "chaos/phase-{phase}/{agent}/{deliverable}"
agents:
  - id: a
    description: writer
    command: 'cat >/dev/null; sleep 0.02; echo "{\"by\": \"$APIWRIGHT_AGENT\", \"attempt\": $APIWRIGHT_ATTEMPT}"'
  - id: tester
    description: red
    command: 'cat >/dev/null; sleep 0.02; echo "test for $APIWRIGHT_ITEM"'
  - id: dev
    description: green
    command: 'cat >/dev/null; mkdir -p impl; sleep 0.02; touch "impl/$APIWRIGHT_ITEM_SLUG"; echo done'
phases:
  - id: plan
    title: Plan
    steps:
      - {id: s1, agent: a, task: one, writes: [one]}
      - {id: s2, agent: a, task: two, writes: [two]}
      - {id: s3, agent: a, task: three, writes: [three]}
  - id: fan
    title: Fan out
    mode: {parallel: {max_agents: 2, topology: mesh}}
    steps:
      - {id: p1, agent: a, task: p, writes: [p1]}
      - {id: p2, agent: a, task: p, writes: [p2]}
      - {id: p3, agent: a, task: p, writes: [p3]}
      - {id: p4, agent: a, task: p, writes: [p4]}
    gates:
      - {id: all-four, memory: {content: [{key: "chaos/phase-2/a/*", fields: [by, attempt]}]}}
  - id: tdd
    title: TDD
    mode: {tdd: {items: ["GET /a", "GET /b", "GET /c"]}}
    steps:
      - {agent: tester, stage: red, task: "test {item}", writes: ["{item_slug}/tests"]}
      - {agent: dev, stage: green, task: "implement {item}", writes: ["{item_slug}/impl"]}
    gates:
      - {id: red, stage: red, command: {run: "test -f impl/{item_slug}", expect: failure}}
      - {id: green, stage: green, command: {run: "test -f impl/{item_slug}"}}
  - id: loop
    title: Loop
    mode: {iterative: {max_iterations: 3}}
    steps:
      - {id: l1, agent: a, task: "improve {iteration}", writes: ["improve-{iteration}"]}
      - {id: l2, agent: a, task: "check {iteration}", writes: ["check-{iteration}"]}
    gates:
      - {id: second-time, command: {run: "test {iteration} -ge 2"}}
    on_fail: {escalate: {kind: technical_debt}}
"#;

/// Step instances the run must finish exactly once: (round, step).
fn expected_steps() -> Vec<(String, String)> {
    let mut steps = Vec::new();
    for step in ["s1", "s2", "s3"] {
        steps.push(("plan#1".to_string(), step.to_string()));
    }
    for step in ["p1", "p2", "p3", "p4"] {
        steps.push(("fan#1".to_string(), step.to_string()));
    }
    for item in 1..=3 {
        steps.push((format!("tdd#1/item-{item}/red"), "tester".to_string()));
        steps.push((format!("tdd#1/item-{item}/green"), "dev".to_string()));
    }
    for iteration in 1..=2 {
        let round = if iteration == 1 {
            "loop#1".to_string()
        } else {
            format!("loop#1/iteration-{iteration}")
        };
        steps.push((round.clone(), "l1".to_string()));
        steps.push((round, "l2".to_string()));
    }
    steps.sort();
    steps
}

fn round_name(round: &serde_json::Value) -> String {
    let mut name = format!("{}#{}", round["phase"].as_str().unwrap(), round["visit"]);
    let iteration = round["iteration"].as_u64().unwrap();
    if iteration > 1 {
        name.push_str(&format!("/iteration-{iteration}"));
    }
    if let Some(item) = round.get("item").and_then(serde_json::Value::as_u64) {
        name.push_str(&format!("/item-{}", item + 1));
    }
    if let Some(stage) = round.get("stage").and_then(serde_json::Value::as_str) {
        name.push_str(&format!("/{stage}"));
    }
    name
}

#[test]
fn sigkill_at_random_points_then_resume_finishes_every_step_exactly_once() {
    let mut rng = rand::rng();
    let mut kills_mid_run = 0;
    for round in 0..4 {
        let sandbox = Sandbox::new();
        let workflow = sandbox.write("chaos.yaml", WORKFLOW);
        // Start, learn the run id from the first JSON event line, then kill at random.
        let mut child = sandbox
            .command(&["run", workflow.to_str().unwrap(), "--out", "ws", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        let run_id = serde_json::from_str::<serde_json::Value>(&first_line).unwrap()["run_id"]
            .as_str()
            .unwrap()
            .to_string();
        std::thread::sleep(Duration::from_millis(rng.random_range(10..200)));
        if child.try_wait().unwrap().is_none() {
            kills_mid_run += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let mut finished = false;
        for attempt in 0..12 {
            let mut resume = sandbox
                .command(&["run", "--resume", &run_id, "--json"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            if attempt < 6 {
                std::thread::sleep(Duration::from_millis(rng.random_range(20..250)));
                if resume.try_wait().unwrap().is_none() {
                    kills_mid_run += 1;
                    resume.kill().unwrap();
                    resume.wait().unwrap();
                    continue;
                }
            }
            let status = resume.wait().unwrap();
            if status.code() == Some(0) {
                finished = true;
                break;
            }
        }
        assert!(finished, "round {round}: run {run_id} never completed");

        let events = sandbox.events(&run_id);
        let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as i64).collect::<Vec<_>>(),
            "gap-free log"
        );
        let mut finished_counts: BTreeMap<(String, String), u32> = BTreeMap::new();
        for event in &events {
            if event["kind"] == "step_finished" {
                let payload = &event["payload"];
                *finished_counts
                    .entry((
                        round_name(&payload["round"]),
                        payload["step"].as_str().unwrap().to_string(),
                    ))
                    .or_default() += 1;
            }
        }
        let repeated: Vec<_> = finished_counts
            .iter()
            .filter(|(_, count)| **count != 1)
            .collect();
        assert!(
            repeated.is_empty(),
            "steps finished more than once: {repeated:?}"
        );
        let done: Vec<(String, String)> = finished_counts.into_keys().collect();
        pretty_assertions::assert_eq!(done, expected_steps());
        assert_eq!(events.last().unwrap()["kind"], "run_completed");

        // Every deliverable is in memory.
        let stored: serde_json::Value = serde_json::from_str(&sandbox.expect(
            &["memory", "retrieve", "--pattern", "chaos/**", "--json"],
            0,
        ))
        .unwrap();
        assert_eq!(stored.as_array().unwrap().len(), 3 + 4 + 6 + 4);
    }
    assert!(
        kills_mid_run >= 10,
        "only {kills_mid_run} kills landed mid-run"
    );
}
