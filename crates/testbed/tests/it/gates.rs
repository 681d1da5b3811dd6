//! The evidence gates against the real testbed binary: the positive control (the clean
//! service passes every gate) and the negative controls (each flaw fails the gate that is
//! meant to catch it, with the finding or violation that names it). Every case goes through
//! `apiwright_gates::evaluate` with a `Gate` whose `service.run` starts
//! `apiwright-testbed` on the port the gate picks, with a SQLite file in the gate's scratch
//! directory and the admin account the gate generates.
//!
//! | Flaw | Gate | Evidence that fails it |
//! |---|---|---|
//! | (clean) | contract, security, load | passes all three |
//! | `schema-violation` | contract | `schema_mismatch` on `GET /api/v1/notes/{id}` |
//! | `missing-auth` | contract | `missing_auth` on `GET /api/v1/notes/{id}` |
//! | `missing-auth` | security | `bola-anonymous-read`, `bola-anonymous-delete` (critical) |
//! | `idor` | security | `bola-read`, `bola-update`, `bola-delete` (critical) |
//! | `mass-assignment` | security | `mass-assignment-role`, `mass-assignment-owner` (critical) |
//! | `no-rate-limit` | security | `no-rate-limit-authenticated`, `no-rate-limit-anonymous` (high) |
//! | `injectable-search` | security | `sql-injection-error` (high), `sql-injection-boolean` (critical) |
//! | `verbose-error` | security | `verbose-error` (high) |
//! | `undocumented-route` | security | `undocumented-route` (high; passes at `fail_on: critical`) |
//! | `slow-endpoint` | load | `p95_latency` |
//! | (clean, `memory_mb: 1`) | load | `memory` |
//!
//! Each test starts its own service on its own port, so they run in parallel.

use std::collections::BTreeMap;
use std::time::Duration;

use apiwright_gates::GateContext;
use apiwright_gates::GateOutcome;
use apiwright_gates::GateReport;
use apiwright_store::Store;
use apiwright_workflow::AdminEnv;
use apiwright_workflow::ContractCheck;
use apiwright_workflow::Gate;
use apiwright_workflow::LoadCheck;
use apiwright_workflow::SecurityCheck;
use apiwright_workflow::ServiceSpec;
use apiwright_workflow::Severity;
use apiwright_workflow::SlaTargets;
use apiwright_workflow::template::Vars;
use serde_json::Value;

/// Real rate limits, low enough for the security gate's burst to reach them quickly: 60 per
/// user, and the testbed's default 120 per IP. The probes themselves send about 80 anonymous
/// requests a minute (the inventory probe alone guesses 36 paths); under a lower per-IP limit
/// they meet 429s and the gate rightly fails as inconclusive rather than guess.
const SECURITY_LIMITS: [(&str, &str); 2] =
    [("RATE_LIMIT_PER_USER", "60"), ("RATE_LIMIT_PER_IP", "120")];
/// Requests of the rate-limit burst: above the limits, small enough to stay fast.
const BURST: u32 = 200;
/// Rate limits a load run never reaches.
const LOAD_LIMITS: [(&str, &str); 2] = [
    ("RATE_LIMIT_PER_USER", "1000000000"),
    ("RATE_LIMIT_PER_IP", "1000000000"),
];

/// The testbed binary, clean or with one flaw, as the gate starts it.
fn service(flaw: Option<&str>, env: &[(&str, &str)]) -> ServiceSpec {
    let binary = env!("CARGO_BIN_EXE_apiwright-testbed");
    let flaw = flaw.map_or(String::new(), |flaw| format!(" --flaw {flaw}"));
    ServiceSpec {
        build: None,
        run: Some(format!(
            "export DATABASE_PATH=\"$APIWRIGHT_SCRATCH/db.sqlite\"; exec '{binary}'{flaw}"
        )),
        url: None,
        port_env: None,
        env: env
            .iter()
            .map(|(name, value)| ((*name).to_string(), (*value).to_string()))
            .collect::<BTreeMap<_, _>>(),
        admin: Some(AdminEnv {
            email_env: "ADMIN_EMAIL".into(),
            password_env: "ADMIN_PASSWORD".into(),
        }),
        ready: None,
        startup_timeout_secs: Some(20),
        build_timeout_secs: None,
    }
}

fn gate(id: &str) -> Gate {
    Gate {
        id: id.into(),
        ..Gate::default()
    }
}

