//! The release gates. `deploy` builds the workspace and packages a release; for staging it
//! starts the release on a fresh database and smoke-tests it; for production it keeps the
//! release in the deployment directory and asks the deployment's supervisor (started if it is
//! not running, and left running afterwards: it serves the deployment) to shift traffic to it.
//! `monitor` asks the supervisor to watch the live release for a window. Both fail on what they
//! measure, never on what someone wrote.

use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use apiwright_deploy::control::Client;
use apiwright_deploy::control::MonitorRequest;
use apiwright_deploy::deployment::DeploymentDir;
use apiwright_deploy::deployment::ReleaseManifest;
use apiwright_deploy::deployment::Secrets;
use apiwright_deploy::deployment::default_state_dir;
use apiwright_deploy::instance::Instance;
use apiwright_deploy::monitor::AlertThresholds;
use apiwright_deploy::monitor::Level;
use apiwright_deploy::supervisor::CanaryPlanSpec;
use apiwright_deploy::supervisor::DeployOutcome;
use apiwright_deploy::supervisor::DeployRequest;
use apiwright_probe::openapi::Api;
use apiwright_workflow::AlertLevel;
use apiwright_workflow::DeployCheck;
use apiwright_workflow::DeployTarget;
use apiwright_workflow::Environment;
use apiwright_workflow::MonitorCheck;
use apiwright_workflow::template;
use serde_json::Value;
use serde_json::json;

use super::Verdict;
use crate::GateContext;
use crate::GateError;
use crate::GateOutcome;
use crate::shell;

const DEFAULT_BUILD: Duration = Duration::from_secs(1800);
const DOCUMENT_IN_RELEASE: &str = ".apiwright-openapi.json";

fn failed(summary: impl Into<String>, evidence: Value) -> Verdict {
    (GateOutcome::Failed, summary.into(), evidence)
}

/// Parses a numeric field given as a template.
pub(crate) fn number(
    text: &str,
    field: &str,
    context: &GateContext<'_>,
) -> Result<Result<f64, String>, GateError> {
    let rendered = template::render(text, context.vars)?;
    Ok(rendered
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite() && *value >= 0.0)
        .ok_or_else(|| format!("expected a non-negative number for `{field}`, found `{rendered}`")))
}

/// `state_dir` and `name` of the deployment.
pub(crate) fn location(
    state_dir: Option<&String>,
    name: Option<&String>,
    context: &GateContext<'_>,
) -> Result<(PathBuf, String), GateError> {
    let state_dir = match state_dir {
        Some(dir) => PathBuf::from(template::render(dir, context.vars)?),
        None => default_state_dir(),
    };
    let name = match name {
        Some(name) => template::render(name, context.vars)?,
        None => template::render("{api_id}", context.vars).unwrap_or_else(|_| "service".into()),
    };
    Ok((state_dir, name))
}

/// The apiwright executable that runs the supervisor: `APIWRIGHT_EXE`, else this process
/// when it is apiwright itself.
fn supervisor_exe() -> Result<PathBuf, String> {
    if let Some(exe) = std::env::var_os("APIWRIGHT_EXE") {
        return Ok(PathBuf::from(exe));
    }
    let exe =
        std::env::current_exe().map_err(|error| format!("cannot find this executable: {error}"))?;
    if exe.file_stem().is_some_and(|stem| stem == "apiwright") {
        Ok(exe)
    } else {
        Err(format!(
            "cannot start the deploy supervisor from {}: set APIWRIGHT_EXE to the apiwright binary",
            exe.display()
        ))
    }
}

/// Starts `apiwright deploy daemon` detached (its own process group, output to the
/// deployment's log), so it outlives the run.
pub(crate) fn spawn_supervisor(state_dir: &Path, name: &str) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    let exe = supervisor_exe().map_err(std::io::Error::other)?;
    let logs = state_dir.join(name).join("logs");
    std::fs::create_dir_all(&logs)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(logs.join("supervisor.log"))?;
    let err = log.try_clone()?;
    std::process::Command::new(exe)
        .arg("deploy")
        .arg("daemon")
        .arg("--state-dir")
        .arg(state_dir)
        .arg("--name")
        .arg(name)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map(|_| ())
}

