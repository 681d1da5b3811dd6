//! `engine-throughput`: a workflow of many trivial steps driven by the real engine on a
//! SQLite file, with an in-process agent that returns a tiny deliverable at once, so what is
//! measured is the engine and its durable log: state machine, prompt rendering, and two
//! commits per step (`step_started`, then `step_finished` with the deliverable).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::path::Path;
use std::time::Duration;
use std::time::Instant;

use anyhow::Context;
use anyhow::bail;
use apiwright_agents::Agent;
use apiwright_agents::AgentError;
use apiwright_agents::AnyAgent;
use apiwright_agents::PromptRenderer;
use apiwright_agents::StepOutput;
use apiwright_agents::StepRequest;
use apiwright_engine::DriveOutcome;
use apiwright_engine::Engine;
use apiwright_engine::EngineConfig;
use apiwright_engine::Event;
use apiwright_engine::RunRequest;
use apiwright_store::Durability;
use apiwright_store::Store;
use apiwright_store::StoreOptions;

/// Target of the issue: at least this many durable steps per second.
pub const TARGET_STEPS_PER_SEC: f64 = 5000.0;

/// The role every step names.
const ROLE: &str = "worker";
/// First segment of every deliverable's memory key.
const NAMESPACE: &str = "bench";

/// Shape of the generated workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Every phase `sequential`.
    Sequential,
    /// Every phase `parallel` with `max_agents: 4`, `topology: star`.
    ParallelStar4,
}

/// Where the store lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    /// A file with this durability.
    File(Durability),
    /// `Store::open_in_memory` (not durable): the engine's own cost, as a reference.
    InMemory,
}

impl Storage {
    fn label(self) -> &'static str {
        match self {
            Storage::File(Durability::Normal) => "normal",
            Storage::File(Durability::Full) => "full",
            Storage::InMemory => "in-memory (not durable, reference)",
        }
    }
}

impl Shape {
    fn label(self) -> &'static str {
        match self {
            Shape::Sequential => "sequential",
            Shape::ParallelStar4 => "parallel (max_agents 4, star)",
        }
    }
}

/// A step that does nothing but hand back one small deliverable per declared write.
#[derive(Debug)]
struct TrivialAgent;

impl Agent for TrivialAgent {
    fn provider(&self) -> &str {
        "bench"
    }

    fn reads_prompt(&self) -> bool {
        // It ignores the prompt, so none is recorded (as for the built-in agents).
        false
    }

    fn run(
        &self,
        request: StepRequest,
    ) -> impl Future<Output = Result<StepOutput, AgentError>> + Send {
        let deliverables = request
            .writes
            .iter()
            .map(|write| (write.name.clone(), serde_json::json!({ "ok": true })))
            .collect();
        std::future::ready(Ok(StepOutput {
            deliverables,
            summary: "done".into(),
            ..StepOutput::default()
        }))
    }
}

/// The YAML of a workflow of `phases` phases of `steps_per_phase` steps, each step writing
/// one deliverable (so one memory key per step).
pub fn workflow_yaml(phases: usize, steps_per_phase: usize, shape: Shape) -> String {
    let mut yaml = format!(
        "name: bench-throughput\n\
         description: {phases} phases of {steps_per_phase} trivial steps (benchmark)\n\
         memory_pattern: {NAMESPACE}/phase-{{phase}}/{{agent}}/{{deliverable}}\n\
         agents:\n  - id: {ROLE}\n    description: returns a tiny deliverable at once\n\
         phases:\n"
    );
    for phase in 1..=phases {
        let _ = write!(yaml, "  - id: p{phase:04}\n    title: Phase {phase}\n");
        if shape == Shape::ParallelStar4 {
            yaml.push_str(
                "    mode:\n      parallel:\n        max_agents: 4\n        topology: star\n",
            );
        }
        yaml.push_str("    steps:\n");
        for step in 1..=steps_per_phase {
            let _ = writeln!(
                yaml,
                "      - {{ id: s{step:04}, agent: {ROLE}, task: step {step}, writes: [d{step:04}] }}"
            );
        }
    }
    yaml
}

