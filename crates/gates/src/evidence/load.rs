//! The `load` gate: an authenticated request mix derived from the document
//! (`apiwright_probe::traffic`) driven by `apiwright-load` — sustained open loop at the
//! objective's rate (what the objectives are checked on), closed-loop stress, a spike and an
//! optional endurance run — with the service's memory sampled throughout.

use std::time::Duration;

use apiwright_load::Mode;
use apiwright_load::Report;
use apiwright_load::RssConfig;
use apiwright_load::RunConfig;
use apiwright_load::SlaMetric;
use apiwright_load::SlaViolation;
use apiwright_load::Slas;
use apiwright_probe::traffic;
use apiwright_workflow::LoadCheck;
use apiwright_workflow::template;
use serde_json::Value;
use serde_json::json;

use super::DEFAULT_CHECK_TIMEOUT;
use super::ServiceHandle;
use super::Target;
use super::Verdict;
use super::with_service;
use crate::GateContext;
use crate::GateError;
use crate::GateOutcome;

const SUSTAINED: Duration = Duration::from_secs(10);
const STRESS: Duration = Duration::from_secs(5);
const SPIKE: Duration = Duration::from_secs(2);
const SPIKE_FACTOR: f64 = 10.0;
const CONNECTIONS: usize = 32;
/// Open-loop requests outstanding at once before new ones count as dropped.
const MAX_IN_FLIGHT: usize = 4096;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const RSS_INTERVAL: Duration = Duration::from_millis(250);
/// The open-loop schedule sends request `k` at `k / rate`; the count over the scheduled
/// window can fall short of `rate × seconds` by rounding, never by more than this share.
const SCHEDULE_ROUNDING: f64 = 0.001;

pub(crate) async fn evaluate(
    check: &LoadCheck,
    context: &GateContext<'_>,
) -> Result<Verdict, GateError> {
    let slas = match objectives(check, context)? {
        Ok(slas) => slas,
        Err(reason) => {
            return Ok((
                GateOutcome::Failed,
                format!("cannot read the objectives: {reason}"),
                json!({ "error": reason }),
            ));
        }
    };
    let Some(rps) = slas.rps.filter(|rps| *rps > 0.0 && rps.is_finite()) else {
        return Ok((
            GateOutcome::Failed,
            "no sustained rate to test: the objectives hold no positive `rps`".into(),
            json!({ "objectives": slas }),
        ));
    };
    let plan = Plan {
        rps,
        slas,
        sustained: check.sustained_secs.map_or(SUSTAINED, Duration::from_secs),
        stress: check.stress_secs.map_or(STRESS, Duration::from_secs),
        spike: check.spike_secs.map_or(SPIKE, Duration::from_secs),
        spike_factor: check.spike_factor.unwrap_or(SPIKE_FACTOR),
        endurance: Duration::from_secs(check.endurance_secs.unwrap_or(0)),
        connections: check.connections.unwrap_or(CONNECTIONS),
    };
    let limit = check
        .timeout_secs
        .map_or(DEFAULT_CHECK_TIMEOUT, Duration::from_secs);
    with_service(
        &check.service,
        &check.openapi,
        limit,
        context,
        |target, handle| drive(plan, target, handle),
    )
    .await
}

struct Plan {
    rps: f64,
    slas: Slas,
    sustained: Duration,
    stress: Duration,
    spike: Duration,
    spike_factor: f64,
    endurance: Duration,
    connections: usize,
}

