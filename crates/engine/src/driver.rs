//! The driver: performs what the state machine decides — starts agents (concurrently where
//! the phase allows), evaluates gates, reads TDD items — and records each result as events
//! in one store transaction with the memory it writes.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use apiwright_agents::AgentError;
use apiwright_agents::AnyAgent;
use apiwright_agents::Budget;
use apiwright_agents::ContextEntry;
use apiwright_agents::MemoryAccess;
use apiwright_agents::PromptRenderer;
use apiwright_agents::StepOutput;
use apiwright_agents::StepRequest;
use apiwright_agents::StepServices;
use apiwright_agents::Usage;
use apiwright_agents::UsageMeter;
use apiwright_agents::WriteTarget;
use apiwright_gates::GateContext;
use apiwright_gates::GateOutcome;
use apiwright_store::Claim;
use apiwright_store::Commit;
use apiwright_store::KeyPattern;
use apiwright_store::MemoryWrite;
use apiwright_store::NewEvent;
use apiwright_store::RunStatus;
use apiwright_store::StepPrompt;
use apiwright_store::Store;
use apiwright_store::Value;
use apiwright_workflow::EscalationKind;
use apiwright_workflow::Workflow;
use apiwright_workflow::template::Vars;
use apiwright_workflow::template::render;
use futures_util::FutureExt as _;
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;

use crate::error::EngineError;
use crate::event::Continuation;
use crate::event::Event;
use crate::event::Round;
use crate::machine::Decision;
use crate::machine::Machine;
use crate::machine::RunPhase;
use crate::machine::StepTask;
use crate::start::RunRequest;
use crate::vars::phase_vars;
use crate::vars::round_vars;
use crate::vars::run_vars;

/// Most earlier-agent summaries put into a prompt's handoff context.
const HANDOFFS_IN_PROMPT: usize = 8;
/// Longest excerpt of a sibling's deliverable put into a prompt.
const SIBLING_EXCERPT_BYTES: usize = 2000;
/// Grace added to a step's own timeout before the engine abandons its future.
const STEP_TIMEOUT_GRACE: Duration = Duration::from_secs(5);

/// Engine settings.
#[derive(Debug)]
pub struct EngineConfig {
    /// The state database path, handed to script agents as `APIWRIGHT_DB`.
    pub db_path: Option<PathBuf>,
    /// Step prompt renderer.
    pub prompts: PromptRenderer,
    /// Limit of a step that sets no `timeout_secs`.
    pub default_step_timeout: Duration,
    /// Limit of a command gate that sets no `timeout_secs`.
    pub default_gate_timeout: Duration,
    /// Environment given to every agent and command gate of a run (e.g. `CARGO_TARGET_DIR`).
    pub env: Vec<(String, String)>,
    /// What one run may spend on models (tokens, US dollars); `Budget::default()`: no limit.
    pub budget: Budget,
    /// Environment variables gates run without (model API keys: a test program printing its
    /// environment must not put a key into the evidence).
    pub gate_hidden_env: Vec<String>,
}

/// How a call to [`Engine::drive`] ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DriveOutcome {
    /// Every phase passed.
    Completed,
    /// The run failed.
    Failed {
        /// Why.
        reason: String,
    },
    /// Paused at an approval gate.
    WaitingApproval {
        /// Gate id.
        gate: String,
        /// The question.
        prompt: String,
    },
    /// Paused by an escalation.
    Escalated {
        /// Escalation id.
        id: String,
        /// Kind.
        kind: EscalationKind,
        /// What needs deciding.
        message: String,
    },
    /// Stopped by the caller (Ctrl-C); resumable.
    Interrupted,
}

type Observer = Box<dyn FnMut(&Event)>;

/// Executes runs against one store.
pub struct Engine {
    store: Store,
    config: EngineConfig,
    observer: Option<Observer>,
    /// Memory reads lent to agents (a connection of its own), opened on first use.
    memory: std::sync::OnceLock<Option<Arc<dyn MemoryAccess>>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish()
    }
}

/// Agent calls in flight. They are polled by the driver's own task rather than spawned:
/// agents wait on processes or the network, so they need no thread of their own, and a step
/// then costs no cross-thread wake-ups (which dominated the engine's own overhead).
type Running = FuturesUnordered<std::pin::Pin<Box<dyn Future<Output = StepResult> + Send>>>;

