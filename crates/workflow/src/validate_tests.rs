//! Tests of the validator, through the loader so every rule is checked with the exact
//! `line:col` it reports. Each test is a minimal workflow that breaks one rule.

use pretty_assertions::assert_eq;

use super::reads::Seg;
use super::reads::matches;
use super::reads::segments;
use crate::loader::LoadError;
use crate::loader::load_str;

/// Lines 1–6 of every workflow below; phases start on line 7.
const HEAD: [&str; 6] = [
    "name: w",
    "description: d",
    "memory_pattern: \"m/{agent}/{deliverable}\"",
    "agents:",
    "  - {id: a, description: d}",
    "phases:",
];

/// A phase that is valid on its own, for workflows that need a phase but test something else.
const PHASE: [&str; 4] = [
    "  - id: p",
    "    title: t",
    "    steps:",
    "      - {agent: a, task: t}",
];

fn text(lines: &[&str]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// `HEAD` followed by `phases` (the first of them on line 7).
fn workflow(phases: &[&str]) -> String {
    text(&[&HEAD[..], phases].concat())
}

/// The diagnostics of an invalid workflow as `line:col: message`.
fn errors(text: &str) -> Vec<String> {
    match load_str("w.yaml", text) {
        Err(LoadError::Invalid(diagnostics)) => diagnostics
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
            .collect(),
        Err(LoadError::Parse(diagnostic)) => panic!("shape error instead: {diagnostic}"),
        Ok(_) => panic!("loaded, but errors were expected:\n{text}"),
    }
}

fn loads(text: &str) {
    if let Err(error) = load_str("w.yaml", text) {
        panic!("does not load:\n{error}\n---\n{text}");
    }
}

#[test]
fn a_minimal_workflow_loads() {
    loads(&workflow(&PHASE));
}

#[test]
fn the_name_is_kebab_case() {
    let mut lines = HEAD.to_vec();
    lines[0] = "name: My_Flow";
    lines.extend(PHASE);
    assert_eq!(
        errors(&text(&lines)),
        ["1:7: expected a kebab-case name (`a-z`, `0-9` and `-`), found `My_Flow`"]
    );
    lines[0] = "name: ''";
    assert_eq!(
        errors(&text(&lines)),
        ["1:7: expected a workflow name, found an empty string"]
    );
}

#[test]
fn phases_and_agents_are_not_empty() {
    let lines = [
        "name: w",
        "description: d",
        "memory_pattern: \"m/{agent}/{deliverable}\"",
        "agents: []",
        "phases: []",
    ];
    assert_eq!(
        errors(&text(&lines)),
        [
            "4:9: expected at least one agent, found none",
            "5:9: expected at least one phase, found none",
        ]
    );
}

#[test]
fn a_phase_does_something() {
    let phases = ["  - id: p", "    title: t", "    steps: []"];
    assert_eq!(
        errors(&workflow(&phases)),
        ["9:12: expected at least one step or gate, found neither"]
    );
}

#[test]
fn agent_ids_are_unique() {
    let mut lines = HEAD[..5].to_vec();
    lines.extend(["  - {id: a, description: again}", "phases:"]);
    lines.extend(PHASE);
    assert_eq!(
        errors(&text(&lines)),
        ["6:10: expected a unique agent id, found `a` a second time"]
    );
}

#[test]
fn phase_ids_are_unique() {
    let phases = [&PHASE[..], &PHASE[..]].concat();
    assert_eq!(
        errors(&workflow(&phases)),
        ["11:9: expected a unique phase id, found `p` a second time"]
    );
}

#[test]
fn step_ids_default_to_the_agent_and_are_unique() {
    let mut phases = PHASE.to_vec();
    phases.extend([
        "      - {agent: a, task: again}",
        "      - {id: x, agent: a, task: t}",
        "      - {id: x, agent: a, task: t}",
    ]);
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "11:17: expected a unique step id in phase `p`, found `a` a second time",
            "13:14: expected a unique step id in phase `p`, found `x` a second time",
        ]
    );
}

#[test]
fn gate_ids_are_unique() {
    let mut phases = PHASE.to_vec();
    phases.extend([
        "    gates:",
        "      - {id: g, approval: {prompt: ok}}",
        "      - {id: g, approval: {prompt: ok}}",
    ]);
    assert_eq!(
        errors(&workflow(&phases)),
        ["13:14: expected a unique gate id in phase `p`, found `g` a second time"]
    );
}