/// Results of one variant.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Variant {
    /// Workflow shape.
    pub shape: Shape,
    /// Store durability (`normal` or `full`), or the in-memory reference.
    pub durability: String,
    /// Whether the store was a file (the durable runs the target is about).
    pub durable: bool,
    /// Phases × steps per phase.
    pub phases: usize,
    /// Steps per phase.
    pub steps_per_phase: usize,
    /// Steps in the workflow.
    pub steps: usize,
    /// Size of the workflow's YAML text (kept in the run's row), bytes.
    pub yaml_bytes: usize,
    /// Wall time of `Engine::start` (parameters, `run_started`), s.
    pub start_secs: f64,
    /// Wall time of `Engine::drive` until `Completed`, s.
    pub drive_secs: f64,
    /// steps / drive_secs.
    pub steps_per_sec: f64,
    /// Events in the run's log after the run.
    pub events: usize,
    /// events / drive_secs.
    pub events_per_sec: f64,
    /// CPU time (user + system, all threads) of this process during the drive, s.
    pub cpu_secs: f64,
    /// `step_finished` events found in the log (must equal `steps`).
    pub step_finished: usize,
    /// Memory keys under the workflow's namespace (must equal `steps`).
    pub memory_keys: usize,
    /// Size of the database with its WAL after the run, bytes.
    pub db_bytes: u64,
    /// 1-minute load average after the variant.
    pub load_after: String,
}

/// Results of the benchmark.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Results {
    /// Every variant, in the order run.
    pub variants: Vec<Variant>,
}

impl Results {
    /// Whether every full-size `Durability::Normal` (the default) run met the target.
    pub fn meets_target(&self) -> bool {
        let full_size = self.variants.iter().map(|v| v.steps).max().unwrap_or(0);
        self.variants
            .iter()
            .filter(|v| v.durable && v.durability == "normal" && v.steps == full_size)
            .all(|v| v.steps_per_sec >= TARGET_STEPS_PER_SEC)
    }
}

/// Runs every variant: sequential and parallel, each with `Durability::Normal` and `Full`,
/// then both on an in-memory store as a reference for the engine's own cost.
pub fn run(phases: usize, steps_per_phase: usize) -> anyhow::Result<Results> {
    let mut variants = Vec::new();
    let storages = [
        Storage::File(Durability::Normal),
        Storage::File(Durability::Full),
        Storage::InMemory,
    ];
    for storage in storages {
        for shape in [Shape::Sequential, Shape::ParallelStar4] {
            let variant =
                run_variant(phases, steps_per_phase, shape, storage).with_context(|| {
                    format!("engine-throughput, {} / {}", shape.label(), storage.label())
                })?;
            eprintln!(
                "  engine-throughput {} / {}: {:.0} steps/s",
                shape.label(),
                storage.label(),
                variant.steps_per_sec
            );
            variants.push(variant);
        }
    }
    // Size sensitivity: the same steps per phase with a tenth of the phases (a workflow a
    // tenth the size), to show how the per-step cost depends on the workflow's size.
    let small = (phases / 10).max(1);
    let variant = run_variant(
        small,
        steps_per_phase,
        Shape::Sequential,
        Storage::File(Durability::Normal),
    )
    .context("engine-throughput, small sequential workflow")?;
    eprintln!(
        "  engine-throughput sequential {small} × {steps_per_phase} / normal: {:.0} steps/s",
        variant.steps_per_sec
    );
    variants.push(variant);
    Ok(Results { variants })
}

