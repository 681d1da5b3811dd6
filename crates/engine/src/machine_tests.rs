//! State machine tests: a simulated driver answers every decision without IO, so each mode,
//! loop and pause is checked from the events it produces, and replay is checked to reach the
//! same state as live execution.

use std::sync::Arc;

use apiwright_gates::GateOutcome;
use apiwright_workflow::Workflow;
use pretty_assertions::assert_eq;

use super::*;

fn workflow(yaml: &str) -> Arc<Workflow> {
    Arc::new(serde_saphyr::from_str::<Workflow>(yaml).expect("test workflow parses"))
}

/// Gate outcome by gate id and how many times it was evaluated so far.
type GateRule = Box<dyn Fn(&str, u32) -> GateOutcome>;

/// What the simulated world does.
struct World {
    gate: GateRule,
    /// Approve approval gates when the run pauses (None: stop at the pause).
    approve: Option<bool>,
    /// Items returned for items_from.
    items: Vec<String>,
}

impl World {
    fn passing() -> World {
        World {
            gate: Box::new(|_, _| GateOutcome::Passed),
            approve: None,
            items: vec![],
        }
    }
}

/// Drives the machine to completion or a pause; returns every event in order.
fn simulate(machine: &mut Machine, world: &World, limit: usize) -> Vec<Event> {
    let mut log = Vec::new();
    let mut evaluations: std::collections::BTreeMap<String, u32> = Default::default();
    let mut in_flight: Vec<StepTask> = Vec::new();
    for _ in 0..limit {
        let events = match machine.next() {
            Decision::Emit(events) => events,
            Decision::ResolveItems { phase, .. } => vec![Event::ItemsResolved {
                phase,
                items: world.items.clone(),
            }],
            Decision::RunSteps(tasks) => {
                let mut events = Vec::new();
                for task in tasks {
                    let step = machine.workflow().phases
                        [machine.workflow().phase_index(&task.round.phase).unwrap()]
                    .steps[task.step_index]
                        .id()
                        .to_string();
                    events.push(Event::StepStarted {
                        round: task.round.clone(),
                        step,
                        attempt: task.attempt,
                        provider: "sim".into(),
                    });
                    in_flight.push(task);
                }
                events
            }
            Decision::Await => {
                let task = in_flight.remove(0);
                let phase = &machine.workflow().phases
                    [machine.workflow().phase_index(&task.round.phase).unwrap()];
                let step = &phase.steps[task.step_index];
                vec![Event::StepFinished {
                    round: task.round.clone(),
                    step: step.id().to_string(),
                    agent: step.agent.clone(),
                    attempt: task.attempt,
                    summary: format!("{} done", step.id()),
                    decisions: vec![],
                    deliverables: vec![],
                    duration_ms: 1,
                    usage: None,
                }]
            }
            Decision::EvaluateGate { round, gate_index } => {
                let phase = &machine.workflow().phases
                    [machine.workflow().phase_index(&round.phase).unwrap()];
                let gate = phase.gates[gate_index].id.clone();
                let count = evaluations.entry(gate.clone()).or_insert(0);
                *count += 1;
                let outcome = (world.gate)(&gate, *count);
                vec![Event::GateEvaluated {
                    round,
                    gate,
                    gate_kind: "command".into(),
                    outcome,
                    summary: format!("{outcome:?}"),
                    evidence: serde_json::Value::Null,
                    duration_ms: 0,
                }]
            }
            Decision::Pause => match (machine.status().clone(), world.approve) {
                (RunPhase::WaitingApproval { round, gate, .. }, Some(approved)) => {
                    vec![Event::ApprovalDecided {
                        round,
                        gate,
                        approved,
                        by: "tester".into(),
                        reason: None,
                    }]
                }
                _ => return log,
            },
            Decision::Finished => return log,
        };
        for event in events {
            machine.apply(&event).expect("event fits");
            log.push(event);
        }
    }
    panic!("no end after {limit} decisions: {log:#?}");
}

