//! Seed 001 (`api-orchestration-sop`): the orchestrator (intent and HARD/SOFT/INFERRED
//! requirements, delegation, the delivery report with its confidence ceiling), the test
//! engineer (records the generated tests without claiming they pass), the release engineer
//! (safety-net plans, marked as plans: nothing is deployed), the adversarial validator
//! (evidence from recorded gates only) and the backend developer's seed 001 work (CI wiring
//! with the implementation, and the fixes of the validation loop). The designer is in
//! `crate::design`; the code reviewer is `crate::development::code_reviewer`.

use apiwright_agents::AgentError;
use apiwright_agents::confidence::Confidence;
use apiwright_agents::confidence::GateVerdict;
use apiwright_agents::confidence::final_records;
use apiwright_spec::Spec;
use serde_json::Value;
use serde_json::json;

use crate::context::File;
use crate::context::Step;
use crate::context::Work;
use crate::context::spec_text;
use crate::context::states;

/// Seed 001's MCP tags for orchestration notes.
fn mcp_tags(step: &Step<'_>) -> Value {
    let session = step
        .request
        .params
        .get("session")
        .map_or("default", String::as_str);
    json!({"WHO": format!("api-development-{session}"), "WHY": "skill-execution"})
}

fn intent(step: &Step<'_>) -> Value {
    let spec = &step.spec;
    json!({
        "purpose": if spec.api.description.is_empty() { format!("{} (the spec states no description)", spec.title()) } else { spec.api.description.clone() },
        "api": {"name": spec.api.name, "title": spec.title(), "version": spec.api.version},
        "resources": spec.resources.iter().map(|r| r.plural()).collect::<Vec<_>>(),
        "slas": {"p95_ms": spec.slas.p95_ms, "rps": spec.slas.rps, "error_rate_percent": spec.slas.error_rate_percent, "memory_mb": spec.slas.memory_mb},
        "dependencies": {"runtime": ["SQLite (embedded, one file per instance)"], "external": [], "note": "the spec names no third-party integration"},
        "compliance": {"stated": false, "note": "the spec states no compliance regime (e.g. GDPR, PCI); none is assumed"},
        "language": "en",
        "mcp_tags": mcp_tags(step),
    })
}

fn requirement(id: String, category: &str, text: String, source: &str) -> Value {
    json!({"id": id, "category": category, "requirement": text, "source": source})
}

