//! `apiwright runs list | show | events`.

use std::fmt::Write as _;

use apiwright_engine::report;
use apiwright_engine::report::GateStatus;
use apiwright_engine::report::RunReport;

use crate::app::RunsCommand;
use crate::commands::Exit;
use crate::commands::run::build_engine;
use crate::context::Context;
use crate::output::duration;
use crate::output::print_json;
use crate::output::time;

pub fn run(context: &Context, command: RunsCommand) -> anyhow::Result<Exit> {
    match command {
        RunsCommand::List { limit, json } => {
            let store = context.open_store()?;
            let runs = store.runs(limit)?;
            if json {
                let rows: Vec<serde_json::Value> = runs
                    .iter()
                    .map(|run| {
                        serde_json::json!({
                            "id": run.id, "workflow": run.workflow_name, "status": run.status,
                            "created_at": run.created_at, "updated_at": run.updated_at,
                            "events": run.last_seq, "workspace": run.workspace,
                        })
                    })
                    .collect();
                print_json(&rows)?;
            } else if runs.is_empty() {
                println!("no runs in {}", context.db_path.display());
            } else {
                for run in runs {
                    println!(
                        "{:<20} {:<24} {:<17} {}  {} events",
                        run.id,
                        run.workflow_name,
                        run.status.as_str(),
                        time(run.created_at),
                        run.last_seq
                    );
                }
            }
        }
        RunsCommand::Show { run, json } => {
            let report = load_report(context, &run)?;
            if json {
                print_json(&report)?;
            } else {
                print!("{}", render(&report));
            }
        }
        RunsCommand::Events { run, json } => {
            let store = context.open_store()?;
            if store.run(&run)?.is_none() {
                anyhow::bail!("no run with id `{run}`");
            }
            let events = store.events(&run, 0)?;
            if json {
                print_json(&events)?;
            } else {
                for event in events {
                    println!(
                        "{:>5} {} {:<20} {}",
                        event.seq,
                        time(event.at),
                        event.kind,
                        event.payload
                    );
                }
            }
        }
    }
    Ok(Exit::Success)
}

pub fn load_report(context: &Context, run_id: &str) -> anyhow::Result<RunReport> {
    let engine = build_engine(context)?;
    build_report(&engine, run_id)
}

/// The run's report, rebuilt from its events.
pub fn build_report(engine: &apiwright_engine::Engine, run_id: &str) -> anyhow::Result<RunReport> {
    let (workflow, _) = engine.load(run_id)?;
    let records = engine.store().events(run_id, 0)?;
    let events = engine.events(run_id)?;
    let timed: Vec<(i64, apiwright_engine::Event)> =
        records.iter().map(|record| record.at).zip(events).collect();
    Ok(report::build(run_id, &workflow, &timed))
}

/// Deliverables of this run quoted in `REPORT.md`: the keys come from the run's own
/// `step_finished` events, and the value is the version this run wrote (from the key's
/// history), so a later run that overwrote the key does not change this run's report.
pub fn report_extras(
    engine: &apiwright_engine::Engine,
    run_id: &str,
) -> anyhow::Result<crate::report_md::Extras> {
    let written: Vec<String> = engine
        .events(run_id)?
        .into_iter()
        .filter_map(|event| match event {
            apiwright_engine::Event::StepFinished { deliverables, .. } => Some(deliverables),
            _ => None,
        })
        .flatten()
        .collect();
    let find = |suffix: &str| -> anyhow::Result<Option<serde_json::Value>> {
        let Some(key) = written.iter().rev().find(|key| key.ends_with(suffix)) else {
            return Ok(None);
        };
        let history = engine.store().memory_history(key)?;
        Ok(history
            .into_iter()
            .rev()
            .filter(|version| {
                version
                    .tags
                    .get("why")
                    .is_some_and(|why| why.contains(run_id))
            })
            .find_map(|version| match version.value {
                Some(apiwright_store::Value::Json(value)) => Some(value),
                Some(apiwright_store::Value::Text(_)) | None => None,
            }))
    };
    Ok(crate::report_md::Extras {
        requirements: find("/product-manager/requirements")?,
        go_no_go: find("/production-validator/go-no-go")?,
    })
}

fn gate_mark(status: GateStatus) -> &'static str {
    match status {
        GateStatus::Passed => "passed",
        GateStatus::Failed => "FAILED",
        GateStatus::Approved => "approved",
        GateStatus::Rejected => "REJECTED",
        GateStatus::Waiting => "waiting",
        GateStatus::NotRun => "not run",
    }
}

