//! The phase-4 plans of the validation roles — what the evidence gates will exercise, derived
//! from the spec: the QA engineer's E2E plan, the security specialist's threat model and the
//! performance analyst's load plan. They are plans, marked as such: the results are recorded
//! by the `contract`, `security` and `load` gates, which run the traffic themselves.

use apiwright_spec::Spec;
use serde_json::Value;
use serde_json::json;

use crate::context::Step;
use crate::context::Work;

/// OWASP API Security Top 10 (2023) and how the security gate covers each item.
const OWASP: [(&str, &str, &str); 10] = [
    (
        "API1:2023",
        "Broken Object Level Authorization",
        "user B reads, updates and deletes user A's records (bola-*)",
    ),
    (
        "API2:2023",
        "Broken Authentication",
        "no token, malformed, expired, wrong signature, alg none, tampered claims, refresh after logout",
    ),
    (
        "API3:2023",
        "Broken Object Property Level Authorization",
        "mass assignment of id, owner, role and read-only properties through the body",
    ),
    (
        "API4:2023",
        "Unrestricted Resource Consumption",
        "rate-limit bursts per user and per IP, page size beyond the maximum, huge bodies",
    ),
    (
        "API5:2023",
        "Broken Function Level Authorization",
        "a member calling operations only an admin may call",
    ),
    (
        "API6:2023",
        "Unrestricted Access to Sensitive Business Flows",
        "not probed: the spec names no business flow to abuse (reviewed by hand)",
    ),
    (
        "API7:2023",
        "Server Side Request Forgery",
        "not probed: the generated service makes no outbound requests",
    ),
    (
        "API8:2023",
        "Security Misconfiguration",
        "security headers, CORS with a foreign origin, internals in error bodies, SQL metacharacters in filters, search and paths",
    ),
    (
        "API9:2023",
        "Improper Inventory Management",
        "undocumented routes that answer, shadow API versions",
    ),
    (
        "API10:2023",
        "Unsafe Consumption of APIs",
        "not probed: the generated service consumes no third-party API",
    ),
];

/// Writes whichever of the three plans the step asks for.
pub(crate) fn plans(step: &Step<'_>, work: &mut Work) {
    let spec = &step.spec;
    if step.wants("e2e-plan") {
        work.deliverables
            .insert(step.write_name("e2e-plan"), e2e_plan(spec));
        work.summary = "Planned the E2E journeys and error scenarios; the contract gate runs them against the service".into();
    }
    if step.wants("threat-model") {
        work.deliverables
            .insert(step.write_name("threat-model"), threat_model(spec));
        work.summary = "Wrote the threat model; the security gate probes the running service and records the audit report".into();
    }
    if step.wants("load-plan") {
        work.deliverables
            .insert(step.write_name("load-plan"), load_plan(spec));
        work.summary = format!(
            "Planned the load scenarios against {} req/s at p95 under {} ms; the performance gate drives them",
            spec.slas.rps, spec.slas.p95_ms
        );
    }
}

fn e2e_plan(spec: &Spec) -> Value {
    let journeys: Vec<Value> = spec
        .resources
        .iter()
        .map(|resource| {
            json!({
                "resource": resource.name,
                "journey": format!("register → login → create {0} → list → read → update → delete → logout", resource.name),
                "refused": if resource.owned { "another user gets 404 on the record" } else { "a member gets 403 on changes reserved to other roles" },
            })
        })
        .collect();
    json!({
        "status": "planned",
        "executed_by": "the contract gate (every documented operation with valid and invalid requests, with and without credentials) and the e2e tests gate",
        "journeys": journeys,
        "error_scenarios": ["missing required fields", "wrong types", "out of range", "oversized bodies", "malformed JSON", "no credentials", "unknown ids"],
        "operations": spec.endpoints().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "results": "recorded by the contract gate as e2e-results",
    })
}

fn threat_model(spec: &Spec) -> Value {
    let owned: Vec<&str> = spec
        .resources
        .iter()
        .filter(|resource| resource.owned)
        .map(|resource| resource.name.as_str())
        .collect();
    json!({
        "status": "planned",
        "assets": {
            "owned_records": owned,
            "credentials": "argon2 password hashes, refresh tokens stored as digests, JWT signing key",
        },
        "trust_boundaries": {
            "roles": spec.auth.roles,
            "default_role": spec.auth.default_role,
            "public_operations": spec.endpoints().iter().filter(|endpoint| endpoint.resource.is_none()).count(),
        },
        "rate_limits": {"per_user_per_minute": spec.rate_limits.per_user_per_minute, "per_ip_per_minute": spec.rate_limits.per_ip_per_minute},
        "owasp_api_top_10": OWASP.iter().map(|(id, name, probe)| json!({"id": id, "item": name, "coverage": probe})).collect::<Vec<_>>(),
        "secrets": "the workspace is scanned for committed keys, tokens and passwords",
        "results": "recorded by the security gate as audit-report (zero critical and zero high findings required)",
    })
}

fn load_plan(spec: &Spec) -> Value {
    let slas = &spec.slas;
    json!({
        "status": "planned",
        "targets": {"p95_ms": slas.p95_ms, "rps": slas.rps, "error_rate_percent": slas.error_rate_percent, "memory_mb": slas.memory_mb},
        "mix": {"list": 50, "read": 30, "create": 15, "update": 5, "auth": "signed-in users' bearer tokens"},
        "scenarios": [
            {"name": "sustained", "mode": "open loop at the target rate, latency corrected for coordinated omission"},
            {"name": "stress", "mode": "closed loop, maximum throughput (the breaking point)"},
            {"name": "spike", "mode": "10× the target rate for a short window between two base windows"},
            {"name": "memory", "mode": "the service's resident memory sampled during every scenario"},
        ],
        "results": "recorded by the performance gate as benchmarks",
    })
}