pub(crate) async fn evaluate(
    check: &DeployCheck,
    context: &GateContext<'_>,
) -> Result<Verdict, GateError> {
    if check.target == DeployTarget::Kubernetes {
        return crate::evidence::kubernetes::evaluate(check, context).await;
    }
    let mut env: Vec<(String, String)> = Vec::new();
    for (name, value) in &check.service.env {
        env.push((name.clone(), template::render(value, context.vars)?));
    }
    // 1. Build in the workspace.
    if let Some(build) = &check.service.build {
        let build = template::render(build, context.vars)?;
        let limit = check
            .service
            .build_timeout_secs
            .map_or(DEFAULT_BUILD, Duration::from_secs);
        let execution = shell::run(&build, context, &env, limit, &mut |_| {}).await;
        if execution.exit_code != Some(0) {
            return Ok(failed(
                format!(
                    "NO-GO: the release did not build: `{build}` exited {:?}",
                    execution.exit_code
                ),
                json!({"decision": "NO-GO", "build": build, "exit_code": execution.exit_code,
                    "timed_out": execution.timed_out, "output_tail": execution.tail}),
            ));
        }
    }
    // 2. Package it: into a kept release directory (production) or a scratch one (staging).
    let (state_dir, name) = location(check.state_dir.as_ref(), check.name.as_ref(), context)?;
    let scratch = match tempfile::Builder::new()
        .prefix("apiwright-staging-")
        .tempdir()
    {
        Ok(dir) => dir,
        Err(error) => {
            return Ok(failed(
                format!("cannot create a staging directory: {error}"),
                Value::Null,
            ));
        }
    };
    let deployment = match check.environment {
        Environment::Production => match DeploymentDir::open(&state_dir, &name) {
            Ok(dir) => Some(dir),
            Err(error) => {
                return Ok(failed(
                    format!("cannot open the deployment: {error}"),
                    Value::Null,
                ));
            }
        },
        Environment::Staging => None,
    };
    let (release_id, release_dir) = match &deployment {
        Some(dir) => match dir.new_release() {
            Ok(release) => release,
            Err(error) => {
                return Ok(failed(
                    format!("cannot create a release: {error}"),
                    Value::Null,
                ));
            }
        },
        None => ("staging".to_string(), scratch.path().join("release")),
    };
    if let Err(error) = std::fs::create_dir_all(&release_dir) {
        return Ok(failed(
            format!("cannot create {}: {error}", release_dir.display()),
            Value::Null,
        ));
    }
    let package = template::render(&check.release.package, context.vars)?;
    let mut package_env = env.clone();
    package_env.push((
        "APIWRIGHT_RELEASE".into(),
        release_dir.display().to_string(),
    ));
    let execution = shell::run(&package, context, &package_env, DEFAULT_BUILD, &mut |_| {}).await;
    if execution.exit_code != Some(0) {
        return Ok(failed(
            format!(
                "NO-GO: packaging the release failed: `{package}` exited {:?}",
                execution.exit_code
            ),
            json!({"decision": "NO-GO", "package": package, "output_tail": execution.tail}),
        ));
    }
    let openapi = template::render(&check.openapi, context.vars)?;
    let document = context.workspace.join(&openapi);
    let api = match std::fs::read_to_string(&document)
        .map_err(|error| error.to_string())
        .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|error| error.to_string()))
    {
        Ok(value) => value,
        Err(error) => {
            return Ok(failed(
                format!(
                    "cannot read the OpenAPI document {}: {error}",
                    document.display()
                ),
                Value::Null,
            ));
        }
    };
    if let Err(error) = std::fs::write(release_dir.join(DOCUMENT_IN_RELEASE), api.to_string()) {
        return Ok(failed(
            format!("cannot copy the OpenAPI document into the release: {error}"),
            Value::Null,
        ));
    }
    let files = release_files(&release_dir);
    let Some(run) = &check.service.run else {
        return Ok(failed("the gate names no `service.run`", Value::Null));
    };
    let run = template::render(run, context.vars)?;
    let manifest = ReleaseManifest {
        id: release_id.clone(),
        created_unix_ms: apiwright_deploy::unix_ms(),
        run,
        port_env: check
            .service
            .port_env
            .clone()
            .unwrap_or_else(|| "PORT".into()),
        env: env.into_iter().collect(),
        secret_env: check.release.secret_env.clone(),
        database_env: check.release.database_env.clone(),
        admin_env: check
            .service
            .admin
            .as_ref()
            .map(|admin| (admin.email_env.clone(), admin.password_env.clone())),
        ready: check
            .service
            .ready
            .clone()
            .unwrap_or_else(|| "/health".into()),
        startup_secs: check.service.startup_timeout_secs.unwrap_or(120),
        openapi: DOCUMENT_IN_RELEASE.into(),
        source: context.workspace.display().to_string(),
    };
    let release_evidence = json!({"id": release_id, "dir": release_dir, "files": files});
    match (check.environment, deployment) {
        (Environment::Staging, _) => {
            staging(
                &manifest,
                &release_dir,
                scratch.path(),
                api,
                release_evidence,
            )
            .await
        }
        (Environment::Production, Some(deployment)) => {
            if let Err(error) = deployment.write_manifest(&manifest) {
                return Ok(failed(
                    format!("cannot write the release manifest: {error}"),
                    Value::Null,
                ));
            }
            production(
                check,
                context,
                &state_dir,
                &name,
                &manifest,
                release_evidence,
            )
            .await
        }
        (Environment::Production, None) => Ok(failed("no deployment directory", Value::Null)),
    }
}

