//! API8 Security Misconfiguration: security headers on an authenticated response, CORS
//! answers to a foreign `Origin`, and error responses to bad input (malformed JSON, a wrong
//! type of id, an unknown route) that reveal internals.

use http::Method;

use super::ctx::{Ctx, FindingDraft, Outcome, body_text, header, label, status};
use super::finding::Severity;
use super::leaks;
use super::targets::{accepted_protected_get, collections, fill_path};
use crate::exchange::{Exchange, Request};
use crate::openapi::Operation;
use crate::schema;

const EVIL_ORIGIN: &str = "https://evil.example";

pub(crate) async fn probe(ctx: &mut Ctx<'_>) -> Outcome {
    let user_a = ctx.user(0)?;
    let (target, exchange) =
        accepted_protected_get(ctx, user_a, &[("origin", EVIL_ORIGIN)]).await?;
    headers(ctx, target, &exchange);
    cors(ctx, target, exchange);
    verbose_errors(ctx).await;
    Ok(())
}

fn headers(ctx: &mut Ctx<'_>, target: &Operation, exchange: &Exchange) {
    let nosniff = header(exchange, "x-content-type-options")
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("nosniff"));
    let frame = header(exchange, "x-frame-options").is_some()
        || header(exchange, "content-security-policy")
            .is_some_and(|value| value.contains("frame-ancestors"));
    let no_store = header(exchange, "cache-control")
        .is_some_and(|value| value.to_ascii_lowercase().contains("no-store"));
    let checks: [(bool, &'static str, Severity, &str, &'static str); 3] = [
        (
            nosniff,
            "missing-nosniff",
            Severity::Low,
            "no `X-Content-Type-Options: nosniff`",
            "Send `X-Content-Type-Options: nosniff` on every response.",
        ),
        (
            frame,
            "missing-frame-policy",
            Severity::Low,
            "no frame policy (`X-Frame-Options` or CSP `frame-ancestors`)",
            "Send `X-Frame-Options: DENY` (or CSP `frame-ancestors 'none'`).",
        ),
        (
            no_store,
            "cacheable-authenticated-response",
            Severity::Medium,
            "an authenticated response without `Cache-Control: no-store`",
            "Send `Cache-Control: no-store` on responses to authenticated requests.",
        ),
    ];
    for (present, id, severity, what, fix_hint) in checks {
        if !present {
            ctx.report(
                FindingDraft {
                    id,
                    severity,
                    title: format!("{}: {what}", label(target)),
                    operation: Some(label(target)),
                    detail: format!("the response to an authenticated request has {what}"),
                    fix_hint,
                },
                Some(exchange.clone()),
            );
        }
    }
}

fn cors(ctx: &mut Ctx<'_>, target: &Operation, exchange: Exchange) {
    let allow_origin = header(&exchange, "access-control-allow-origin")
        .map(str::trim)
        .map(String::from);
    let credentials = header(&exchange, "access-control-allow-credentials")
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
    let (id, severity, what) = match (allow_origin.as_deref(), credentials) {
        (Some(EVIL_ORIGIN), true) => (
            "cors-reflects-origin-with-credentials",
            Severity::High,
            "reflects any Origin and allows credentials",
        ),
        (Some(EVIL_ORIGIN), false) => (
            "cors-reflects-origin",
            Severity::Medium,
            "reflects any Origin",
        ),
        (Some("*"), true) => (
            "cors-wildcard-with-credentials",
            Severity::High,
            "allows any origin with credentials",
        ),
        (Some("*"), false) => ("cors-wildcard", Severity::Low, "allows any origin"),
        _ => return,
    };
    ctx.report(
        FindingDraft {
            id,
            severity,
            title: format!("{}: CORS {what}", label(target)),
            operation: Some(label(target)),
            detail: format!(
                "a request with `Origin: {EVIL_ORIGIN}` got `Access-Control-Allow-Origin: {}`{}",
                allow_origin.unwrap_or_default(),
                if credentials {
                    " and `Access-Control-Allow-Credentials: true`"
                } else {
                    ""
                }
            ),
            fix_hint: "Allow only the known front-end origins, and never combine credentials \
                       with a reflected or wildcard origin.",
        },
        Some(exchange),
    );
}

/// Sends bad input and looks for internals in the error bodies.
async fn verbose_errors(ctx: &mut Ctx<'_>) {
    let Ok(user_a) = ctx.user(0) else { return };
    let api = ctx.api;
    let mut requests: Vec<(Option<&Operation>, Request)> = Vec::new();
    if let Some(operation) = api
        .operations
        .iter()
        .find(|operation| operation.body.is_some() && operation.requires_auth)
    {
        let path = fill_path(api, operation, &[]);
        requests.push((
            Some(operation),
            Request::raw(
                operation.method.clone(),
                path,
                br#"{"broken": [1, 2,"#.to_vec(),
                "application/json",
            )
            .bearer(&user_a.access_token),
        ));
    }
    if let Some(read) = collections(api)
        .into_iter()
        .find_map(|collection| collection.read.map(|read| (read, collection.id_param)))
    {
        for bad_id in ["not-a-valid-id", "99999999999999999999999999999"] {
            let path = fill_path(api, read.0, &[(read.1.as_str(), bad_id)]);
            requests.push((
                Some(read.0),
                Request::new(Method::GET, path).bearer(&user_a.access_token),
            ));
        }
    }
    let unknown = format!("/zz-unknown-{}", schema::nonce());
    requests.push((
        None,
        Request::new(Method::GET, unknown).bearer(&user_a.access_token),
    ));
    // One finding per kind and operation: two bad ids of the same route are one defect.
    let mut reported = std::collections::BTreeSet::new();
    for (operation, request) in requests {
        let exchange = ctx.send(request).await;
        let markers = leaks::find(&body_text(&exchange), &[]);
        let code = status(&exchange).unwrap_or_default();
        if markers.is_empty() && code < 500 {
            continue;
        }
        let (id, severity, what) = if markers.is_empty() {
            (
                "server-error-on-bad-input",
                Severity::Medium,
                format!("answered {code} to bad input"),
            )
        } else {
            (
                "verbose-error",
                Severity::High,
                format!(
                    "answered {code} with {} in the body",
                    leaks::names(&markers)
                ),
            )
        };
        if !reported.insert((id, operation.map(label))) {
            continue;
        }
        ctx.report(
            FindingDraft {
                id,
                severity,
                title: format!(
                    "{}: error response {}",
                    operation.map_or_else(|| "unknown route".to_string(), label),
                    if markers.is_empty() {
                        "is a server error"
                    } else {
                        "reveals internals"
                    }
                ),
                operation: operation.map(label),
                detail: format!(
                    "{} {} {what}",
                    exchange.request.method, exchange.request.url
                ),
                fix_hint: "Answer bad input with a 4xx and a generic message; log details \
                           server-side and never return stack traces, SQL or paths.",
            },
            Some(exchange),
        );
    }
}