#[test]
fn input_names_are_unique() {
    let mut lines = HEAD[..5].to_vec();
    lines.extend([
        "inputs:",
        "  - {name: spec, key: in/spec}",
        "  - {name: spec, key: in/other}",
        "phases:",
    ]);
    lines.extend(PHASE);
    assert_eq!(
        errors(&text(&lines)),
        ["8:12: expected a unique input name, found `spec` a second time"]
    );
}

#[test]
fn steps_name_known_agents() {
    let mut phases = PHASE.to_vec();
    phases[3] = "      - {agent: b, task: t}";
    assert_eq!(
        errors(&workflow(&phases)),
        ["10:17: expected one of the agents `a`, found unknown agent `b`"]
    );
}

#[test]
fn goto_names_a_known_phase() {
    let mut phases = PHASE.to_vec();
    phases.extend(["    on_fail:", "      goto: {phase: nowhere, max: 1}"]);
    assert_eq!(
        errors(&workflow(&phases)),
        ["12:21: expected one of the phases `p`, found unknown phase `nowhere`"]
    );
}

#[test]
fn goto_goes_back_not_forward() {
    let mut phases = PHASE.to_vec();
    phases.extend(["    on_fail:", "      goto: {phase: q, max: 1}"]);
    phases.extend([
        "  - id: q",
        "    title: t",
        "    steps:",
        "      - {agent: a, task: t}",
    ]);
    phases.extend(["    on_fail:", "      goto: {phase: q, max: 1}"]);
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "12:21: expected `p` or an earlier phase (remediation loops go back), found later phase `q`"
        ]
    );
}

#[test]
fn loops_need_a_maximum() {
    let phases = [
        "  - id: p",
        "    title: t",
        "    mode: {iterative: {}}",
        "    steps:",
        "      - {agent: a, task: t}",
        "    on_fail:",
        "      retry: {then: abort}",
        "  - id: q",
        "    title: t",
        "    steps:",
        "      - {agent: a, task: t}",
        "    on_fail:",
        "      goto:",
        "        phase: p",
    ];
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "9:23: expected `max_iterations` (a loop needs a maximum), found none",
            "13:14: expected `max` (a loop needs a maximum), found none",
            "20:9: expected `max` (a loop needs a maximum), found none",
        ]
    );
}

#[test]
fn a_maximum_of_zero_is_refused() {
    let phases = [
        "  - id: p",
        "    title: t",
        "    mode: {iterative: {max_iterations: 0}}",
        "    steps:",
        "      - {agent: a, task: t}",
        "    on_fail: {retry: {max: 0}}",
        "  - id: q",
        "    title: t",
        "    mode:",
        "      parallel: {max_agents: 0}",
        "    steps:",
        "      - {agent: a, task: t}",
        "    on_fail: {goto: {phase: p, max: 0}}",
    ];
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "9:40: expected a maximum of at least 1, found 0",
            "12:28: expected a maximum of at least 1, found 0",
            "16:30: expected at least 1 agent at once, found 0",
            "19:37: expected a maximum of at least 1, found 0",
        ]
    );
}

#[test]
fn timeouts_are_positive() {
    let mut phases = PHASE.to_vec();
    phases[3] = "      - {agent: a, task: t, timeout_secs: 0}";
    phases.extend([
        "    gates:",
        "      - {id: g, command: {run: make, timeout_secs: 0}}",
    ]);
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "10:43: expected a timeout of at least 1 second, found 0",
            "12:52: expected a timeout of at least 1 second, found 0",
        ]
    );
}

/// A valid tdd phase, for variations.
const TDD: [&str; 8] = [
    "  - id: p",
    "    title: t",
    "    mode:",
    "      tdd: {items: [one, two]}",
    "    steps:",
    "      - {agent: a, task: t, stage: red}",
    "      - {id: b, agent: a, task: t, stage: green}",
    "      - {id: c, agent: a, task: t, stage: refactor}",
];

#[test]
fn a_valid_tdd_phase_loads() {
    loads(&workflow(&TDD));
}

