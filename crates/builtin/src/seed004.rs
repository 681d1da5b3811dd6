//! Seed 004's backend developer (`backend-iteration`): one iteration writes the project's
//! missing parts from the spec, then *measures* the project — `cargo fmt --check`, `cargo
//! clippy -D warnings`, `cargo test`, endpoints documented in `openapi.json` and mounted in
//! the route registry, tables in the migrations — and writes `iteration-{n}`, seed 004's JSON
//! evaluation, with a backend score computed from that evidence (formula in
//! `docs/builtin-agents.md` and in the deliverable). Performance is not measured (no load
//! test runs) and is left out of the score, saying so.

use std::path::Path;
use std::time::Duration;

use apiwright_agents::AgentError;
use apiwright_spec::Spec;
use serde_json::Value;
use serde_json::json;

use crate::context::File;
use crate::context::Step;
use crate::context::Work;
use crate::process::run_tool;
use crate::process::tail;
use crate::seed003::mounted;
use crate::seed003::test_counts;

const CARGO_LIMIT: Duration = Duration::from_secs(900);

/// The formula, as written in the deliverable and the docs.
pub(crate) const SCORE_FORMULA: &str = "backend_score = round(0.25*tests + 0.15*lint + 0.15*api_design + 0.15*service_architecture + 0.15*database_implementation + 0.15*security_integration); tests = 100*passed/(passed+failed) of `cargo test` (0 if it does not compile or runs nothing); lint = 50 if `cargo fmt --check` passes + 50 if `cargo clippy --all-targets -- -D warnings` passes; api_design = 100*spec endpoints documented in openapi.json / spec endpoints; service_architecture = 100*spec endpoints whose batch is mounted / spec endpoints; database_implementation = 100*resources with a table in migrations/0001_init.up.sql / resources (0 without a down migration); security_integration = 100*(auth mounted, rate limiting present, test suite green)/3; performance is not measured and not scored";

/// Whether the step is a seed 004 iteration (writes `iteration-{n}`).
pub(crate) fn is_iteration(step: &Step<'_>) -> bool {
    step.request
        .writes
        .iter()
        .any(|write| write.name.starts_with("iteration-"))
}

/// What the agent measured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Evidence {
    pub spec_endpoints: usize,
    pub documented: usize,
    pub implemented: usize,
    pub resources: usize,
    pub tables: usize,
    pub down_migration: bool,
    pub fmt_clean: bool,
    pub clippy_clean: bool,
    /// `(passed, failed)`, `None` when the tests did not compile or run.
    pub tests: Option<(u64, u64)>,
    pub auth_mounted: bool,
    pub rate_limiting: bool,
}

/// Component scores (0–100) and the backend score.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scores {
    pub tests: f64,
    pub lint: f64,
    pub api_design: f64,
    pub service_architecture: f64,
    pub database_implementation: f64,
    pub security_integration: f64,
    pub backend_score: f64,
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

pub(crate) fn score(evidence: &Evidence) -> Scores {
    let tests = match evidence.tests {
        Some((passed, failed)) if passed > 0 => 100.0 * passed as f64 / (passed + failed) as f64,
        _ => 0.0,
    };
    let lint = if evidence.fmt_clean { 50.0 } else { 0.0 }
        + if evidence.clippy_clean { 50.0 } else { 0.0 };
    let api_design = percent(evidence.documented, evidence.spec_endpoints);
    let service_architecture = percent(evidence.implemented, evidence.spec_endpoints);
    let database_implementation = if evidence.down_migration {
        percent(evidence.tables, evidence.resources)
    } else {
        0.0
    };
    let suite_green = matches!(evidence.tests, Some((passed, 0)) if passed > 0);
    let security_integration = percent(
        [evidence.auth_mounted, evidence.rate_limiting, suite_green]
            .iter()
            .filter(|check| **check)
            .count(),
        3,
    );
    let backend_score = (0.25 * tests
        + 0.15 * lint
        + 0.15 * api_design
        + 0.15 * service_architecture
        + 0.15 * database_implementation
        + 0.15 * security_integration)
        .round();
    Scores {
        tests: tests.round(),
        lint,
        api_design: api_design.round(),
        service_architecture: service_architecture.round(),
        database_implementation: database_implementation.round(),
        security_integration: security_integration.round(),
        backend_score,
    }
}

