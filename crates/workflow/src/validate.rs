//! Semantic validation of a deserialized workflow: everything the types cannot express, such as
//! references between phases, steps and agents, loops without a maximum, TDD stages, gate
//! shapes, unknown placeholders and reads that nothing writes.
//!
//! Each check is a small function that reports issues as a document path plus a message of the
//! form `expected …, found …`; the loader turns paths into `line:col` with the span index.

use std::collections::HashSet;

use crate::model::GotoPolicy;
use crate::model::MemoryCheck;
use crate::model::Mode;
use crate::model::OnFail;
use crate::model::OpenApiCheck;
use crate::model::Phase;
use crate::model::TddStage;
use crate::model::Workflow;
use crate::span_index::Path;
use crate::template;

mod evidence;
mod never_fails;
mod placeholders;
mod reads;

use placeholders::RUN_PLACEHOLDERS;

/// One semantic problem: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issue {
    /// Path of the offending node.
    pub path: Path,
    /// `expected …, found …`.
    pub message: String,
    /// The problem is the mapping key at `path` itself (for example a parameter's name), so
    /// the key's position is reported rather than the value's.
    pub on_key: bool,
}

/// Collects issues while the checks walk the workflow.
struct Checker<'a> {
    workflow: &'a Workflow,
    issues: Vec<Issue>,
}

/// Checks a workflow and returns every problem found (empty when it is valid).
pub(crate) fn validate(workflow: &Workflow) -> Vec<Issue> {
    let mut checker = Checker {
        workflow,
        issues: Vec::new(),
    };
    checker.name();
    checker.top_level_lists();
    let pattern_ok = checker.memory_pattern();
    checker.parameters();
    checker.ids();
    for (index, phase) in workflow.phases.iter().enumerate() {
        let at = Path::root().key("phases").index(index);
        checker.phase_steps(phase, &at);
        checker.mode(phase, &at);
        checker.tdd(phase, &at);
        checker.gates(phase, &at);
        checker.on_fail(index, phase, &at);
    }
    placeholders::check(workflow, &mut checker.issues);
    // With a broken memory pattern every write expands wrongly, so every read would be
    // reported too; the pattern error alone says what to fix.
    if pattern_ok {
        reads::check(workflow, &mut checker.issues);
        never_fails::check(workflow, &mut checker.issues);
    }
    checker.issues
}

use apiwright_yaml::quoted_list as list;

