//! `apiwright run`: start a run (or resume one) and drive it with live progress.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use apiwright_agents::AnyAgent;
use apiwright_agents::CommandAgent;
use apiwright_agents::CommandAgentConfig;
use apiwright_agents::ModelAgent;
use apiwright_agents::ModelAgentConfig;
use apiwright_agents::PromptRenderer;
use apiwright_agents::tools::ToolLimits;
use apiwright_config::Protocol;
use apiwright_engine::DriveOutcome;
use apiwright_engine::Engine;
use apiwright_engine::EngineConfig;
use apiwright_engine::RunRequest;
use apiwright_store::Value;
use apiwright_workflow::Workflow;

use crate::app::RunArgs;
use crate::commands::Exit;
use crate::commands::workflow::resolve;
use crate::context::Context;
use crate::context::split_pair;
use crate::progress::Progress;

pub fn run(context: &Context, args: RunArgs) -> anyhow::Result<Exit> {
    let mut engine = build_engine(context)?;
    let (run_id, agents) = match &args.resume {
        Some(run_id) => {
            return drive(
                context,
                &mut engine,
                run_id,
                args.agents.as_deref(),
                args.json,
            );
        }
        None => {
            let name = args.workflow.as_deref().unwrap_or_default();
            let (workflow, yaml) = resolve(name)?;
            let workflow_dir = std::path::Path::new(name)
                .is_file()
                .then(|| {
                    std::path::Path::new(name)
                        .parent()
                        .map(std::path::Path::to_path_buf)
                })
                .flatten()
                .map(|dir| {
                    if dir.as_os_str().is_empty() {
                        PathBuf::from(".")
                    } else {
                        dir
                    }
                })
                .and_then(|dir| dir.canonicalize().ok());
            let mut params = BTreeMap::new();
            for pair in &args.param {
                let (name, value) = split_pair("--param", pair)?;
                params.insert(name.to_string(), value.to_string());
            }
            let mut inputs = BTreeMap::new();
            let mut free_text_spec = None;
            if let Some(spec) = &args.spec {
                let text = read_input(spec)?;
                let structured = structured_spec(spec, &text)?;
                if structured.is_none() {
                    free_text_spec = Some(spec.clone());
                }
                if let Some(structured) = structured {
                    // Name the run after the API unless the user chose otherwise.
                    for (parameter, value) in [
                        ("api_id", structured.api.name.clone()),
                        ("api_name", structured.title().to_string()),
                    ] {
                        if workflow.parameters.contains_key(parameter) {
                            params.entry(parameter.to_string()).or_insert(value);
                        }
                    }
                }
                inputs.insert("spec".to_string(), text);
            }
            for pair in &args.input {
                let (name, file) = split_pair("--input", pair)?;
                inputs.insert(name.to_string(), read_input(&PathBuf::from(file))?);
            }
            let run_id = apiwright_engine::new_run_id();
            let workspace = args.out.clone().unwrap_or_else(|| {
                context
                    .db_path
                    .parent()
                    .map(|dir| dir.join("workspaces").join(&run_id))
                    .unwrap_or_else(|| PathBuf::from(&run_id))
            });
            // Check agents before creating the run, so a missing provider loses nothing.
            let agents = resolve_agents(context, &workflow, args.agents.as_deref())?;
            if let Some(spec) = &free_text_spec {
                refuse_prose_for_builtin(&workflow, &agents, spec)?;
            }
            engine.start(
                &run_id,
                RunRequest {
                    workflow,
                    workflow_yaml: yaml,
                    params,
                    inputs,
                    workspace,
                    auto_approve: args.yes,
                    workflow_dir,
                    agents: args.agents.clone(),
                },
            )?;
            (run_id, agents)
        }
    };
    // The agents checked before the run was created are the ones that drive it.
    drive_with(context, &mut engine, &run_id, &agents, args.json)
}