async fn drive(plan: Plan, target: Target, handle: ServiceHandle) -> Verdict {
    let mix = match traffic::mix(&target.client, &target.api, &target.session).await {
        Ok(mix) => mix,
        Err(error) => {
            return (
                GateOutcome::Failed,
                format!("cannot build the request mix: {error}"),
                json!({ "error": error.to_string() }),
            );
        }
    };
    let config = |mode: Mode| RunConfig {
        target: apiwright_load::Target {
            base_url: handle.base_url.clone(),
            requests: mix.requests.clone(),
        },
        mode,
        open_loop_connections: plan.connections.max(64),
        max_in_flight: MAX_IN_FLIGHT,
        request_timeout: REQUEST_TIMEOUT,
        rss: handle.pid.map(|pid| RssConfig {
            pid,
            interval: RSS_INTERVAL,
        }),
    };
    let mut scenarios = serde_json::Map::new();
    let sustained = match apiwright_load::run(&config(Mode::OpenLoop {
        rate_per_sec: plan.rps,
        duration: plan.sustained,
    }))
    .await
    {
        Ok(report) => report,
        Err(error) => {
            return (
                GateOutcome::Failed,
                format!("the sustained load run failed: {error}"),
                json!({ "mix": mix.describe(), "error": error.to_string() }),
            );
        }
    };
    let mut violations = sustained_violations(&sustained, &plan);
    scenarios.insert("sustained".into(), scenario(&sustained));
    let mut max_rss_kb = sustained.rss.as_ref().map_or(0, |rss| rss.max_kb);
    let mut runs: Vec<(&str, Mode)> = Vec::new();
    if !plan.stress.is_zero() {
        runs.push((
            "stress",
            Mode::ClosedLoop {
                connections: plan.connections,
                duration: plan.stress,
            },
        ));
    }
    if !plan.spike.is_zero() {
        runs.push((
            "spike",
            Mode::Spike {
                base_rate: plan.rps,
                factor: plan.spike_factor,
                base: plan.spike,
                spike: plan.spike,
            },
        ));
    }
    if !plan.endurance.is_zero() {
        runs.push((
            "endurance",
            Mode::OpenLoop {
                rate_per_sec: plan.rps,
                duration: plan.endurance,
            },
        ));
    }
    for (name, mode) in runs {
        match apiwright_load::run(&config(mode)).await {
            Ok(report) => {
                max_rss_kb = max_rss_kb.max(report.rss.as_ref().map_or(0, |rss| rss.max_kb));
                if name == "endurance" {
                    violations.extend(sustained_violations(&report, &plan).into_iter().map(
                        |mut violation| {
                            violation.found = format!("{} (endurance)", violation.found);
                            violation
                        },
                    ));
                }
                scenarios.insert(name.into(), scenario(&report));
            }
            Err(error) => {
                scenarios.insert(name.into(), json!({ "error": error.to_string() }));
            }
        }
    }
    // Memory is judged on the highest sample of every scenario: a spike that bloats the
    // service breaks the objective as surely as steady load.
    if let Some(memory_mb) = plan.slas.memory_mb {
        let found_mb = max_rss_kb as f64 / 1024.0;
        if handle.pid.is_none() || max_rss_kb == 0 {
            violations.push(SlaViolation {
                metric: SlaMetric::Memory,
                expected: format!("at most {memory_mb} MiB"),
                found: "no memory samples (the gate did not start the service)".into(),
            });
        } else if found_mb > memory_mb {
            violations.push(SlaViolation {
                metric: SlaMetric::Memory,
                expected: format!("at most {memory_mb} MiB"),
                found: format!("{found_mb:.1} MiB"),
            });
        }
    }
    let stats = &sustained.stats;
    let max_throughput = scenarios
        .get("stress")
        .and_then(|stress| stress.pointer("/throughput_rps"))
        .and_then(Value::as_f64);
    let summary = format!(
        "sustained {:.0} req/s for {} s: p95 {:.1} ms, p99 {:.1} ms, errors {:.2} %, max RSS {:.1} MiB{}; {}",
        plan.rps,
        plan.sustained.as_secs(),
        stats.latency_us.p95 as f64 / 1000.0,
        stats.latency_us.p99 as f64 / 1000.0,
        stats.error_rate_percent(),
        max_rss_kb as f64 / 1024.0,
        max_throughput.map_or(String::new(), |rps| format!("; stress max {rps:.0} req/s")),
        if violations.is_empty() {
            "every objective met".to_string()
        } else {
            violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        },
    );
    let outcome = if violations.is_empty() {
        GateOutcome::Passed
    } else {
        GateOutcome::Failed
    };
    (
        outcome,
        summary,
        json!({
            "objectives": plan.slas,
            "mix": mix.describe(),
            "scenarios": scenarios,
            "max_rss_mb": max_rss_kb as f64 / 1024.0,
            "violations": violations,
        }),
    )
}

/// The objectives checked on a constant-rate run. Throughput is what the schedule completed
/// over its window (the run's own elapsed time includes the last response's latency, which
/// would make an exactly met rate look short).
fn sustained_violations(report: &Report, plan: &Plan) -> Vec<SlaViolation> {
    let slas = Slas {
        rps: None,
        memory_mb: None,
        ..plan.slas.clone()
    };
    let mut violations = report.check(&slas);
    let window = report
        .phases
        .first()
        .map_or(plan.sustained.as_secs_f64(), |phase| {
            phase.stats.elapsed_secs
        })
        .max(plan.sustained.as_secs_f64());
    let completed = report.stats.requests - report.stats.errors.min(report.stats.requests);
    let achieved = completed as f64 / window;
    if achieved < plan.rps * (1.0 - SCHEDULE_ROUNDING) {
        violations.push(SlaViolation {
            metric: SlaMetric::Throughput,
            expected: format!("at least {} req/s sustained", plan.rps),
            found: format!(
                "{achieved:.1} req/s completed without error over {window:.1} s ({} dropped)",
                report.stats.dropped
            ),
        });
    }
    violations
}