#[test]
fn tdd_takes_exactly_one_source_of_items() {
    let mut phases = TDD.to_vec();
    phases[3] = "      tdd: {items: [one], items_from: in/items}";
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "10:12: expected exactly one of `items` or `items_from`, found both",
            "10:39: expected a key written in an earlier phase or an input key, found `in/items`, which nothing writes",
        ]
    );
    phases[3] = "      tdd: {}";
    assert_eq!(
        errors(&workflow(&phases)),
        ["10:12: expected exactly one of `items` or `items_from`, found neither"]
    );
}

#[test]
fn tdd_items_are_not_empty() {
    let mut phases = TDD.to_vec();
    phases[3] = "      tdd: {items: []}";
    assert_eq!(
        errors(&workflow(&phases)),
        ["10:20: expected at least one item, found none"]
    );
}

#[test]
fn every_tdd_step_has_a_stage() {
    let mut phases = TDD.to_vec();
    phases[7] = "      - {id: c, agent: a, task: t}";
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "14:9: expected a `stage` (red, green or refactor) on step `c` of a tdd phase, found none"
        ]
    );
}

#[test]
fn every_tdd_gate_has_a_stage() {
    let mut phases = TDD.to_vec();
    phases.extend(["    gates:", "      - {id: g, command: {run: make test}}"]);
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "16:9: expected a `stage` (red, green or refactor) on gate `g` of a tdd phase, found none",
        ]
    );
}

#[test]
fn a_tdd_phase_has_red_and_green_steps() {
    let phases = &TDD[..6];
    assert_eq!(
        errors(&workflow(phases)),
        ["12:7: expected at least one red step and one green step, found no green step"]
    );
    let phases = [&TDD[..5], &TDD[7..]].concat();
    assert_eq!(
        errors(&workflow(&phases)),
        ["12:7: expected at least one red step and one green step, found no red or green step"]
    );
}

#[test]
fn stages_belong_to_tdd_phases_only() {
    let mut phases = PHASE.to_vec();
    phases[3] = "      - {agent: a, task: t, stage: red}";
    phases.extend([
        "    gates:",
        "      - {id: g, stage: green, approval: {prompt: ok}}",
    ]);
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "10:36: expected no `stage` outside a tdd phase, found `red`",
            "12:24: expected no `stage` outside a tdd phase, found `green`",
        ]
    );
}

#[test]
fn a_gate_has_exactly_one_check() {
    let mut phases = PHASE.to_vec();
    phases.extend([
        "    gates:",
        "      - {id: g}",
        "      - {id: h, command: {run: make}, approval: {prompt: ok}}",
    ]);
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "12:9: expected exactly one of `command`, `tests`, `coverage`, `openapi`, `contract`, `security`, `load`, `deploy`, `monitor`, `memory`, `score`, `spec`, `approval`, `planned` in gate `g`, found none",
            "13:9: expected exactly one of `command`, `tests`, `coverage`, `openapi`, `contract`, `security`, `load`, `deploy`, `monitor`, `memory`, `score`, `spec`, `approval`, `planned` in gate `h`, found `command` and `approval`",
        ]
    );
}

#[test]
fn score_gates_have_bounds() {
    let mut phases = PHASE.to_vec();
    phases[3] = "      - {agent: a, task: t, writes: [score]}";
    phases.extend([
        "    gates:",
        "      - id: g",
        "        score: {key: m/a/score}",
        "      - id: h",
        "        score: {key: m/a/score, min: 9, max: 1}",
    ]);
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "13:16: expected `min` or `max` (or both), found neither",
            "15:38: expected `min` at most `max` (1), found 9",
        ]
    );
}

#[test]
fn memory_gates_have_keys_or_content_with_fields() {
    let mut phases = PHASE.to_vec();
    phases[3] = "      - {agent: a, task: t, writes: [x]}";
    phases.extend([
        "    gates:",
        "      - {id: g, memory: {keys: []}}",
        "      - {id: h, memory: {content: [{key: m/a/x, fields: []}]}}",
        "      - {id: i, memory: {content: [{key: m/a/x, fields: [auth..roles, \" \"]}]}}",
        "      - {id: j, memory: {content: [{key: m/a/x, equals: {confirmed: true, .x: 1}}]}}",
    ]);
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "12:25: expected at least one entry in `keys` or `content`, found none",
            "13:36: expected at least one entry in `fields` or `equals`, found none",
            "14:58: expected a dotted path of non-empty names (e.g. `auth.roles`), found `auth..roles`",
            "14:71: expected a dotted path of non-empty names (e.g. `auth.roles`), found ` `",
            "15:79: expected a dotted path of non-empty names (e.g. `auth.roles`), found `.x`",
        ]
    );
}