fn run_variant(
    phases: usize,
    steps_per_phase: usize,
    shape: Shape,
    storage: Storage,
) -> anyhow::Result<Variant> {
    let steps = phases * steps_per_phase;
    let yaml = workflow_yaml(phases, steps_per_phase, shape);
    let yaml_bytes = yaml.len();
    let workflow = apiwright_workflow::load_str("bench-throughput.yaml", &yaml)
        .map_err(|error| anyhow::anyhow!("the generated workflow does not load: {error}"))?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let db = dir.path().join("state.db");
    let store = match storage {
        Storage::File(durability) => {
            let options = StoreOptions {
                durability,
                ..StoreOptions::default()
            };
            Store::open(&db, &options).context("opening the store")?
        }
        Storage::InMemory => Store::open_in_memory().context("opening the store")?,
    };
    let mut engine = Engine::new(
        store,
        EngineConfig {
            db_path: matches!(storage, Storage::File(_)).then(|| db.clone()),
            prompts: PromptRenderer::builtin().context("loading the built-in prompt")?,
            default_step_timeout: Duration::from_secs(600),
            default_gate_timeout: Duration::from_secs(600),
            env: Vec::new(),
            budget: Default::default(),
            gate_hidden_env: Vec::new(),
        },
    );
    let run_id = apiwright_engine::new_run_id();
    let clock = Instant::now();
    engine
        .start(
            &run_id,
            RunRequest {
                workflow,
                workflow_yaml: yaml,
                params: BTreeMap::new(),
                inputs: BTreeMap::new(),
                workspace: dir.path().join("workspace"),
                auto_approve: true,
                workflow_dir: None,
                agents: None,
            },
        )
        .context("starting the run")?;
    let start_secs = clock.elapsed().as_secs_f64();
    let agents = BTreeMap::from([(ROLE.to_string(), AnyAgent::new(TrivialAgent))]);
    // The same runtime as `apiwright run`.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let cpu = cpu_time();
    let clock = Instant::now();
    let outcome = runtime
        .block_on(engine.drive(&run_id, &agents, std::future::pending::<()>()))
        .context("driving the run")?;
    let drive_secs = clock.elapsed().as_secs_f64();
    let cpu_secs = cpu_time() - cpu;
    if outcome != DriveOutcome::Completed {
        bail!("expected the run to complete, found {outcome:?}");
    }

    // Check the work: every step finished once in the log, every deliverable in memory.
    let events = engine.events(&run_id).context("reading the event log")?;
    let step_finished = events
        .iter()
        .filter(|event| matches!(event, Event::StepFinished { .. }))
        .count();
    let step_started = events
        .iter()
        .filter(|event| matches!(event, Event::StepStarted { .. }))
        .count();
    let completed = events
        .iter()
        .any(|event| matches!(event, Event::RunCompleted));
    let memory_keys = engine
        .store()
        .memory_list(Some(NAMESPACE))
        .context("listing memory")?
        .len();
    if step_finished != steps || step_started != steps || memory_keys != steps || !completed {
        bail!(
            "expected {steps} step_started, {steps} step_finished, {steps} memory keys and \
             run_completed, found {step_started}, {step_finished}, {memory_keys} and \
             run_completed={completed}"
        );
    }
    let db_bytes = file_size(&db) + file_size(&dir.path().join("state.db-wal"));
    Ok(Variant {
        shape,
        durability: storage.label().into(),
        durable: matches!(storage, Storage::File(_)),
        phases,
        steps_per_phase,
        steps,
        yaml_bytes,
        start_secs,
        drive_secs,
        steps_per_sec: steps as f64 / drive_secs,
        events: events.len(),
        events_per_sec: events.len() as f64 / drive_secs,
        cpu_secs,
        step_finished,
        memory_keys,
        db_bytes,
        load_after: crate::machine::Machine::load_now(),
    })
}

/// User + system CPU time of this process so far, s (from /proc/self/stat, which counts in
/// clock ticks of 1/100 s on Linux; 0 where it cannot be read).
pub(crate) fn cpu_time() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at field 3 (`state`);
    // utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |meta| meta.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_workflows_load_with_the_expected_step_count() {
        for shape in [Shape::Sequential, Shape::ParallelStar4] {
            let workflow = apiwright_workflow::load_str("t.yaml", &workflow_yaml(3, 7, shape));
            let steps = workflow.map(|w| w.phases.iter().map(|p| p.steps.len()).sum::<usize>());
            assert_eq!(steps.ok(), Some(21), "{shape:?}");
        }
    }

    #[test]
    fn a_small_run_completes_and_is_verified() -> anyhow::Result<()> {
        for shape in [Shape::Sequential, Shape::ParallelStar4] {
            let variant = run_variant(2, 5, shape, Storage::File(Durability::Normal))?;
            assert_eq!(
                (variant.steps, variant.step_finished, variant.memory_keys),
                (10, 10, 10)
            );
        }
        Ok(())
    }
}