/// HARD (stated by the spec, must hold), SOFT (stated, should hold), INFERRED (assumed from
/// defaults and conventions; to be confirmed at the `inferred-confirmed` approval).
fn requirements(step: &Step<'_>) -> Value {
    let spec = &step.spec;
    let text = spec_text(step);
    let (mut hard, mut soft, mut inferred) = (Vec::new(), Vec::new(), Vec::new());
    let slas = format!(
        "p95 < {} ms, > {} req/s, error rate < {} %, memory < {} MB",
        spec.slas.p95_ms, spec.slas.rps, spec.slas.error_rate_percent, spec.slas.memory_mb
    );
    if states(&text, "slas") {
        hard.push(requirement("H-SLA".into(), "sla", slas, "spec: slas"));
    } else {
        inferred.push(requirement(
            "I-SLA".into(),
            "sla",
            slas,
            "defaults (seed 000's targets); the spec states no SLAs",
        ));
    }
    let auth = format!(
        "JWT bearer tokens ({} min), rotating refresh tokens ({} days), roles {} (default {}), passwords of at least {} characters",
        spec.auth.access_token_minutes,
        spec.auth.refresh_token_days,
        spec.auth.roles.join(", "),
        spec.auth.default_role,
        spec.auth.password_min_length
    );
    if states(&text, "auth") {
        hard.push(requirement("H-AUTH".into(), "auth", auth, "spec: auth"));
    } else {
        inferred.push(requirement(
            "I-AUTH".into(),
            "auth",
            auth,
            "defaults; the spec states no auth section",
        ));
    }
    for resource in &spec.resources {
        let access: Vec<String> = apiwright_spec::Operation::ALL
            .into_iter()
            .map(|operation| {
                format!(
                    "{} by {}",
                    operation.as_str(),
                    resource.access.get(operation).join("/")
                )
            })
            .collect();
        hard.push(requirement(
            format!("H-AUTHZ-{}", resource.plural()),
            "auth",
            format!(
                "{}: {}{}",
                resource.plural(),
                access.join(", "),
                if resource.owned {
                    "; records visible only to their owner and admins"
                } else {
                    ""
                }
            ),
            "spec: resources.access, resources.owned",
        ));
        let constrained: Vec<String> = resource
            .fields
            .iter()
            .filter(|f| f.required || f.unique)
            .map(|f| {
                format!(
                    "{}{}{}",
                    f.name,
                    if f.required { " required" } else { "" },
                    if f.unique { " unique" } else { "" }
                )
            })
            .collect();
        if !constrained.is_empty() {
            hard.push(requirement(
                format!("H-DATA-{}", resource.plural()),
                "data",
                format!("{}: {}", resource.plural(), constrained.join(", ")),
                "spec: resources.fields",
            ));
        }
        soft.push(requirement(
            format!("S-LIST-{}", resource.plural()),
            "performance",
            format!(
                "{}: pages of {} (at most {})",
                resource.plural(),
                resource.list.page_size,
                resource.list.max_page_size
            ),
            "spec: resources.list",
        ));
    }
    let limits = format!(
        "{} req/min per user, {} per IP",
        spec.rate_limits.per_user_per_minute, spec.rate_limits.per_ip_per_minute
    );
    if states(&text, "rate_limits") {
        soft.push(requirement(
            "S-RATE".into(),
            "sla",
            limits,
            "spec: rate_limits",
        ));
    } else {
        inferred.push(requirement(
            "I-RATE".into(),
            "sla",
            limits,
            "defaults; the spec states no rate limits",
        ));
    }
    inferred.push(requirement(
        "I-VERSION".into(),
        "compatibility",
        "URL path versioning (/api/v1); breaking changes under /api/v2".into(),
        "convention",
    ));
    inferred.push(requirement(
        "I-COMPAT".into(),
        "compatibility",
        "no previous contract version exists, so there is nothing to stay compatible with yet"
            .into(),
        "the spec names no earlier version",
    ));
    inferred.push(requirement(
        "I-STACK".into(),
        "platform",
        "Rust, axum, SQLite, Docker: the only stack the built-in agents generate".into(),
        "built-in provider",
    ));
    inferred.push(requirement(
        "I-ERRORS".into(),
        "compatibility",
        "errors as RFC 9457 problem+json".into(),
        "convention",
    ));
    json!({
        "hard": hard,
        "soft": soft,
        "inferred": inferred,
        "confirmation": "the INFERRED requirements are confirmed (or not) at the inferred-confirmed approval gate",
        "language": "en",
        "mcp_tags": mcp_tags(step),
    })
}

fn delegation(step: &Step<'_>) -> Value {
    let contract = step.read("/api-designer/contract");
    let endpoints = contract.as_ref().and_then(|c| c["endpoint_count"].as_u64());
    json!({
        "assignments": [
            {"role": "backend-developer", "deliverable": "implementation", "receives": ["contract (openapi.json)", "error-model", "versioning-policy", "HARD requirements"], "task": "implement every endpoint of the contract with authn/authz and schema validation; wire CI (ci.sh, GitHub Actions) and linters"},
            {"role": "test-engineer", "deliverable": "tests", "receives": ["contract", "implementation"], "task": "record the tests of the implementation; contract tests are planned"},
            {"role": "code-reviewer", "deliverable": "review", "receives": ["requirements", "implementation", "tests"], "task": "format, lint with warnings as errors, review against the contract"},
        ],
        "contract_endpoints": endpoints,
        "registry": "built-in roles only (apiwright-builtin); each step has the engine's time limit",
        "verified_by": ["build", "lint", "tests"],
        "mcp_tags": mcp_tags(step),
    })
}

/// Who owns a risk of a gate that did not pass.
fn owner(gate: &str) -> &'static str {
    match gate {
        "contract" => "test-engineer",
        "load" => "adversarial-validator",
        "security" => "backend-developer",
        "rollback" => "release-engineer",
        "build" | "lint" | "tests" => "backend-developer",
        _ => "api-orchestrator",
    }
}