#[test]
fn a_memory_gate_on_its_own_phase_deliverables_alone_cannot_fail_and_is_refused() {
    let lines = [
        "  - id: first",
        "    title: t",
        "    steps:",
        "      - {agent: a, task: t, writes: [plan]}",
        "  - id: second",
        "    title: t",
        "    steps:",
        "      - {agent: a, task: t, writes: [code, \"{who}-notes\"]}",
        "    gates:",
        // Own deliverable, existence only: the engine already guarantees it.
        "      - {id: own, memory: {keys: [m/a/code]}}",
        // A pattern that only own deliverables can satisfy.
        "      - {id: own-pattern, memory: {keys: [\"m/a/*\"]}}",
        // An earlier phase's deliverable, or content of its own: both can fail.
        "      - {id: earlier, memory: {keys: [m/a/plan]}}",
        "      - {id: content, memory: {content: [{key: m/a/code, fields: [files]}]}}",
        // The same parameter gives the same key; a literal may or may not match at run time,
        // and the rule never guesses.
        "      - {id: same-param, memory: {keys: [\"m/a/{who}-notes\"]}}",
        "      - {id: literal, memory: {keys: [m/a/x-notes]}}",
    ];
    let text = workflow(&lines).replace(
        "memory_pattern:",
        "parameters: {who: {default: x}}\nmemory_pattern:",
    );
    let found = errors(&text);
    let never = |id: &str| {
        found.iter().any(|e| {
            e.contains(&format!(
                "found gate `{id}` requiring only deliverables of this phase"
            ))
        })
    };
    assert!(never("own"), "{found:#?}");
    assert!(never("own-pattern"), "{found:#?}");
    assert!(never("same-param"), "{found:#?}");
    for id in ["earlier", "content", "literal"] {
        assert!(!never(id), "{id}: {found:#?}");
    }
}

#[test]
fn the_memory_pattern_names_agent_and_deliverable() {
    let mut lines = HEAD.to_vec();
    lines[2] = "memory_pattern: \"m/{phase}/{agent}\"";
    lines.extend(PHASE);
    assert_eq!(
        errors(&text(&lines)),
        [
            "3:17: expected a memory pattern with `{agent}` and `{deliverable}`, found `m/{phase}/{agent}` without `{deliverable}`",
        ]
    );
    lines[2] = "memory_pattern: m";
    assert_eq!(
        errors(&text(&lines)),
        [
            "3:17: expected a memory pattern with `{agent}` and `{deliverable}`, found `m` without `{agent}` and `{deliverable}`",
        ]
    );
}

#[test]
fn the_memory_pattern_uses_known_placeholders() {
    let mut lines = HEAD.to_vec();
    lines[2] = "memory_pattern: \"m/{api}/{item_slug}/{agent}/{deliverable}\"";
    lines.extend(PHASE);
    assert_eq!(
        errors(&text(&lines)),
        [
            "3:17: expected a known placeholder (`agent`, `deliverable`, `item`, `item_slug`, `iteration`, `phase`, `phase_id`, `run_id`), found `{api}`",
        ]
    );
}

#[test]
fn a_memory_pattern_with_items_is_only_written_in_tdd_phases() {
    let mut lines = HEAD.to_vec();
    lines[2] = "memory_pattern: \"m/{item_slug}/{agent}/{deliverable}\"";
    lines.extend(&PHASE[..3]);
    lines.push("      - {agent: a, task: t, writes: [x]}");
    assert_eq!(
        errors(&text(&lines)),
        [
            "10:37: expected writes only in tdd phases (the memory pattern uses `{item_slug}`), found writes in phase `p`",
        ]
    );
    let mut lines = HEAD.to_vec();
    lines[2] = "memory_pattern: \"m/{item_slug}/{agent}/{deliverable}\"";
    lines.extend(&TDD[..5]);
    lines.push("      - {agent: a, task: t, stage: red, writes: [x]}");
    lines.extend(&TDD[6..]);
    loads(&text(&lines));
}