/// The static part of the evidence: what the workspace's files say.
fn inspect(spec: &Spec, workspace: &Path) -> Evidence {
    let endpoints = spec.endpoints();
    let openapi: Value = std::fs::read_to_string(workspace.join("openapi.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    let documented = endpoints
        .iter()
        .filter(|endpoint| {
            !openapi["paths"][&endpoint.path][endpoint.method.as_str().to_ascii_lowercase()]
                .is_null()
        })
        .count();
    let mounted = mounted(workspace);
    let project = workspace.join("Cargo.toml").is_file();
    let implemented = endpoints
        .iter()
        .filter(|endpoint| match &endpoint.resource {
            Some(name) => spec
                .resource(name)
                .is_some_and(|resource| mounted.contains(&resource.plural())),
            None if endpoint.path.contains("/auth/") => mounted.iter().any(|m| m == "auth"),
            None => project,
        })
        .count();
    let up =
        std::fs::read_to_string(workspace.join("migrations/0001_init.up.sql")).unwrap_or_default();
    let down = std::fs::read_to_string(workspace.join("migrations/0001_init.down.sql"))
        .unwrap_or_default();
    let tables = spec
        .resources
        .iter()
        .filter(|resource| {
            up.lines().any(|line| {
                line.contains("CREATE TABLE")
                    && line
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .any(|word| word == resource.plural())
            })
        })
        .count();
    Evidence {
        spec_endpoints: endpoints.len(),
        documented,
        implemented,
        resources: spec.resources.len(),
        tables,
        down_migration: !down.trim().is_empty(),
        fmt_clean: false,
        clippy_clean: false,
        tests: None,
        auth_mounted: mounted.iter().any(|m| m == "auth"),
        rate_limiting: workspace.join("src/rate_limit.rs").is_file(),
    }
}

/// Files to write this iteration: the whole project when there is none, else only what is
/// missing (`ci.sh`, `openapi.json`, unmounted batches with their tests); existing files are
/// never overwritten, except the route registry when a batch is added.
fn missing_parts(step: &Step<'_>) -> Result<Vec<File>, AgentError> {
    let spec = &step.spec;
    let workspace = step.workspace();
    let mut files = Vec::new();
    if !workspace.join("Cargo.toml").is_file() {
        files.extend(crate::development::whole_project(step)?);
    } else {
        let all = apiwright_codegen::items(spec);
        let mounted = mounted(workspace);
        let missing: Vec<&String> = all.iter().filter(|item| !mounted.contains(item)).collect();
        for item in &missing {
            let generated = apiwright_codegen::try_tests_for(spec, item)
                .and_then(|mut tests| {
                    tests.extend(apiwright_codegen::try_implementation_for(spec, item, &all)?);
                    Ok(tests)
                })
                .map_err(|error| AgentError::Fatal(format!("code generation failed: {error}")))?;
            files.extend(generated.into_iter().map(|file| File {
                path: file.path,
                contents: file.contents,
            }));
        }
        files.retain(|file| {
            file.path == "src/resources/mod.rs" || !workspace.join(&file.path).exists()
        });
    }
    for (path, contents) in [
        ("ci.sh", crate::operations::ci_script(spec)),
        (
            "openapi.json",
            format!(
                "{}\n",
                serde_json::to_string_pretty(&crate::openapi::openapi_document(spec))
                    .unwrap_or_default()
            ),
        ),
    ] {
        if !workspace.join(path).exists() && !files.iter().any(|file| file.path == path) {
            files.push(File {
                path: path.into(),
                contents,
            });
        }
    }
    let mut kept: Vec<File> = Vec::new();
    for file in files {
        match kept.iter_mut().find(|known| known.path == file.path) {
            Some(known) => *known = file,
            None => kept.push(file),
        }
    }
    Ok(kept)
}

/// RFC 3339 UTC timestamp of now (civil date from days since the epoch).
fn timestamp() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

pub(crate) fn backend_developer(step: &Step<'_>) -> Result<Work, AgentError> {
    let spec = &step.spec;
    let iteration = step.request.iteration;
    let files = missing_parts(step)?;
    crate::context::write_files(step.workspace(), &files)?;
    let written: Vec<String> = files.iter().map(|file| file.path.clone()).collect();

    let mut evidence = inspect(spec, step.workspace());
    let env = step.env();
    let fmt = run_tool(
        step.workspace(),
        env,
        "cargo",
        &["fmt", "--check"],
        CARGO_LIMIT,
    );
    let clippy = run_tool(
        step.workspace(),
        env,
        "cargo",
        &["clippy", "--all-targets", "--", "-D", "warnings"],
        CARGO_LIMIT,
    );
    let test = run_tool(step.workspace(), env, "cargo", &["test"], CARGO_LIMIT);
    evidence.fmt_clean = fmt.success;
    evidence.clippy_clean = clippy.success;
    evidence.tests = test_counts(&test.output);
    let scores = score(&evidence);
    Ok(evaluation(
        step,
        iteration,
        &evidence,
        &scores,
        written,
        [&fmt, &clippy, &test],
        files,
    ))
}

/// Builds the iteration's deliverable and the agent's record from the evidence.
fn evaluation(
    step: &Step<'_>,
    iteration: u32,
    evidence: &Evidence,
    scores: &Scores,
    written: Vec<String>,
    runs: [&crate::process::ToolRun; 3],
    files: Vec<File>,
) -> Work {
    let spec = &step.spec;
    let mut components = [
        ("tests", scores.tests, "make every `cargo test` test pass"),
        (
            "lint",
            scores.lint,
            "make `cargo fmt --check` and clippy -D warnings pass",
        ),
        (
            "api_design",
            scores.api_design,
            "document every spec endpoint in openapi.json",
        ),
        (
            "service_architecture",
            scores.service_architecture,
            "mount every spec batch in the route registry",
        ),
        (
            "database_implementation",
            scores.database_implementation,
            "give every resource a table and a down migration",
        ),
        (
            "security_integration",
            scores.security_integration,
            "mount auth, keep rate limiting, keep the suite green",
        ),
    ];
    components.sort_by(|a, b| b.1.total_cmp(&a.1));
    let strengths: Vec<String> = components
        .iter()
        .take(3)
        .map(|(name, value, _)| format!("{name}: {value}/100 (measured)"))
        .collect();
    let gaps: Vec<String> = components
        .iter()
        .rev()
        .filter(|(_, value, _)| *value < 100.0)
        .take(3)
        .map(|(name, value, action)| format!("{name} {value}/100: {action}"))
        .collect();
    let passes = scores.backend_score >= 95.0;
    let previous: Vec<Value> = step
        .request
        .reads
        .iter()
        .filter(|entry| entry.key.contains("/backend-developer/iteration-"))
        .filter_map(|entry| serde_json::from_str::<Value>(&entry.value).ok())
        .map(|value| json!({"iteration": value["iteration"], "backend_score": value["backend_implementation"]["backend_score"]}))
        .collect();
    let inputs: Vec<&str> = step
        .request
        .reads
        .iter()
        .map(|entry| entry.key.as_str())
        .collect();
    let has = |suffix: &str| inputs.iter().any(|key| key.ends_with(suffix));
    let traced = |suffix: &str, what: &str| {
        if has(suffix) {
            format!(
                "{what} read as context; the implementation follows the spec, which takes precedence"
            )
        } else {
            format!("no {what} was provided; the spec is the only source")
        }
    };
    let endpoints = spec.endpoints();
    let commands: Vec<Value> = runs
        .iter()
        .map(|run| {
            json!({
                "command": run.command,
                "success": run.success,
                "exit_code": run.exit_code,
                "output_tail": tail(&run.output, 15),
            })
        })
        .collect();
    let document = json!({
        "agent": "backend-developer",
        "phase": "phase4",
        "iteration": iteration,
        "timestamp": timestamp(),
        "input_references": inputs,
        "backend_implementation": {
            "backend_score": scores.backend_score,
            "api_design": scores.api_design,
            "database_implementation": scores.database_implementation,
            "security_integration": scores.security_integration,
            "performance_optimization": Value::Null,
            "service_architecture": scores.service_architecture,
            "tests": scores.tests,
            "lint": scores.lint,
            "score_formula": SCORE_FORMULA,
        },
        "api_specification": {
            "api_standard": "RESTful API described by OpenAPI 3.1 (openapi.json)",
            "authentication": format!(
                "JWT bearer access tokens ({} min) with refresh tokens ({} days); roles {}",
                spec.auth.access_token_minutes,
                spec.auth.refresh_token_days,
                spec.auth.roles.join(", ")
            ),
            "key_endpoints": endpoints.iter().map(|e| format!("{e} - {}", e.summary)).collect::<Vec<_>>(),
            "data_contracts": "JSON schemas for every request and response in openapi.json; errors are RFC 9457 problem details",
            "documented_endpoints": evidence.documented,
            "spec_endpoints": evidence.spec_endpoints,
        },
        "database_implementation": {
            "primary_database": "SQLite (WAL), the built-in provider's one stack",
            "schema_design": format!("{} resource tables found of {} resources, foreign keys from the spec's references", evidence.tables, evidence.resources),
            "performance_features": ["indexes on filtered, sorted and unique fields", "WAL journal"],
            "migration_strategy": if evidence.down_migration { "versioned up and down migrations (migrations/0001_init.*.sql), applied at start" } else { "no down migration found" },
        },
        "service_architecture": {
            "design": "one axum service, one module per resource, a route registry mounting implemented batches",
            "implemented_endpoints": evidence.implemented,
            "mounted_batches": mounted(step.workspace()),
        },
        "security_implementation": {
            "authentication_service": if evidence.auth_mounted { "auth endpoints mounted (register, login, refresh, password reset)" } else { "auth endpoints not mounted" },
            "authorization": "role checks per operation from the spec's access rules",
            "rate_limiting": if evidence.rate_limiting { format!("{} requests/min per user, {} per IP", spec.rate_limits.per_user_per_minute, spec.rate_limits.per_ip_per_minute) } else { "not present".to_string() },
            "not_checked": "no security scan or penetration test was run by this agent",
        },
        "performance_optimization": {
            "measured": false,
            "note": "no load test was run; performance is left out of the backend score",
            "targets": {"p95_ms": spec.slas.p95_ms, "rps": spec.slas.rps, "error_rate_percent": spec.slas.error_rate_percent},
        },
        "external_integrations": [],
        "iteration_status": if passes {
            format!("COMPLETED - backend score {} measured from builds, lints, tests and the contract", scores.backend_score)
        } else {
            format!("NEEDS WORK - backend score {} is below 95", scores.backend_score)
        },
        "next_iteration_focus": gaps.clone(),
        "cross_phase_traceability": {
            "architectural_alignment": traced("/system-architect-evaluation", "system architecture"),
            "data_integration": traced("/data-architect", "data architecture"),
            "security_compliance": traced("/security-architect", "security architecture"),
        },
        "server_strengths": strengths,
        "performance_improvements": [
            "not assessed: no load test was run by this agent",
        ],
        "recommendation": if passes {
            "ready for the decision gates; run a load test before deployment (not done here)".to_string()
        } else {
            format!("another iteration: {}", gaps.join("; "))
        },
        "next_steps": if passes { vec!["approve the decision gates".to_string(), "measure performance with a load test".to_string()] } else { gaps.clone() },
        "previous_iterations": previous,
        "changes": written,
        "evidence": commands,
    });
    let mut work = Work {
        summary: format!(
            "Iteration {iteration}: wrote {} files; measured backend score {}/100 (tests {}, lint {}, API {}, service {}, database {}, security {}; performance not measured)",
            files.len(),
            scores.backend_score,
            scores.tests,
            scores.lint,
            scores.api_design,
            scores.service_architecture,
            scores.database_implementation,
            scores.security_integration
        ),
        decisions: vec![
            "Built in the built-in provider's one stack, Rust/axum/SQLite, from the spec".into(),
            "The backend score is computed from evidence measured this iteration, never asserted; performance is not measured and not scored".into(),
            "Existing files are never overwritten; only missing parts are generated".into(),
        ],
        files,
        ..Work::default()
    };
    // Written already (the checks needed them on disk); `finish` rewrites them unchanged.
    work.deliverables
        .insert(step.write_name(&format!("iteration-{iteration}")), document);
    work
}

#[cfg(test)]
#[path = "seed004_tests.rs"]
mod tests;