struct StepResult {
    task: StepTask,
    step_id: String,
    agent: String,
    writes: Vec<WriteTarget>,
    result: Result<StepOutput, AgentError>,
    elapsed: Duration,
    /// Model usage metered while the attempt ran (also when it failed).
    meter: Arc<UsageMeter>,
    namespace: Option<String>,
    transcript: Arc<std::sync::Mutex<Option<serde_json::Value>>>,
}

struct ActiveRun {
    run_id: String,
    workspace: PathBuf,
    workflow_dir: Option<PathBuf>,
    machine: Machine,
    base_vars: Vars,
    /// Model usage of the run so far (every attempt, finished or failed).
    spent: Usage,
}

impl Engine {
    /// An engine over `store`.
    pub fn new(store: Store, config: EngineConfig) -> Engine {
        Engine {
            store,
            config,
            observer: None,
            memory: std::sync::OnceLock::new(),
        }
    }

    /// Calls `observer` with every event after it is committed (progress display, hooks).
    pub fn set_observer(&mut self, observer: impl FnMut(&Event) + 'static) {
        self.observer = Some(Box::new(observer));
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Creates run `run_id` (see [`crate::new_run_id`]): parameters resolved, inputs
    /// stored; nothing runs yet.
    pub fn start(&self, run_id: &str, request: RunRequest) -> Result<(), EngineError> {
        crate::start::create(&self.store, run_id, request)
    }

    /// Loads a run's workflow and state machine from the store.
    pub fn load(&self, run_id: &str) -> Result<(Arc<Workflow>, Machine), EngineError> {
        let run = self
            .store
            .run(run_id)?
            .ok_or_else(|| EngineError::UnknownRun(run_id.to_string()))?;
        let workflow = apiwright_workflow::load_str(&format!("run:{run_id}"), &run.workflow_yaml)
            .map_err(|error| EngineError::Workflow {
            run: run_id.to_string(),
            error,
        })?;
        let workflow = Arc::new(workflow);
        let events = self.events(run_id)?;
        let machine = Machine::replay(Arc::clone(&workflow), run_id, &events).map_err(|error| {
            EngineError::CorruptLog {
                run: run_id.to_string(),
                detail: error.to_string(),
            }
        })?;
        Ok((workflow, machine))
    }

    /// A run's decoded events.
    pub fn events(&self, run_id: &str) -> Result<Vec<Event>, EngineError> {
        self.store
            .events(run_id, 0)?
            .into_iter()
            .map(|record| {
                serde_json::from_value::<Event>(record.payload).map_err(|error| {
                    EngineError::CorruptLog {
                        run: run_id.to_string(),
                        detail: format!("event #{} ({}): {error}", record.seq, record.kind),
                    }
                })
            })
            .collect()
    }

    /// Answers what a paused run waits for: an approval gate or an escalation, by id.
    pub fn decide(
        &mut self,
        run_id: &str,
        target: &str,
        approved: bool,
        by: &str,
        reason: Option<String>,
    ) -> Result<Event, EngineError> {
        let (_, mut machine) = self.load(run_id)?;
        let event = match machine.status() {
            RunPhase::WaitingApproval { round, gate, .. } if gate == target => {
                Event::ApprovalDecided {
                    round: round.clone(),
                    gate: gate.clone(),
                    approved,
                    by: by.to_string(),
                    reason,
                }
            }
            RunPhase::Escalated { id, .. } if id == target => Event::EscalationResolved {
                id: id.clone(),
                approved,
                by: by.to_string(),
                reason,
            },
            RunPhase::WaitingApproval { gate, .. } => {
                return Err(EngineError::NotWaiting(format!(
                    "run `{run_id}` expected a decision on approval gate `{gate}`, found `{target}`"
                )));
            }
            RunPhase::Escalated { id, .. } => {
                return Err(EngineError::NotWaiting(format!(
                    "run `{run_id}` expected a decision on escalation `{id}`, found `{target}`"
                )));
            }
            RunPhase::Running | RunPhase::Completed | RunPhase::Failed { .. } => {
                return Err(EngineError::NotWaiting(format!(
                    "run `{run_id}` is not waiting for a decision (it is {})",
                    run_status(machine.status()).as_str()
                )));
            }
        };
        self.record(run_id, &mut machine, vec![event.clone()], Vec::new())?;
        Ok(event)
    }

    /// Ends a run that has not finished: records `run_failed` with who cancelled it and why.
    /// The caller must first stop whoever drives it (a drive in another process would keep
    /// writing; [`Engine::drive`] claims runs, so a held run is refused here too).
    pub fn cancel(&mut self, run_id: &str, by: &str, reason: &str) -> Result<Event, EngineError> {
        let run = self
            .store
            .run(run_id)?
            .ok_or_else(|| EngineError::UnknownRun(run_id.to_string()))?;
        if let Some(owner) = apiwright_store::held_elsewhere(run.owner_pid) {
            return Err(EngineError::Busy {
                run: run_id.to_string(),
                pid: owner,
            });
        }
        let (_, mut machine) = self.load(run_id)?;
        if let RunPhase::Completed | RunPhase::Failed { .. } = machine.status() {
            return Err(EngineError::NotWaiting(format!(
                "run `{run_id}` cannot be cancelled: it is already {}",
                run_status(machine.status()).as_str()
            )));
        }
        let event = Event::RunFailed {
            reason: format!("cancelled by {by}: {reason}"),
        };
        self.record(run_id, &mut machine, vec![event.clone()], Vec::new())?;
        Ok(event)
    }

    /// Executes a run until it completes, fails, pauses, or `interrupt` resolves.
    /// Finished steps are never redone: a resumed run continues from its log.
    pub async fn drive(
        &mut self,
        run_id: &str,
        agents: &BTreeMap<String, AnyAgent>,
        interrupt: impl Future<Output = ()>,
    ) -> Result<DriveOutcome, EngineError> {
        let run = self
            .store
            .run(run_id)?
            .ok_or_else(|| EngineError::UnknownRun(run_id.to_string()))?;
        let (workflow, machine) = self.load(run_id)?;
        for step in workflow.phases.iter().flat_map(|phase| &phase.steps) {
            if !agents.contains_key(&step.agent) {
                return Err(EngineError::NoAgent {
                    role: step.agent.clone(),
                    hint: "give the role a `command` in the workflow, or configure one in apiwright.toml [agents.ROLE]".into(),
                });
            }
        }
        let pid = std::process::id();
        if let Claim::HeldBy(owner) = self.store.claim_run(run_id, pid)? {
            return Err(EngineError::Busy {
                run: run_id.to_string(),
                pid: owner,
            });
        }
        let base_vars = run_vars(machine.params(), run_id);
        let mut spent = Usage::default();
        for event in self.events(run_id)? {
            match event {
                Event::StepFinished { usage, .. } | Event::StepFailed { usage, .. } => {
                    crate::services::add_usage(&mut spent, usage);
                }
                _ => {}
            }
        }
        let mut active = ActiveRun {
            spent,
            run_id: run_id.to_string(),
            workspace: PathBuf::from(&run.workspace),
            workflow_dir: run
                .params
                .get("workflow_dir")
                .and_then(serde_json::Value::as_str)
                .map(PathBuf::from),
            machine,
            base_vars,
        };
        let result = self.drive_loop(&mut active, agents, interrupt).await;
        let released = self.store.release_run(run_id, pid);
        let outcome = result?;
        released?;
        Ok(outcome)
    }

    async fn drive_loop(
        &mut self,
        active: &mut ActiveRun,
        agents: &BTreeMap<String, AnyAgent>,
        interrupt: impl Future<Output = ()>,
    ) -> Result<DriveOutcome, EngineError> {
        let mut running: Running = FuturesUnordered::new();
        let mut interrupt = std::pin::pin!(interrupt);
        loop {
            let decision = active.machine.next();
            match decision {
                Decision::Emit(events) => {
                    self.record(&active.run_id, &mut active.machine, events, Vec::new())?;
                }
                Decision::ResolveItems { phase, key } => {
                    let event = self.resolve_items(active, &phase, &key)?;
                    self.record(&active.run_id, &mut active.machine, vec![event], Vec::new())?;
                }
                Decision::RunSteps(tasks) => {
                    for task in tasks {
                        self.start_step(active, agents, task, &mut running)?;
                    }
                }
                Decision::Await => {
                    if running.is_empty() {
                        return Err(EngineError::Invariant(format!(
                            "run `{}` waits for a step but none is running",
                            active.run_id
                        )));
                    }
                    let joined = tokio::select! {
                        joined = running.next() => joined,
                        () = &mut interrupt => {
                            // Dropping the futures kills the agents (kill_on_drop); their
                            // steps stay `started` in the log and are redone on resume.
                            drop(running);
                            return Ok(DriveOutcome::Interrupted);
                        }
                    };
                    if let Some(result) = joined {
                        self.finish_step(active, result)?;
                    }
                }
                Decision::EvaluateGate { round, gate_index } => {
                    let (event, record) = tokio::select! {
                        evaluated = self.evaluate_gate(active, &round, gate_index) => evaluated,
                        () = &mut interrupt => return Ok(DriveOutcome::Interrupted),
                    };
                    self.record(&active.run_id, &mut active.machine, vec![event], record)?;
                }
                Decision::Pause | Decision::Finished => {
                    return Ok(outcome_of(active.machine.status()));
                }
            }
        }
    }

    fn resolve_items(
        &self,
        active: &ActiveRun,
        phase: &str,
        key_template: &str,
    ) -> Result<Event, EngineError> {
        let workflow = Arc::clone(active.machine.workflow());
        let vars = phase_vars(&workflow, &active.base_vars, phase);
        let visit = active.machine.current_phase().map_or(1, |(_, visit)| visit);
        let failed = |reason: String| Event::PhaseFailed {
            phase: phase.to_string(),
            visit,
            reason,
        };
        let key = match render(key_template, &vars) {
            Ok(key) => key,
            Err(error) => return Ok(failed(error.to_string())),
        };
        let Some(entry) = self.store.memory_get(&key)? else {
            return Ok(failed(format!(
                "expected the TDD items at `{key}`, found no value"
            )));
        };
        let items = match &entry.value {
            Value::Json(serde_json::Value::Array(values)) => values
                .iter()
                .map(|value| match value {
                    serde_json::Value::String(text) => Some(text.clone()),
                    serde_json::Value::Object(object) => object
                        .get("id")
                        .or_else(|| object.get("name"))
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_string),
                    _ => None,
                })
                .collect::<Option<Vec<String>>>(),
            _ => None,
        };
        Ok(match items {
            Some(items) => Event::ItemsResolved {
                phase: phase.to_string(),
                items,
            },
            None => failed(format!(
                "expected a JSON array of strings (or objects with `id`/`name`) at `{key}`, found {}",
                describe_value(&entry.value)
            )),
        })
    }