/// A scenario's numbers for the evidence, in milliseconds.
fn scenario(report: &Report) -> Value {
    let stats = &report.stats;
    let ms = |us: u64| us as f64 / 1000.0;
    json!({
        "mode": report.mode,
        "offered_rate_per_sec": report.offered_rate_per_sec,
        "requests": stats.requests,
        "ok": stats.ok,
        "client_errors": stats.client_errors,
        "errors": stats.errors,
        "dropped": stats.dropped,
        "throughput_rps": stats.throughput_rps,
        "error_rate_percent": stats.error_rate_percent(),
        "latency_ms": {"p50": ms(stats.latency_us.p50), "p95": ms(stats.latency_us.p95),
            "p99": ms(stats.latency_us.p99), "max": ms(stats.latency_us.max), "mean": stats.latency_us.mean / 1000.0},
        "per_status": stats.per_status,
        "first_transport_error": stats.first_transport_error,
        "phases": report.phases.iter().map(|phase| json!({
            "name": phase.name, "rate_per_sec": phase.rate_per_sec,
            "requests": phase.stats.requests, "errors": phase.stats.errors, "dropped": phase.stats.dropped,
            "p95_ms": ms(phase.stats.latency_us.p95), "p99_ms": ms(phase.stats.latency_us.p99),
        })).collect::<Vec<_>>(),
        "rss_mb": report.rss.as_ref().map(|rss| json!({
            "first": rss.first_kb as f64 / 1024.0, "max": rss.max_kb as f64 / 1024.0,
            "last": rss.last_kb as f64 / 1024.0, "growth": rss.growth_kb as f64 / 1024.0,
            "samples": rss.samples.len(),
        })),
    })
}

/// The objectives: the memory source first, then the gate's own numbers on top.
fn objectives(
    check: &LoadCheck,
    context: &GateContext<'_>,
) -> Result<Result<Slas, String>, GateError> {
    let mut slas = Slas {
        p95_ms: None,
        rps: None,
        error_rate_percent: None,
        memory_mb: None,
    };
    if let Some(source) = &check.slas_from {
        let object = match objectives_in_memory(source, context)? {
            Ok(object) => object,
            Err(reason) => return Ok(Err(reason)),
        };
        let number = |name: &str| object.get(name).and_then(Value::as_f64);
        slas.p95_ms = number("p95_ms");
        slas.rps = number("rps");
        slas.error_rate_percent = number("error_rate_percent");
        slas.memory_mb = number("memory_mb");
    }
    let targets = &check.slas;
    for (slot, value, name) in [
        (&mut slas.p95_ms, &targets.p95_ms, "p95_ms"),
        (&mut slas.rps, &targets.rps, "rps"),
        (
            &mut slas.error_rate_percent,
            &targets.error_rate_percent,
            "error_rate_percent",
        ),
        (&mut slas.memory_mb, &targets.memory_mb, "memory_mb"),
    ] {
        if let Some(value) = value {
            let text = template::render(value, context.vars)?;
            match text.trim().parse::<f64>() {
                Ok(number) => *slot = Some(number),
                Err(_) => {
                    return Ok(Err(format!(
                        "expected a number for `slas.{name}`, found `{text}`"
                    )));
                }
            }
        }
    }
    Ok(Ok(slas))
}

/// The objectives object a `slas_from` source points at: the memory value (JSON, or YAML/JSON
/// text as users write specs), then the dotted field inside it.
pub(crate) fn objectives_in_memory(
    source: &apiwright_workflow::SlaSource,
    context: &GateContext<'_>,
) -> Result<Result<Value, String>, GateError> {
    let key = template::render(&source.key, context.vars)?;
    let Some(entry) = context.store.memory_get(&key)? else {
        return Ok(Err(format!("memory key `{key}` does not exist")));
    };
    let value = match entry.value {
        apiwright_store::Value::Json(value) => value,
        apiwright_store::Value::Text(text) => match serde_saphyr::from_str::<Value>(&text) {
            Ok(value) => value,
            Err(error) => return Ok(Err(format!("`{key}` is not YAML or JSON: {error}"))),
        },
    };
    let mut object = &value;
    for segment in source
        .field
        .split('.')
        .filter(|segment| !segment.is_empty())
    {
        match object.get(segment) {
            Some(inner) => object = inner,
            None => {
                return Ok(Err(format!(
                    "expected a field `{}` in `{key}`, found none",
                    source.field
                )));
            }
        }
    }
    Ok(Ok(object.clone()))
}