/// Free-text requirements need a model to read them: a built-in role that reads the spec
/// input would fail on prose, so the run is refused before it is created.
fn refuse_prose_for_builtin(
    workflow: &Workflow,
    agents: &BTreeMap<String, AnyAgent>,
    spec: &std::path::Path,
) -> anyhow::Result<()> {
    if let Some(role) = apiwright_engine::builtin_spec_reader(workflow, agents) {
        anyhow::bail!(
            "{}: expected a structured spec (.yaml/.yml/.json, docs/spec.md) for the built-in \
             `{role}`, found free text; free-text requirements need a model agent for that role \
             (--agents openai or anthropic, or [agents.{role}] provider in apiwright.toml — see \
             docs/agents.md)",
            spec.display()
        );
    }
    Ok(())
}

/// A YAML or JSON spec is validated before the run starts, so a bad file costs nothing and
/// its errors name file, line and field; other files (free text) pass through untouched.
fn structured_spec(
    path: &std::path::Path,
    text: &Value,
) -> anyhow::Result<Option<apiwright_spec::Spec>> {
    let structured = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    );
    let Value::Text(text) = text else {
        return Ok(None);
    };
    if !structured {
        return Ok(None);
    }
    apiwright_spec::load_str(&path.display().to_string(), text)
        .map(Some)
        .map_err(|error| anyhow::anyhow!("{error}"))
}

fn read_input(path: &PathBuf) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading input file {}", path.display()))?;
    Ok(Value::Text(text))
}

pub fn build_engine(context: &Context) -> anyhow::Result<Engine> {
    let store = context.open_store()?;
    let prompts = match &context.config.prompts.step_template {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading prompt template {}", path.display()))?;
            PromptRenderer::new(&path.display().to_string(), text)?
        }
        None => PromptRenderer::builtin()?,
    };
    let db_path = context
        .db_path
        .canonicalize()
        .unwrap_or_else(|_| context.db_path.clone());
    Ok(Engine::new(
        store,
        EngineConfig {
            db_path: Some(db_path),
            prompts,
            default_step_timeout: Duration::from_secs(600),
            default_gate_timeout: apiwright_gates::DEFAULT_TIMEOUT,
            // Generated projects are built a few times each and never edited by hand:
            // incremental caches would only fill the shared target directory (gigabytes
            // per run) without making those builds faster.
            env: vec![
                ("CARGO_TARGET_DIR".to_string(), shared_target_dir(context)),
                ("CARGO_INCREMENTAL".to_string(), "0".to_string()),
            ],
            budget: apiwright_agents::Budget {
                tokens_left: context.config.budget.max_tokens,
                cost_left_usd: context.config.budget.max_cost_usd,
            },
            gate_hidden_env: key_variables(&context.config),
        },
    ))
}

/// One cargo target directory for every generated project next to the state database, so a
/// second run does not rebuild the world (`APIWRIGHT_TARGET_DIR` overrides it).
fn shared_target_dir(context: &Context) -> String {
    if let Ok(dir) = std::env::var("APIWRIGHT_TARGET_DIR")
        && !dir.is_empty()
    {
        return dir;
    }
    let state_dir = context
        .db_path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let state_dir = state_dir.canonicalize().unwrap_or(state_dir);
    state_dir.join("cargo-target").display().to_string()
}

/// Which provider `--agents` forces on every role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forced {
    /// Per role: `apiwright.toml`, then the workflow's `command`, then the built-in agents.
    PerRole,
    Command,
    Builtin,
    Model(Protocol),
    Preset(&'static apiwright_config::Preset),
}

fn forced(provider: Option<&str>) -> anyhow::Result<Forced> {
    Ok(match provider {
        None => Forced::PerRole,
        Some("command") => Forced::Command,
        Some("builtin") => Forced::Builtin,
        Some("openai") => Forced::Model(Protocol::OpenAi),
        Some("anthropic") => Forced::Model(Protocol::Anthropic),
        Some(other) => match apiwright_config::preset(other) {
            Some(preset) => Forced::Preset(preset),
            None => anyhow::bail!(
                "--agents: expected `builtin`, `command`, `openai`, `anthropic` or a preset ({}), found `{other}`",
                apiwright_config::preset_names()
            ),
        },
    })
}

