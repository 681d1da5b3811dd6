//! Tests of the built-in workflows: they load, they round-trip, they carry the structure of
//! their seeds, and they are internally consistent (agents, reads, placeholders, loops) even
//! before the validator checks all of that on load.

use std::collections::BTreeSet;

use pretty_assertions::assert_eq;

use super::NAMES;
use super::load;
use super::source;
use crate::model::*;
use crate::template::placeholders;

fn builtin(name: &str) -> Workflow {
    match load(name) {
        Some(Ok(workflow)) => workflow,
        Some(Err(error)) => panic!("built-in {name} does not load:\n{error}"),
        None => panic!("no built-in named {name}"),
    }
}

fn all() -> Vec<Workflow> {
    NAMES.iter().map(|name| builtin(name)).collect()
}

fn phase<'a>(workflow: &'a Workflow, id: &str) -> &'a Phase {
    workflow
        .phases
        .iter()
        .find(|phase| phase.id == id)
        .unwrap_or_else(|| panic!("{}: no phase {id}", workflow.name))
}

fn gate<'a>(phase: &'a Phase, id: &str) -> &'a Gate {
    phase
        .gates
        .iter()
        .find(|gate| gate.id == id)
        .unwrap_or_else(|| panic!("phase {}: no gate {id}", phase.id))
}

fn command(run: &str) -> Option<CommandCheck> {
    Some(CommandCheck {
        run: run.to_string(),
        timeout_secs: None,
        expect: Expect::Success,
    })
}

fn commands(phase: &Phase) -> Vec<&str> {
    phase
        .gates
        .iter()
        .filter_map(|gate| gate.command.as_ref().map(|check| check.run.as_str()))
        .collect()
}

const SEED_003: [&str; 5] = [
    "sequential-feature",
    "parallel-tasks",
    "iterative-refinement",
    "debug-fix-verify",
    "sprint-task",
];

// ---------------------------------------------------------------------------------------
// Loading

#[test]
fn names_are_the_nine_seed_workflows_in_order() {
    assert_eq!(
        NAMES,
        [
            "api-development",
            "develop-backend",
            "api-orchestration-sop",
            "sequential-feature",
            "parallel-tasks",
            "iterative-refinement",
            "debug-fix-verify",
            "sprint-task",
            "backend-iteration",
        ]
    );
    assert!(source("no-such-workflow").is_none());
    assert!(load("no-such-workflow").is_none());
}

#[test]
fn every_builtin_loads_and_is_named_after_its_file() {
    for name in NAMES {
        let workflow = builtin(name);
        assert_eq!(workflow.name, name);
        assert!(!workflow.description.is_empty(), "{name}: description");
        assert!(!workflow.phases.is_empty(), "{name}: phases");
    }
}

#[test]
fn every_builtin_names_its_seed() {
    let seeds: Vec<(String, Option<String>)> = all()
        .into_iter()
        .map(|workflow| (workflow.name, workflow.source))
        .collect();
    let expected: Vec<(String, Option<String>)> = [
        ("api-development", "seed 000"),
        ("develop-backend", "seed 002"),
        ("api-orchestration-sop", "seed 001"),
        ("sequential-feature", "seed 003"),
        ("parallel-tasks", "seed 003"),
        ("iterative-refinement", "seed 003"),
        ("debug-fix-verify", "seed 003"),
        ("sprint-task", "seed 003"),
        ("backend-iteration", "seed 004"),
    ]
    .into_iter()
    .map(|(name, seed)| (name.to_string(), Some(seed.to_string())))
    .collect();
    assert_eq!(seeds, expected);
}

#[test]
fn every_builtin_round_trips_through_yaml() {
    for workflow in all() {
        let yaml = crate::to_yaml(&workflow)
            .unwrap_or_else(|error| panic!("{}: serialize: {error}", workflow.name));
        let again = crate::load_str(&format!("export:{}", workflow.name), &yaml)
            .unwrap_or_else(|error| panic!("{}: reload:\n{error}\n---\n{yaml}", workflow.name));
        assert_eq!(again, workflow);
    }
}

// ---------------------------------------------------------------------------------------
// Internal consistency (what the validator will also check)

/// Whether `pattern` (with `*` for one segment or part of one, `**` for any depth) matches
/// `key`; placeholders are compared literally.
fn glob_matches(pattern: &str, key: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    let key: Vec<&str> = key.split('/').collect();
    segments_match(&pattern, &key)
}

fn segments_match(pattern: &[&str], key: &[&str]) -> bool {
    match pattern.split_first() {
        None => key.is_empty(),
        Some((&"**", rest)) => (0..=key.len()).any(|skip| segments_match(rest, &key[skip..])),
        Some((first, rest)) => match key.split_first() {
            Some((segment, key_rest)) => {
                segment_matches(first, segment) && segments_match(rest, key_rest)
            }
            None => false,
        },
    }
}

fn segment_matches(pattern: &str, segment: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == segment,
        Some((prefix, rest)) => {
            segment.starts_with(prefix)
                && (prefix.len()..=segment.len()).any(|start| {
                    segment.is_char_boundary(start) && segment_matches(rest, &segment[start..])
                })
        }
    }
}

