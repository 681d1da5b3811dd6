//! The API documentation specialist: endpoint reference, authentication guide, error guide,
//! getting started with curl examples, changelog, and the knowledge-transfer documents.

use apiwright_agents::AgentError;
use apiwright_spec::Spec;
use serde_json::json;

use crate::context::File;
use crate::context::Step;
use crate::context::Work;

fn reference(spec: &Spec) -> String {
    let mut out = format!(
        "# {} — endpoint reference\n\nBase URL: `http://localhost:8080`. Version {}.\n",
        spec.title(),
        spec.api.version
    );
    out.push_str("\n## Authentication\n\n");
    for endpoint in spec.endpoints().iter().filter(|e| e.resource.is_none()) {
        out.push_str(&format!("- `{endpoint}` — {}\n", endpoint.summary));
    }
    for resource in &spec.resources {
        out.push_str(&format!(
            "\n## {}\n\n{}\n\n",
            resource.plural(),
            resource.description
        ));
        out.push_str("| field | type | constraints |\n|---|---|---|\n");
        for field in &resource.fields {
            let mut constraints = Vec::new();
            if field.required {
                constraints.push("required".to_string());
            }
            if field.unique {
                constraints.push("unique".to_string());
            }
            if let Some(min) = field.min {
                constraints.push(format!("≥ {min}"));
            }
            if let Some(max) = field.max {
                constraints.push(format!("≤ {max}"));
            }
            if let Some(max) = field.max_length {
                constraints.push(format!("≤ {max} chars"));
            }
            if !field.values.is_empty() {
                constraints.push(format!("one of {}", field.values.join(", ")));
            }
            if let Some(to) = &field.to {
                constraints.push(format!("id of a {to}"));
            }
            out.push_str(&format!(
                "| `{}` | {:?} | {} |\n",
                field.name,
                field.field_type,
                constraints.join(", ")
            ));
        }
        out.push('\n');
        for endpoint in spec
            .endpoints()
            .iter()
            .filter(|e| e.resource.as_deref() == Some(resource.name.as_str()))
        {
            out.push_str(&format!("- `{endpoint}` — {}\n", endpoint.summary));
        }
        let list = &resource.list;
        out.push_str(&format!(
            "\nList parameters: `page`, `per_page` (default {}, at most {}), `sort` ({}), {}{}.\n",
            list.page_size,
            list.max_page_size,
            list.sort
                .iter()
                .chain(std::iter::once(&"created_at".to_string()))
                .map(|f| format!("`{f}`/`-{f}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if list.search.is_empty() {
                String::new()
            } else {
                format!("`q` (searches {}), ", list.search.join(", "))
            },
            if list.filter.is_empty() {
                "no filters".to_string()
            } else {
                format!(
                    "filters {}",
                    list.filter
                        .iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        ));
        if resource.owned {
            out.push_str("\nRecords are owned: each user sees and changes only their own (admins see all); another user's record answers 404.\n");
        }
    }
    out
}

fn authentication(spec: &Spec) -> String {
    format!(
        "# Authentication\n\nRegister with `POST /api/v1/auth/register` (email, password of at least {} characters); new users get the `{}` role. \
         Log in with `POST /api/v1/auth/login` to get an access token (valid {} minutes) and a refresh token (valid {} days). \
         Send the access token as `Authorization: Bearer TOKEN`. Exchange a refresh token with `POST /api/v1/auth/refresh`; the old one stops working. \
         `POST /api/v1/auth/logout` revokes refresh tokens and outstanding access tokens. Reset a password with `/api/v1/auth/password-reset/request` then `/confirm`.\n\n\
         Roles: {}. Rate limits: {} requests per minute per user, {} per IP; past them the API answers 429 with `Retry-After`.\n",
        spec.auth.password_min_length,
        spec.auth.default_role,
        spec.auth.access_token_minutes,
        spec.auth.refresh_token_days,
        spec.auth.roles.join(", "),
        spec.rate_limits.per_user_per_minute,
        spec.rate_limits.per_ip_per_minute
    )
}

const ERRORS: &str = "# Errors\n\nEvery error is `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail`, and for validation errors `errors: [{field, message}]`.\n\n\
| status | when |\n|---|---|\n| 400 | malformed JSON |\n| 401 | missing, invalid or expired token |\n| 403 | your role may not do this |\n| 404 | no such record, or not yours |\n| 409 | a unique field already has this value |\n| 413 | body larger than 1 MiB |\n| 422 | validation failed (see `errors`) |\n| 429 | rate limit exceeded (see `Retry-After`) |\n\nResponses never contain stack traces or SQL.\n";

fn getting_started(spec: &Spec) -> String {
    let first = spec
        .resources
        .iter()
        .find(|r| !r.access.create.iter().any(|who| who == "admin"))
        .or(spec.resources.first());
    let mut out = format!(
        "# Getting started\n\n```sh\ncargo run --release   # listens on :8080, database in ./{}.db\n\n\
         curl -s -X POST localhost:8080/api/v1/auth/register -H 'content-type: application/json' \\\n  -d '{{\"email\":\"ada@example.com\",\"password\":\"correct horse battery\"}}'\n\
         TOKEN=$(curl -s -X POST localhost:8080/api/v1/auth/login -H 'content-type: application/json' \\\n  -d '{{\"email\":\"ada@example.com\",\"password\":\"correct horse battery\"}}' | jq -r .access_token)\n",
        spec.api.name
    );
    if let Some(resource) = first {
        out.push_str(&format!(
            "curl -s localhost:8080/api/v1/{plural} -H \"authorization: Bearer $TOKEN\"\n",
            plural = resource.plural()
        ));
    }
    out.push_str("curl -s localhost:8080/health\n```\n");
    out
}

/// The developer documentation files: endpoint reference, authentication and error guides,
/// getting started and changelog (also written by seed 002's validation).
pub(crate) fn files(spec: &Spec) -> Vec<File> {
    vec![
        File {
            path: "docs/api/reference.md".into(),
            contents: reference(spec),
        },
        File {
            path: "docs/api/authentication.md".into(),
            contents: authentication(spec),
        },
        File {
            path: "docs/api/errors.md".into(),
            contents: ERRORS.into(),
        },
        File {
            path: "docs/api/getting-started.md".into(),
            contents: getting_started(spec),
        },
        File {
            path: "CHANGELOG.md".into(),
            contents: format!(
                "# Changelog\n\n## {} — initial release\n\n- {} endpoints: {}\n",
                spec.api.version,
                spec.endpoints().len(),
                spec.resources
                    .iter()
                    .map(|r| r.plural())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    ]
}

pub(crate) fn specialist(step: &Step<'_>) -> Result<Work, AgentError> {
    let spec = &step.spec;
    let mut work = Work::default();
    if step.wants("docs") {
        let files = files(spec);
        let paths: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
        work.summary = format!(
            "Wrote the endpoint reference, authentication and error guides, getting started and changelog ({} files)",
            paths.len()
        );
        work.files.extend(files);
        work.deliverables.insert(
            step.write_name("docs"),
            json!({ "files": paths, "openapi": "openapi.json" }),
        );
    }
    let deploy = step.read("/devops-engineer/production-deploy");
    let live_url = deploy.as_ref().and_then(|deploy| {
        (deploy["outcome"] == "passed")
            .then(|| deploy["evidence"]["url"].as_str().map(str::to_string))
            .flatten()
    });
    let metrics = step.read("/performance-monitor/metrics");
    if step.wants("published-docs") {
        let value = match &live_url {
            Some(url) => json!({
                "status": "published",
                "url": url,
                "health": format!("{url}/health"),
                "metrics": format!("{url}/metrics"),
                "docs": "docs/api (endpoint reference, authentication, errors, rate limits, getting started) and openapi.json in the project",
                "release": deploy.as_ref().map(|deploy| deploy["evidence"]["version"].clone()),
                "measured": metrics.as_ref().map(|metrics| metrics["evidence"].clone()),
                "sla": {"p95_ms": step.spec.slas.p95_ms, "error_rate_percent": step.spec.slas.error_rate_percent},
            }),
            None => json!({
                "status": "not_published",
                "reason": "the production deployment did not pass: there is no live URL to publish",
            }),
        };
        work.summary = match &live_url {
            Some(url) => format!("Published the documentation for the live API at {url}"),
            None => "Documentation not published: nothing is live".into(),
        };
        work.deliverables
            .insert(step.write_name("published-docs"), value);
    }
    let url = live_url.clone().unwrap_or_else(|| "(not deployed)".into());
    let figures = metrics
        .as_ref()
        .map(|metrics| {
            let evidence = &metrics["evidence"];
            format!(
                "Measured after the deploy: p95 {} ms, error rate {}%, availability {}% ({} requests).",
                evidence["p95_ms"], evidence["error_rate_percent"], evidence["uptime_percent"], evidence["requests"]
            )
        })
        .unwrap_or_else(|| "No monitoring figures were recorded.".into());
    let handoff = [
        (
            "onboarding-guide",
            "Developer onboarding",
            format!("The API is live at {url} (behind apiwright's blue/green proxy).\n\n- Clone, `cargo test`, `cargo run`; read docs/api/getting-started.md, RUNBOOK.md and docs/RELEASE.md.\n- `apiwright deploy status` shows the live release, the kept blue and the proxy's weights.\n- Every change ships through the same gates: tests, coverage, contract, security, load, staging smoke tests, canary 10/50/100.\n"),
        ),
        (
            "support-training",
            "Support team training",
            format!("Errors are problem+json with a status and, for validation, the fields at fault (docs/api/errors.md). Health: {url}/health. {figures}\n"),
        ),
        (
            "troubleshooting",
            "Common issues and troubleshooting",
            "- 401: the access token expired — refresh it. 429: wait `Retry-After` seconds. 503 on /health: the database file is not writable.\n- A release misbehaves after the shift: `apiwright deploy rollback` returns all traffic to blue at once (blue is kept running for the keep time; after that it is restarted from its kept release).\n- The proxy answers 502/504: the live release is down or too slow; see `apiwright deploy status` and the logs in .apiwright/deploy/NAME/logs.\n".to_string(),
        ),
        (
            "escalation-procedures",
            "Escalation procedures",
            "- Critical alert (p95 > 1000 ms, error rate > 5%, availability < 99.9%): roll back first (`apiwright deploy rollback`), then page the on-call engineer.\n- Warning (p95 > 500 ms, error rate > 1%, database pool > 80%): open an incident ticket for the owning team within the day.\n- Security findings and data risks stop the release and go to the team lead; see RUNBOOK.md.\n".to_string(),
        ),
    ];
    for (name, title, body) in handoff {
        if step.wants(name) {
            let path = format!("docs/handoff/{name}.md");
            work.files.push(File {
                path: path.clone(),
                contents: format!("# {title}\n\n{body}"),
            });
            work.deliverables.insert(
                step.write_name(name),
                json!({ "file": path, "title": title, "live_url": live_url }),
            );
            work.summary = "Wrote the knowledge-transfer documents".into();
        }
    }
    Ok(work)
}