    fn start_step(
        &mut self,
        active: &mut ActiveRun,
        agents: &BTreeMap<String, AnyAgent>,
        task: StepTask,
        running: &mut Running,
    ) -> Result<(), EngineError> {
        let workflow = Arc::clone(active.machine.workflow());
        let phase_index = workflow.phase_index(&task.round.phase).ok_or_else(|| {
            EngineError::Invariant(format!("unknown phase `{}`", task.round.phase))
        })?;
        let phase = &workflow.phases[phase_index];
        let step = &phase.steps[task.step_index];
        let role = workflow
            .agent(&step.agent)
            .cloned()
            .ok_or_else(|| EngineError::Invariant(format!("unknown agent `{}`", step.agent)))?;
        let agent = agents
            .get(&step.agent)
            .cloned()
            .ok_or_else(|| EngineError::NoAgent {
                role: step.agent.clone(),
                hint: "configure a provider for it".into(),
            })?;
        let mut vars = round_vars(
            &workflow,
            &active.base_vars,
            &task.round,
            active.machine.items(),
        );
        vars.insert("agent".into(), step.agent.clone());
        let prepared = self.prepare_request(
            active,
            &workflow,
            &task,
            &vars,
            role,
            agent.works_through_tools(),
        );
        let step_id = step.id().to_string();
        let agent_id = step.agent.clone();
        // The attempt's start and the prompt it was given are one commit: recording the
        // prompt costs no write of its own on the engine's hot path.
        let started = Event::StepStarted {
            round: task.round.clone(),
            step: step_id.clone(),
            attempt: task.attempt,
            provider: agent.provider().to_string(),
        };
        let prompt = prepared
            .as_ref()
            .ok()
            .filter(|_| agent.reads_prompt())
            .map(|request| StepPrompt {
                run_id: active.run_id.clone(),
                round: task.round.to_string(),
                phase: task.round.phase.clone(),
                step: step_id.clone(),
                item: request.item.clone(),
                attempt: task.attempt,
                provider: agent.provider().to_string(),
                prompt: request.prompt.clone(),
                transcript: None,
                at: 0,
            });
        self.record_with_prompts(
            &active.run_id,
            &mut active.machine,
            vec![started],
            prompt.into_iter().collect(),
        )?;
        match prepared {
            Ok(request) => {
                let writes = request.writes.clone();
                let meter = Arc::clone(&request.services.meter);
                let namespace = request.services.namespace.clone();
                let transcript = Arc::clone(&request.services.transcript);
                let timeout = request.timeout + STEP_TIMEOUT_GRACE;
                running.push(Box::pin(async move {
                    let clock = Instant::now();
                    // A panicking agent fails its step; it must not take the run down.
                    let call = std::panic::AssertUnwindSafe(agent.run(request)).catch_unwind();
                    let result = match tokio::time::timeout(timeout, call).await {
                        Ok(Ok(result)) => result,
                        Ok(Err(panic)) => Err(AgentError::Fatal(format!(
                            "agent panicked: {}",
                            panic_message(panic.as_ref())
                        ))),
                        Err(_) => Err(AgentError::Retryable(format!(
                            "agent did not return within {} s",
                            timeout.as_secs()
                        ))),
                    };
                    StepResult {
                        task,
                        step_id,
                        agent: agent_id,
                        writes,
                        result,
                        elapsed: clock.elapsed(),
                        meter,
                        namespace,
                        transcript,
                    }
                }));
            }
            Err(problem) => {
                // The step cannot even be described to an agent (bad template, invalid key):
                // that is the workflow's fault, recorded as a failed attempt.
                running.push(Box::pin(std::future::ready(StepResult {
                    task,
                    step_id,
                    agent: agent_id,
                    writes: Vec::new(),
                    result: Err(AgentError::Fatal(problem)),
                    elapsed: Duration::ZERO,
                    meter: Arc::default(),
                    namespace: None,
                    transcript: Arc::default(),
                })));
            }
        }
        Ok(())
    }