/// The memory key a write becomes, with `{phase}`, `{phase_id}`, `{agent}` and
/// `{deliverable}` filled and every other placeholder left as it is.
fn write_key(workflow: &Workflow, index: usize, step: &Step, deliverable: &str) -> String {
    let phase = &workflow.phases[index];
    workflow
        .memory_pattern
        .replace("{phase}", &phase.number_at(index).to_string())
        .replace("{phase_id}", &phase.id)
        .replace("{agent}", &step.agent)
        .replace("{deliverable}", deliverable)
}

#[test]
fn memory_patterns_name_agent_and_deliverable() {
    for workflow in all() {
        let names = placeholders(&workflow.memory_pattern);
        assert!(names.contains(&"agent"), "{}", workflow.name);
        assert!(names.contains(&"deliverable"), "{}", workflow.name);
    }
}

#[test]
fn every_step_names_a_declared_agent_and_ids_are_unique() {
    for workflow in all() {
        let mut agents = BTreeSet::new();
        for agent in &workflow.agents {
            assert!(
                agents.insert(agent.id.as_str()),
                "{}: agent {}",
                workflow.name,
                agent.id
            );
            assert!(
                !agent.description.is_empty(),
                "{}: {}",
                workflow.name,
                agent.id
            );
        }
        let mut used = BTreeSet::new();
        let mut phases = BTreeSet::new();
        for phase in &workflow.phases {
            assert!(
                phases.insert(phase.id.as_str()),
                "{}: phase {}",
                workflow.name,
                phase.id
            );
            let mut steps = BTreeSet::new();
            for step in &phase.steps {
                assert!(
                    agents.contains(step.agent.as_str()),
                    "{}/{}: undeclared agent {}",
                    workflow.name,
                    phase.id,
                    step.agent
                );
                used.insert(step.agent.as_str());
                assert!(
                    steps.insert(step.id()),
                    "{}/{}: step {}",
                    workflow.name,
                    phase.id,
                    step.id()
                );
                assert!(
                    !step.writes.is_empty(),
                    "{}/{}: {} writes nothing",
                    workflow.name,
                    phase.id,
                    step.id()
                );
            }
            let mut gates = BTreeSet::new();
            for gate in &phase.gates {
                assert!(
                    gates.insert(gate.id.as_str()),
                    "{}/{}: gate {}",
                    workflow.name,
                    phase.id,
                    gate.id
                );
                assert!(
                    gate.check().is_some(),
                    "{}/{}: gate {} needs one check",
                    workflow.name,
                    phase.id,
                    gate.id
                );
                assert!(
                    !gate.criterion.is_empty(),
                    "{}/{}: gate {} criterion",
                    workflow.name,
                    phase.id,
                    gate.id
                );
            }
        }
        assert_eq!(
            used, agents,
            "{}: every declared agent does a step",
            workflow.name
        );
    }
}

#[test]
fn every_read_is_satisfied_by_an_earlier_write_or_an_input() {
    for workflow in all() {
        let mut available: Vec<String> = workflow
            .inputs
            .iter()
            .map(|input| input.key.clone())
            .collect();
        for (index, phase) in workflow.phases.iter().enumerate() {
            // Steps of a parallel phase do not see each other (except a hierarchical lead);
            // in an iterative phase, later iterations see everything earlier ones wrote.
            let parallel = matches!(phase.mode, Mode::Parallel(_));
            let mut phase_writes = Vec::new();
            if matches!(phase.mode, Mode::Iterative(_)) {
                for step in &phase.steps {
                    for deliverable in &step.writes {
                        available.push(write_key(&workflow, index, step, deliverable));
                    }
                }
            }
            for (position, step) in phase.steps.iter().enumerate() {
                for read in &step.reads {
                    assert!(
                        available.iter().any(|key| glob_matches(read, key)),
                        "{}/{}/{}: read `{read}` that nothing earlier writes",
                        workflow.name,
                        phase.id,
                        step.id()
                    );
                }
                let keys: Vec<String> = step
                    .writes
                    .iter()
                    .map(|deliverable| write_key(&workflow, index, step, deliverable))
                    .collect();
                let lead = matches!(
                    &phase.mode,
                    Mode::Parallel(ParallelMode {
                        topology: Topology::Hierarchical,
                        ..
                    })
                ) && position == 0;
                if parallel && !lead {
                    phase_writes.extend(keys);
                } else {
                    available.extend(keys);
                }
            }
            available.extend(phase_writes);
            // A gate's `record` is written when the phase's gates run, after its steps.
            for gate in &phase.gates {
                if let Some(record) = &gate.record {
                    available.push(record.clone());
                }
            }
            if let Mode::Tdd(TddMode {
                items_from: Some(key),
                ..
            }) = &phase.mode
            {
                assert!(
                    available.contains(key),
                    "{}/{}: items_from {key}",
                    workflow.name,
                    phase.id
                );
            }
            for gate in &phase.gates {
                let keys: Vec<&String> = match (&gate.memory, &gate.score) {
                    (Some(memory), _) => memory
                        .keys
                        .iter()
                        .chain(memory.content.iter().map(|content| &content.key))
                        .collect(),
                    (_, Some(score)) => vec![&score.key],
                    _ => Vec::new(),
                };
                for key in keys {
                    assert!(
                        available.iter().any(|written| glob_matches(key, written)),
                        "{}/{}: gate {} checks `{key}` that nothing writes",
                        workflow.name,
                        phase.id,
                        gate.id
                    );
                }
            }
        }
    }
}