fn release_files(dir: &Path) -> Vec<Value> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<Value> = entries
        .filter_map(Result::ok)
        .map(|entry| {
            let bytes = entry.metadata().map_or(0, |meta| meta.len());
            json!({"name": entry.file_name().to_string_lossy(), "bytes": bytes})
        })
        .collect();
    files.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    files
}

/// Staging: the release on a fresh database with fresh secrets, health and user journey.
async fn staging(
    manifest: &ReleaseManifest,
    release_dir: &Path,
    scratch: &Path,
    document: Value,
    release: Value,
) -> Result<Verdict, GateError> {
    let api = match Api::from_document(document) {
        Ok(api) => api,
        Err(error) => {
            return Ok(failed(
                format!("the OpenAPI document is not usable: {error}"),
                Value::Null,
            ));
        }
    };
    // Fresh secrets and a fresh database: staging shares nothing with production.
    let secrets = Secrets::generate(&manifest.secret_env);
    let launch = manifest.launch(&secrets, scratch);
    let admin = manifest.admin_login(&secrets);
    let mut instance =
        match Instance::start(release_dir, &launch, &scratch.join("staging.log")).await {
            Ok(instance) => instance,
            Err(not_ready) => {
                return Ok(failed(
                    format!("NO-GO: staging did not start: {}", not_ready.reason),
                    json!({"decision": "NO-GO", "release": release, "startup": not_ready}),
                ));
            }
        };
    let report = apiwright_deploy::smoke::smoke(&instance.url, &launch.ready, &api, admin).await;
    let log_tail = instance.log_tail();
    instance.stop().await;
    let evidence = json!({
        "environment": "staging", "release": release, "url": instance.url,
        "smoke": report, "log_tail": if report.passed { Value::Null } else { Value::String(log_tail) },
        "decision": if report.passed { "GO" } else { "NO-GO" },
    });
    Ok(if report.passed {
        (
            GateOutcome::Passed,
            format!(
                "staging: health and user journey passed ({} checks in {:.1} s)",
                report.checks.len(),
                report.seconds
            ),
            evidence,
        )
    } else {
        let failure = report
            .first_failure()
            .map(|check| format!("{}: {}", check.name, check.detail))
            .unwrap_or_default();
        failed(
            format!("NO-GO: staging smoke test failed: {failure}"),
            evidence,
        )
    })
}