fn contract(flaw: Option<&str>) -> Gate {
    Gate {
        contract: Some(ContractCheck {
            service: service(flaw, &[]),
            openapi: "/openapi.json".into(),
            skip: vec![],
            timeout_secs: Some(60),
        }),
        ..gate("contract")
    }
}

fn security(flaw: Option<&str>, fail_on: Severity) -> Gate {
    Gate {
        security: Some(SecurityCheck {
            service: service(flaw, &SECURITY_LIMITS),
            openapi: "/openapi.json".into(),
            fail_on,
            scan_secrets: false,
            rate_limit_burst: Some(BURST),
            timeout_secs: Some(60),
        }),
        ..gate("security")
    }
}

/// A short load run: 3 s sustained at `rps`, 1 s stress, a 1 s spike at three times the rate.
fn load(flaw: Option<&str>, slas: SlaTargets) -> Gate {
    Gate {
        load: Some(LoadCheck {
            service: service(flaw, &LOAD_LIMITS),
            openapi: "/openapi.json".into(),
            slas,
            slas_from: None,
            sustained_secs: Some(3),
            stress_secs: Some(1),
            spike_factor: Some(3.0),
            spike_secs: Some(1),
            endurance_secs: None,
            connections: Some(8),
            timeout_secs: Some(60),
        }),
        ..gate("load")
    }
}

fn modest_slas() -> SlaTargets {
    SlaTargets {
        rps: Some("200".into()),
        p95_ms: Some("100".into()),
        error_rate_percent: Some("1".into()),
        memory_mb: Some("256".into()),
    }
}

/// Evaluates `gate` with a fresh store and an empty workspace.
async fn check(gate: &Gate) -> GateReport {
    let workspace = tempfile::tempdir().unwrap();
    let store = Store::open_in_memory().unwrap();
    let vars = Vars::new();
    let context = GateContext {
        attached: None,
        workspace: workspace.path(),
        store: &store,
        vars: &vars,
        default_timeout: Duration::from_secs(60),
        env: &[],
    };
    apiwright_gates::evaluate(gate, &context).await.unwrap()
}

fn list<'a>(report: &'a GateReport, field: &str) -> &'a Vec<Value> {
    report.evidence[field]
        .as_array()
        .unwrap_or_else(|| panic!("no `{field}` list in the evidence: {}", report.evidence))
}

/// The contract violations of `kind` on `operation`.
fn violations<'a>(report: &'a GateReport, kind: &str, operation: &str) -> Vec<&'a Value> {
    list(report, "violations")
        .iter()
        .filter(|violation| violation["kind"] == kind && violation["operation"] == operation)
        .collect()
}

/// The security findings with `id`.
fn findings<'a>(report: &'a GateReport, id: &str) -> Vec<&'a Value> {
    list(report, "findings")
        .iter()
        .filter(|finding| finding["id"] == id)
        .collect()
}

fn finding_ids(report: &GateReport) -> Vec<String> {
    list(report, "findings")
        .iter()
        .map(|finding| format!("{} ({})", finding["id"], finding["severity"]))
        .collect()
}

/// Asserts the security gate failed with a finding `id` of `severity` that carries the
/// exchange proving it.
fn assert_finding(report: &GateReport, id: &str, severity: &str) {
    assert_eq!(
        report.outcome,
        GateOutcome::Failed,
        "{}: {:?}",
        report.summary,
        finding_ids(report)
    );
    let found = findings(report, id);
    assert!(
        !found.is_empty(),
        "no `{id}` finding; found {:?} ({})",
        finding_ids(report),
        report.summary
    );
    for finding in found {
        assert_eq!(finding["severity"], severity, "{finding}");
        let exchange = &finding["exchange"];
        assert!(
            exchange["request"]["method"].is_string() && exchange["request"]["url"].is_string(),
            "the finding carries no request: {finding}"
        );
        assert!(
            exchange["response"]["status"].is_u64(),
            "the finding carries no response: {finding}"
        );
    }
}

fn scenario_requests(report: &GateReport, name: &str) -> u64 {
    report.evidence["scenarios"][name]["requests"]
        .as_u64()
        .unwrap_or_else(|| panic!("no `{name}` scenario: {}", report.evidence["scenarios"]))
}

fn load_violations(report: &GateReport) -> Vec<String> {
    list(report, "violations")
        .iter()
        .map(|violation| violation["metric"].as_str().unwrap_or("?").to_string())
        .collect()
}

// --- contract ---

