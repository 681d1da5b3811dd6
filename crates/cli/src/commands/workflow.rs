//! `apiwright workflow list | show | validate | export | schema`.

use std::path::Path;

use anyhow::Context as _;
use apiwright_workflow::GateCheck;
use apiwright_workflow::Mode;
use apiwright_workflow::OnFail;
use apiwright_workflow::Workflow;
use apiwright_workflow::builtin;

use crate::app::WorkflowCommand;
use crate::commands::Exit;
use crate::output::print_json;

/// Loads a workflow by built-in name or file path; returns it with its YAML text.
pub fn resolve(name_or_path: &str) -> anyhow::Result<(Workflow, String)> {
    let path = Path::new(name_or_path);
    let looks_like_file = path.exists()
        || name_or_path.ends_with(".yaml")
        || name_or_path.ends_with(".yml")
        || name_or_path.contains('/');
    if looks_like_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading workflow file {}", path.display()))?;
        let workflow = apiwright_workflow::load_str(&path.display().to_string(), &text)
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        return Ok((workflow, text));
    }
    let Some(text) = builtin::source(name_or_path) else {
        anyhow::bail!(
            "expected a built-in workflow ({}) or a YAML file, found `{name_or_path}`",
            builtin::NAMES.join(", ")
        );
    };
    let workflow = apiwright_workflow::load_str(&format!("builtin:{name_or_path}"), text)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    Ok((workflow, text.to_string()))
}

pub fn run(command: WorkflowCommand) -> anyhow::Result<Exit> {
    match command {
        WorkflowCommand::List { json } => list(json)?,
        WorkflowCommand::Show { workflow, json } => {
            let (workflow, _) = resolve(&workflow)?;
            if json {
                print_json(&workflow)?;
            } else {
                print!("{}", render_show(&workflow));
            }
        }
        WorkflowCommand::Validate { file } => {
            let (workflow, _) = resolve(&file.display().to_string())?;
            println!(
                "{}: ok ({} phases, {} steps, {} gates)",
                file.display(),
                workflow.phases.len(),
                workflow.phases.iter().map(|p| p.steps.len()).sum::<usize>(),
                workflow.phases.iter().map(|p| p.gates.len()).sum::<usize>()
            );
        }
        WorkflowCommand::Export { name, out } => {
            let Some(text) = builtin::source(&name) else {
                anyhow::bail!(
                    "expected a built-in workflow ({}), found `{name}`",
                    builtin::NAMES.join(", ")
                );
            };
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    println!("wrote {}", path.display());
                }
                None => print!("{text}"),
            }
        }
        WorkflowCommand::Schema => print_json(&apiwright_workflow::json_schema())?,
    }
    Ok(Exit::Success)
}

fn list(json: bool) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for name in builtin::NAMES {
        let workflow = match builtin::load(name) {
            Some(Ok(workflow)) => workflow,
            Some(Err(error)) => anyhow::bail!("built-in workflow `{name}` does not load: {error}"),
            None => continue,
        };
        rows.push(workflow);
    }
    if json {
        let summary: Vec<serde_json::Value> = rows
            .iter()
            .map(|w| {
                serde_json::json!({
                    "name": w.name,
                    "source": w.source,
                    "phases": w.phases.len(),
                    "agents": w.agents.len(),
                    "description": w.description.trim(),
                })
            })
            .collect();
        return print_json(&summary);
    }
    for workflow in rows {
        let first_line = workflow.description.lines().next().unwrap_or("").trim();
        println!(
            "{:<24} {:>2} phases {:>2} agents  {:<9} {}",
            workflow.name,
            workflow.phases.len(),
            workflow.agents.len(),
            workflow.source.as_deref().unwrap_or(""),
            first_line
        );
    }
    Ok(())
}