/// Production: the supervisor shifts traffic to the kept release.
async fn production(
    check: &DeployCheck,
    context: &GateContext<'_>,
    state_dir: &Path,
    name: &str,
    manifest: &ReleaseManifest,
    release: Value,
) -> Result<Verdict, GateError> {
    let rollout = &check.rollout;
    let mut steps = Vec::new();
    for (index, step) in rollout.steps.iter().enumerate() {
        match number(
            &step.watch_secs,
            &format!("rollout.steps[{index}].watch_secs"),
            context,
        )? {
            Ok(watch) => steps.push((step.percent, watch)),
            Err(reason) => return Ok(failed(reason, Value::Null)),
        }
    }
    let read = |value: &Option<String>,
                field: &str,
                default: f64|
     -> Result<Result<f64, String>, GateError> {
        match value {
            Some(text) => number(text, field, context),
            None => Ok(Ok(default)),
        }
    };
    let interval = match read(&rollout.interval_secs, "rollout.interval_secs", 5.0)? {
        Ok(value) => value,
        Err(reason) => return Ok(failed(reason, Value::Null)),
    };
    let max_error = match read(
        &rollout.max_error_rate_percent,
        "rollout.max_error_rate_percent",
        1.0,
    )? {
        Ok(value) => value,
        Err(reason) => return Ok(failed(reason, Value::Null)),
    };
    let keep_blue = match read(&rollout.keep_blue_secs, "rollout.keep_blue_secs", 3600.0)? {
        Ok(value) => value,
        Err(reason) => return Ok(failed(reason, Value::Null)),
    };
    let rps = match read(&rollout.traffic_rps, "rollout.traffic_rps", 8.0)? {
        Ok(value) if value > 0.0 => value,
        Ok(_) => {
            return Ok(failed(
                "expected a positive `rollout.traffic_rps`: zero downtime cannot be shown without traffic",
                Value::Null,
            ));
        }
        Err(reason) => return Ok(failed(reason, Value::Null)),
    };
    let mut p95_ms = match &rollout.p95_ms {
        Some(text) => match number(text, "rollout.p95_ms", context)? {
            Ok(value) => Some(value),
            Err(reason) => return Ok(failed(reason, Value::Null)),
        },
        None => None,
    };
    if p95_ms.is_none()
        && let Some(source) = &rollout.slas_from
    {
        match super::load::objectives_in_memory(source, context)? {
            Ok(object) => p95_ms = object.get("p95_ms").and_then(Value::as_f64),
            Err(reason) => return Ok(failed(reason, Value::Null)),
        }
    }
    let request = DeployRequest {
        release: manifest.id.clone(),
        plan: CanaryPlanSpec {
            steps,
            interval_secs: interval,
            max_error_rate_percent: max_error,
            p95_ms,
        },
        traffic_rps: rps,
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // non-negative, checked above
        keep_blue_secs: keep_blue as u64,
    };
    let client = match Client::connect_or_spawn(
        state_dir,
        name,
        || spawn_supervisor(state_dir, name),
        Duration::from_secs(60),
    )
    .await
    {
        Ok(client) => client,
        Err(error) => {
            return Ok(failed(
                format!("NO-GO: cannot reach the deploy supervisor: {error}"),
                Value::Null,
            ));
        }
    };
    let report = match client.deploy(&request).await {
        Ok(report) => report,
        Err(error) => {
            return Ok(failed(
                format!("NO-GO: the deploy was refused: {error}"),
                json!({"release": release}),
            ));
        }
    };
    let steady = report.steady.clone().unwrap_or_default();
    let promoted = report.outcome == DeployOutcome::Promoted;
    let failed_requests = steady.failed;
    let summary = report.summary.clone();
    let go = promoted && failed_requests == 0;
    let evidence = json!({
        "environment": "production", "target": "local", "release": release,
        "deployment": {"state_dir": state_dir, "name": name},
        "decision": if go { "GO" } else { "NO-GO" },
        "status": if go { "DEPLOYED" } else if promoted { "DEPLOYED_WITH_FAILURES" } else { "ROLLED_BACK" },
        "url": report.proxy_url, "version": manifest.id,
        "deployment_time": report.seconds,
        "zero_downtime": {"steady_requests": steady.sent, "failed": failed_requests,
            "failed_by_backend": steady.failed_by_backend},
        "report": report,
    });
    Ok(if go {
        (GateOutcome::Passed, summary, evidence)
    } else if promoted {
        failed(
            format!(
                "NO-GO: green went live but the steady client saw {failed_requests} failed requests during the shift (downtime): {summary}"
            ),
            evidence,
        )
    } else {
        failed(format!("NO-GO: {summary}"), evidence)
    })
}

