//! API4 no rate limit: a burst of [`super::SecurityOptions::rate_limit_burst`] requests (16 at a
//! time) to a cheap protected `GET` as user A, and separately to a public `GET` (or, without
//! one, the login operation with wrong credentials). No 429 at all is high. The burst stops at
//! the first 429. Runs last: its 429s must not disturb other probes.

use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt as _;
use http::Method;

use super::accounts;
use super::bfla::is_admin_operation;
use super::ctx::{Ctx, FindingDraft, NotRun, Outcome, label, status};
use super::finding::Severity;
use crate::exchange::{Exchange, Request};
use crate::openapi::{Api, Operation};
use crate::schema;

const CONCURRENCY: usize = 16;
/// Paths rate limits commonly exempt on purpose (probes and scrapers).
const EXEMPT: &[&str] = &[
    "health", "healthz", "ready", "readyz", "livez", "metrics", "openapi", "docs",
];

pub(crate) async fn probe(ctx: &mut Ctx<'_>) -> Outcome {
    let burst = ctx.options.rate_limit_burst;
    if burst == 0 {
        return Err(NotRun::Skipped("rate_limit_burst is 0".into()));
    }
    let api = ctx.api;
    let cheap_get = |operation: &&Operation, protected: bool| {
        operation.method == Method::GET
            && !operation.path.contains('{')
            && operation.requires_auth == protected
            && !EXEMPT.iter().any(|word| operation.path.contains(word))
            && !is_admin_operation(api, operation)
    };
    let protected = api
        .operations
        .iter()
        .find(|operation| cheap_get(operation, true))
        .map(Target::Get);
    // Without a public GET, the login operation with wrong credentials: where a missing
    // limit matters most (credential stuffing).
    let public = api
        .operations
        .iter()
        .find(|operation| cheap_get(operation, false))
        .map(Target::Get)
        .or_else(|| ctx.session.operations.login.as_ref().map(Target::Login));
    let token = ctx.user(0).ok().map(|user| user.access_token.clone());
    let mut probed = 0;
    for (operation, token, id, who) in [
        (
            protected,
            token.as_deref(),
            "no-rate-limit-authenticated",
            "one user",
        ),
        (
            public,
            None,
            "no-rate-limit-anonymous",
            "one anonymous client",
        ),
    ] {
        let Some(target) = operation else { continue };
        if target.operation().requires_auth && token.is_none() {
            continue;
        }
        let operation = target.operation();
        probed += 1;
        let request = target.request(ctx.api, token);
        let (sent, last, limited) = burst_at(ctx, &request, burst).await;
        ctx.requests += sent;
        if limited {
            continue;
        }
        ctx.report(
            FindingDraft {
                id,
                severity: Severity::High,
                title: format!("{}: no rate limit", label(operation)),
                operation: Some(label(operation)),
                detail: format!("{sent} requests from {who}, {CONCURRENCY} at a time, got no 429"),
                fix_hint: "Limit requests per user and per client IP (token bucket) and answer \
                           the excess with 429 and `Retry-After`.",
            },
            last,
        );
    }
    if probed == 0 {
        return Err(NotRun::Skipped(
            "the document has no GET without path parameters to burst".into(),
        ));
    }
    Ok(())
}

/// What the burst is aimed at.
enum Target<'a> {
    /// A `GET` without path parameters.
    Get(&'a Operation),
    /// The login operation, with credentials of nobody.
    Login(&'a Operation),
}

impl Target<'_> {
    fn operation(&self) -> &Operation {
        match self {
            Target::Get(operation) | Target::Login(operation) => operation,
        }
    }

    fn request(&self, api: &Api, token: Option<&str>) -> Request {
        match (self, token) {
            (Target::Get(operation), Some(token)) if operation.requires_auth => {
                Request::new(Method::GET, &operation.path).bearer(token)
            }
            (Target::Get(operation), _) => Request::new(Method::GET, &operation.path),
            (Target::Login(operation), _) => {
                let nobody = format!("nobody-{}@example.test", schema::nonce());
                let body = accounts::credentials(api, operation, &nobody, "Wrong-password-123");
                Request::json(Method::POST, &operation.path, &body)
            }
        }
    }
}

/// Sends up to `burst` requests, stopping at the first 429: `(sent, last exchange, limited)`.
async fn burst_at(ctx: &Ctx<'_>, template: &Request, burst: u32) -> (u32, Option<Exchange>, bool) {
    let limited = AtomicBool::new(false);
    let client = ctx.client;
    let results: Vec<Option<Exchange>> = futures_util::stream::iter(0..burst)
        .map(|_| {
            let limited = &limited;
            let request = template.clone();
            async move {
                if limited.load(Ordering::Relaxed) {
                    return None;
                }
                let exchange = client.send(request).await;
                if status(&exchange) == Some(429) {
                    limited.store(true, Ordering::Relaxed);
                }
                Some(exchange)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let sent = u32::try_from(results.iter().flatten().count()).unwrap_or(u32::MAX);
    let last = results.into_iter().flatten().last();
    (sent, last, limited.load(Ordering::Relaxed))
}
