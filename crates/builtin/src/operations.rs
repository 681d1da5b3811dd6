//! Operations roles: the devops engineer (CI, containers, Kubernetes manifests, `ci.sh`,
//! runbook; deployment is reported as not performed), the production validator (go/no-go
//! computed only from recorded gate evidence), and the security, performance and monitoring
//! roles: where a gate produces their evidence they write the plan it follows
//! (`validation_plans.rs`); otherwise they report `not_run`.

use apiwright_agents::confidence::visit_of;
use std::collections::BTreeMap;

use apiwright_agents::AgentError;
use apiwright_agents::GateRecord;
use apiwright_spec::Spec;
use serde_json::json;

use crate::context::File;
use crate::context::Step;
use crate::context::Work;

pub(crate) fn ci_script(spec: &Spec) -> String {
    format!(
        r#"#!/bin/sh
# Local CI for {name}: the checks the pipeline and apiwright's gates run.
# Usage: sh ci.sh [build|typecheck|test|test-item NAME|lint|ci|db-check|openapi|release|serve|package DIR]
set -eu
cd "$(dirname "$0")"
step="${{1:-ci}}"
case "$step" in
  build) cargo build --all-targets ;;
  typecheck) cargo check --all-targets ;;
  test) cargo test ;;
  test-item) cargo test --test "${{2:?usage: ci.sh test-item NAME}}" ;;
  lint) cargo fmt --check && cargo clippy --all-targets -- -D warnings ;;
  ci) cargo fmt --check && cargo clippy --all-targets -- -D warnings && cargo test ;;
  db-check) cargo test --test platform ;;
  release) cargo build --release --bin {name} ;;
  # The release binary in the foreground (`exec`: apiwright's evidence gates measure this
  # process's memory and stop it with a signal). Configured by the environment: PORT,
  # DATABASE_PATH, ADMIN_EMAIL/ADMIN_PASSWORD, RATE_LIMIT_PER_USER/RATE_LIMIT_PER_IP.
  serve) exec "${{CARGO_TARGET_DIR:-target}}/release/{name}" ;;
  # A release apiwright keeps and deploys: the binary (as `service`), its OpenAPI document
  # and migrations. The migrations are embedded in the binary and applied at start, before
  # the release takes traffic; the SQL files are kept for the down migrations of a rollback.
  package)
    dir="${{2:?usage: ci.sh package DIR}}"
    mkdir -p "$dir/migrations"
    cp "${{CARGO_TARGET_DIR:-target}}/release/{name}" "$dir/service"
    cp openapi.json "$dir/openapi.json"
    cp migrations/*.sql "$dir/migrations/" ;;
  openapi)
    # The document parses as JSON (with python3; without it grep only looks for the field)
    # and declares OpenAPI 3.1. apiwright's `openapi` gate checks the rest: path parameters,
    # operationIds, $refs, and that the operations are exactly the routes the service serves.
    test -s openapi.json || {{ echo "ci.sh openapi: openapi.json is missing or empty" >&2; exit 1; }}
    if command -v python3 >/dev/null 2>&1; then
      python3 -c 'import json, sys
try:
    document = json.load(open("openapi.json"))
except ValueError as error:
    sys.exit("ci.sh openapi: openapi.json is not valid JSON: %s" % error)
version = document.get("openapi") if isinstance(document, dict) else None
if not (isinstance(version, str) and version.startswith("3.1.")):
    sys.exit("ci.sh openapi: expected an \"openapi\": \"3.1.x\" field in openapi.json, found %r" % (version,))'
    else
      grep -q '"openapi"[[:space:]]*:[[:space:]]*"3\.1\.' openapi.json || {{ echo 'ci.sh openapi: expected an "openapi": "3.1.x" field in openapi.json' >&2; exit 1; }}
    fi ;;
  coverage)
    echo "ci.sh coverage: measured by apiwright's coverage gate (LLVM source-based coverage); see REPORT.md" >&2
    exit 3 ;;
  contract|security|load)
    echo "ci.sh $step: run by apiwright's $step gate against 'ci.sh serve' (apiwright check $step --url URL --openapi openapi.json)" >&2
    exit 3 ;;
  deploy|rollback)
    echo "ci.sh $step: run by apiwright's deploy gate (blue/green behind its proxy); roll back with 'apiwright deploy rollback'" >&2
    exit 3 ;;
  e2e|health)
    echo "ci.sh $step: not available in this version of apiwright (planned); nothing was checked" >&2
    exit 3 ;;
  *) echo "ci.sh: unknown step '$step'" >&2; exit 2 ;;
esac
"#,
        name = spec.api.name
    )
}

pub(crate) fn devops_files(spec: &Spec) -> Vec<File> {
    let name = &spec.api.name;
    vec![
        File { path: "ci.sh".into(), contents: ci_script(spec) },
        File {
            path: "Dockerfile".into(),
            contents: format!(
                "# Multi-stage build: compile with the full toolchain, ship a slim image.\n\
                 FROM rust:1-bookworm AS build\nWORKDIR /src\nCOPY . .\nRUN cargo build --release\n\n\
                 FROM debian:bookworm-slim\nRUN useradd --system --home /data app && mkdir -p /data && chown app /data\n\
                 COPY --from=build /src/target/release/{name} /usr/local/bin/{name}\nUSER app\n\
                 ENV PORT=8080 DATABASE_PATH=/data/{name}.db APP_ENV=production\nEXPOSE 8080\nCMD [\"/usr/local/bin/{name}\"]\n"
            ),
        },
        File {
            path: ".github/workflows/ci.yml".into(),
            contents: "name: ci\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: rustup component add rustfmt clippy\n      - run: sh ci.sh ci\n".into(),
        },
        File {
            path: "docker-compose.yml".into(),
            contents: format!(
                "services:\n  {name}:\n    build: .\n    ports: [\"8080:8080\"]\n    environment:\n      JWT_SECRET: ${{JWT_SECRET:?set JWT_SECRET}}\n      DATABASE_PATH: /data/{name}.db\n    volumes: [\"data:/data\"]\nvolumes:\n  data: {{}}\n"
            ),
        },
        File {
            path: "k8s/deployment.yaml".into(),
            contents: format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels: {{app: {name}}}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n        - name: {name}\n          image: {name}:{version}\n          ports: [{{containerPort: 8080}}]\n          env:\n            - {{name: APP_ENV, value: production}}\n            - name: JWT_SECRET\n              valueFrom: {{secretKeyRef: {{name: {name}, key: jwt-secret}}}}\n          readinessProbe: {{httpGet: {{path: /health, port: 8080}}}}\n          livenessProbe: {{httpGet: {{path: /health, port: 8080}}}}\n          resources:\n            requests: {{cpu: 100m, memory: 64Mi}}\n            limits: {{memory: {memory}Mi}}\n",
                version = spec.api.version,
                memory = spec.slas.memory_mb
            ),
        },
        File {
            path: "k8s/service.yaml".into(),
            contents: format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector: {{app: {name}}}\n  ports: [{{port: 80, targetPort: 8080}}]\n"),
        },
    ]
}

pub(crate) fn runbook(spec: &Spec) -> String {
    format!(
        "# Runbook: {title}\n\n## Deploy\n1. `sh ci.sh ci` must pass.\n2. Build the image: `docker build -t {name}:{version} .`\n3. Apply `k8s/`; wait for the readiness probe on `/health`.\n\n\
         ## Monitor\n- `/metrics` (Prometheus): request rate, latency histogram by route, status codes.\n- Alerts (seed 000): p95 > 500 ms warning, > 1000 ms critical; error rate > 1 % warning, > 5 % critical; availability < 99.9 % critical.\n- Targets: p95 < {p95} ms, > {rps} req/s, error rate < {err} %, memory < {mem} MB.\n\n\
         ## Troubleshooting\n- 401 everywhere after a deploy: `JWT_SECRET` changed; tokens issued before are invalid.\n- 503 on `/health`: the database file is missing or not writable.\n- 429: a client exceeded the rate limit; see `Retry-After`.\n\n\
         ## Backup and recovery\n- `sqlite3 $DATABASE_PATH \".backup backup.db\"` while running (WAL makes it consistent).\n\n\
         ## Rollback\n- Route traffic back to the previous version; migrations are backward compatible for one release; `migrations/0001_init.down.sql` reverts the schema.\n\n\
         ## Incident response\n- Security finding or data risk: stop the rollout, roll back, escalate to the team lead.\n",
        title = spec.title(),
        name = spec.api.name,
        version = spec.api.version,
        p95 = spec.slas.p95_ms,
        rps = spec.slas.rps,
        err = spec.slas.error_rate_percent,
        mem = spec.slas.memory_mb
    )
}

pub(crate) fn devops_engineer(step: &Step<'_>) -> Result<Work, AgentError> {
    let spec = &step.spec;
    let mut work = Work::default();
    if step.wants("ci-config") {
        let files = devops_files(spec);
        let paths: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
        work.summary = format!(
            "Wrote the CI pipeline, multi-stage Dockerfile, compose file, Kubernetes manifests and ci.sh ({} files)",
            paths.len()
        );
        work.decisions =
            vec!["ci.sh is the single entry point for local checks and the CI workflow".into()];
        work.files.extend(files);
        work.deliverables.insert(
            step.write_name("ci-config"),
            json!({ "files": paths, "entry_point": "sh ci.sh ci" }),
        );
    }
    if step.wants("runbook") {
        work.files.push(File {
            path: "RUNBOOK.md".into(),
            contents: runbook(spec),
        });
        work.deliverables
            .insert(step.write_name("runbook"), json!({ "file": "RUNBOOK.md" }));
        work.summary = "Wrote the operations runbook".into();
    }
    if step.wants("release-plan") {
        let plan = release_plan(step);
        work.files.push(File {
            path: "docs/RELEASE.md".into(),
            contents: release_plan_markdown(&plan),
        });
        work.deliverables
            .insert(step.write_name("release-plan"), plan);
        work.summary = "Wrote the release plan: staging smoke tests, blue-green canary 10/50/100 with automatic rollback, migrations and rollback procedure".into();
    }
    for deploy in ["staging-deploy", "production-deploy"] {
        if step.wants(deploy) {
            let decision = step
                .read("/production-validator/go-no-go")
                .and_then(|go| {
                    go.get("decision")
                        .and_then(|d| d.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| "unknown".into());
            let reason = if decision == "GO" {
                "deployment is not part of this version of apiwright; nothing was deployed"
                    .to_string()
            } else {
                format!("the production validator's decision is {decision}; nothing was deployed")
            };
            work.deliverables.insert(
                step.write_name(deploy),
                json!({ "status": "NOT_DEPLOYED", "decision": decision, "reason": reason }),
            );
            work.summary = format!("{deploy}: not deployed ({reason})");
        }
    }
    Ok(work)
}

/// The release plan the deploy gates carry out (apiwright's gates run it; this is the plan
/// people read).
fn release_plan(step: &Step<'_>) -> serde_json::Value {
    let param = |name: &str, default: &str| {
        step.request
            .params
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    let slas = &step.spec.slas;
    json!({
        "file": "docs/RELEASE.md",
        "decision": step.read("/production-validator/go-no-go").and_then(|go| go.get("decision").cloned()),
        "staging": {
            "build": "sh ci.sh release", "package": "sh ci.sh package DIR",
            "smoke_tests": ["GET /health answers 2xx", "sign up and sign in", "create, list, read and update records in every collection, each replayed"],
            "database": "fresh",
        },
        "production": {
            "strategy": "blue-green behind apiwright's proxy; blue is the last successfully deployed release",
            "canary": [
                {"percent": 10, "watch_secs": param("canary_watch_10_secs", "300")},
                {"percent": 50, "watch_secs": param("canary_watch_50_secs", "600")},
                {"percent": 100, "watch_secs": "0"},
            ],
            "rollback_when": {"error_rate_percent_above": 1, "p95_ms_above": slas.p95_ms, "green_down": true},
            "keep_blue_secs": param("keep_blue_secs", "3600"),
            "zero_downtime": "a steady client drives traffic through the proxy for the whole shift; any failed request fails the deploy",
        },
        "migrations": "applied by the service at start on the shared database, before green takes traffic; they must be backward compatible (expand only) so blue keeps working",
        "rollback": [
            "apiwright deploy rollback: blue gets all traffic at once, green is stopped",
            "the schema stays: blue runs on the expanded schema; run migrations/*.down.sql only when no release that needs the new columns will run again, with the service stopped, after a backup",
        ],
    })
}

fn release_plan_markdown(plan: &serde_json::Value) -> String {
    let production = &plan["production"];
    let steps: Vec<String> = production["canary"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .map(|step| {
                    format!(
                        "{}% (watch {} s)",
                        step["percent"],
                        step["watch_secs"].as_str().unwrap_or("0")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "# Release plan\n\n## Staging\nA release build (`sh ci.sh release`, packaged with `sh ci.sh package DIR`) on a fresh database. Smoke tests: the health check, then sign up, sign in, and create, list, read and update records in every collection (each replayed).\n\n## Production: blue-green\n- Blue is the last successfully deployed release; green is this one. Both run side by side behind apiwright's proxy on the same database.\n- Green is smoke tested, then traffic moves {steps}.\n- Traffic returns to blue at once when green's error rate exceeds 1%, its p95 exceeds {p95} ms, or green stops answering its health check.\n- A steady client drives traffic through the proxy for the whole shift: any failed request fails the deploy.\n- Blue keeps running {keep} s for instant rollback (`apiwright deploy promote` retires it sooner).\n\n## Migrations\n{migrations}.\n\n## Rollback\n- `apiwright deploy rollback`: blue gets all traffic at once, green is stopped.\n- The schema stays expanded: blue runs on it. Run `migrations/*.down.sql` only when no release needing the new schema will run again, with the service stopped and after a backup (`sqlite3 $DATABASE_PATH \".backup backup.db\"`).\n",
        steps = steps.join(" → "),
        p95 = production["rollback_when"]["p95_ms_above"],
        keep = production["keep_blue_secs"].as_str().unwrap_or("3600"),
        migrations = plan["migrations"].as_str().unwrap_or_default(),
    )
}

fn not_run(step: &Step<'_>, name: &str, what: &str, extra: serde_json::Value) -> Work {
    let mut work = Work {
        summary: format!(
            "{what}: not run — this version of apiwright cannot produce that evidence"
        ),
        ..Work::default()
    };
    let mut value = json!({
        "status": "not_run",
        "reason": format!("{what} is not part of this version of apiwright; no result is claimed"),
    });
    if let (Some(object), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
        object.extend(extra.clone());
    }
    work.deliverables.insert(step.write_name(name), value);
    work
}

pub(crate) fn security_specialist(step: &Step<'_>) -> Result<Work, AgentError> {
    // Where a security gate probes the service, the role writes the threat model it follows.
    if step.wants("threat-model") {
        let mut work = Work::default();
        crate::validation_plans::plans(step, &mut work);
        return Ok(work);
    }
    let checklist = [
        "broken object level authorization",
        "broken authentication",
        "broken object property level authorization",
        "unrestricted resource consumption",
        "broken function level authorization",
        "unrestricted access to sensitive business flows",
        "server side request forgery",
        "security misconfiguration",
        "improper inventory management",
        "unsafe consumption of APIs",
    ];
    Ok(not_run(
        step,
        "audit-report",
        "OWASP API security probing",
        json!({
            "owasp_api_top_10": checklist.iter().map(|item| json!({"item": item, "status": "not_run"})).collect::<Vec<_>>(),
            "critical": null, "high": null,
        }),
    ))
}

pub(crate) fn performance_analyst(step: &Step<'_>) -> Result<Work, AgentError> {
    if step.wants("load-plan") {
        let mut work = Work::default();
        crate::validation_plans::plans(step, &mut work);
        return Ok(work);
    }
    let slas = &step.spec.slas;
    Ok(not_run(
        step,
        "benchmarks",
        "Load, stress, spike and endurance testing",
        json!({
            "targets": {"p95_ms": slas.p95_ms, "rps": slas.rps, "error_rate_percent": slas.error_rate_percent, "memory_mb": slas.memory_mb},
        }),
    ))
}

pub(crate) fn performance_monitor(step: &Step<'_>) -> Result<Work, AgentError> {
    // Where the monitoring gate measures the live deployment, the role configures what it
    // evaluates; the figures come from the gate.
    if step.wants("alerts-config") {
        let alerts = json!({
            "dashboards": {
                "application": ["p50_ms", "p95_ms", "p99_ms", "throughput_rps", "error_rate_percent (5xx and unanswered)", "client_errors (4xx)", "availability_percent"],
                "per_endpoint": "method and route template: requests, p50/p95/p99, error rate",
                "infrastructure": ["db_pool_connections_in_use / db_pool_connections_max from /metrics"],
            },
            "alerts": [
                {"metric": "p95_ms", "warning_above": 500, "critical_above": 1000},
                {"metric": "error_rate_percent", "warning_above": 1, "critical_above": 5},
                {"metric": "availability_percent", "critical_below": 99.9},
                {"metric": "db_pool_usage_percent", "warning_above": 80},
            ],
            "source": "apiwright's proxy (every request to the live release) and the service's /metrics",
            "evaluated_by": "the monitoring gate, on live traffic after the shift",
        });
        let mut work = Work {
            summary:
                "Configured the dashboards and seed 000's alert thresholds for the monitoring gate"
                    .into(),
            ..Work::default()
        };
        work.deliverables
            .insert(step.write_name("alerts-config"), alerts);
        return Ok(work);
    }
    Ok(not_run(
        step,
        "metrics",
        "Production monitoring",
        json!({"p95_ms": null, "error_rate_percent": null, "uptime_percent": null}),
    ))
}

/// Go/no-go from recorded gate evidence only: the latest visit of every phase counts; a
/// failed, rejected or not-run gate is a blocker.
pub(crate) fn decide(gates: &[GateRecord]) -> serde_json::Value {
    let mut latest: BTreeMap<&str, u32> = BTreeMap::new();
    for record in gates {
        let visit = visit_of(&record.round);
        let entry = latest.entry(record.phase.as_str()).or_insert(visit);
        *entry = (*entry).max(visit);
    }
    let counted: Vec<&GateRecord> = gates
        .iter()
        .filter(|record| latest.get(record.phase.as_str()) == Some(&visit_of(&record.round)))
        .collect();
    let ok = |record: &GateRecord| record.outcome == "passed" || record.outcome == "approved";
    let passed = counted.iter().filter(|record| ok(record)).count();
    let blockers: Vec<serde_json::Value> = counted
        .iter()
        .filter(|record| !ok(record))
        .map(|record| json!({"phase": record.phase, "gate": record.gate, "round": record.round, "outcome": record.outcome, "summary": record.summary}))
        .collect();
    let total = counted.len();
    let readiness = (passed * 100 + total / 2).checked_div(total).unwrap_or(0);
    let red_items: Vec<&str> = counted
        .iter()
        .filter(|r| r.gate == "red-fails" && r.outcome == "passed")
        .map(|r| r.round.as_str())
        .collect();
    let green_items = counted
        .iter()
        .filter(|r| r.gate == "green-passes" && r.outcome == "passed")
        .count();
    let decision = if blockers.is_empty() && readiness >= 90 && total > 0 {
        "GO"
    } else {
        "NO-GO"
    };
    json!({
        "decision": decision,
        "readiness_score": readiness,
        "gates_counted": total,
        "gates_passed": passed,
        "blocker_count": blockers.len(),
        "blockers": blockers,
        "tdd": {"verified_red": red_items.len(), "verified_green": green_items},
        "basis": "recorded gate evidence of the latest visit of every phase; nothing else",
    })
}

pub(crate) fn production_validator(step: &Step<'_>) -> Result<Work, AgentError> {
    let verdict = decide(&step.request.gates);
    let decision = verdict["decision"].as_str().unwrap_or("NO-GO").to_string();
    let blockers = verdict["blockers"].as_array().map_or(0, Vec::len);
    let mut work = Work {
        summary: format!(
            "{decision}: readiness {} from {} recorded gates, {blockers} blockers",
            verdict["readiness_score"], verdict["gates_counted"]
        ),
        decisions: vec![format!(
            "Decision {decision}, computed only from recorded gate evidence"
        )],
        ..Work::default()
    };
    work.deliverables
        .insert(step.write_name("go-no-go"), verdict);
    Ok(work)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `sh ci.sh openapi` of the bookstore's project with `document` as openapi.json
    /// (none when `None`); with `python3 == false` only `sh`, `dirname` and `grep` are on
    /// PATH, so the grep fallback runs. Returns the exit code and stderr.
    fn ci_openapi(document: Option<&str>, python3: bool) -> (Option<i32>, String) {
        let spec = crate::test_support::example_spec("bookstore");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ci.sh"), ci_script(&spec)).unwrap();
        if let Some(document) = document {
            std::fs::write(dir.path().join("openapi.json"), document).unwrap();
        }
        let mut command = std::process::Command::new("sh");
        command.arg("ci.sh").arg("openapi").current_dir(dir.path());
        if !python3 {
            let bin = dir.path().join("bin");
            std::fs::create_dir(&bin).unwrap();
            for tool in ["sh", "dirname", "grep"] {
                let found = std::process::Command::new("sh")
                    .args(["-c", &format!("command -v {tool}")])
                    .output()
                    .unwrap();
                let path = String::from_utf8(found.stdout).unwrap();
                std::os::unix::fs::symlink(path.trim(), bin.join(tool)).unwrap();
            }
            command.env("PATH", &bin);
        }
        let output = command.output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        )
    }

    #[test]
    fn ci_sh_openapi_requires_a_json_document_declaring_openapi_3_1() {
        let spec = r#"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}"#;
        for python3 in [true, false] {
            assert_eq!(ci_openapi(Some(spec), python3), (Some(0), String::new()));
            let (code, stderr) = ci_openapi(Some(r#"{"openapi": "3.0.3"}"#), python3);
            assert_eq!(code, Some(1), "python3: {python3}");
            assert!(
                stderr.contains("expected an \"openapi\": \"3.1.x\" field in openapi.json"),
                "{stderr}"
            );
            assert_eq!(
                ci_openapi(None, python3),
                (
                    Some(1),
                    "ci.sh openapi: openapi.json is missing or empty".to_string()
                )
            );
        }
        let (code, stderr) = ci_openapi(Some(r#"{"openapi": "3.1.0","#), true);
        assert_eq!(code, Some(1));
        assert!(
            stderr.starts_with("ci.sh openapi: openapi.json is not valid JSON: "),
            "{stderr}"
        );
    }

    fn record(phase: &str, round: &str, gate: &str, outcome: &str) -> GateRecord {
        GateRecord {
            phase: phase.into(),
            round: round.into(),
            gate: gate.into(),
            kind: "command".into(),
            outcome: outcome.into(),
            summary: String::new(),
            evidence: serde_json::Value::Null,
        }
    }

    #[test]
    fn go_needs_every_gate_of_the_latest_visits_to_pass() {
        let gates = vec![
            record("build", "build#1", "tests", "failed"),
            record("build", "build#2", "tests", "passed"),
            record("plan", "plan#1", "approved", "approved"),
        ];
        let verdict = decide(&gates);
        assert_eq!(verdict["decision"], "GO");
        assert_eq!(verdict["readiness_score"], 100);
    }

    #[test]
    fn a_gate_not_run_is_a_blocker() {
        let gates = vec![
            record("build", "build#1", "tests", "passed"),
            record("validate", "validate#1", "load", "not_run"),
        ];
        let verdict = decide(&gates);
        assert_eq!(verdict["decision"], "NO-GO");
        assert_eq!(verdict["readiness_score"], 50);
        assert_eq!(verdict["blockers"][0]["gate"], "load");
        assert_eq!(verdict["blocker_count"], 1);
        assert_eq!(decide(&[])["decision"], "NO-GO", "no evidence is no GO");
    }
}