/// The text of `runs show`.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "run {}  workflow {}  status {}",
        report.run_id, report.workflow, report.status
    );
    let elapsed = u64::try_from(report.updated_at - report.started_at).unwrap_or(0);
    let _ = writeln!(
        out,
        "started {}  last event {}  ({})",
        time(report.started_at),
        time(report.updated_at),
        duration(elapsed)
    );
    if !report.params.is_empty() {
        let params: Vec<String> = report
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(out, "params {}", params.join(" "));
    }
    let _ = writeln!(
        out,
        "steps finished {}  attempts {}",
        report.steps_finished, report.step_attempts
    );
    if let Some(usage) = &report.usage {
        let _ = writeln!(
            out,
            "model usage {}",
            crate::output::usage_line(&usage.total)
        );
        for (role, used) in &usage.by_role {
            let _ = writeln!(out, "  {role:<28} {}", crate::output::usage_line(used));
        }
    }
    if let Some(waiting) = &report.waiting_for {
        let _ = writeln!(out, "waiting for {waiting}");
    }
    if let Some(failure) = &report.failure {
        let _ = writeln!(out, "failure: {failure}");
    }
    for phase in &report.phases {
        let took = phase
            .ended_at
            .map(|end| duration(u64::try_from(end - phase.started_at).unwrap_or(0)))
            .unwrap_or_else(|| "…".into());
        let visit = if phase.visit > 1 {
            format!(" visit {}", phase.visit)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "\nphase {}{visit}: {} [{}] {} ({took})",
            phase.phase, phase.title, phase.mode, phase.status
        );
        if !phase.items.is_empty() {
            let _ = writeln!(out, "  items: {}", phase.items.join(", "));
        }
        if let Some(failure) = &phase.failure {
            let _ = writeln!(out, "  failure: {failure}");
        }
        for step in &phase.steps {
            let mut attempts = if step.attempts > 1 {
                format!(" ×{}", step.attempts)
            } else {
                String::new()
            };
            if let Some(usage) = &step.usage {
                attempts.push_str(&format!(" [{}]", crate::output::usage_line(usage)));
            }
            let _ = writeln!(
                out,
                "  step {:<28} {:<10} {:>8}{attempts}  {}",
                format!(
                    "{} {}",
                    step.round
                        .split('#')
                        .nth(1)
                        .map(|r| format!("#{r}"))
                        .unwrap_or_default(),
                    step.step
                )
                .trim(),
                step.status,
                duration(step.duration_ms),
                first_line(&step.summary)
            );
        }
        for gate in &phase.gates {
            let _ = writeln!(
                out,
                "  gate {:<28} {:<10} {}",
                format!(
                    "{} {}",
                    gate.round
                        .split('#')
                        .nth(1)
                        .map(|r| format!("#{r}"))
                        .unwrap_or_default(),
                    gate.gate
                )
                .trim(),
                gate_mark(gate.status),
                first_line(&gate.summary)
            );
            if let Some(tail) = gate.evidence.get("output_tail").and_then(|t| t.as_str())
                && gate.status == GateStatus::Failed
                && !tail.is_empty()
            {
                for line in tail
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                {
                    let _ = writeln!(out, "      | {line}");
                }
            }
        }
    }
    if !report.tdd.is_empty() {
        let (verified, total) = report.tdd_adherence();
        let _ = writeln!(
            out,
            "\nTDD adherence: {verified}/{total} items verified red before green"
        );
        for row in &report.tdd {
            let mark = |ok: bool| if ok { "✓" } else { "✗" };
            let _ = writeln!(
                out,
                "  {} {}#{}: red {} green {} refactor {}",
                row.item,
                row.phase,
                row.visit,
                mark(row.red_verified()),
                mark(row.green_verified()),
                mark(row.refactor_verified())
            );
        }
    }
    for row in &report.loops {
        let _ = writeln!(
            out,
            "\nloop {} {} → {} ({} of {})",
            row.kind, row.from, row.to, row.count, row.max
        );
    }
    let (value, kind, ceiling, rationale) = crate::report_md::confidence(report);
    let _ = writeln!(
        out,
        "\nConfidence: {value:.2} (ceiling: {kind} {ceiling:.2}) - {rationale}"
    );
    for escalation in &report.escalations {
        let _ = writeln!(
            out,
            "\nescalation {} ({}) by {}: {} [{}{}]",
            escalation.id,
            escalation.kind,
            escalation.raised_by,
            escalation.message,
            escalation.status,
            escalation
                .decision
                .as_deref()
                .map(|d| format!(" {d}"))
                .unwrap_or_default()
        );
    }
    out
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