fn every_template(phase: &Phase) -> Vec<&str> {
    let mut texts: Vec<&str> = vec![phase.title.as_str(), phase.description.as_str()];
    for step in &phase.steps {
        texts.push(&step.task);
        texts.extend(step.reads.iter().map(String::as_str));
        texts.extend(step.writes.iter().map(String::as_str));
    }
    for gate in &phase.gates {
        texts.push(&gate.criterion);
        if let Some(check) = &gate.command {
            texts.push(&check.run);
        }
        if let Some(check) = &gate.memory {
            texts.extend(check.keys.iter().map(String::as_str));
        }
        if let Some(check) = &gate.score {
            texts.push(&check.key);
        }
        if let Some(check) = &gate.approval {
            texts.push(&check.prompt);
        }
    }
    if let Mode::Tdd(TddMode {
        items_from: Some(key),
        ..
    }) = &phase.mode
    {
        texts.push(key);
    }
    texts
}

#[test]
fn placeholders_come_from_parameters_and_the_run_position() {
    for workflow in all() {
        let parameters: Vec<&str> = workflow.parameters.keys().map(String::as_str).collect();
        let base = ["phase", "phase_id", "agent", "run_id"];
        let known = |name: &str, extra: &[&str]| {
            parameters.contains(&name) || base.contains(&name) || extra.contains(&name)
        };
        let mut outer: Vec<&str> = vec![&workflow.description];
        outer.extend(
            workflow
                .inputs
                .iter()
                .flat_map(|input| [input.key.as_str(), input.description.as_str()]),
        );
        outer.extend(
            workflow
                .parameters
                .values()
                .map(|parameter| parameter.description.as_str()),
        );
        outer.extend(
            workflow
                .agents
                .iter()
                .map(|agent| agent.description.as_str()),
        );
        outer.extend(
            workflow
                .agents
                .iter()
                .flat_map(|agent| agent.focus.iter().map(String::as_str)),
        );
        for text in outer {
            for name in placeholders(text) {
                assert!(
                    known(name, &[]),
                    "{}: `{{{name}}}` in `{text}`",
                    workflow.name
                );
            }
        }
        for name in placeholders(&workflow.memory_pattern) {
            assert!(
                known(name, &["deliverable"]),
                "{}: memory_pattern {{{name}}}",
                workflow.name
            );
        }
        for phase in &workflow.phases {
            let extra: &[&str] = match phase.mode {
                Mode::Tdd(_) => &["item", "item_slug"],
                Mode::Iterative(_) => &["iteration"],
                _ => &[],
            };
            for text in every_template(phase) {
                for name in placeholders(text) {
                    assert!(
                        known(name, extra),
                        "{}/{}: unknown placeholder `{{{name}}}` in `{text}`",
                        workflow.name,
                        phase.id
                    );
                }
            }
        }
    }
}

#[test]
fn parameter_defaults_are_among_their_choices() {
    for workflow in all() {
        for (name, parameter) in &workflow.parameters {
            if !parameter.choices.is_empty() {
                assert!(
                    parameter.choices.contains(&parameter.default),
                    "{}: {name}",
                    workflow.name
                );
            }
        }
    }
}