fn kinds(log: &[Event]) -> Vec<String> {
    log.iter()
        .map(|event| match event {
            Event::PhaseStarted { phase, visit } => format!("start {phase}#{visit}"),
            Event::RoundStarted { round, .. } => format!("round {round}"),
            Event::StepStarted { step, .. } => format!("run {step}"),
            Event::StepFinished { step, .. } => format!("done {step}"),
            Event::GateEvaluated { gate, outcome, .. } => format!("gate {gate} {outcome:?}"),
            Event::PhaseCompleted { phase, .. } => format!("complete {phase}"),
            Event::PhaseFailed { phase, .. } => format!("fail {phase}"),
            Event::LoopedBack { to, count, .. } => format!("loop to {to} ({count})"),
            Event::Escalated { escalation, .. } => format!("escalate {}", escalation.as_str()),
            Event::ApprovalRequested { gate, .. } => format!("ask {gate}"),
            Event::ApprovalDecided { gate, approved, .. } => format!("decide {gate} {approved}"),
            Event::ItemsResolved { items, .. } => format!("items {}", items.join(",")),
            other => other.kind().to_string(),
        })
        .collect()
}

fn started(wf: &Arc<Workflow>, auto_approve: bool) -> Machine {
    Machine::new(Arc::clone(wf), "run-test", Default::default(), auto_approve)
}

const HEADER: &str = "
name: t
description: t
memory_pattern: t/{agent}/{deliverable}
agents:
  - {id: a, description: a}
  - {id: b, description: b}
  - {id: c, description: c}
";

#[test]
fn sequential_phases_run_steps_in_order_then_gates() {
    let wf = workflow(&format!(
        "{HEADER}
phases:
  - id: one
    title: One
    steps: [{{agent: a, task: x}}, {{agent: b, task: y}}]
    gates: [{{id: g1, command: {{run: 'true'}}}}]
  - id: two
    title: Two
    steps: [{{agent: c, task: z}}]
"
    ));
    let mut machine = started(&wf, false);
    let log = simulate(&mut machine, &World::passing(), 100);
    assert_eq!(
        kinds(&log),
        vec![
            "start one#1",
            "round one#1",
            "run a",
            "done a",
            "run b",
            "done b",
            "gate g1 Passed",
            "complete one",
            "start two#1",
            "round two#1",
            "run c",
            "done c",
            "complete two",
            "run_completed"
        ]
    );
    assert_eq!(machine.status(), &RunPhase::Completed);
}

#[test]
fn parallel_hierarchical_runs_the_lead_alone_then_the_rest_within_the_limit() {
    let wf = workflow(&format!(
        "{HEADER}
phases:
  - id: p
    title: P
    mode: {{parallel: {{max_agents: 2, topology: hierarchical}}}}
    steps: [{{agent: a, task: x}}, {{agent: b, task: y}}, {{agent: c, task: z}}, {{id: c2, agent: c, task: w}}]
"
    ));
    let mut machine = started(&wf, false);
    for event in [
        Event::PhaseStarted {
            phase: "p".into(),
            visit: 1,
        },
        Event::RoundStarted {
            round: Round {
                phase: "p".into(),
                visit: 1,
                iteration: 1,
                item: None,
                stage: None,
            },
            feedback: vec![],
        },
    ] {
        machine.apply(&event).unwrap();
    }
    let Decision::RunSteps(first) = machine.next() else {
        panic!("expected steps")
    };
    assert_eq!(
        first.iter().map(|t| t.step_index).collect::<Vec<_>>(),
        vec![0]
    );
    let log = simulate(&mut machine, &World::passing(), 100);
    // After the lead, at most two run at once and each sees the lead's work.
    let mut running = 0;
    let mut peak = 0;
    for event in &log {
        match event {
            Event::StepStarted { .. } => {
                running += 1;
                peak = peak.max(running);
            }
            Event::StepFinished { .. } => running -= 1,
            _ => {}
        }
    }
    assert_eq!(peak, 2);
    assert_eq!(machine.status(), &RunPhase::Completed);
}