    /// Memory reads for agents, over a connection of their own; `None` without a database
    /// file.
    fn memory_access(&self) -> Option<Arc<dyn MemoryAccess>> {
        self.memory
            .get_or_init(|| {
                self.config
                    .db_path
                    .as_deref()
                    .and_then(crate::services::StoreMemory::open)
            })
            .clone()
    }

    fn prepare_request(
        &self,
        active: &ActiveRun,
        workflow: &Workflow,
        task: &StepTask,
        vars: &Vars,
        role: apiwright_workflow::AgentRole,
        tools: bool,
    ) -> Result<StepRequest, String> {
        let phase_index = workflow
            .phase_index(&task.round.phase)
            .ok_or_else(|| format!("unknown phase `{}`", task.round.phase))?;
        let phase = &workflow.phases[phase_index];
        let step = &phase.steps[task.step_index];
        let task_text = render(&step.task, vars).map_err(|error| error.to_string())?;
        let mut reads = Vec::new();
        let mut missing_reads = Vec::new();
        for template in &step.reads {
            let key = render(template, vars).map_err(|error| error.to_string())?;
            let pattern = KeyPattern::parse(&key).map_err(|error| error.to_string())?;
            let entries = if pattern.is_literal() {
                self.store
                    .memory_get(&key)
                    .map_err(|error| error.to_string())?
                    .into_iter()
                    .collect()
            } else {
                self.store
                    .memory_match(&pattern)
                    .map_err(|error| error.to_string())?
            };
            if entries.is_empty() {
                missing_reads.push(key);
            }
            reads.extend(entries.into_iter().map(|entry| ContextEntry {
                key: entry.key,
                value: entry.value.to_text(),
            }));
        }
        let mut siblings = Vec::new();
        for sibling in &task.visible_siblings {
            for key in active.machine.deliverables_of(sibling) {
                if let Some(entry) = self.store.memory_get(key).map_err(|e| e.to_string())? {
                    // Sibling work is context, not input: a bounded excerpt keeps prompts small.
                    let mut value = entry.value.to_text();
                    if value.len() > SIBLING_EXCERPT_BYTES {
                        let mut cut = SIBLING_EXCERPT_BYTES;
                        while !value.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        value.truncate(cut);
                        value.push('…');
                    }
                    siblings.push(ContextEntry {
                        key: entry.key,
                        value,
                    });
                }
            }
        }
        let mut writes = Vec::new();
        for template in &step.writes {
            let name = render(template, vars).map_err(|error| error.to_string())?;
            let mut key_vars = vars.clone();
            key_vars.insert("deliverable".into(), name.clone());
            let key =
                render(&workflow.memory_pattern, &key_vars).map_err(|error| error.to_string())?;
            apiwright_store::validate_key(&key).map_err(|error| error.to_string())?;
            writes.push(WriteTarget { name, key });
        }
        let writes_for_checks = writes.clone();
        let handoffs = active.machine.handoffs();
        let handoffs = handoffs[handoffs.len().saturating_sub(HANDOFFS_IN_PROMPT)..].to_vec();
        let items = active.machine.items();
        let mut request = StepRequest {
            run_id: active.run_id.clone(),
            workflow: workflow.name.clone(),
            phase_id: phase.id.clone(),
            phase_number: phase.number_at(phase_index),
            phase_title: phase.title.clone(),
            step_id: step.id().to_string(),
            role,
            task: task_text,
            params: active.machine.params().clone(),
            concurrent: runs_alongside_others(phase, task.step_index),
            iteration: task.round.iteration,
            item: task
                .round
                .item
                .and_then(|index| items.and_then(|items| items.get(index).cloned())),
            stage: task.round.stage,
            reads,
            missing_reads,
            siblings,
            handoffs,
            feedback: active.machine.feedback().to_vec(),
            gates: Arc::clone(active.machine.gate_log()),
            writes,
            workspace: active.workspace.clone(),
            db_path: self.config.db_path.clone(),
            workflow_dir: active.workflow_dir.clone(),
            prompt: String::new(),
            timeout: step
                .timeout_secs
                .map_or(self.config.default_step_timeout, Duration::from_secs),
            attempt: task.attempt,
            services: StepServices {
                memory: self.memory_access(),
                meter: Arc::default(),
                budget: crate::services::remaining(self.config.budget, active.spent),
                checks: crate::services::checks_for(phase, &writes_for_checks, vars),
                namespace: crate::services::namespace(&workflow.memory_pattern, vars),
                transcript: Arc::default(),
                tools,
            },
            env: self.config.env.clone(),
        };
        request.prompt = self
            .config
            .prompts
            .render(&request)
            .map_err(|error| error.to_string())?;
        Ok(request)
    }