#[test]
fn step_templates_use_known_placeholders() {
    let mut lines = HEAD[..5].to_vec();
    lines.extend(["parameters:", "  lang: {default: rust}", "phases:"]);
    lines.extend(&PHASE[..3]);
    lines.push(
        "      - {agent: a, task: \"{lang} {item} {nope} {nope}\", writes: [\"{iteration}-{x}\"]}",
    );
    let known = "`agent`, `iteration`, `lang`, `phase`, `phase_id`, `run_id`";
    assert_eq!(
        errors(&text(&lines)),
        [
            format!(
                "12:26: expected a known placeholder ({known}), found `{{item}}` (only tdd phases have items)"
            ),
            format!("12:26: expected a known placeholder ({known}), found `{{nope}}`"),
            format!("12:66: expected a known placeholder ({known}), found `{{x}}`"),
        ]
    );
}

#[test]
fn gate_templates_use_known_placeholders() {
    let mut phases = TDD.to_vec();
    phases.extend([
        "    gates:",
        "      - {id: g, stage: red, command: {run: \"test {item_slug} {agent}\", expect: failure}}",
        "      - {id: h, stage: green, approval: {prompt: \"{run_id} {iteration} {phase} {phase_id} {who}\"}}",
    ]);
    let known = "`item`, `item_slug`, `iteration`, `phase`, `phase_id`, `run_id`";
    assert_eq!(
        errors(&workflow(&phases)),
        [
            format!(
                "16:44: expected a known placeholder ({known}), found `{{agent}}` (only steps have an agent)"
            ),
            format!("17:50: expected a known placeholder ({known}), found `{{who}}`"),
        ]
    );
}

#[test]
fn input_keys_and_items_from_have_no_item_or_agent() {
    let mut lines = HEAD[..5].to_vec();
    lines.extend([
        "inputs:",
        "  - {name: spec, key: \"in/{agent}\"}",
        "phases:",
    ]);
    lines.extend(&TDD[..3]);
    lines.push("      tdd: {items_from: \"in/{item}\"}");
    lines.extend(&TDD[4..]);
    let known = "`iteration`, `phase`, `phase_id`, `run_id`";
    assert_eq!(
        errors(&text(&lines)),
        [
            "7:23: expected a known placeholder (`iteration`, `run_id`), found `{agent}` (only steps have an agent)".to_string(),
            format!("12:25: expected a known placeholder ({known}), found `{{item}}` (only tdd phases have items)"),
        ]
    );
}

#[test]
fn input_keys_have_no_phase() {
    let mut lines = HEAD[..5].to_vec();
    lines.extend([
        "inputs:",
        "  - {name: spec, key: \"in/{phase_id}/{run_id}\"}",
        "phases:",
    ]);
    lines.extend(PHASE);
    assert_eq!(
        errors(&text(&lines)),
        [
            "7:23: expected a known placeholder (`iteration`, `run_id`), found `{phase_id}` (inputs are stored before the first phase)",
        ]
    );
}

#[test]
fn a_parameter_default_is_one_of_its_choices() {
    let mut lines = HEAD[..5].to_vec();
    lines.extend([
        "parameters:",
        "  lang:",
        "    default: go",
        "    choices: [rust, python]",
        "phases:",
    ]);
    lines.extend(PHASE);
    assert_eq!(
        errors(&text(&lines)),
        ["8:14: expected one of `rust`, `python`, found `go`"]
    );
}

#[test]
fn parameters_do_not_shadow_run_placeholders() {
    let mut lines = HEAD[..5].to_vec();
    lines.extend(["parameters:", "  item: {default: x}", "phases:"]);
    lines.extend(PHASE);
    assert_eq!(
        errors(&text(&lines)),
        [
            "7:3: expected a parameter name other than the run's placeholders (`phase`, `phase_id`, `agent`, `deliverable`, `item`, `item_slug`, `iteration`, `run_id`), found `item`",
        ]
    );
}

#[test]
fn every_issue_is_reported_in_position_order() {
    let lines = [
        "name: Bad Name",
        "description: d",
        "memory_pattern: \"m/{agent}/{deliverable}\"",
        "agents: [{id: a, description: d}, {id: a, description: d}]",
        "phases:",
        "  - {id: p, title: t, steps: [{agent: x, task: t}], on_fail: {retry: {}}}",
    ];
    assert_eq!(
        errors(&text(&lines)),
        [
            "1:7: expected a kebab-case name (`a-z`, `0-9` and `-`), found `Bad Name`",
            "4:40: expected a unique agent id, found `a` a second time",
            "6:39: expected one of the agents `a`, found unknown agent `x`",
            "6:70: expected `max` (a loop needs a maximum), found none",
        ]
    );
}