fn delivery_report(step: &Step<'_>) -> (Value, String) {
    let spec = &step.spec;
    let gates = &step.request.gates;
    let records = final_records(gates);
    let confidence = Confidence::from_verdicts(
        records
            .iter()
            .map(|r| (r.gate.as_str(), GateVerdict::of_outcome(&r.outcome))),
    );
    let evidence = json!({
        "contract": crate::evidence::check_status(gates, "contract", &["contract"]),
        "load": crate::evidence::check_status(gates, "load", &["load", "performance"]),
        "security": crate::evidence::check_status(gates, "security", &["security"]),
        "rollback": crate::evidence::check_status(gates, "rollback", &["rollback"]),
        "gates": crate::evidence::gate_table(gates),
    });
    let mut risks: Vec<Value> = records
        .iter()
        .filter(|r| GateVerdict::of_outcome(&r.outcome) != GateVerdict::Verified)
        .map(|r| json!({"risk": format!("{} / {}: {}", r.phase, r.gate, r.summary), "outcome": r.outcome, "owner": owner(&r.gate)}))
        .collect();
    risks.push(json!({"risk": "deployment, canary and rollback are plans: nothing was deployed or rolled back in this version", "outcome": "not_run", "owner": "release-engineer"}));
    if let Some(requirements) = step.read("/api-orchestrator/requirements") {
        let inferred = requirements["inferred"].as_array().map_or(0, Vec::len);
        if inferred > 0 {
            risks.push(json!({"risk": format!("{inferred} INFERRED requirements rest on assumptions"), "outcome": "to_confirm", "owner": "api-orchestrator"}));
        }
    }
    let canary = step.read("/release-engineer/canary-plan");
    let rollback = step.read("/release-engineer/rollback-plan");
    let report = json!({
        "intent": format!("{} {}: {}", spec.title(), spec.api.version, spec.api.description),
        "constraints": step.read("/api-orchestrator/requirements").map(|r| json!({"hard": r["hard"], "soft": r["soft"], "inferred": r["inferred"]})),
        "contract_summary": format!("{} endpoints under /api/v1 in openapi.json (OpenAPI 3.1), errors as RFC 9457 problem+json", spec.endpoints().len()),
        "deployment_strategy": canary.map_or(json!("no canary plan was recorded"), |c| json!({"plan": c["stages"], "status": c["status"]})),
        "rollback_strategy": rollback.map_or(json!("no rollback plan was recorded"), |r| json!({"plan": r["steps"], "status": r["status"]})),
        "slas": {"p95_ms": spec.slas.p95_ms, "rps": spec.slas.rps, "error_rate_percent": spec.slas.error_rate_percent, "memory_mb": spec.slas.memory_mb, "verified": evidence["load"]["status"]},
        "dependency_impacts": "none external: SQLite is embedded; a new JWT_SECRET invalidates issued tokens",
        "validation_evidence": evidence,
        "risks": risks,
        "confidence": {"value": confidence.value, "ceiling_kind": confidence.ceiling_kind, "ceiling": confidence.ceiling, "rationale": confidence.rationale, "line": confidence.line()},
        "confidence_basis": "gates recorded before this step; the delivery phase's own gates are not counted",
        "language": "en",
        "mcp_tags": mcp_tags(step),
    });
    let mut markdown = format!(
        "# Delivery: {}\n\n## API intent, constraints, and contract summary\n- {}\n- {}\n\n## Deployment/rollback strategy, SLAs, and dependency impacts\n- Deployment: plan only, nothing deployed ({})\n- SLAs: p95 < {} ms, > {} req/s, error rate < {} % — load evidence: {}\n- Dependencies: {}\n\n## Validation evidence and risks\n",
        spec.title(),
        report["intent"].as_str().unwrap_or_default(),
        report["contract_summary"].as_str().unwrap_or_default(),
        report["deployment_strategy"]["status"]
            .as_str()
            .unwrap_or("no plan"),
        spec.slas.p95_ms,
        spec.slas.rps,
        spec.slas.error_rate_percent,
        evidence["load"]["status"].as_str().unwrap_or("not_run"),
        report["dependency_impacts"].as_str().unwrap_or_default()
    );
    for check in ["contract", "load", "security", "rollback"] {
        markdown.push_str(&format!(
            "- {check}: {}\n",
            evidence[check]["status"].as_str().unwrap_or("not_run")
        ));
    }
    for risk in report["risks"].as_array().into_iter().flatten() {
        markdown.push_str(&format!(
            "- Risk ({}): {}\n",
            risk["owner"].as_str().unwrap_or_default(),
            risk["risk"].as_str().unwrap_or_default()
        ));
    }
    markdown.push_str(&format!("\n{}\n", confidence.line()));
    (report, markdown)
}