    fn finish_step(
        &mut self,
        active: &mut ActiveRun,
        result: StepResult,
    ) -> Result<(), EngineError> {
        let duration_ms = u64::try_from(result.elapsed.as_millis()).unwrap_or(u64::MAX);
        let round = result.task.round.clone();
        let metered = result.meter.usage();
        let transcript = result
            .transcript
            .lock()
            .ok()
            .and_then(|mut kept| kept.take());
        if let Some(transcript) = transcript
            && let Err(error) = self.store.put_transcript(
                &active.run_id,
                &round.to_string(),
                &result.step_id,
                result.task.attempt,
                &transcript,
            )
        {
            tracing::warn!(
                "could not record the transcript of step {}: {error}",
                result.step_id
            );
        }
        match result.result {
            Ok(output) => {
                let usage = metered.or(output.usage);
                crate::services::add_usage(&mut active.spent, usage);
                let mut memory = Vec::new();
                for write in &result.writes {
                    let Some(value) = output.deliverables.get(&write.name) else {
                        continue;
                    };
                    memory.push(MemoryWrite {
                        key: write.key.clone(),
                        value: match value {
                            serde_json::Value::String(text) => Value::Text(text.clone()),
                            other => Value::Json(other.clone()),
                        },
                        tags: BTreeMap::from([
                            ("who".to_string(), result.agent.clone()),
                            (
                                "why".to_string(),
                                format!("run {} {round} step {}", active.run_id, result.step_id),
                            ),
                        ]),
                    });
                }
                let tags = |why: String| {
                    BTreeMap::from([
                        ("who".to_string(), result.agent.clone()),
                        ("why".to_string(), why),
                    ])
                };
                for (key, value) in &output.memory {
                    // The agent's own namespace only: a step must not overwrite another
                    // agent's deliverables or the run's inputs.
                    let inside = result
                        .namespace
                        .as_deref()
                        .is_some_and(|prefix| key.starts_with(prefix) && key.len() > prefix.len());
                    if !inside || apiwright_store::validate_key(key).is_err() {
                        tracing::warn!(
                            "step {} stored `{key}` outside its namespace; not kept",
                            result.step_id
                        );
                        continue;
                    }
                    if memory.iter().any(|write: &MemoryWrite| &write.key == key) {
                        continue;
                    }
                    memory.push(MemoryWrite {
                        key: key.clone(),
                        value: match value {
                            serde_json::Value::String(text) => Value::Text(text.clone()),
                            other => Value::Json(other.clone()),
                        },
                        tags: tags(format!(
                            "run {} {round} step {} (agent memory)",
                            active.run_id, result.step_id
                        )),
                    });
                }
                let mut events = vec![Event::StepFinished {
                    round: round.clone(),
                    step: result.step_id.clone(),
                    agent: result.agent.clone(),
                    attempt: result.task.attempt,
                    summary: output.summary,
                    decisions: output.decisions,
                    deliverables: memory.iter().map(|write| write.key.clone()).collect(),
                    duration_ms,
                    usage,
                }];
                if let Some(escalation) = output.escalation {
                    events.push(Event::Escalated {
                        id: active.machine.next_escalation_id(),
                        escalation: escalation.kind,
                        message: escalation.message,
                        options: escalation.options,
                        raised_by: result.agent.clone(),
                        phase: round.phase.clone(),
                        on_approve: Continuation::Continue,
                    });
                }
                self.record(&active.run_id, &mut active.machine, events, memory)
            }
            Err(error) => {
                crate::services::add_usage(&mut active.spent, metered);
                let event = Event::StepFailed {
                    round,
                    step: result.step_id,
                    attempt: result.task.attempt,
                    retryable: error.is_retryable(),
                    error: error.to_string(),
                    duration_ms,
                    usage: metered,
                };
                self.record(&active.run_id, &mut active.machine, vec![event], Vec::new())
            }
        }
    }