// Reads that nothing writes.

#[test]
fn a_read_nothing_writes_is_refused() {
    let mut phases = PHASE.to_vec();
    phases[3] = "      - {agent: a, task: t, reads: [m/a/plan, in/spec]}";
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "10:37: expected a key written by a step that runs before this one or an input key, found `m/a/plan`, which nothing writes",
            "10:47: expected a key written by a step that runs before this one or an input key, found `in/spec`, which nothing writes",
        ]
    );
}

#[test]
fn earlier_steps_and_inputs_satisfy_reads() {
    let mut lines = HEAD[..5].to_vec();
    lines.extend(["inputs:", "  - {name: spec, key: in/spec}", "phases:"]);
    lines.extend(&PHASE[..3]);
    lines.extend([
        "      - {agent: a, task: t, reads: [in/spec], writes: [plan]}",
        "      - {id: b, agent: a, task: t, reads: [m/a/plan, \"m/*/plan\", \"m/**\"]}",
        "  - id: q",
        "    title: t",
        "    steps:",
        "      - {agent: a, task: t, reads: [m/a/plan]}",
    ]);
    loads(&text(&lines));
}

#[test]
fn a_later_step_does_not_satisfy_a_read() {
    let mut phases = PHASE.to_vec();
    // Keys name the agent (`{agent}`), not the step id.
    phases[3] = "      - {agent: a, task: t, reads: [m/a/plan]}";
    phases.push("      - {id: b, agent: a, task: t, writes: [plan]}");
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "10:37: expected a key written by a step that runs before this one or an input key, found `m/a/plan`, which only step `b` of phase `p` writes and it does not run before",
        ]
    );
}

#[test]
fn writes_expand_through_the_memory_pattern() {
    let mut lines = HEAD.to_vec();
    lines[2] = "memory_pattern: \"api/{api}/phase-{phase}/{phase_id}/{agent}/{deliverable}\"";
    lines[5] = "parameters: {api: {default: books}}";
    lines.push("phases:");
    lines.extend(&PHASE[..3]);
    lines.extend([
        "      - {agent: a, task: t, writes: [plan]}",
        "      - {id: b, agent: a, task: t, reads: [api/books/phase-1/p/a/plan, api/other/phase-1/p/a/plan]}",
        "      - {id: c, agent: a, task: t, reads: [api/books/phase-2/p/a/plan]}",
    ]);
    // A parameter may be overridden, so any value matches; the phase number may not.
    assert_eq!(
        errors(&text(&lines)),
        [
            "13:44: expected a key written by a step that runs before this one or an input key, found `api/books/phase-2/p/a/plan`, which nothing writes",
        ]
    );
}

#[test]
fn parallel_siblings_see_only_the_hierarchical_lead() {
    let phases = |topology: &str| {
        workflow(&[
            "  - id: p",
            "    title: t",
            &format!("    mode: {{parallel: {{topology: {topology}}}}}"),
            "    steps:",
            "      - {agent: a, task: t, writes: [lead]}",
            "      - {id: b, agent: a, task: t, reads: [m/a/lead], writes: [peer]}",
            "      - {id: c, agent: a, task: t, reads: [m/a/peer]}",
        ])
    };
    let peer = "13:44: expected a key written by a step that runs before this one or an input key, found `m/a/peer`, which only step `b` of phase `p` writes and it does not run before";
    assert_eq!(errors(&phases("hierarchical")), [peer]);
    let lead = "12:44: expected a key written by a step that runs before this one or an input key, found `m/a/lead`, which only step `a` of phase `p` writes and it does not run before";
    assert_eq!(errors(&phases("mesh")), [lead, peer]);
    assert_eq!(errors(&phases("star")), [lead, peer]);
}

#[test]
fn iterative_steps_see_the_whole_phase() {
    let phases = [
        "  - id: p",
        "    title: t",
        "    mode: {iterative: {max_iterations: 3}}",
        "    steps:",
        "      - {agent: a, task: t, reads: [m/a/notes], writes: [code]}",
        "      - {id: b, agent: a, task: \"{iteration}\", reads: [m/a/code], writes: [notes]}",
    ];
    loads(&workflow(&phases));
}