fn mode_text(mode: &Mode) -> String {
    match mode {
        Mode::Sequential => "sequential".into(),
        Mode::Parallel(parallel) => format!(
            "parallel, max {} agents, {} topology",
            parallel
                .max_agents
                .map_or_else(|| "all".to_string(), |max| max.to_string()),
            format!("{:?}", parallel.topology).to_lowercase()
        ),
        Mode::Iterative(iterative) => format!(
            "iterative, max {} iterations",
            iterative
                .max_iterations
                .map_or_else(|| "?".to_string(), |max| max.to_string())
        ),
        Mode::Tdd(tdd) => match (&tdd.items, &tdd.items_from) {
            (_, Some(key)) => format!("tdd (red → green → refactor per item of {key})"),
            (Some(items), None) => {
                format!("tdd (red → green → refactor over {} items)", items.len())
            }
            (None, None) => "tdd".into(),
        },
    }
}

fn on_fail_text(on_fail: &OnFail) -> String {
    match on_fail {
        OnFail::Abort => "abort the run".into(),
        OnFail::Retry(policy) => format!(
            "retry the phase (max {}), then {}",
            policy.max.unwrap_or(0),
            exhausted_text(policy.then)
        ),
        OnFail::Goto(policy) => format!(
            "go back to `{}` (max {}), then {}",
            policy.phase,
            policy.max.unwrap_or(0),
            exhausted_text(policy.then)
        ),
        OnFail::Escalate(policy) => format!("escalate ({})", policy.kind.as_str()),
    }
}

fn exhausted_text(then: Option<apiwright_workflow::Exhausted>) -> String {
    match then {
        Some(apiwright_workflow::Exhausted::Abort) => "abort".into(),
        Some(apiwright_workflow::Exhausted::Escalate(kind)) => {
            format!("escalate ({})", kind.as_str())
        }
        None => "escalate (technical_debt)".into(),
    }
}