/// Chooses a provider for every role a workflow's steps use. Everything a provider needs is
/// checked here (model named, key present for a public endpoint, agent CLI installed), so a
/// run never starts with an agent that cannot work.
pub fn resolve_agents(
    context: &Context,
    workflow: &Workflow,
    provider: Option<&str>,
) -> anyhow::Result<BTreeMap<String, AnyAgent>> {
    let forced = forced(provider)?;
    let mut agents = BTreeMap::new();
    let used: std::collections::BTreeSet<&str> = workflow
        .phases
        .iter()
        .flat_map(|phase| phase.steps.iter().map(|step| step.agent.as_str()))
        .collect();
    let mut missing = Vec::new();
    for role_id in used {
        let configured = context.config.agent_for(role_id);
        let configured_command = configured.and_then(|c| c.command.clone());
        let role_command = workflow.agent(role_id).and_then(|r| r.command.clone());
        let builtin = || apiwright_builtin::BuiltinAgent::new(role_id).map(AnyAgent::new);
        let env = configured.map(|c| c.env.clone()).unwrap_or_default();
        let chosen = match forced {
            Forced::Builtin => builtin(),
            Forced::Model(protocol) => Some(model_agent(context, role_id, protocol)?),
            Forced::Preset(preset) => Some(preset_agent(role_id, preset, env.clone())?),
            Forced::Command => configured_command
                .map(|c| command_agent(c, env.clone()))
                .or_else(|| {
                    role_command
                        .clone()
                        .map(|c| command_agent(c, BTreeMap::new()))
                }),
            Forced::PerRole => match configured.map(|c| (c.provider, c.preset)) {
                Some((apiwright_config::ProviderKind::Builtin, _)) => builtin(),
                Some((kind, _)) if Protocol::of(kind).is_some() => {
                    let protocol = Protocol::of(kind).unwrap_or(Protocol::OpenAi);
                    Some(model_agent(context, role_id, protocol)?)
                }
                Some((_, Some(preset))) => Some(preset_agent(role_id, preset, env.clone())?),
                Some(_) | None => configured_command
                    .map(|c| command_agent(c, env.clone()))
                    .or_else(|| {
                        role_command
                            .clone()
                            .map(|c| command_agent(c, BTreeMap::new()))
                    })
                    .or_else(builtin),
            },
        };
        match chosen {
            Some(agent) => {
                agents.insert(role_id.to_string(), agent);
            }
            None => missing.push(role_id),
        }
    }
    if !missing.is_empty() {
        anyhow::bail!(
            "no agent for role{} {} of workflow `{}`: expected a `command` for each in \
             apiwright.toml ([agents.ROLE] or [agents.default]) or in the workflow's agent entry, \
             found none, and the built-in provider plays only {}",
            if missing.len() == 1 { "" } else { "s" },
            missing
                .iter()
                .map(|role| format!("`{role}`"))
                .collect::<Vec<_>>()
                .join(", "),
            workflow.name,
            apiwright_builtin::ROLES.join(", ")
        );
    }
    Ok(agents)
}

fn command_agent(command: String, env: BTreeMap<String, String>) -> AnyAgent {
    AnyAgent::new(CommandAgent::new(CommandAgentConfig { command, env }))
}

/// A preset's agent, refused clearly when its program is not installed.
fn preset_agent(
    role: &str,
    preset: &'static apiwright_config::Preset,
    env: BTreeMap<String, String>,
) -> anyhow::Result<AnyAgent> {
    if find_program(preset.program).is_none() {
        anyhow::bail!(
            "role `{role}`: preset `{}` runs `{}`, which is not installed (not found on PATH); \
             install it with `{}`, or choose another provider (--agents builtin, openai, anthropic)",
            preset.name,
            preset.program,
            preset.install
        );
    }
    Ok(command_agent(preset.command.to_string(), env))
}