#[test]
fn wildcards_are_whole_segments_as_the_store_matches_them() {
    let mut phases = PHASE.to_vec();
    phases[3] = "      - {agent: a, task: t, writes: [one-code], reads: [\"m/a/*-code\"]}";
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "10:57: expected `*` (one segment) or `**` (any depth) as whole segments of `m/a/*-code`, found `*-code`"
        ]
    );
}

#[test]
fn tdd_stages_order_the_steps_and_items_are_dynamic() {
    let phases = [
        "  - id: p",
        "    title: t",
        "    mode: {tdd: {items: [one]}}",
        "    steps:",
        // Listed first, runs second: green steps run after the red ones of the same item.
        "      - {id: b, agent: a, task: t, stage: green, reads: [m/a/one-tests], writes: [\"{item_slug}-code\"]}",
        "      - {agent: a, task: t, stage: red, writes: [\"{item_slug}-tests\"]}",
        "      - {id: c, agent: a, task: t, stage: refactor, reads: [\"m/a/*\"]}",
        "    gates:",
        "      - {id: g, stage: green, memory: {content: [{key: \"m/a/{item_slug}-code\", fields: [files]}]}}",
    ];
    loads(&workflow(&phases));
}

#[test]
fn gates_see_their_own_phase_and_items_from_an_earlier_one() {
    let phases = [
        "  - id: p",
        "    title: t",
        "    mode: {tdd: {items_from: m/a/items}}",
        "    steps:",
        "      - {agent: a, task: t, stage: red, writes: [items]}",
        "      - {id: b, agent: a, task: t, stage: green}",
        "    gates:",
        "      - {id: g, stage: green, memory: {content: [{key: m/a/items, fields: [\"0\"]}]}}",
        "      - {id: h, stage: green, score: {key: m/a/score, min: 1}}",
    ];
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "9:30: expected a key written in an earlier phase or an input key, found `m/a/items`, which only step `a` of phase `p` writes and it does not run before",
            "15:44: expected a key written in this phase or an earlier one or an input key, found `m/a/score`, which nothing writes",
        ]
    );
}

#[test]
fn reads_are_not_checked_against_a_broken_memory_pattern() {
    let mut lines = HEAD.to_vec();
    lines[2] = "memory_pattern: m";
    lines.extend(&PHASE[..3]);
    lines.push("      - {agent: a, task: t, reads: [m/a/plan]}");
    assert_eq!(errors(&text(&lines)).len(), 1);
}

fn seg(key: &str, pattern: bool) -> Vec<Seg> {
    segments(key, pattern)
}

#[test]
fn patterns_match_segment_by_segment() {
    let write = seg("api/books/phase-1/a/plan", false);
    for (read, expected) in [
        ("api/books/phase-1/a/plan", true),
        ("api/books/phase-1/a/*", true),
        ("api/*/phase-1/*/plan", true),
        ("api/**", true),
        ("**/plan", true),
        ("api/**/a/plan", true),
        ("api/books/**/phase-1/a/plan", true),
        // Wildcards inside a segment are refused by the validator and match nothing.
        ("api/books/phase-*/a/p*", false),
        ("api/books/phase-1/a", false),
        ("api/books/phase-1/a/plan/more", false),
        ("api/*/plan", false),
        ("api/books/phase-2/**", false),
        ("api/books/phase-1/b/*", false),
    ] {
        assert_eq!(matches(&seg(read, true), &write), expected, "{read}");
    }
}

#[test]
fn dynamic_segments_match_anything() {
    let write = vec![Seg::Lit("m".into()), Seg::Dynamic, Seg::Lit("tests".into())];
    assert!(matches(&seg("m/anything/tests", true), &write));
    assert!(matches(&seg("m/*/tests", true), &write));
    assert!(!matches(&seg("m/x/code", true), &write));
    let read = vec![Seg::Lit("m".into()), Seg::Dynamic];
    assert!(matches(&read, &seg("m/one", false)));
    assert!(!matches(&read, &seg("m/one/two", false)));
}