    /// Evaluates a gate: its event, and the memory write of its report when the gate
    /// `record`s one (committed together, so the deliverable exists exactly when the result
    /// does).
    async fn evaluate_gate(
        &self,
        active: &ActiveRun,
        round: &Round,
        gate_index: usize,
    ) -> (Event, Vec<MemoryWrite>) {
        let workflow = Arc::clone(active.machine.workflow());
        let gate = workflow
            .phase_index(&round.phase)
            .and_then(|index| workflow.phases[index].gates.get(gate_index));
        let Some(gate) = gate else {
            let event = Event::GateEvaluated {
                round: round.clone(),
                gate: format!("#{gate_index}"),
                gate_kind: "unknown".into(),
                outcome: GateOutcome::Failed,
                summary: "gate not found in the workflow".into(),
                evidence: serde_json::Value::Null,
                duration_ms: 0,
            };
            return (event, Vec::new());
        };
        let vars = round_vars(&workflow, &active.base_vars, round, active.machine.items());
        let mut env = self.config.env.clone();
        env.push(("APIWRIGHT_RUN_ID".to_string(), active.run_id.clone()));
        if let Some(dir) = &active.workflow_dir {
            env.push((
                "APIWRIGHT_WORKFLOW_DIR".to_string(),
                dir.display().to_string(),
            ));
        }
        if let Some(db) = &self.config.db_path {
            env.push(("APIWRIGHT_DB".to_string(), db.display().to_string()));
        }
        // An empty value hides the variable from the gate's processes.
        env.extend(
            self.config
                .gate_hidden_env
                .iter()
                .map(|name| (name.clone(), String::new())),
        );
        let context = GateContext {
            attached: None,
            env: &env,
            workspace: &active.workspace,
            store: &self.store,
            vars: &vars,
            default_timeout: self.config.default_gate_timeout,
        };
        let event = match apiwright_gates::evaluate(gate, &context).await {
            Ok(report) => Event::GateEvaluated {
                round: round.clone(),
                gate: gate.id.clone(),
                gate_kind: gate.kind_name().to_string(),
                outcome: report.outcome,
                summary: report.summary,
                evidence: report.evidence,
                duration_ms: report.duration_ms,
            },
            // A gate that could not be evaluated did not pass: it is recorded as failed
            // with the reason, never as passed.
            Err(error) => Event::GateEvaluated {
                round: round.clone(),
                gate: gate.id.clone(),
                gate_kind: gate.kind_name().to_string(),
                outcome: GateOutcome::Failed,
                summary: format!("not evaluated: {error}"),
                evidence: serde_json::json!({ "error": error.to_string() }),
                duration_ms: 0,
            },
        };
        let record = gate_record(gate, &vars, &event, &active.run_id, round);
        (event, record)
    }