#[tokio::test]
async fn contract_passes_on_the_clean_service() {
    let report = check(&contract(None)).await;
    assert_eq!(
        report.outcome,
        GateOutcome::Passed,
        "{}: {}",
        report.summary,
        report.evidence["violations"]
    );
    assert_eq!(report.evidence["violation_count"], 0);
    // Every route the router mounts was exercised, none skipped.
    let operations = list(&report, "operations");
    let mut exercised: Vec<String> = operations
        .iter()
        .filter(|operation| operation["skipped"].is_null())
        .map(|operation| {
            format!(
                "{} {}",
                operation["method"].as_str().unwrap(),
                operation["path"].as_str().unwrap()
            )
        })
        .collect();
    exercised.sort();
    let mut routes: Vec<String> = apiwright_testbed::ROUTES
        .iter()
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    routes.sort();
    assert_eq!(exercised, routes);
}

#[tokio::test]
async fn contract_fails_on_schema_violation_with_a_schema_mismatch_on_get_note() {
    let report = check(&contract(Some("schema-violation"))).await;
    assert_eq!(report.outcome, GateOutcome::Failed, "{}", report.summary);
    let found = violations(&report, "schema_mismatch", "GET /api/v1/notes/{id}");
    assert!(
        !found.is_empty(),
        "no schema_mismatch on GET /api/v1/notes/{{id}}: {}",
        report.evidence["violations"]
    );
    let violation = found[0];
    assert_eq!(violation["exchange"]["response"]["status"], 200);
    assert!(
        violation["exchange"]["response"]["body"]
            .as_str()
            .is_some_and(|body| body.contains("\"pinned\":\"")),
        "{violation}"
    );
}

#[tokio::test]
async fn contract_fails_on_missing_auth() {
    let report = check(&contract(Some("missing-auth"))).await;
    assert_eq!(report.outcome, GateOutcome::Failed, "{}", report.summary);
    let found = violations(&report, "missing_auth", "GET /api/v1/notes/{id}");
    assert!(
        !found.is_empty(),
        "no missing_auth on GET /api/v1/notes/{{id}}: {}",
        report.evidence["violations"]
    );
    // The request that proved it carried no credentials.
    let headers = found[0]["exchange"]["request"]["headers"].to_string();
    assert!(
        !headers.to_ascii_lowercase().contains("authorization"),
        "{headers}"
    );
}

// --- security ---

#[tokio::test]
async fn security_passes_on_the_clean_service_with_real_rate_limits() {
    let report = check(&security(None, Severity::High)).await;
    let serious: Vec<String> = list(&report, "findings")
        .iter()
        .filter(|finding| finding["severity"] == "high" || finding["severity"] == "critical")
        .map(|finding| format!("{} {}", finding["id"], finding["title"]))
        .collect();
    assert_eq!(serious, Vec::<String>::new());
    assert_eq!(
        report.outcome,
        GateOutcome::Passed,
        "{}: {}",
        report.summary,
        report.evidence["probes"]
    );
    // The rate-limit probe did find the limit (it ran and reported nothing).
    let rate_limit = list(&report, "probes")
        .iter()
        .find(|probe| probe["id"] == "rate-limit")
        .unwrap_or_else(|| panic!("no rate-limit probe: {}", report.evidence["probes"]));
    assert_eq!(rate_limit["status"], "ran", "{rate_limit}");
}

#[tokio::test]
async fn security_fails_on_idor_with_bola_read() {
    let report = check(&security(Some("idor"), Severity::High)).await;
    assert_finding(&report, "bola-read", "critical");
    assert_finding(&report, "bola-update", "critical");
    assert_finding(&report, "bola-delete", "critical");
}

#[tokio::test]
async fn security_fails_on_missing_auth() {
    let report = check(&security(Some("missing-auth"), Severity::High)).await;
    assert_finding(&report, "bola-anonymous-read", "critical");
    assert_finding(&report, "bola-anonymous-delete", "critical");
    // Proved without credentials.
    let finding = findings(&report, "bola-anonymous-read")[0];
    let headers = finding["exchange"]["request"]["headers"].to_string();
    assert!(
        !headers.to_ascii_lowercase().contains("authorization"),
        "{headers}"
    );
}

#[tokio::test]
async fn security_fails_on_mass_assignment_with_a_self_made_admin() {
    let report = check(&security(Some("mass-assignment"), Severity::High)).await;
    assert_finding(&report, "mass-assignment-role", "critical");
    assert_finding(&report, "mass-assignment-owner", "critical");
}