#[test]
fn mesh_steps_see_siblings_that_finished_and_star_steps_see_none() {
    for (topology, expect_visible) in [("mesh", true), ("star", false)] {
        let wf = workflow(&format!(
            "{HEADER}
phases:
  - id: p
    title: P
    mode: {{parallel: {{max_agents: 1, topology: {topology}}}}}
    steps: [{{agent: a, task: x}}, {{agent: b, task: y}}]
"
        ));
        let mut machine = started(&wf, false);
        let round = Round {
            phase: "p".into(),
            visit: 1,
            iteration: 1,
            item: None,
            stage: None,
        };
        for event in [
            Event::PhaseStarted {
                phase: "p".into(),
                visit: 1,
            },
            Event::RoundStarted {
                round: round.clone(),
                feedback: vec![],
            },
            Event::StepStarted {
                round: round.clone(),
                step: "a".into(),
                attempt: 1,
                provider: "sim".into(),
            },
            Event::StepFinished {
                round: round.clone(),
                step: "a".into(),
                agent: "a".into(),
                attempt: 1,
                summary: String::new(),
                decisions: vec![],
                deliverables: vec!["t/a/x".into()],
                duration_ms: 0,
                usage: None,
            },
        ] {
            machine.apply(&event).unwrap();
        }
        let Decision::RunSteps(tasks) = machine.next() else {
            panic!("expected steps")
        };
        assert_eq!(
            tasks[0].visible_siblings.contains(&"a".to_string()),
            expect_visible,
            "{topology}"
        );
    }
}

#[test]
fn iterative_phase_repeats_until_gates_pass_and_escalates_at_the_maximum() {
    let yaml = format!(
        "{HEADER}
phases:
  - id: loop
    title: Loop
    mode: {{iterative: {{max_iterations: 3}}}}
    steps: [{{agent: a, task: x}}, {{agent: b, task: y}}]
    gates: [{{id: tests, command: {{run: 'true'}}}}]
    on_fail: {{escalate: {{kind: technical_debt}}}}
"
    );
    let wf = workflow(&yaml);
    let mut passes_on_second = started(&wf, false);
    let world = World {
        gate: Box::new(|_, count| {
            if count >= 2 {
                GateOutcome::Passed
            } else {
                GateOutcome::Failed
            }
        }),
        approve: None,
        items: vec![],
    };
    let log = simulate(&mut passes_on_second, &world, 100);
    assert!(kinds(&log).contains(&"round loop#1/iteration-2".to_string()));
    assert_eq!(passes_on_second.status(), &RunPhase::Completed);
    // The second round carries why the first failed.
    let feedback = log.iter().find_map(|event| match event {
        Event::RoundStarted { round, feedback } if round.iteration == 2 => Some(feedback.clone()),
        _ => None,
    });
    assert_eq!(
        feedback,
        Some(vec!["gate `tests` failed: Failed".to_string()])
    );

    let mut never_passes = started(&wf, false);
    let failing = World {
        gate: Box::new(|_, _| GateOutcome::Failed),
        approve: None,
        items: vec![],
    };
    let log = simulate(&mut never_passes, &failing, 100);
    let rounds = log
        .iter()
        .filter(|e| matches!(e, Event::RoundStarted { .. }))
        .count();
    assert_eq!(rounds, 3, "stops after max_iterations");
    assert!(matches!(
        never_passes.status(),
        RunPhase::Escalated {
            kind: apiwright_workflow::EscalationKind::TechnicalDebt,
            ..
        }
    ));
}

#[test]
fn remediation_loop_goes_back_at_most_max_times_then_escalates() {
    let wf = workflow(&format!(
        "{HEADER}
phases:
  - id: security
    title: S
    steps: [{{agent: a, task: x}}]
  - id: middle
    title: M
    steps: [{{agent: b, task: y}}]
  - id: final
    title: F
    steps: [{{agent: c, task: z}}]
    gates: [{{id: scan, command: {{run: 'false'}}}}]
    on_fail: {{goto: {{phase: security, max: 2, then: {{escalate: security_alert}}}}}}
"
    ));
    let mut machine = started(&wf, false);
    let world = World {
        gate: Box::new(|_, _| GateOutcome::Failed),
        approve: None,
        items: vec![],
    };
    let log = simulate(&mut machine, &world, 200);
    let loops: Vec<String> = kinds(&log)
        .into_iter()
        .filter(|k| k.starts_with("loop"))
        .collect();
    assert_eq!(loops, vec!["loop to security (1)", "loop to security (2)"]);
    assert!(kinds(&log).contains(&"start security#3".to_string()));
    assert!(
        kinds(&log).contains(&"start middle#3".to_string()),
        "phases in between run again"
    );
    assert!(matches!(
        machine.status(),
        RunPhase::Escalated {
            kind: apiwright_workflow::EscalationKind::SecurityAlert,
            ..
        }
    ));
    // Approving the escalation accepts the failed phase and the run completes.
    let RunPhase::Escalated { id, .. } = machine.status().clone() else {
        unreachable!()
    };
    machine
        .apply(&Event::EscalationResolved {
            id,
            approved: true,
            by: "lead".into(),
            reason: None,
        })
        .unwrap();
    let rest = simulate(&mut machine, &World::passing(), 50);
    assert_eq!(kinds(&rest), vec!["complete final", "run_completed"]);
    assert!(matches!(
        rest[0],
        Event::PhaseCompleted {
            overridden: true,
            ..
        }
    ));
}