#[test]
fn loops_are_bounded_and_go_back() {
    for workflow in all() {
        for (index, phase) in workflow.phases.iter().enumerate() {
            let context = format!("{}/{}", workflow.name, phase.id);
            match &phase.mode {
                Mode::Iterative(mode) => assert!(mode.max_iterations.is_some(), "{context}"),
                Mode::Tdd(mode) => {
                    assert!(
                        mode.items.is_some() != mode.items_from.is_some(),
                        "{context}"
                    );
                    for gate in &phase.gates {
                        assert!(
                            gate.stage.is_some(),
                            "{context}: tdd gate {} without stage",
                            gate.id
                        );
                    }
                    for step in &phase.steps {
                        assert!(
                            step.stage.is_some(),
                            "{context}: tdd step {} without stage",
                            step.id()
                        );
                    }
                }
                Mode::Sequential | Mode::Parallel(_) => {
                    assert!(
                        phase.gates.iter().all(|gate| gate.stage.is_none()),
                        "{context}"
                    );
                    assert!(
                        phase.steps.iter().all(|step| step.stage.is_none()),
                        "{context}"
                    );
                }
            }
            match &phase.on_fail {
                OnFail::Retry(policy) => assert!(policy.max.is_some(), "{context}"),
                OnFail::Goto(policy) => {
                    assert!(policy.max.is_some(), "{context}");
                    let target = workflow.phase_index(&policy.phase);
                    assert!(target.is_some_and(|target| target <= index), "{context}");
                }
                OnFail::Abort | OnFail::Escalate(_) => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// api-development (seed 000)

#[test]
fn api_development_has_the_five_phases_of_seed_000() {
    let workflow = builtin("api-development");
    assert_eq!(
        workflow.memory_pattern,
        "api-development/{api_id}/phase-{phase}/{agent}/{deliverable}"
    );
    assert_eq!(workflow.parameters["api_id"].default, "api");
    assert!(workflow.parameters.contains_key("api_name"));
    assert_eq!(
        workflow.inputs,
        vec![Input {
            name: "spec".to_string(),
            key: "api-development/{api_id}/input/spec".to_string(),
            description: workflow.inputs[0].description.clone(),
            required: true,
        }]
    );
    let ids: Vec<&str> = workflow
        .phases
        .iter()
        .map(|phase| phase.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "planning",
            "foundation",
            "tdd-implementation",
            "testing-documentation",
            "release-decision",
            "deployment",
            "handoff"
        ]
    );
    let numbers: Vec<u32> = workflow
        .phases
        .iter()
        .enumerate()
        .map(|(index, phase)| phase.number_at(index))
        .collect();
    assert_eq!(
        numbers,
        [1, 2, 3, 4, 5, 5, 5],
        "seed 000's phase 5 is three sequential stages"
    );
    let modes: Vec<&Mode> = workflow.phases.iter().map(|phase| &phase.mode).collect();
    assert_eq!(modes[0], &Mode::Sequential);
    assert_eq!(
        modes[1],
        &Mode::Parallel(ParallelMode {
            max_agents: Some(3),
            topology: Topology::Mesh
        })
    );
    assert_eq!(
        modes[2],
        &Mode::Tdd(TddMode {
            items: None,
            items_from: Some(
                "api-development/{api_id}/phase-1/product-manager/endpoints".to_string()
            ),
        })
    );
    assert_eq!(
        modes[3],
        &Mode::Parallel(ParallelMode {
            max_agents: Some(4),
            topology: Topology::Star
        })
    );
    assert!(modes[4..].iter().all(|mode| **mode == Mode::Sequential));
}

#[test]
fn api_development_has_the_agents_of_seed_000() {
    let workflow = builtin("api-development");
    let ids: BTreeSet<&str> = workflow
        .agents
        .iter()
        .map(|agent| agent.id.as_str())
        .collect();
    assert!(ids.len() >= 12);
    for id in [
        "product-manager",
        "system-architect",
        "database-architect",
        "qa-engineer",
        "tester",
        "backend-developer",
        "code-reviewer",
        "security-specialist",
        "performance-analyst",
        "api-documentation-specialist",
        "devops-engineer",
        "production-validator",
        "performance-monitor",
    ] {
        assert!(ids.contains(id), "missing agent {id}");
        assert!(
            !workflow
                .agent(id)
                .is_some_and(|agent| agent.focus.is_empty()),
            "{id} focus"
        );
    }
}

#[test]
fn api_development_planning_writes_the_seed_deliverables_and_waits_for_approval() {
    let workflow = builtin("api-development");
    let planning = phase(&workflow, "planning");
    let writes: Vec<(&str, Vec<&str>)> = planning
        .steps
        .iter()
        .map(|step| {
            (
                step.agent.as_str(),
                step.writes.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        writes,
        vec![
            ("product-manager", vec!["requirements", "endpoints"]),
            ("system-architect", vec!["openapi-spec", "devops-plan"]),
            ("database-architect", vec!["schema", "migrations"]),
            ("qa-engineer", vec!["test-plan"]),
        ]
    );
    let stored = gate(planning, "deliverables-stored");
    let keys = &stored
        .memory
        .as_ref()
        .map(|check| {
            check
                .content
                .iter()
                .map(|content| content.key.clone())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for deliverable in [
        "requirements",
        "openapi-spec",
        "schema",
        "migrations",
        "test-plan",
    ] {
        assert!(
            keys.iter()
                .any(|key| key.ends_with(&format!("/{deliverable}"))),
            "{deliverable}"
        );
    }
    let approval = gate(planning, "architecture-approved");
    assert_eq!(
        approval.criterion,
        "Architecture approved by technical stakeholders"
    );
    assert!(approval.approval.is_some());
}

#[test]
fn api_development_foundation_builds() {
    let workflow = builtin("api-development");
    let foundation = phase(&workflow, "foundation");
    let steps: Vec<(&str, &str)> = foundation
        .steps
        .iter()
        .map(|step| (step.agent.as_str(), step.writes[0].as_str()))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("backend-developer", "project-setup"),
            ("database-architect", "db-config"),
            ("devops-engineer", "ci-config"),
        ]
    );
    let build = gate(foundation, "build");
    assert_eq!(build.criterion, "Project builds without errors");
    assert_eq!(build.command, command("sh ci.sh build"));
}

#[test]
fn api_development_tdd_cycles_red_green_refactor_per_endpoint() {
    let workflow = builtin("api-development");
    let tdd = phase(&workflow, "tdd-implementation");
    let steps: Vec<(Option<TddStage>, &str, Vec<&str>)> = tdd
        .steps
        .iter()
        .map(|step| {
            (
                step.stage,
                step.agent.as_str(),
                step.writes.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (Some(TddStage::Red), "tester", vec!["{item_slug}/tests"]),
            (
                Some(TddStage::Green),
                "backend-developer",
                vec!["{item_slug}/impl"]
            ),
            (
                Some(TddStage::Refactor),
                "code-reviewer",
                vec!["{item_slug}/review"]
            ),
        ]
    );
    let red = gate(tdd, "red-fails");
    assert_eq!(red.stage, Some(TddStage::Red));
    let red_tests = red.tests.as_ref().expect("the red check is a tests gate");
    assert_eq!(red_tests.run, "cargo test --test {item_slug}");
    assert_eq!(red_tests.expect, crate::TestsExpect::Fail);
    let green = gate(tdd, "green-passes");
    assert_eq!(green.stage, Some(TddStage::Green));
    assert_eq!(
        green.tests.as_ref().map(|t| (t.run.as_str(), t.expect)),
        Some(("cargo test --test {item_slug}", crate::TestsExpect::Pass))
    );
    let refactor: Vec<(&str, &str)> = tdd
        .gates
        .iter()
        .filter(|gate| gate.stage == Some(TddStage::Refactor))
        .map(|gate| (gate.id.as_str(), gate.kind_name()))
        .collect();
    assert_eq!(
        refactor,
        [
            ("refactor-passes", "tests"),
            ("review-approved", "score"),
            ("all-tests", "tests"),
            ("lint", "command"),
        ]
    );
    assert_eq!(workflow.parameters["coverage_target"].default, "90");
}

#[test]
fn api_development_validation_loops_back_to_tdd_and_deployment_checks_readiness() {
    let workflow = builtin("api-development");
    let testing = phase(&workflow, "testing-documentation");
    let kinds: Vec<(&str, &str)> = testing
        .gates
        .iter()
        .map(|gate| (gate.id.as_str(), gate.kind_name()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("e2e", "tests"),
            ("openapi-matches-routes", "openapi"),
            ("contract", "contract"),
            ("security", "security"),
            ("performance", "load"),
            ("coverage", "coverage"),
            ("docs-and-runbook", "memory"),
            ("docs-on-disk", "command"),
        ]
    );
    assert_eq!(
        gate(testing, "openapi-matches-routes").openapi,
        Some(OpenApiCheck {
            document: "openapi.json".to_string(),
            routes: RoutesSource {
                axum: Some("src".to_string()),
                command: None,
            },
            ignore: vec![],
            timeout_secs: None,
        })
    );
    assert_eq!(testing.steps.len(), 5);
    assert_eq!(
        testing.on_fail,
        OnFail::Goto(GotoPolicy {
            phase: "tdd-implementation".to_string(),
            max: Some(2),
            then: Some(Exhausted::Escalate(EscalationKind::TechnicalDebt)),
        })
    );
    let decision_phase = phase(&workflow, "release-decision");
    let readiness = gate(decision_phase, "readiness");
    assert_eq!(
        readiness.score,
        Some(ScoreCheck {
            key: "api-development/{api_id}/phase-5/production-validator/go-no-go".to_string(),
            field: Some("readiness_score".to_string()),
            min: Some(90.0),
            max: None,
        })
    );
    let decision = gate(decision_phase, "go-decision")
        .score
        .as_ref()
        .expect("a score gate");
    assert_eq!(
        (decision.field.as_deref(), decision.max),
        (Some("blocker_count"), Some(0.0)),
        "NO-GO blocks the deployment"
    );
    assert_eq!(
        decision_phase.on_fail,
        OnFail::Abort,
        "a NO-GO ends the run before anything is deployed"
    );
    let deployment = phase(&workflow, "deployment");
    let kinds: Vec<(&str, &str, Option<&str>)> = deployment
        .gates
        .iter()
        .map(|gate| (gate.id.as_str(), gate.kind_name(), gate.record.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "staging",
                "deploy",
                Some("api-development/{api_id}/phase-5/devops-engineer/staging-deploy")
            ),
            (
                "deploy",
                "deploy",
                Some("api-development/{api_id}/phase-5/devops-engineer/production-deploy")
            ),
            (
                "monitoring",
                "monitor",
                Some("api-development/{api_id}/phase-5/performance-monitor/metrics")
            ),
        ]
    );
    let production = gate(deployment, "deploy")
        .deploy
        .as_ref()
        .expect("deploy gate");
    let steps: Vec<(u32, &str)> = production
        .rollout
        .steps
        .iter()
        .map(|step| (step.percent, step.watch_secs.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (10, "{canary_watch_10_secs}"),
            (50, "{canary_watch_50_secs}"),
            (100, "0")
        ]
    );
    assert_eq!(workflow.parameters["canary_watch_10_secs"].default, "300");
    assert_eq!(workflow.parameters["canary_watch_50_secs"].default, "600");
    assert_eq!(
        deployment.on_fail,
        OnFail::Abort,
        "a rolled-back release ends the run"
    );
    let handoff = phase(&workflow, "handoff");
    let writes: Vec<&str> = handoff
        .steps
        .iter()
        .flat_map(|step| step.writes.iter().map(String::as_str))
        .collect();
    for deliverable in [
        "published-docs",
        "knowledge-transfer/onboarding-guide",
        "knowledge-transfer/escalation-procedures",
    ] {
        assert!(writes.contains(&deliverable), "{deliverable}");
    }
}

// ---------------------------------------------------------------------------------------
// develop-backend (seed 002)

#[test]
fn develop_backend_has_phases_zero_to_seven_with_four_criteria_each() {
    let workflow = builtin("develop-backend");
    let numbers: Vec<Option<u32>> = workflow.phases.iter().map(|phase| phase.number).collect();
    assert_eq!(numbers, (0..8).map(Some).collect::<Vec<_>>());
    for phase in &workflow.phases {
        assert!(phase.gates.len() >= 4, "{}", phase.id);
        assert_eq!(phase.mode, Mode::Sequential, "{}", phase.id);
    }
    let agents: Vec<&str> = workflow
        .phases
        .iter()
        .map(|phase| phase.steps[0].agent.as_str())
        .collect();
    assert_eq!(
        agents,
        [
            "orchestrate-clarification",
            "orchestrate-synthesis",
            "orchestrate-synthesis",
            "orchestrate-generation",
            "orchestrate-synthesis",
            "orchestrate-generation",
            "orchestrate-generation",
            "orchestrate-validation",
        ]
    );
}

#[test]
fn develop_backend_has_the_six_configuration_parameters() {
    let workflow = builtin("develop-backend");
    let parameters: Vec<(&str, &str, Vec<&str>)> = [
        "tech_stack",
        "database",
        "auth_method",
        "test_coverage_target",
        "api_style",
        "deployment_target",
    ]
    .into_iter()
    .map(|name| {
        let parameter = &workflow.parameters[name];
        (
            name,
            parameter.default.as_str(),
            parameter.choices.iter().map(String::as_str).collect(),
        )
    })
    .collect();
    assert_eq!(
        parameters,
        vec![
            (
                "tech_stack",
                "node-express",
                vec![
                    "node-express",
                    "python-fastapi",
                    "go-gin",
                    "java-spring",
                    "rust-axum"
                ]
            ),
            (
                "database",
                "postgresql",
                vec!["postgresql", "mysql", "mongodb", "dynamodb", "sqlite"]
            ),
            (
                "auth_method",
                "jwt",
                vec!["jwt", "oauth2", "session", "api-key"]
            ),
            ("test_coverage_target", "70", vec![]),
            ("api_style", "rest", vec!["rest", "graphql", "grpc"]),
            (
                "deployment_target",
                "docker",
                vec!["docker", "serverless", "vm"]
            ),
        ]
    );
    assert!(workflow.parameters.contains_key("task_id"));
}

#[test]
fn develop_backend_final_validation_returns_to_security_at_most_twice() {
    let workflow = builtin("develop-backend");
    let last = &workflow.phases[7];
    assert_eq!(
        last.on_fail,
        OnFail::Goto(GotoPolicy {
            phase: workflow.phases[3].id.clone(),
            max: Some(2),
            then: Some(Exhausted::Escalate(EscalationKind::SecurityAlert)),
        })
    );
    assert_eq!(workflow.phases[3].id, "auth-security");
    assert!(planned(last).is_empty());
    assert_eq!(evidence(last), ["security", "load"]);
    assert_eq!(commands(last), ["sh ci.sh ci"]);
    for phase in [&workflow.phases[5], last] {
        let coverage = phase
            .gates
            .iter()
            .find_map(|gate| gate.coverage.as_ref())
            .unwrap_or_else(|| panic!("{}: no coverage gate", phase.id));
        assert_eq!(coverage.min_lines, "{test_coverage_target}");
    }
}

/// The kinds of a phase's evidence gates (checks that drive traffic at the running service).
fn evidence(phase: &Phase) -> Vec<&'static str> {
    phase
        .gates
        .iter()
        .map(Gate::kind_name)
        .filter(|kind| ["contract", "security", "load"].contains(kind))
        .collect()
}

/// The kinds of a phase's planned gates (checks reported as not run).
fn planned(phase: &Phase) -> Vec<&str> {
    phase
        .gates
        .iter()
        .filter_map(|gate| gate.planned.as_ref().map(|check| check.kind.as_str()))
        .collect()
}

#[test]
fn develop_backend_runs_real_checks_or_says_they_are_planned() {
    let workflow = builtin("develop-backend");
    let tests = |phase: &Phase| -> Vec<String> {
        phase
            .gates
            .iter()
            .filter_map(|gate| gate.tests.as_ref().map(|check| check.run.clone()))
            .collect()
    };
    assert_eq!(
        tests(phase(&workflow, "auth-security")),
        ["cargo test --test auth"]
    );
    assert!(planned(phase(&workflow, "auth-security")).is_empty());
    assert_eq!(evidence(phase(&workflow, "auth-security")), ["security"]);
    assert_eq!(tests(phase(&workflow, "testing")), ["cargo test"]);
    assert_eq!(planned(phase(&workflow, "testing")), ["e2e"]);
    assert_eq!(
        tests(phase(&workflow, "observability")),
        ["cargo test --test platform health"]
    );
    for phase in &workflow.phases {
        for run in commands(phase) {
            assert_eq!(run, "sh ci.sh ci", "{}: ci.sh has no such check", phase.id);
        }
        for step in &phase.steps {
            assert!(
                step.reads
                    .iter()
                    .any(|read| read == "develop-backend/{task_id}/input/spec"
                        || read == "develop-backend/{task_id}/**"),
                "{}: the built-in agents need the spec",
                phase.id
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// api-orchestration-sop (seed 001)

#[test]
fn api_orchestration_sop_runs_the_six_playbook_steps() {
    let workflow = builtin("api-orchestration-sop");
    let ids: Vec<&str> = workflow
        .phases
        .iter()
        .map(|phase| phase.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "intent-constraints",
            "design",
            "build-delegate",
            "safety-nets",
            "validation-loop",
            "delivery"
        ]
    );
    assert!(workflow.parameters.contains_key("session"));
    assert!(workflow.description.contains("WHO=api-development-"));
    assert!(workflow.description.contains("WHY=skill-execution"));
    assert!(workflow.phases[0].steps[0].task.contains("HARD"));
    assert!(workflow.phases[0].steps[0].task.contains("INFERRED"));
    let validation = phase(&workflow, "validation-loop");
    assert!(matches!(
        validation.mode,
        Mode::Iterative(IterativeMode {
            max_iterations: Some(_)
        })
    ));
    assert_eq!(planned(validation), ["rollback"]);
    assert_eq!(evidence(validation), ["contract", "load", "security"]);
    let build = phase(&workflow, "build-delegate");
    assert_eq!(commands(build), ["sh ci.sh build", "sh ci.sh lint"]);
    assert!(gate(build, "tests").tests.is_some());
    for phase in &workflow.phases {
        for step in &phase.steps {
            assert!(
                step.reads
                    .contains(&"api-orchestration-sop/{session}/input/spec".to_string()),
                "{}/{}: the built-in agents need the spec",
                phase.id,
                step.agent
            );
        }
    }
    let delivery = phase(&workflow, "delivery");
    assert!(
        delivery.steps[0]
            .task
            .contains("Confidence: X.XX (ceiling: TYPE Y.YY) - rationale")
    );
}

// ---------------------------------------------------------------------------------------
// seed 003 patterns

#[test]
fn seed_003_patterns_gate_every_handoff() {
    for name in SEED_003 {
        let workflow = builtin(name);
        assert!(workflow.phases.len() >= 2, "{name}: a pattern has handoffs");
        let handoffs = &workflow.phases[..workflow.phases.len() - 1];
        for phase in handoffs {
            assert!(
                !phase.gates.is_empty(),
                "{name}/{}: handoff without gate",
                phase.id
            );
        }
        for phase in &workflow.phases {
            for step in &phase.steps {
                assert!(
                    step.task.contains("agent summary"),
                    "{name}/{}: summary",
                    phase.id
                );
            }
        }
        let pattern_param = if workflow.parameters.contains_key("feature") {
            "feature"
        } else {
            "task"
        };
        assert_eq!(
            workflow.memory_pattern,
            format!("{name}/{{{pattern_param}}}/{{agent}}/{{deliverable}}")
        );
    }
}

#[test]
fn seed_003_code_handoffs_run_the_quality_checks() {
    for name in SEED_003 {
        let workflow = builtin(name);
        for phase in &workflow.phases {
            for gate in &phase.gates {
                // `ci.sh coverage` exits 3 (apiwright's coverage gate measures coverage) and
                // `ci.sh test` is judged by its counts: neither may be a plain command gate.
                let run = gate.command.as_ref().map(|check| check.run.as_str());
                assert!(
                    !run.is_some_and(|run| run.starts_with("sh ci.sh test")
                        || run.starts_with("sh ci.sh coverage")),
                    "{name}/{}: gate {} is {run:?}",
                    phase.id,
                    gate.id
                );
            }
        }
    }
    for name in SEED_003 {
        let workflow = builtin(name);
        // The last phase that runs checks compares the contract with the served routes;
        // the ones before check through ci.sh that it is valid OpenAPI 3.1.
        let last_checked = workflow
            .phases
            .iter()
            .rposition(|phase| !commands(phase).is_empty());
        for (index, phase) in workflow.phases.iter().enumerate() {
            let runs = commands(phase);
            if runs.is_empty() {
                continue;
            }
            for run in ["sh ci.sh typecheck", "sh ci.sh lint"] {
                assert!(runs.contains(&run), "{name}/{}: {run}", phase.id);
            }
            if Some(index) == last_checked {
                let check = gate(phase, "openapi").openapi.as_ref().unwrap_or_else(|| {
                    panic!("{name}/{}: the last check compares routes", phase.id)
                });
                assert_eq!(check.document, "openapi.json");
                assert_eq!(check.routes.axum.as_deref(), Some("src"));
            } else {
                assert!(runs.contains(&"sh ci.sh openapi"), "{name}/{}", phase.id);
            }
        }
    }
    let sequential = builtin("sequential-feature");
    let phases = sequential.phases.len();
    for (index, phase) in sequential.phases.iter().enumerate() {
        let expected: &[&str] = if index + 1 == phases {
            &["sh ci.sh typecheck", "sh ci.sh lint"]
        } else {
            &["sh ci.sh typecheck", "sh ci.sh lint", "sh ci.sh openapi"]
        };
        assert_eq!(commands(phase), expected, "{}", phase.id);
        assert_eq!(
            gate(phase, "tests").tests,
            Some(TestsCheck {
                run: "sh ci.sh test".to_string(),
                timeout_secs: None,
                expect: TestsExpect::Pass,
                min_tests: None,
            }),
            "{}",
            phase.id
        );
        assert_eq!(
            gate(phase, "coverage").coverage,
            Some(CoverageCheck {
                min_lines: "{coverage_target}".to_string(),
                exclude: vec!["src/main\\.rs$".to_string()],
                timeout_secs: Some(1800),
            }),
            "{}",
            phase.id
        );
    }
    assert_eq!(sequential.parameters["coverage_target"].default, "80");
    let agents: Vec<&str> = sequential
        .phases
        .iter()
        .map(|phase| phase.steps[0].agent.as_str())
        .collect();
    assert_eq!(
        agents,
        [
            "api-designer",
            "python-backend-engineer",
            "python-test-engineer",
            "code-reviewer"
        ]
    );
}

#[test]
fn parallel_tasks_runs_independent_tasks_then_reviews() {
    let workflow = builtin("parallel-tasks");
    assert_eq!(workflow.phases.len(), 2);
    let parallel = &workflow.phases[0];
    assert!(matches!(parallel.mode, Mode::Parallel(_)));
    assert_eq!(parallel.steps.len(), 3);
    assert_eq!(workflow.phases[1].steps[0].agent, "code-reviewer");
}

#[test]
fn iterative_refinement_loops_three_times_then_escalates() {
    let workflow = builtin("iterative-refinement");
    let refinement = &workflow.phases[0];
    assert_eq!(
        refinement.mode,
        Mode::Iterative(IterativeMode {
            max_iterations: Some(3)
        })
    );
    assert_eq!(
        refinement.on_fail,
        OnFail::Escalate(EscalatePolicy {
            kind: EscalationKind::TechnicalDebt
        })
    );
    let agents: Vec<&str> = refinement
        .steps
        .iter()
        .map(|step| step.agent.as_str())
        .collect();
    assert_eq!(agents, ["python-backend-engineer", "python-test-engineer"]);
    assert_eq!(workflow.phases[1].steps[0].agent, "code-reviewer");
}

#[test]
fn debug_fix_verify_starts_with_a_failing_test() {
    let workflow = builtin("debug-fix-verify");
    let ids: Vec<&str> = workflow
        .phases
        .iter()
        .map(|phase| phase.id.as_str())
        .collect();
    assert_eq!(ids, ["reproduce", "fix", "verify", "regression-review"]);
    let reproduces = gate(&workflow.phases[0], "reproduces");
    assert_eq!(
        reproduces.tests,
        Some(TestsCheck {
            run: "sh ci.sh test-item {task}".to_string(),
            timeout_secs: None,
            expect: TestsExpect::Fail,
            min_tests: None,
        })
    );
    for phase in &workflow.phases[1..3] {
        assert_eq!(
            gate(phase, "fixed").tests,
            Some(TestsCheck {
                run: "sh ci.sh test-item {task}".to_string(),
                timeout_secs: None,
                expect: TestsExpect::Pass,
                min_tests: None,
            }),
            "{}",
            phase.id
        );
    }
}

/// The built-in agents build from the requirements spec: every seed 003 and 004 workflow
/// declares it as an optional input, and every step can read it.
#[test]
fn seed_003_and_004_steps_read_the_optional_spec() {
    for name in SEED_003.iter().chain(&["backend-iteration"]) {
        let workflow = builtin(name);
        let spec = workflow
            .inputs
            .iter()
            .find(|input| input.name == "spec")
            .unwrap_or_else(|| panic!("{name}: no spec input"));
        assert!(!spec.required, "{name}");
        assert!(spec.key.ends_with("/input/spec"), "{name}: {}", spec.key);
        for phase in &workflow.phases {
            for step in &phase.steps {
                assert!(
                    step.reads
                        .iter()
                        .any(|read| *read == spec.key || glob_matches(read, &spec.key)),
                    "{name}/{}/{}: does not read {}",
                    phase.id,
                    step.id(),
                    spec.key
                );
            }
        }
    }
}

#[test]
fn sprint_task_moves_a_task_through_the_board() {
    let workflow = builtin("sprint-task");
    let agents: Vec<&str> = workflow
        .phases
        .iter()
        .map(|phase| phase.steps[0].agent.as_str())
        .collect();
    assert_eq!(
        agents,
        [
            "sprint-manager",
            "api-designer",
            "python-backend-engineer",
            "python-test-engineer",
            "code-reviewer",
            "sprint-manager"
        ]
    );
}

// ---------------------------------------------------------------------------------------
// backend-iteration (seed 004)

#[test]
fn backend_iteration_scores_each_iteration_and_asks_for_approval() {
    let workflow = builtin("backend-iteration");
    assert_eq!(workflow.phases.len(), 1);
    let phase = &workflow.phases[0];
    assert!(matches!(
        phase.mode,
        Mode::Iterative(IterativeMode {
            max_iterations: Some(_)
        })
    ));
    assert_eq!(phase.steps[0].writes, ["iteration-{iteration}"]);
    assert!(phase.steps[0].task.contains("input_references"));
    let score = gate(phase, "backend-score");
    assert_eq!(
        score.score,
        Some(ScoreCheck {
            key: "backend-iteration/{project}/phase4/backend-developer/iteration-{iteration}"
                .to_string(),
            field: Some("backend_implementation.backend_score".to_string()),
            min: Some(95.0),
            max: None,
        })
    );
    assert!(score.criterion.contains("0.95"));
    let approvals: Vec<&str> = phase
        .gates
        .iter()
        .filter(|gate| gate.approval.is_some())
        .map(|gate| gate.id.as_str())
        .collect();
    assert_eq!(
        approvals,
        [
            "implementation-approval",
            "api-review",
            "security-check",
            "iteration-complete"
        ]
    );
    assert!(matches!(phase.on_fail, OnFail::Escalate(_)));
    assert!(!workflow.inputs.is_empty());
    assert!(workflow.inputs.iter().all(|input| !input.required));
}

/// The store's key patterns take `*` and `**` as whole segments only (`iteration-*` is
/// refused when the step runs), so no built-in may read or check such a pattern.
#[test]
fn every_builtin_pattern_uses_wildcards_as_whole_segments() {
    for workflow in all() {
        for phase in &workflow.phases {
            let mut patterns: Vec<&String> =
                phase.steps.iter().flat_map(|step| &step.reads).collect();
            for gate in &phase.gates {
                if let Some(memory) = &gate.memory {
                    patterns.extend(&memory.keys);
                }
            }
            for pattern in patterns {
                for segment in pattern.split('/') {
                    assert!(
                        !segment.contains('*') || segment == "*" || segment == "**",
                        "{}/{}: `{pattern}` mixes `*` with other characters",
                        workflow.name,
                        phase.id
                    );
                }
            }
        }
    }
}