    /// Applies events to the machine, then commits them with the memory writes and the
    /// resulting status in one transaction. If the commit fails the in-memory machine is
    /// ahead of the log, so the caller must stop driving (the error propagates).
    fn record(
        &mut self,
        run_id: &str,
        machine: &mut Machine,
        events: Vec<Event>,
        memory: Vec<MemoryWrite>,
    ) -> Result<(), EngineError> {
        self.commit(run_id, machine, events, memory, Vec::new())
    }

    /// Records a step's start with the prompt its attempt was given.
    fn record_with_prompts(
        &mut self,
        run_id: &str,
        machine: &mut Machine,
        events: Vec<Event>,
        prompts: Vec<StepPrompt>,
    ) -> Result<(), EngineError> {
        self.commit(run_id, machine, events, Vec::new(), prompts)
    }

    fn commit(
        &mut self,
        run_id: &str,
        machine: &mut Machine,
        events: Vec<Event>,
        memory: Vec<MemoryWrite>,
        prompts: Vec<StepPrompt>,
    ) -> Result<(), EngineError> {
        for event in &events {
            machine.apply(event).map_err(EngineError::Invariant)?;
        }
        let commit = Commit {
            events: events
                .iter()
                .map(|event| NewEvent {
                    kind: event.kind().to_string(),
                    payload: serde_json::to_value(event).unwrap_or(serde_json::Value::Null),
                })
                .collect(),
            memory,
            prompts,
            status: Some(run_status(machine.status())),
        };
        self.store.commit(run_id, &commit)?;
        if let Some(observer) = self.observer.as_mut() {
            for event in &events {
                observer(event);
            }
        }
        Ok(())
    }
}