#[test]
fn tdd_phase_cycles_red_green_refactor_per_item() {
    let wf = workflow(&format!(
        "{HEADER}
phases:
  - id: tdd
    title: TDD
    mode: {{tdd: {{items_from: t/a/endpoints}}}}
    steps:
      - {{agent: a, task: tests, stage: red}}
      - {{agent: b, task: impl, stage: green}}
      - {{agent: c, task: review, stage: refactor}}
    gates:
      - {{id: red-fails, stage: red, command: {{run: 'false', expect: failure}}}}
      - {{id: green-passes, stage: green, command: {{run: 'true'}}}}
"
    ));
    let mut machine = started(&wf, false);
    let world = World {
        gate: Box::new(|_, _| GateOutcome::Passed),
        approve: None,
        items: vec!["GET /x".into(), "POST /x".into()],
    };
    let log = simulate(&mut machine, &world, 200);
    assert_eq!(
        kinds(&log),
        vec![
            "start tdd#1",
            "items GET /x,POST /x",
            "round tdd#1/item-1/red",
            "run a",
            "done a",
            "gate red-fails Passed",
            "round tdd#1/item-1/green",
            "run b",
            "done b",
            "gate green-passes Passed",
            "round tdd#1/item-1/refactor",
            "run c",
            "done c",
            "round tdd#1/item-2/red",
            "run a",
            "done a",
            "gate red-fails Passed",
            "round tdd#1/item-2/green",
            "run b",
            "done b",
            "gate green-passes Passed",
            "round tdd#1/item-2/refactor",
            "run c",
            "done c",
            "complete tdd",
            "run_completed"
        ]
    );
}

#[test]
fn approval_gates_pause_until_decided_and_rejection_fails_the_phase() {
    let wf = workflow(&format!(
        "{HEADER}
phases:
  - id: one
    title: One
    steps: [{{agent: a, task: x}}]
    gates: [{{id: ok, approval: {{prompt: 'Ship it?'}}}}]
"
    ));
    let mut machine = started(&wf, false);
    let log = simulate(&mut machine, &World::passing(), 50);
    assert_eq!(kinds(&log).last().map(String::as_str), Some("ask ok"));
    assert!(matches!(machine.status(), RunPhase::WaitingApproval { gate, .. } if gate == "ok"));

    let mut rejected = started(&wf, false);
    let world = World {
        gate: Box::new(|_, _| GateOutcome::Passed),
        approve: Some(false),
        items: vec![],
    };
    simulate(&mut rejected, &world, 50);
    assert!(
        matches!(rejected.status(), RunPhase::Failed { reason } if reason.contains("approval `ok` rejected by tester"))
    );

    let mut auto = started(&wf, true);
    let log = simulate(&mut auto, &World::passing(), 50);
    assert!(
        log.iter()
            .any(|e| matches!(e, Event::ApprovalDecided { by, .. } if by == "--yes"))
    );
    assert_eq!(auto.status(), &RunPhase::Completed);
}

