//! API9 Improper Inventory Management: undocumented routes that answer. A short generic word
//! list is tried at the root and under each documented version prefix (`/api/v1`), plus
//! shadow versions of documented paths (`v1` → `v0`, `v2`). An undocumented 2xx is high
//! (medium when it needs credentials). A service that answers 2xx to any path (an SPA
//! fallback) is recognised by a random path's answer and not reported.

use std::collections::BTreeSet;

use http::Method;

use super::ctx::{Ctx, FindingDraft, NotRun, Outcome, body_text, header, status, succeeded};
use super::finding::Severity;
use crate::exchange::{Exchange, Request};
use crate::openapi::Api;
use crate::schema;

const WORDS: &[&str] = &[
    "debug",
    "internal",
    "admin",
    "export",
    "backup",
    "config",
    "test",
    "dev",
    "status",
    "actuator",
    "actuator/env",
    ".env",
    ".git/config",
    "server-status",
    "graphql",
    "console",
];
/// Documentation and operations endpoints: serving them undocumented is not a shadow API.
const IGNORED: &[&str] = &[
    "openapi.json",
    "openapi.yaml",
    "docs",
    "swagger.json",
    "api-docs",
    "health",
    "healthz",
    "metrics",
    "ready",
    "readyz",
    "livez",
];
const MAX_SHADOW_PATHS: usize = 4;

pub(crate) async fn probe(ctx: &mut Ctx<'_>) -> Outcome {
    let api = ctx.api;
    let candidates = candidates(api);
    if candidates.is_empty() {
        return Err(NotRun::Skipped("every candidate path is documented".into()));
    }
    let random = format!("/zz-{}", schema::nonce());
    let fallback = ctx.send(Request::new(Method::GET, random)).await;
    let fallback_body = succeeded(&fallback).then(|| body_text(&fallback));
    let token = ctx.user(0).ok().map(|user| user.access_token.clone());
    for path in candidates {
        let exchange = ctx.send(Request::new(Method::GET, &path)).await;
        let (exchange, authenticated) = match (status(&exchange), &token) {
            (Some(401 | 403), Some(token)) => (
                ctx.send(Request::new(Method::GET, &path).bearer(token))
                    .await,
                true,
            ),
            _ => (exchange, false),
        };
        if !answers(&exchange, fallback_body.as_deref()) {
            continue;
        }
        let (id, severity, who) = if authenticated {
            (
                "undocumented-route-authenticated",
                Severity::Medium,
                "to an authenticated user",
            )
        } else {
            ("undocumented-route", Severity::High, "without credentials")
        };
        ctx.report(
            FindingDraft {
                id,
                severity,
                title: format!("GET {path}: undocumented route answers"),
                operation: Some(format!("GET {path}")),
                detail: format!(
                    "`GET {path}` is not in the document and answered {} {who}",
                    status(&exchange).unwrap_or_default()
                ),
                fix_hint: "Remove debug, internal and old-version routes from production \
                           builds, or document and protect them like every other route.",
            },
            Some(exchange),
        );
    }
    Ok(())
}

/// A 2xx with content that is not the answer every unknown path gets.
fn answers(exchange: &Exchange, fallback_body: Option<&str>) -> bool {
    if !succeeded(exchange) {
        return false;
    }
    let body = body_text(exchange);
    let has_content = !body.trim().is_empty()
        || header(exchange, "content-type")
            .is_some_and(|value| value.contains("json") || value.contains("text"));
    has_content && fallback_body != Some(body.as_str())
}

/// The undocumented paths to try, in order, without duplicates.
fn candidates(api: &Api) -> Vec<String> {
    let mut prefixes = BTreeSet::from([String::new()]);
    let mut shadows = Vec::new();
    for operation in &api.operations {
        let segments: Vec<&str> = operation.path.split('/').collect();
        let Some(position) = segments.iter().position(|segment| is_version(segment)) else {
            continue;
        };
        prefixes.insert(segments[..=position].join("/"));
        let Ok(version) = segments[position][1..].parse::<u32>() else {
            continue;
        };
        if operation.method != Method::GET || operation.path.contains('{') {
            continue;
        }
        for other in [version.checked_sub(1), version.checked_add(1)]
            .into_iter()
            .flatten()
        {
            let mut shadow = segments.clone();
            let replaced = format!("v{other}");
            shadow[position] = &replaced;
            shadows.push(shadow.join("/"));
        }
    }
    let mut seen = BTreeSet::new();
    prefixes
        .iter()
        .flat_map(|prefix| WORDS.iter().map(move |word| format!("{prefix}/{word}")))
        .chain(shadows.into_iter().take(MAX_SHADOW_PATHS))
        .filter(|path| !is_documented(api, path) && !is_ignored(path))
        .filter(|path| seen.insert(path.clone()))
        .collect()
}

fn is_version(segment: &str) -> bool {
    segment.len() > 1
        && segment.starts_with('v')
        && segment[1..].chars().all(|c| c.is_ascii_digit())
}

fn is_ignored(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|last| IGNORED.iter().any(|ignored| last.starts_with(ignored)))
}

/// Whether `path` matches a documented template by shape (`{x}` matches any segment).
pub(crate) fn is_documented(api: &Api, path: &str) -> bool {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    api.operations.iter().any(|operation| {
        let template: Vec<&str> = operation.path.trim_end_matches('/').split('/').collect();
        template.len() == segments.len()
            && template.iter().zip(&segments).all(|(expected, actual)| {
                expected == actual || (expected.starts_with('{') && expected.ends_with('}'))
            })
    })
}