pub(crate) fn orchestrator(step: &Step<'_>) -> Result<Work, AgentError> {
    let mut work = Work::default();
    let mut done = Vec::new();
    if step.wants("intent") {
        work.deliverables
            .insert(step.write_name("intent"), intent(step));
        done.push("defined the intent");
    }
    if step.wants("requirements") {
        let requirements = requirements(step);
        work.decisions.push(format!(
            "{} HARD, {} SOFT, {} INFERRED requirements",
            requirements["hard"].as_array().map_or(0, Vec::len),
            requirements["soft"].as_array().map_or(0, Vec::len),
            requirements["inferred"].as_array().map_or(0, Vec::len)
        ));
        work.deliverables
            .insert(step.write_name("requirements"), requirements);
        done.push("split the requirements into HARD/SOFT/INFERRED");
    }
    if step.wants("delegation") {
        work.deliverables
            .insert(step.write_name("delegation"), delegation(step));
        done.push("assigned implementation, testing and review");
    }
    if step.wants("delivery-report") {
        let (report, markdown) = delivery_report(step);
        work.decisions.push(
            report["confidence"]["line"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        work.files.push(File {
            path: "docs/delivery-report.md".into(),
            contents: markdown,
        });
        work.deliverables
            .insert(step.write_name("delivery-report"), report);
        done.push("summarized the delivery with its confidence ceiling (docs/delivery-report.md)");
    }
    work.summary = format!("{} for {}", done.join("; "), step.spec.title());
    Ok(work)
}

pub(crate) fn test_engineer(step: &Step<'_>) -> Result<Work, AgentError> {
    let files = crate::generation::count_tests(step.workspace(), "tests");
    let total: usize = files.iter().map(|(_, n)| n).sum();
    let mut work = Work {
        summary: format!(
            "Recorded {total} tests in {} files of the generated project (not run by this step)",
            files.len()
        ),
        decisions: vec![
            "The tests gate runs them; this step claims nothing about their outcome".into(),
        ],
        ..Work::default()
    };
    work.deliverables.insert(
        step.write_name("tests"),
        json!({
            "files": files.iter().map(|(file, tests)| json!({"file": file, "tests": tests})).collect::<Vec<_>>(),
            "total": total,
            "executed": false,
            "outcome": "not claimed: the tests gate of this phase runs them",
            "contract_tests": {"status": "not_run", "reason": "contract testing against openapi.json is planned (the contract gate of the validation loop)"},
            "compatibility": {"status": "not_applicable", "reason": "no previous contract version exists"},
        }),
    );
    Ok(work)
}

fn release_plans(spec: &Spec) -> [(&'static str, Value); 5] {
    let (up, down) = apiwright_codegen::migrations(spec);
    let slas =
        json!({"p95_ms": spec.slas.p95_ms, "error_rate_percent": spec.slas.error_rate_percent});
    let stages: Vec<Value> = [10, 50, 100]
        .into_iter()
        .map(|percent| json!({"traffic_percent": percent, "hold_minutes": if percent == 100 { 0 } else { 15 }, "promote_if": slas}))
        .collect();
    [
        (
            "migration-plan",
            json!({
                "status": "plan", "performed": false,
                "up": up, "down": down,
                "files": ["migrations/0001_init.up.sql", "migrations/0001_init.down.sql"],
                "apply": "the service applies the up migration at start",
                "reversal": "apply migrations/0001_init.down.sql after routing traffic back",
                "backward_compatibility": "within /api/v1 only additive migrations",
            }),
        ),
        (
            "feature-flags",
            json!({
                "status": "plan", "implemented": false,
                "mechanism": "none in the generated service",
                "proposed": spec.resources.iter().map(|r| json!({"flag": format!("ENABLE_{}", r.plural().to_uppercase()), "default": true, "guards": format!("/api/v1/{}", r.plural())})).collect::<Vec<_>>(),
            }),
        ),
        (
            "canary-plan",
            json!({
                "status": "plan", "performed": false,
                "stages": stages,
                "rollback_if": format!("p95 >= {} ms or error rate >= {} % at any stage", spec.slas.p95_ms, spec.slas.error_rate_percent),
                "health": "/health must answer 200 on every new instance",
            }),
        ),
        (
            "rollback-plan",
            json!({
                "status": "plan", "rehearsed": false,
                "triggers": ["a canary stage breaks its SLA", "a security finding", "/health answers 503"],
                "steps": ["route all traffic to the previous version", "stop the new version", "apply migrations/0001_init.down.sql only if the schema changed"],
                "note": "rollback simulation is the validation loop's rollback gate, planned in this version",
            }),
        ),
        (
            "secrets-and-quotas",
            json!({
                "status": "plan",
                "secrets": [{"name": "JWT_SECRET", "source": "environment (k8s secret `jwt-secret`)", "rotation": "invalidates every issued token"}],
                "quotas": {"per_user_per_minute": spec.rate_limits.per_user_per_minute, "per_ip_per_minute": spec.rate_limits.per_ip_per_minute, "max_body_bytes": 1_048_576},
                "enforced": "the generated service reads secrets from the environment and enforces the rate limits",
            }),
        ),
    ]
}

pub(crate) fn release_engineer(step: &Step<'_>) -> Result<Work, AgentError> {
    let mut work = Work {
        summary: "Planned migrations with their reversal, feature flags, canary 10/50/100, rollback, secrets and quotas (plans; nothing deployed)".into(),
        decisions: vec!["Plans are marked as plans: deployment is not performed in this version".into()],
        ..Work::default()
    };
    for (name, value) in release_plans(&step.spec) {
        if step.wants(name) {
            work.deliverables.insert(step.write_name(name), value);
        }
    }
    Ok(work)
}

pub(crate) fn adversarial_validator(step: &Step<'_>) -> Result<Work, AgentError> {
    let gates = &step.request.gates;
    let checks: Vec<(&str, Value)> = [
        ("contract", vec!["contract"]),
        ("load", vec!["load", "performance"]),
        ("security", vec!["security"]),
        ("rollback", vec!["rollback"]),
    ]
    .into_iter()
    .map(|(kind, ids)| (kind, crate::evidence::check_status(gates, kind, &ids)))
    .collect();
    let mut evidence = json!({
        "iteration": step.request.iteration,
        "fuzzing": {"status": "not_run", "reason": "endpoint fuzzing is not part of this version"},
        "failure_drill": {"status": "not_run", "reason": "failure drills are not part of this version"},
        "gates": crate::evidence::gate_table(gates),
        "mcp_tags": mcp_tags(step),
    });
    let statuses: Vec<String> = checks
        .iter()
        .map(|(kind, value)| format!("{kind} {}", value["status"].as_str().unwrap_or("not_run")))
        .collect();
    if let Some(object) = evidence.as_object_mut() {
        for (kind, value) in checks {
            object.insert(kind.to_string(), value);
        }
    }
    let mut work = Work {
        summary: format!(
            "Iteration {}: evidence from recorded gates only — {}",
            step.request.iteration,
            statuses.join(", ")
        ),
        decisions: vec!["No check is reported as passed unless its gate ran and passed".into()],
        ..Work::default()
    };
    work.deliverables
        .insert(step.write_name("evidence"), evidence);
    Ok(work)
}

/// The backend developer: the common work is `crate::development`'s; seed 001 adds CI wiring
/// to `implementation` and the validation loop's `fixes`.
pub(crate) fn backend_developer(step: &Step<'_>) -> Result<Work, AgentError> {
    let mut work = crate::development::backend_developer(step)?;
    if step.wants("implementation") {
        let ci: Vec<File> = crate::operations::devops_files(&step.spec)
            .into_iter()
            .filter(|file| file.path == "ci.sh" || file.path.ends_with("ci.yml"))
            .collect();
        let paths: Vec<String> = ci.iter().map(|f| f.path.clone()).collect();
        work.files.extend(ci);
        if let Some(implementation) = work
            .deliverables
            .get_mut(&step.write_name("implementation"))
            .and_then(Value::as_object_mut)
        {
            implementation.insert("ci".into(), json!({"files": paths, "entry_point": "sh ci.sh ci", "linters": ["cargo fmt --check", "cargo clippy --all-targets -- -D warnings"]}));
        }
    }
    if step.wants("fixes") {
        let records = final_records(&step.request.gates);
        let failed: Vec<&str> = records
            .iter()
            .filter(|r| GateVerdict::of_outcome(&r.outcome) == GateVerdict::Failed)
            .map(|r| r.gate.as_str())
            .collect();
        let not_run: Vec<&str> = records
            .iter()
            .filter(|r| GateVerdict::of_outcome(&r.outcome) == GateVerdict::NotRun)
            .map(|r| r.gate.as_str())
            .collect();
        let regenerated = !failed.is_empty();
        if regenerated {
            work.files.extend(crate::development::whole_project(step)?);
        }
        work.summary = if regenerated {
            format!(
                "Regenerated the project after failed gates ({}); the generator is deterministic, so a failure it caused will recur and needs a person",
                failed.join(", ")
            )
        } else {
            "Nothing to fix: no gate has failed; checks this version does not run cannot be fixed by the built-in generator".into()
        };
        work.deliverables.insert(
            step.write_name("fixes"),
            json!({
                "iteration": step.request.iteration,
                "feedback": step.request.feedback,
                "failed_gates": failed,
                "not_run_gates": not_run,
                "regenerated": regenerated,
                "fixed": [],
                "cannot_fix": not_run.iter().map(|gate| json!({"gate": gate, "reason": "not run: this version cannot produce that evidence, so there is nothing the generator can change"})).collect::<Vec<_>>(),
            }),
        );
    }
    Ok(work)
}

#[cfg(test)]
#[path = "seed001_tests.rs"]
mod tests;