/// The stored status for a machine status.
pub(crate) fn run_status(status: &RunPhase) -> RunStatus {
    match status {
        RunPhase::Running => RunStatus::Running,
        RunPhase::WaitingApproval { .. } => RunStatus::WaitingApproval,
        RunPhase::Escalated { .. } => RunStatus::Escalated,
        RunPhase::Completed => RunStatus::Completed,
        RunPhase::Failed { .. } => RunStatus::Failed,
    }
}

fn outcome_of(status: &RunPhase) -> DriveOutcome {
    match status {
        RunPhase::Completed => DriveOutcome::Completed,
        RunPhase::Failed { reason } => DriveOutcome::Failed {
            reason: reason.clone(),
        },
        RunPhase::WaitingApproval { gate, prompt, .. } => DriveOutcome::WaitingApproval {
            gate: gate.clone(),
            prompt: prompt.clone(),
        },
        RunPhase::Escalated { id, kind, message } => DriveOutcome::Escalated {
            id: id.clone(),
            kind: *kind,
            message: message.clone(),
        },
        // Pause while running cannot happen; report it as interrupted so the caller resumes.
        RunPhase::Running => DriveOutcome::Interrupted,
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string())
}

fn describe_value(value: &Value) -> &'static str {
    match value {
        Value::Text(_) => "text",
        Value::Json(serde_json::Value::Object(_)) => "a JSON object",
        Value::Json(serde_json::Value::Array(_)) => "an array with other values",
        Value::Json(_) => "a JSON scalar",
    }
}

/// Whether other steps of `phase` may run at the same time as step `index`: a parallel phase
/// with room for more than one agent, except the hierarchical lead, which runs alone first.
fn runs_alongside_others(phase: &apiwright_workflow::Phase, index: usize) -> bool {
    match &phase.mode {
        apiwright_workflow::Mode::Parallel(parallel) => {
            let lead_alone =
                parallel.topology == apiwright_workflow::Topology::Hierarchical && index == 0;
            parallel.max_agents.is_none_or(|max| max > 1) && phase.steps.len() > 1 && !lead_alone
        }
        _ => false,
    }
}

/// The memory write of a gate's `record` key: the gate's outcome, summary and evidence as a
/// deliverable. A key that cannot be rendered writes nothing (the validator checks its
/// placeholders, so this only happens for a workflow that bypassed validation).
fn gate_record(
    gate: &apiwright_workflow::Gate,
    vars: &apiwright_workflow::template::Vars,
    event: &Event,
    run_id: &str,
    round: &Round,
) -> Vec<MemoryWrite> {
    let (
        Some(template),
        Event::GateEvaluated {
            outcome,
            summary,
            evidence,
            duration_ms,
            ..
        },
    ) = (&gate.record, event)
    else {
        return Vec::new();
    };
    let Ok(key) = apiwright_workflow::template::render(template, vars) else {
        tracing::warn!(gate = %gate.id, "cannot render the gate's record key");
        return Vec::new();
    };
    vec![MemoryWrite {
        key,
        value: Value::Json(serde_json::json!({
            "gate": gate.id,
            "kind": gate.kind_name(),
            "criterion": gate.criterion,
            "outcome": outcome,
            "summary": summary,
            "duration_ms": duration_ms,
            "evidence": evidence,
        })),
        tags: BTreeMap::from([
            ("who".to_string(), format!("gate:{}", gate.id)),
            (
                "why".to_string(),
                format!("run {run_id} {round} gate {}", gate.id),
            ),
        ]),
    }]
}