#[tokio::test]
async fn security_fails_on_no_rate_limit() {
    let report = check(&security(Some("no-rate-limit"), Severity::High)).await;
    assert_finding(&report, "no-rate-limit-authenticated", "high");
    assert_finding(&report, "no-rate-limit-anonymous", "high");
}

#[tokio::test]
async fn security_fails_on_injectable_search() {
    let report = check(&security(Some("injectable-search"), Severity::High)).await;
    assert_finding(&report, "sql-injection-error", "high");
    assert_finding(&report, "sql-injection-boolean", "critical");
}

#[tokio::test]
async fn security_fails_on_verbose_error() {
    let report = check(&security(Some("verbose-error"), Severity::High)).await;
    assert_finding(&report, "verbose-error", "high");
}

#[tokio::test]
async fn security_fails_on_undocumented_route() {
    let report = check(&security(Some("undocumented-route"), Severity::High)).await;
    assert_finding(&report, "undocumented-route", "high");
    let finding = findings(&report, "undocumented-route")[0];
    assert!(
        finding["exchange"]["request"]["url"]
            .as_str()
            .is_some_and(|url| url.ends_with(apiwright_testbed::DEBUG_PATH)),
        "{finding}"
    );
}

#[tokio::test]
async fn security_threshold_critical_passes_a_high_finding_and_still_fails_a_critical_one() {
    let high_gate = security(Some("undocumented-route"), Severity::Critical);
    let critical_gate = security(Some("idor"), Severity::Critical);
    let (high_only, critical) = tokio::join!(check(&high_gate), check(&critical_gate));
    assert_eq!(
        high_only.outcome,
        GateOutcome::Passed,
        "{}: {:?}",
        high_only.summary,
        finding_ids(&high_only)
    );
    assert_eq!(high_only.evidence["fail_on"], "critical");
    // The finding is still reported; it just does not block.
    assert!(
        !findings(&high_only, "undocumented-route").is_empty(),
        "{:?}",
        finding_ids(&high_only)
    );
    assert_eq!(high_only.evidence["counts"]["critical"], Value::Null);
    assert_finding(&critical, "bola-read", "critical");
}

// --- load ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_passes_on_the_clean_service_at_modest_objectives() {
    let report = check(&load(None, modest_slas())).await;
    assert_eq!(
        report.outcome,
        GateOutcome::Passed,
        "{}: {}",
        report.summary,
        report.evidence
    );
    for name in ["sustained", "stress", "spike"] {
        assert!(scenario_requests(&report, name) > 0, "{name}");
    }
    assert!(
        report.evidence["max_rss_mb"]
            .as_f64()
            .is_some_and(|mb| mb > 0.0),
        "{}",
        report.evidence["max_rss_mb"]
    );
}

/// `gate` with only the sustained run: what the latency and memory objectives are judged on.
fn sustained_only(mut gate: Gate) -> Gate {
    if let Some(load) = gate.load.as_mut() {
        load.stress_secs = Some(0);
        load.spike_secs = Some(0);
    }
    gate
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_fails_on_slow_endpoint_with_a_p95_violation() {
    let report = check(&sustained_only(load(Some("slow-endpoint"), modest_slas()))).await;
    assert_eq!(report.outcome, GateOutcome::Failed, "{}", report.summary);
    let metrics = load_violations(&report);
    assert!(
        metrics.iter().any(|metric| metric == "p95_latency"),
        "{metrics:?}: {}",
        report.summary
    );
    // The 300 ms the flaw sleeps is what was measured.
    let p95 = report.evidence["scenarios"]["sustained"]["latency_ms"]["p95"]
        .as_f64()
        .unwrap();
    assert!(p95 >= 300.0, "p95 {p95} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_fails_when_the_memory_objective_is_below_what_the_service_uses() {
    // Only the rate and memory: the verdict cannot come from anything but memory.
    let slas = SlaTargets {
        rps: Some("200".into()),
        p95_ms: None,
        error_rate_percent: None,
        memory_mb: Some("1".into()),
    };
    let report = check(&sustained_only(load(None, slas))).await;
    assert_eq!(report.outcome, GateOutcome::Failed, "{}", report.summary);
    assert_eq!(load_violations(&report), vec!["memory".to_string()]);
    let violation = &list(&report, "violations")[0];
    assert_eq!(violation["expected"], "at most 1 MiB");
    assert!(
        report.evidence["max_rss_mb"]
            .as_f64()
            .is_some_and(|mb| mb > 1.0),
        "{}",
        report.evidence["max_rss_mb"]
    );
}