impl Checker<'_> {
    fn report(&mut self, path: Path, message: impl Into<String>) {
        self.issues.push(Issue {
            path,
            message: message.into(),
            on_key: false,
        });
    }

    fn report_key(&mut self, path: Path, message: impl Into<String>) {
        self.report(path, message);
        if let Some(issue) = self.issues.last_mut() {
            issue.on_key = true;
        }
    }

    fn name(&mut self) {
        let name = &self.workflow.name;
        if name.is_empty() {
            self.report(
                Path::root().key("name"),
                "expected a workflow name, found an empty string",
            );
        } else if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            self.report(
                Path::root().key("name"),
                format!("expected a kebab-case name (`a-z`, `0-9` and `-`), found `{name}`"),
            );
        }
    }

    fn top_level_lists(&mut self) {
        if self.workflow.phases.is_empty() {
            self.report(
                Path::root().key("phases"),
                "expected at least one phase, found none",
            );
        }
        if self.workflow.agents.is_empty() {
            self.report(
                Path::root().key("agents"),
                "expected at least one agent, found none",
            );
        }
    }

    /// Returns whether the pattern has both `{agent}` and `{deliverable}`.
    fn memory_pattern(&mut self) -> bool {
        let pattern = &self.workflow.memory_pattern;
        let used = template::placeholders(pattern);
        let missing: Vec<&str> = ["agent", "deliverable"]
            .into_iter()
            .filter(|name| !used.contains(name))
            .collect();
        if !missing.is_empty() {
            let missing = missing
                .iter()
                .map(|name| format!("`{{{name}}}`"))
                .collect::<Vec<_>>();
            self.report(
                Path::root().key("memory_pattern"),
                format!(
                    "expected a memory pattern with `{{agent}}` and `{{deliverable}}`, found `{pattern}` without {}",
                    missing.join(" and ")
                ),
            );
        }
        missing.is_empty()
    }

    fn parameters(&mut self) {
        for (name, parameter) in &self.workflow.parameters {
            let at = Path::root().key("parameters").key(name);
            if RUN_PLACEHOLDERS.contains(&name.as_str()) {
                self.report_key(
                    at.clone(),
                    format!(
                        "expected a parameter name other than the run's placeholders ({}), found `{name}`",
                        list(RUN_PLACEHOLDERS)
                    ),
                );
            }
            if !parameter.choices.is_empty() && !parameter.choices.contains(&parameter.default) {
                self.report(
                    at.key("default"),
                    format!(
                        "expected one of {}, found `{}`",
                        list(parameter.choices.iter().map(String::as_str)),
                        parameter.default
                    ),
                );
            }
        }
    }

    /// Agent ids, phase ids and input names must be unique and non-empty.
    fn ids(&mut self) {
        let workflow = self.workflow;
        let agents = workflow.agents.iter().enumerate().map(|(index, agent)| {
            let path = Path::root().key("agents").index(index).key("id");
            (agent.id.as_str(), path)
        });
        self.unique(agents, "agent id");
        let phases = workflow.phases.iter().enumerate().map(|(index, phase)| {
            let path = Path::root().key("phases").index(index).key("id");
            (phase.id.as_str(), path)
        });
        self.unique(phases, "phase id");
        let inputs = workflow.inputs.iter().enumerate().map(|(index, input)| {
            let path = Path::root().key("inputs").index(index).key("name");
            (input.name.as_str(), path)
        });
        self.unique(inputs, "input name");
    }

    fn unique<'s>(&mut self, ids: impl Iterator<Item = (&'s str, Path)>, what: &str) {
        let mut seen = HashSet::new();
        for (id, path) in ids {
            if id.is_empty() {
                self.report(
                    path,
                    format!("expected a non-empty {what}, found an empty string"),
                );
            } else if !seen.insert(id) {
                self.report(
                    path,
                    format!("expected a unique {what}, found `{id}` a second time"),
                );
            }
        }
    }

    /// Steps: known agents, unique ids, a positive timeout; a phase does something.
    fn phase_steps(&mut self, phase: &Phase, at: &Path) {
        if phase.steps.is_empty() && phase.gates.is_empty() {
            self.report(
                at.key("steps"),
                "expected at least one step or gate, found neither",
            );
        }
        let mut agents: Vec<&str> = Vec::new();
        for agent in &self.workflow.agents {
            // Duplicates are reported once, by `ids`; the list in messages names each once.
            if !agents.contains(&agent.id.as_str()) {
                agents.push(&agent.id);
            }
        }
        for (index, step) in phase.steps.iter().enumerate() {
            let step_at = at.key("steps").index(index);
            if !agents.contains(&step.agent.as_str()) {
                self.report(
                    step_at.key("agent"),
                    format!(
                        "expected one of the agents {}, found unknown agent `{}`",
                        list(agents.iter().copied()),
                        step.agent
                    ),
                );
            }
            if step.timeout_secs == Some(0) {
                self.report(
                    step_at.key("timeout_secs"),
                    "expected a timeout of at least 1 second, found 0",
                );
            }
        }
        let steps = phase.steps.iter().enumerate().map(|(index, step)| {
            let field = if step.id.is_some() { "id" } else { "agent" };
            (step.id(), at.key("steps").index(index).key(field))
        });
        self.unique(steps, &format!("step id in phase `{}`", phase.id));
        let gates = phase
            .gates
            .iter()
            .enumerate()
            .map(|(index, gate)| (gate.id.as_str(), at.key("gates").index(index).key("id")));
        self.unique(gates, &format!("gate id in phase `{}`", phase.id));
    }

    /// Loop bounds of iterative and parallel phases.
    fn mode(&mut self, phase: &Phase, at: &Path) {
        match &phase.mode {
            Mode::Iterative(iterative) => {
                let mode_at = at.key("mode").key("iterative");
                self.maximum(mode_at, "max_iterations", iterative.max_iterations);
            }
            Mode::Parallel(parallel) if parallel.max_agents == Some(0) => self.report(
                at.key("mode").key("parallel").key("max_agents"),
                "expected at least 1 agent at once, found 0",
            ),
            Mode::Sequential | Mode::Parallel(_) | Mode::Tdd(_) => {}
        }
    }

    /// A loop needs a maximum of at least 1; `at` is the mapping that should hold `field`.
    fn maximum(&mut self, at: Path, field: &str, value: Option<u32>) {
        match value {
            None => self.report(
                at,
                format!("expected `{field}` (a loop needs a maximum), found none"),
            ),
            Some(0) => self.report(at.key(field), "expected a maximum of at least 1, found 0"),
            Some(_) => {}
        }
    }

    /// TDD phases: items, a stage on every step, red and green steps; no stages elsewhere.
    fn tdd(&mut self, phase: &Phase, at: &Path) {
        let Mode::Tdd(tdd) = &phase.mode else {
            let steps = phase.steps.iter().map(|s| s.stage).enumerate();
            let gates = phase.gates.iter().map(|g| g.stage).enumerate();
            let tagged = steps
                .map(|(i, stage)| (at.key("steps").index(i), stage))
                .chain(gates.map(|(i, stage)| (at.key("gates").index(i), stage)));
            for (path, stage) in tagged {
                if let Some(stage) = stage {
                    self.report(
                        path.key("stage"),
                        format!(
                            "expected no `stage` outside a tdd phase, found `{}`",
                            stage_name(stage)
                        ),
                    );
                }
            }
            return;
        };
        let mode_at = at.key("mode").key("tdd");
        match (&tdd.items, &tdd.items_from) {
            (Some(_), Some(_)) => self.report(
                mode_at.clone(),
                "expected exactly one of `items` or `items_from`, found both",
            ),
            (None, None) => self.report(
                mode_at.clone(),
                "expected exactly one of `items` or `items_from`, found neither",
            ),
            _ => {}
        }
        if tdd.items.as_ref().is_some_and(Vec::is_empty) {
            self.report(
                mode_at.key("items"),
                "expected at least one item, found none",
            );
        }
        // Rounds of a tdd phase run one stage at a time, and a round takes only the steps and
        // gates of its stage: an untagged one would never run.
        let steps = phase.steps.iter().enumerate();
        let steps =
            steps.map(|(i, step)| ("step", step.id(), step.stage, at.key("steps").index(i)));
        let gates = phase.gates.iter().enumerate();
        let gates = gates.map(|(i, gate)| {
            (
                "gate",
                gate.id.as_str(),
                gate.stage,
                at.key("gates").index(i),
            )
        });
        for (what, id, stage, path) in steps.chain(gates) {
            if stage.is_none() {
                self.report(
                    path,
                    format!(
                        "expected a `stage` (red, green or refactor) on {what} `{id}` of a tdd phase, found none"
                    ),
                );
            }
        }
        let missing: Vec<&str> = [TddStage::Red, TddStage::Green]
            .into_iter()
            .filter(|stage| !phase.steps.iter().any(|step| step.stage == Some(*stage)))
            .map(stage_name)
            .collect();
        if !missing.is_empty() {
            self.report(
                at.key("steps"),
                format!(
                    "expected at least one red step and one green step, found no {} step",
                    missing.join(" or ")
                ),
            );
        }
    }

    /// Gates: exactly one check, and sensible bounds for each kind.
    fn gates(&mut self, phase: &Phase, at: &Path) {
        for (index, gate) in phase.gates.iter().enumerate() {
            let gate_at = at.key("gates").index(index);
            let set: Vec<&str> = [
                ("command", gate.command.is_some()),
                ("tests", gate.tests.is_some()),
                ("coverage", gate.coverage.is_some()),
                ("openapi", gate.openapi.is_some()),
                ("contract", gate.contract.is_some()),
                ("security", gate.security.is_some()),
                ("load", gate.load.is_some()),
                ("deploy", gate.deploy.is_some()),
                ("monitor", gate.monitor.is_some()),
                ("memory", gate.memory.is_some()),
                ("score", gate.score.is_some()),
                ("spec", gate.spec.is_some()),
                ("approval", gate.approval.is_some()),
                ("planned", gate.planned.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, present)| present.then_some(name))
            .collect();
            if set.len() != 1 {
                let found = if set.is_empty() {
                    "none".to_string()
                } else {
                    list(set).replacen(", ", " and ", 1)
                };
                self.report(
                    gate_at.clone(),
                    format!(
                        "expected exactly one of `command`, `tests`, `coverage`, `openapi`, `contract`, `security`, `load`, `deploy`, `monitor`, `memory`, `score`, `spec`, `approval`, `planned` in gate `{}`, found {found}",
                        gate.id
                    ),
                );
            }
            if let Some(command) = &gate.command
                && command.timeout_secs == Some(0)
            {
                self.report(
                    gate_at.key("command").key("timeout_secs"),
                    "expected a timeout of at least 1 second, found 0",
                );
            }
            if let Some(tests) = &gate.tests
                && tests.timeout_secs == Some(0)
            {
                self.report(
                    gate_at.key("tests").key("timeout_secs"),
                    "expected a timeout of at least 1 second, found 0",
                );
            }
            if let Some(openapi) = &gate.openapi {
                self.openapi(openapi, &gate_at.key("openapi"));
            }
            self.issues
                .extend(evidence::check_gate(gate, &gate_at, &phase.steps));
            if let Some(memory) = &gate.memory {
                self.memory_gate(memory, &gate_at.key("memory"));
            }
            if let Some(score) = &gate.score {
                match (score.min, score.max) {
                    (None, None) => self.report(
                        gate_at.key("score"),
                        "expected `min` or `max` (or both), found neither",
                    ),
                    (Some(min), Some(max)) if min > max => self.report(
                        gate_at.key("score").key("min"),
                        format!("expected `min` at most `max` ({max}), found {min}"),
                    ),
                    _ => {}
                }
            }
        }
    }

    /// OpenAPI gates: a document, exactly one source of routes, sensible ignores and timeout.
    fn openapi(&mut self, check: &OpenApiCheck, at: &Path) {
        if check.document.trim().is_empty() {
            self.report(
                at.key("document"),
                "expected the path of the OpenAPI document, found an empty string",
            );
        }
        let routes = &check.routes;
        match (&routes.axum, &routes.command) {
            (Some(_), Some(_)) => self.report(
                at.key("routes"),
                "expected exactly one of `axum` and `command` in `routes`, found both",
            ),
            (None, None) => self.report(
                at.key("routes"),
                "expected exactly one of `axum` and `command` in `routes`, found none",
            ),
            (Some(dir), None) if dir.trim().is_empty() => self.report(
                at.key("routes").key("axum"),
                "expected a source directory, found an empty string",
            ),
            (None, Some(command)) if command.trim().is_empty() => self.report(
                at.key("routes").key("command"),
                "expected a command line, found an empty string",
            ),
            _ => {}
        }
        for (index, path) in check.ignore.iter().enumerate() {
            if !path.starts_with('/') {
                self.report(
                    at.key("ignore").index(index),
                    format!("expected a path starting with `/`, found `{path}`"),
                );
            }
        }
        if check.timeout_secs == Some(0) {
            self.report(
                at.key("timeout_secs"),
                "expected a timeout of at least 1 second, found 0",
            );
        }
    }

    /// A memory gate names keys or content, and every content check names fields.
    fn memory_gate(&mut self, memory: &MemoryCheck, at: &Path) {
        if memory.keys.is_empty() && memory.content.is_empty() {
            self.report(
                at.clone(),
                "expected at least one entry in `keys` or `content`, found none",
            );
        }
        for (index, content) in memory.content.iter().enumerate() {
            let fields_at = at.key("content").index(index).key("fields");
            if content.fields.is_empty() && content.equals.is_empty() {
                self.report(
                    at.key("content").index(index),
                    "expected at least one entry in `fields` or `equals`, found none",
                );
            }
            for (f, field) in content.fields.iter().enumerate() {
                if field.split('.').any(|part| part.trim().is_empty()) {
                    self.report(
                        fields_at.index(f),
                        format!(
                            "expected a dotted path of non-empty names (e.g. `auth.roles`), found `{field}`"
                        ),
                    );
                }
            }
            for field in content.equals.keys() {
                if field.split('.').any(|part| part.trim().is_empty()) {
                    self.report(
                        at.key("content").index(index).key("equals").key(field),
                        format!(
                            "expected a dotted path of non-empty names (e.g. `auth.roles`), found `{field}`"
                        ),
                    );
                }
            }
        }
    }

    /// Retry and goto loops need a maximum; goto goes back to a known phase.
    fn on_fail(&mut self, index: usize, phase: &Phase, at: &Path) {
        let at = at.key("on_fail");
        match &phase.on_fail {
            OnFail::Retry(retry) => self.maximum(at.key("retry"), "max", retry.max),
            OnFail::Goto(goto) => {
                self.maximum(at.key("goto"), "max", goto.max);
                self.goto_target(index, phase, goto, at.key("goto").key("phase"));
            }
            OnFail::Abort | OnFail::Escalate(_) => {}
        }
    }

    fn goto_target(&mut self, index: usize, phase: &Phase, goto: &GotoPolicy, at: Path) {
        let phases = &self.workflow.phases;
        match self.workflow.phase_index(&goto.phase) {
            None => self.report(
                at,
                format!(
                    "expected one of the phases {}, found unknown phase `{}`",
                    list(phases.iter().map(|p| p.id.as_str())),
                    goto.phase
                ),
            ),
            Some(target) if target > index => self.report(
                at,
                format!(
                    "expected `{}` or an earlier phase (remediation loops go back), found later phase `{}`",
                    phase.id, goto.phase
                ),
            ),
            Some(_) => {}
        }
    }
}

fn stage_name(stage: TddStage) -> &'static str {
    match stage {
        TddStage::Red => "red",
        TddStage::Green => "green",
        TddStage::Refactor => "refactor",
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