#[test]
fn a_replayed_log_reaches_the_same_state_and_redoes_only_interrupted_steps() {
    let wf = workflow(&format!(
        "{HEADER}
phases:
  - id: one
    title: One
    steps: [{{agent: a, task: x}}, {{agent: b, task: y}}]
"
    ));
    let mut live = started(&wf, false);
    let mut log = vec![Event::RunStarted {
        workflow: "t".into(),
        params: Default::default(),
        auto_approve: false,
        inputs: vec![],
    }];
    // Run until step b has started, as if the process were killed there.
    loop {
        let events = match live.next() {
            Decision::Emit(events) => events,
            Decision::RunSteps(tasks) => {
                let task = &tasks[0];
                let step = wf.phases[0].steps[task.step_index].id().to_string();
                let started = Event::StepStarted {
                    round: task.round.clone(),
                    step: step.clone(),
                    attempt: task.attempt,
                    provider: "sim".into(),
                };
                if step == "b" {
                    live.apply(&started).unwrap();
                    log.push(started);
                    break;
                }
                vec![
                    started,
                    Event::StepFinished {
                        round: task.round.clone(),
                        step: step.clone(),
                        agent: step,
                        attempt: 1,
                        summary: String::new(),
                        decisions: vec![],
                        deliverables: vec![],
                        duration_ms: 0,
                        usage: None,
                    },
                ]
            }
            other => panic!("unexpected {other:?}"),
        };
        for event in events {
            live.apply(&event).unwrap();
            log.push(event);
        }
    }
    let resumed = Machine::replay(Arc::clone(&wf), "run-test", &log).unwrap();
    let Decision::RunSteps(tasks) = resumed.next() else {
        panic!("expected the interrupted step")
    };
    assert_eq!(tasks.len(), 1);
    assert_eq!(wf.phases[0].steps[tasks[0].step_index].id(), "b");
    assert_eq!(tasks[0].attempt, 2, "the interrupted attempt is counted");
}

#[test]
fn a_failed_step_fails_the_phase_after_its_retries() {
    let wf = workflow(&format!(
        "{HEADER}
phases:
  - id: one
    title: One
    steps: [{{agent: a, task: x, retries: 1}}]
"
    ));
    let mut machine = started(&wf, false);
    let round = Round {
        phase: "one".into(),
        visit: 1,
        iteration: 1,
        item: None,
        stage: None,
    };
    for event in [
        Event::PhaseStarted {
            phase: "one".into(),
            visit: 1,
        },
        Event::RoundStarted {
            round: round.clone(),
            feedback: vec![],
        },
        Event::StepStarted {
            round: round.clone(),
            step: "a".into(),
            attempt: 1,
            provider: "sim".into(),
        },
        Event::StepFailed {
            round: round.clone(),
            step: "a".into(),
            attempt: 1,
            error: "timeout".into(),
            retryable: true,
            duration_ms: 0,
            usage: None,
        },
    ] {
        machine.apply(&event).unwrap();
    }
    let Decision::RunSteps(tasks) = machine.next() else {
        panic!("expected a retry")
    };
    assert_eq!(tasks[0].attempt, 2);
    for event in [
        Event::StepStarted {
            round: round.clone(),
            step: "a".into(),
            attempt: 2,
            provider: "sim".into(),
        },
        Event::StepFailed {
            round: round.clone(),
            step: "a".into(),
            attempt: 2,
            error: "timeout again".into(),
            retryable: true,
            duration_ms: 0,
            usage: None,
        },
    ] {
        machine.apply(&event).unwrap();
    }
    let Decision::Emit(events) = machine.next() else {
        panic!("expected the phase to fail")
    };
    assert!(
        matches!(&events[0], Event::PhaseFailed { reason, .. } if reason == "step `a` failed: timeout again")
    );
}

#[test]
fn a_gate_that_was_not_run_does_not_fail_the_phase_but_is_recorded() {
    let wf = workflow(&format!(
        "{HEADER}
phases:
  - id: validate
    title: Validate
    steps: [{{agent: a, task: x}}]
    gates:
      - {{id: e2e, command: {{run: 'true'}}}}
      - {{id: load, planned: {{kind: load, description: 1000 rps}}}}
"
    ));
    let mut machine = started(&wf, false);
    let world = World {
        gate: Box::new(|gate, _| {
            if gate == "load" {
                GateOutcome::NotRun
            } else {
                GateOutcome::Passed
            }
        }),
        approve: None,
        items: vec![],
    };
    simulate(&mut machine, &world, 50);
    assert_eq!(machine.status(), &RunPhase::Completed);
    let outcomes: Vec<(&str, &str)> = machine
        .gate_log()
        .iter()
        .map(|record| (record.gate.as_str(), record.outcome.as_str()))
        .collect();
    assert_eq!(outcomes, vec![("e2e", "passed"), ("load", "not_run")]);
}