#[test]
fn many_double_stars_stay_fast() {
    let read = seg(&["**"; 64].join("/"), true);
    let write = seg(&["x"; 64].join("/"), false);
    assert!(matches(&read, &write));
    let mut read = read;
    read.push(Seg::Lit("y".into()));
    assert!(!matches(&read, &write));
}

#[test]
fn openapi_gates_need_a_document_and_exactly_one_route_source() {
    let mut phases = PHASE.to_vec();
    phases.extend([
        "    gates:",
        "      - {id: ok, openapi: {document: openapi.json, routes: {axum: src}, ignore: [/metrics]}}",
        "      - {id: cmd, openapi: {document: '{api_id}.yaml', routes: {command: ./routes.sh}}}",
        "      - {id: both, openapi: {document: openapi.json, routes: {axum: src, command: x}}}",
        "      - {id: none, openapi: {document: '', routes: {}, timeout_secs: 0}}",
        "      - {id: bad, openapi: {document: d.json, routes: {axum: src}, ignore: [metrics]}}",
    ]);
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "13:39: expected a known placeholder (`iteration`, `phase`, `phase_id`, `run_id`), found `{api_id}`",
            "14:62: expected exactly one of `axum` and `command` in `routes`, found both",
            "15:40: expected the path of the OpenAPI document, found an empty string",
            "15:52: expected exactly one of `axum` and `command` in `routes`, found none",
            "15:70: expected a timeout of at least 1 second, found 0",
            "16:77: expected a path starting with `/`, found `metrics`",
        ]
    );
    let mut valid = PHASE.to_vec();
    valid.extend([
        "    gates:",
        "      - id: contract",
        "        openapi:",
        "          document: openapi.json",
        "          routes: {axum: src}",
        "          ignore: [\"/files/{name}\"]",
    ]);
    loads(&workflow(&valid));
}

#[test]
fn evidence_gates_need_a_reachable_service_and_meaningful_limits() {
    let mut phases = PHASE.to_vec();
    phases.extend([
        "    gates:",
        "      - {id: c, contract: {openapi: '', service: {}}}",
        "      - {id: s, security: {openapi: o.json, service: {run: x, url: 'http://h'}}}",
        "      - {id: l, load: {openapi: o.json, service: {url: 'ftp://h', build: make}, spike_factor: 0.5, sustained_secs: 0}}",
        "      - {id: r, load: {openapi: o.json, slas: {rps: '100'}, service: {run: x, ready: health, startup_timeout_secs: 0}}}",
    ]);
    assert_eq!(
        errors(&workflow(&phases)),
        [
            "12:37: expected a path in the workspace or on the service (`/openapi.json`), found an empty string",
            "12:50: expected exactly one of `run` (a command starting the service) and `url` (a running service), found none",
            "13:54: expected exactly one of `run` and `url` in `service`, found both",
            "14:23: expected the sustained rate: `slas.rps` or `slas_from` (a key holding `rps`), found neither",
            "14:56: expected an `http://` URL, found `ftp://h`",
            "14:74: expected `build` only with `run` (the gate does not start a service given by `url`), found it with `url`",
            "14:95: expected a factor above 1, found 0.5",
            "14:116: expected at least 1 second of sustained load (it is what the objectives are checked on), found 0",
            "15:86: expected a path starting with `/`, found `health`",
            "15:116: expected a timeout of at least 1 second, found 0",
        ]
    );
}

#[test]
fn a_gate_record_is_a_full_key_no_step_writes() {
    let phases = [
        "  - id: p",
        "    title: t",
        "    steps:",
        "      - {agent: a, task: t, writes: [out]}",
        "    gates:",
        "      - {id: g, command: {run: 'true'}, record: 'w/phase-1/a/*'}",
        "      - {id: h, command: {run: 'true'}, record: 'w/phase-1/a/out'}",
        "      - {id: k, command: {run: 'true'}, record: 'w/phase-1/a/report'}",
    ];
    let found = errors(&workflow(&phases));
    assert!(
        found
            .iter()
            .any(|error| error
                .contains("expected a full memory key (no `*`), found `w/phase-1/a/*`")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|error| error.contains(
            "expected a key no step writes, found `w/phase-1/a/out`, which step `a` also writes as `out`"
        )),
        "{found:?}"
    );
    assert!(
        !found
            .iter()
            .any(|error| error.contains("w/phase-1/a/report")),
        "a key of its own is accepted: {found:?}"
    );
}