/// The executable called `program` on `PATH`, if any.
fn find_program(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// Every variable the configuration says may hold a model API key: the providers' defaults
/// and every `api_key_env`. Gates and a model's `bash` run without them.
fn key_variables(config: &apiwright_config::Config) -> Vec<String> {
    let mut names: Vec<String> = [Protocol::OpenAi, Protocol::Anthropic]
        .iter()
        .map(|protocol| protocol.default_key_env().to_string())
        .chain(
            [&config.openai, &config.anthropic]
                .into_iter()
                .filter_map(|provider| provider.raw.api_key_env.clone()),
        )
        .chain(
            config
                .agents
                .values()
                .filter_map(|agent| agent.model.api_key_env.clone()),
        )
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A model agent for `role`; its key is read from the environment here and kept only in the
/// client (never in the configuration, the store or a report).
fn model_agent(context: &Context, role: &str, protocol: Protocol) -> anyhow::Result<AnyAgent> {
    let settings = context
        .config
        .model_settings(role, protocol)
        .map_err(|problem| anyhow::anyhow!("{problem}"))?;
    let key = std::env::var(&settings.api_key_env)
        .ok()
        .filter(|key| !key.trim().is_empty());
    if key.is_none() && settings.official_endpoint {
        anyhow::bail!(
            "role `{role}`: the {} endpoint {} needs an API key, expected it in the {} \
             environment variable, found it unset (apiwright reads keys only from the \
             environment and never stores them)",
            protocol.name(),
            settings.base_url,
            settings.api_key_env
        );
    }
    let client = apiwright_models::ModelClient::new(apiwright_models::ClientConfig {
        protocol: match protocol {
            Protocol::OpenAi => apiwright_models::Protocol::OpenAi,
            Protocol::Anthropic => apiwright_models::Protocol::Anthropic,
        },
        base_url: settings.base_url.clone(),
        api_key: key.map(apiwright_models::Secret::new),
        model: settings.model.clone(),
        stream: settings.stream,
        max_output_tokens: settings.max_output_tokens,
        #[allow(clippy::cast_possible_truncation)]
        temperature: settings.temperature.map(|t| t as f32),
        request_timeout: Duration::from_secs(settings.request_timeout_secs),
        retry: apiwright_models::RetryPolicy {
            max_retries: settings.retries,
            base_delay: Duration::from_millis(settings.retry_base_ms),
            max_delay: Duration::from_secs(30),
        },
    })
    .map_err(|error| anyhow::anyhow!("role `{role}`: {error}"))?;
    let tools = &context.config.tools;
    Ok(AnyAgent::new(ModelAgent::new(ModelAgentConfig {
        provider: protocol.name(),
        client,
        max_turns: settings.max_turns,
        max_step_tokens: settings.max_step_tokens,
        price: settings
            .price
            .map(|price| (price.input_per_mtok, price.output_per_mtok)),
        tools: ToolLimits {
            bash: tools.bash,
            bash_timeout: Duration::from_secs(tools.bash_timeout_secs),
            bash_max_timeout: Duration::from_secs(tools.bash_timeout_secs.max(600)),
            output_limit: tools.output_limit_bytes,
            ..ToolLimits::default()
        },
        // Every variable the configuration names for a key, this role's included.
        hidden_env: key_variables(&context.config),
    })))
}

/// Drives a run to its end or a pause, showing progress; maps the outcome to an exit code.
pub fn drive(
    context: &Context,
    engine: &mut Engine,
    run_id: &str,
    provider: Option<&str>,
    json: bool,
) -> anyhow::Result<Exit> {
    let (workflow, _) = engine.load(run_id)?;
    // Without `--agents`, a resumed run keeps the provider it was started with.
    let stored = engine.store().run(run_id)?.and_then(|run| {
        run.params
            .get("agents")
            .and_then(|a| a.as_str())
            .map(str::to_string)
    });
    let provider = provider.or(stored.as_deref());
    let agents = resolve_agents(context, &workflow, provider)?;
    drive_with(context, engine, run_id, &agents, json)
}

/// Drives a run with agents already chosen.
fn drive_with(
    context: &Context,
    engine: &mut Engine,
    run_id: &str,
    agents: &BTreeMap<String, AnyAgent>,
    json: bool,
) -> anyhow::Result<Exit> {
    let (workflow, _) = engine.load(run_id)?;
    let hooks = context.config.hooks.clone();
    let progress = Progress::new(run_id, &workflow, json);
    let run_id_for_hooks = run_id.to_string();
    let mut observer_progress = progress.clone();
    engine.set_observer(move |event| {
        observer_progress.event(event);
        let kind = event.kind();
        if !hooks.commands_for(kind).is_empty() {
            let payload = serde_json::to_string(event).unwrap_or_default();
            apiwright_hooks::run_event_hooks(
                &hooks,
                kind,
                &[
                    ("APIWRIGHT_RUN_ID", run_id_for_hooks.clone()),
                    ("APIWRIGHT_EVENT", payload),
                ],
            );
        }
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let outcome = runtime.block_on(engine.drive(run_id, agents, interrupt));
    progress.finish();
    let outcome = outcome?;
    match write_report(engine, run_id) {
        Ok(path) => {
            if !json {
                eprintln!("report: {}", path.display());
            }
        }
        Err(error) => tracing::warn!("could not write REPORT.md: {error:#}"),
    }
    Ok(report_outcome(run_id, &outcome, json))
}

/// Writes `REPORT.md` into the run's workspace.
pub fn write_report(engine: &Engine, run_id: &str) -> anyhow::Result<PathBuf> {
    let report = crate::commands::runs::build_report(engine, run_id)?;
    let extras = crate::commands::runs::report_extras(engine, run_id)?;
    let workspace = engine
        .store()
        .run(run_id)?
        .map(|run| PathBuf::from(run.workspace))
        .ok_or_else(|| anyhow::anyhow!("no run {run_id}"))?;
    let path = workspace.join("REPORT.md");
    std::fs::write(&path, crate::report_md::render(&report, &extras))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn report_outcome(run_id: &str, outcome: &DriveOutcome, json: bool) -> Exit {
    let (exit, line) = match outcome {
        DriveOutcome::Completed => (Exit::Success, format!("run {run_id} completed")),
        DriveOutcome::Failed { reason } => {
            (Exit::RunFailed, format!("run {run_id} failed: {reason}"))
        }
        DriveOutcome::WaitingApproval { gate, prompt } => (
            Exit::Paused,
            format!(
                "run {run_id} waits for approval `{gate}`: {prompt}\n  approve: apiwright approve {run_id} {gate}\n  reject:  apiwright approve {run_id} {gate} --reject --reason \"…\""
            ),
        ),
        DriveOutcome::Escalated { id, kind, message } => (
            Exit::Paused,
            format!(
                "run {run_id} escalated ({}) as `{id}`: {message}\n  continue: apiwright approve {run_id} {id}\n  stop:     apiwright approve {run_id} {id} --reject --reason \"…\"",
                kind.as_str()
            ),
        ),
        DriveOutcome::Interrupted => (
            Exit::Interrupted,
            format!("run {run_id} interrupted; resume with: apiwright run --resume {run_id}"),
        ),
    };
    if json {
        let status = match exit {
            Exit::Success => "completed",
            Exit::RunFailed => "failed",
            Exit::Paused => "paused",
            Exit::Interrupted => "interrupted",
            Exit::NotFound => "not_found",
            Exit::CheckFailed => "check_failed",
            Exit::DeployRefused => "deploy_refused",
        };
        println!(
            "{}",
            serde_json::json!({"run_id": run_id, "outcome": status, "message": line})
        );
    } else {
        eprintln!("{line}");
    }
    exit
}