pub(crate) async fn monitor(
    check: &MonitorCheck,
    context: &GateContext<'_>,
) -> Result<Verdict, GateError> {
    let (state_dir, name) = location(check.state_dir.as_ref(), check.name.as_ref(), context)?;
    let window = match number(
        check.window_secs.as_deref().unwrap_or("300"),
        "window_secs",
        context,
    )? {
        Ok(value) => value,
        Err(reason) => return Ok(failed(reason, Value::Null)),
    };
    let rps = match number(
        check.traffic_rps.as_deref().unwrap_or("8"),
        "traffic_rps",
        context,
    )? {
        Ok(value) => value,
        Err(reason) => return Ok(failed(reason, Value::Null)),
    };
    let t = &check.thresholds;
    let mut values = Vec::new();
    for (text, field) in [
        (&t.p95_warning_ms, "thresholds.p95_warning_ms"),
        (&t.p95_critical_ms, "thresholds.p95_critical_ms"),
        (
            &t.error_rate_warning_percent,
            "thresholds.error_rate_warning_percent",
        ),
        (
            &t.error_rate_critical_percent,
            "thresholds.error_rate_critical_percent",
        ),
        (
            &t.availability_critical_percent,
            "thresholds.availability_critical_percent",
        ),
        (
            &t.db_pool_warning_percent,
            "thresholds.db_pool_warning_percent",
        ),
    ] {
        match number(text, field, context)? {
            Ok(value) => values.push(value),
            Err(reason) => return Ok(failed(reason, Value::Null)),
        }
    }
    let thresholds = AlertThresholds {
        p95_warning_ms: values[0],
        p95_critical_ms: values[1],
        error_rate_warning_percent: values[2],
        error_rate_critical_percent: values[3],
        availability_critical_percent: values[4],
        db_pool_warning_percent: values[5],
    };
    let client = match Client::connect(&state_dir, &name).await {
        Ok(Some(client)) => client,
        Ok(None) => {
            return Ok(failed(
                format!(
                    "nothing to monitor: no deploy supervisor runs for `{name}` in {} (deploy first)",
                    state_dir.display()
                ),
                Value::Null,
            ));
        }
        Err(error) => {
            return Ok(failed(
                format!("cannot open the deployment: {error}"),
                Value::Null,
            ));
        }
    };
    let report = match client
        .monitor(&MonitorRequest {
            window_secs: window,
            rps,
            thresholds: thresholds.clone(),
        })
        .await
    {
        Ok(report) => report,
        Err(error) => return Ok(failed(format!("monitoring failed: {error}"), Value::Null)),
    };
    let fail_on = match check.fail_on {
        AlertLevel::Warning => Level::Warning,
        AlertLevel::Critical => Level::Critical,
    };
    let blocking = report
        .alerts
        .iter()
        .filter(|alert| alert.level >= fail_on)
        .count();
    let figures = &report.figures;
    let summary = format!(
        "{} requests in {:.0} s (synthetic {} req/s included): p95 {:.1} ms, error rate {:.2}%, availability {:.2}%; {} alerts ({blocking} at or above {:?})",
        figures.requests,
        report.window_secs,
        rps,
        figures.p95_ms,
        figures.error_rate_percent,
        figures.availability_percent,
        report.alerts.len(),
        check.fail_on
    );
    let evidence = json!({
        "p50_ms": figures.p50_ms, "p95_ms": figures.p95_ms, "p99_ms": figures.p99_ms,
        "throughput_rps": figures.throughput_rps, "error_rate_percent": figures.error_rate_percent,
        "uptime_percent": figures.availability_percent,
        "db_pool_max_usage_percent": figures.db_pool_max_usage_percent,
        "requests": figures.requests, "window_secs": report.window_secs,
        "synthetic_rps": report.synthetic_rps, "endpoints": report.endpoints,
        "alerts": report.alerts, "release": report.release, "thresholds": thresholds,
    });
    Ok(if blocking == 0 {
        (GateOutcome::Passed, summary, evidence)
    } else {
        failed(summary, evidence)
    })
}