/// The text of `workflow show`.
pub fn render_show(workflow: &Workflow) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  ({})",
        workflow.name,
        workflow.source.as_deref().unwrap_or("user")
    );
    for line in workflow.description.trim().lines() {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "memory: {}", workflow.memory_pattern);
    if !workflow.parameters.is_empty() {
        let _ = writeln!(out, "parameters:");
        for (name, parameter) in &workflow.parameters {
            let _ = writeln!(
                out,
                "  {name} = {:?}  {}",
                parameter.default, parameter.description
            );
        }
    }
    let _ = writeln!(
        out,
        "agents: {}",
        workflow
            .agents
            .iter()
            .map(|a| a.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (index, phase) in workflow.phases.iter().enumerate() {
        let _ = writeln!(
            out,
            "\nphase {} `{}`: {} [{}]",
            phase.number_at(index),
            phase.id,
            phase.title,
            mode_text(&phase.mode)
        );
        for step in &phase.steps {
            let stage = step
                .stage
                .map(|stage| format!("[{}] ", apiwright_engine::event::stage_name(stage)))
                .unwrap_or_default();
            let writes = if step.writes.is_empty() {
                String::new()
            } else {
                format!(" → {}", step.writes.join(", "))
            };
            let _ = writeln!(out, "  step {stage}{} ({}){writes}", step.id(), step.agent);
        }
        for gate in &phase.gates {
            let stage = gate
                .stage
                .map(|stage| format!("[{}] ", apiwright_engine::event::stage_name(stage)))
                .unwrap_or_default();
            let check = match gate.check() {
                Some(GateCheck::Command(check)) => format!(
                    "command `{}`{}",
                    check.run,
                    match check.expect {
                        apiwright_workflow::Expect::Success => "",
                        apiwright_workflow::Expect::Failure => " must fail",
                    }
                ),
                Some(GateCheck::Tests(check)) => format!(
                    "tests `{}` must {}",
                    check.run,
                    match check.expect {
                        apiwright_workflow::TestsExpect::Pass => "pass",
                        apiwright_workflow::TestsExpect::Fail => "fail (red)",
                    }
                ),
                Some(GateCheck::Coverage(check)) => {
                    format!("coverage: at least {}% of lines", check.min_lines)
                }
                Some(GateCheck::OpenApi(check)) => format!(
                    "openapi {} matches the routes {}{}",
                    check.document,
                    match (&check.routes.axum, &check.routes.command) {
                        (Some(dir), _) => format!("of axum sources in {dir}"),
                        (None, Some(command)) => format!("printed by `{command}`"),
                        (None, None) => "(none given)".into(),
                    },
                    if check.ignore.is_empty() {
                        String::new()
                    } else {
                        format!(" (ignoring {})", check.ignore.join(", "))
                    }
                ),
                Some(GateCheck::Contract(check)) => format!(
                    "contract: the service ({}) matches {} with valid and invalid requests",
                    service_label(&check.service),
                    check.openapi
                ),
                Some(GateCheck::Security(check)) => format!(
                    "security: OWASP API probes on the service ({}), failing on {:?} or worse{}",
                    service_label(&check.service),
                    check.fail_on,
                    if check.scan_secrets {
                        ", secrets scan"
                    } else {
                        ""
                    }
                ),
                Some(GateCheck::Load(check)) => format!(
                    "load: sustained, stress and spike on the service ({}) against {}",
                    service_label(&check.service),
                    match (&check.slas.rps, &check.slas_from) {
                        (Some(rps), _) => format!("{rps} req/s"),
                        (None, Some(source)) => format!("the objectives in {}", source.key),
                        (None, None) => "no objectives".into(),
                    }
                ),
                Some(GateCheck::Deploy(check)) => format!(
                    "deploy: {:?} release of the service ({}){}",
                    check.environment,
                    service_label(&check.service),
                    match check.environment {
                        apiwright_workflow::Environment::Staging =>
                            ", health and user-journey smoke tests".to_string(),
                        apiwright_workflow::Environment::Production => format!(
                            ", blue/green canary {} with automatic rollback",
                            check
                                .rollout
                                .steps
                                .iter()
                                .map(|step| format!("{}%", step.percent))
                                .collect::<Vec<_>>()
                                .join(" → ")
                        ),
                    }
                ),
                Some(GateCheck::Monitor(check)) => format!(
                    "monitor: alert thresholds on live traffic for {} s, failing on {:?}",
                    check.window_secs.as_deref().unwrap_or("300"),
                    check.fail_on
                ),
                Some(GateCheck::Memory(check)) => {
                    let parts: Vec<String> = check
                        .keys
                        .iter()
                        .cloned()
                        .chain(check.content.iter().map(|content| {
                            let wants: Vec<String> = content
                                .fields
                                .iter()
                                .cloned()
                                .chain(
                                    content
                                        .equals
                                        .iter()
                                        .map(|(field, value)| format!("{field} = {value}")),
                                )
                                .collect();
                            format!("{} has {}", content.key, wants.join(", "))
                        }))
                        .collect();
                    format!("memory {}", parts.join("; "))
                }
                Some(GateCheck::Spec(check)) => format!(
                    "spec {}{} loads like a --spec file",
                    check.key,
                    check
                        .field
                        .as_deref()
                        .map(|f| format!(".{f}"))
                        .unwrap_or_default()
                ),
                Some(GateCheck::Score(check)) => format!(
                    "score {}{}{}{}",
                    check.key,
                    check
                        .field
                        .as_deref()
                        .map(|f| format!(".{f}"))
                        .unwrap_or_default(),
                    check.min.map(|m| format!(" ≥ {m}")).unwrap_or_default(),
                    check.max.map(|m| format!(" ≤ {m}")).unwrap_or_default()
                ),
                Some(GateCheck::Approval(check)) => format!("approval: {}", check.prompt),
                Some(GateCheck::Planned(check)) => {
                    format!(
                        "planned {} (not run in this version): {}",
                        check.kind, check.description
                    )
                }
                None => "invalid".into(),
            };
            let _ = writeln!(out, "  gate {stage}{}: {check}", gate.id);
            if !gate.criterion.is_empty() {
                let _ = writeln!(out, "       criterion: {}", gate.criterion);
            }
        }
        let _ = writeln!(out, "  on fail: {}", on_fail_text(&phase.on_fail));
    }
    out
}

/// How an evidence gate reaches its service, for `workflow show`.
fn service_label(service: &apiwright_workflow::ServiceSpec) -> String {
    match (&service.run, &service.url) {
        (Some(run), _) => format!("started with `{run}`"),
        (None, Some(url)) => url.clone(),
        (None, None) => "none".into(),
    }
}
