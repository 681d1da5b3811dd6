//! API2 Broken Authentication: a protected `GET` called without a token, with a malformed
//! one, and with forgeries of user A's token (expired, wrong signature, `alg: none`, tampered
//! claims) — any 2xx is critical. Then a fresh user logs out: its refresh token must stop
//! working (2xx is high) and its access token should (2xx is medium, common with stateless
//! JWTs until they expire).

use std::time::{SystemTime, UNIX_EPOCH};

use http::Method;

use super::accounts;
use super::ctx::{Ctx, FindingDraft, NotRun, Outcome, label, status, succeeded};
use super::finding::Severity;
use super::jwt::{self, Jwt};
use super::targets::{accepted_protected_get, collections, valid_body};
use crate::exchange::{Exchange, Request};
use crate::openapi::Operation;

const FIX_VERIFY: &str = "Verify every token: signature with the expected algorithm only \
                          (never `none`), expiry, and the claims as signed; refuse anything \
                          else with 401.";

pub(crate) async fn probe(ctx: &mut Ctx<'_>) -> Outcome {
    let user_a = ctx.user(0)?;
    let (target, _) = accepted_protected_get(ctx, user_a, &[]).await?;
    let protected: Vec<&Operation> = ctx
        .api
        .operations
        .iter()
        .filter(|operation| {
            operation.requires_auth
                && operation.method == Method::GET
                && !operation.path.contains('{')
        })
        .collect();
    for operation in &protected {
        let exchange = ctx.send(get(&operation.path, None)).await;
        if succeeded(&exchange) {
            report(
                ctx,
                "auth-missing-token",
                "answers without credentials",
                operation,
                exchange,
            );
        }
    }
    // Protected creates: a valid body without credentials must be refused too.
    for collection in collections(ctx.api) {
        let create = collection.create;
        if !create.requires_auth {
            continue;
        }
        let Some(body) = valid_body(ctx, create, user_a).await else {
            continue;
        };
        let exchange = ctx
            .send(Request::json(Method::POST, &create.path, &body))
            .await;
        if succeeded(&exchange) {
            report(
                ctx,
                "auth-missing-token",
                "creates records without credentials",
                create,
                exchange,
            );
        }
    }
    let exchange = ctx.send(get(&target.path, Some("not-a-token"))).await;
    if succeeded(&exchange) {
        report(
            ctx,
            "auth-malformed-token",
            "accepts a malformed token",
            target,
            exchange,
        );
    }
    if let Some(token) = Jwt::parse(&user_a.access_token) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or_default();
        let other_subject = ctx
            .session
            .users
            .get(1)
            .and_then(|user_b| Jwt::parse(&user_b.access_token))
            .and_then(|user_b| user_b.claims.get("sub").cloned());
        let forgeries = [
            (
                "auth-expired-token",
                "accepts an expired token",
                jwt::expired(&token, now),
            ),
            (
                "auth-wrong-signature",
                "accepts a token with a wrong signature",
                jwt::wrong_signature(&token),
            ),
            (
                "auth-alg-none",
                "accepts an unsigned `alg: none` token",
                jwt::alg_none(&token),
            ),
            (
                "auth-tampered-claims",
                "accepts a token whose claims were changed after signing",
                jwt::tampered(&token, other_subject.as_ref()),
            ),
        ];
        for (id, what, forged) in forgeries {
            let exchange = ctx.send(get(&target.path, Some(&forged.encode()))).await;
            if succeeded(&exchange) {
                report(ctx, id, what, target, exchange);
            }
        }
    }
    match revocation(ctx, target).await {
        Some(reason) => Err(NotRun::Inconclusive(reason)),
        None => Ok(()),
    }
}

/// The logout part: a fresh user logs out, then uses its old refresh and access tokens.
/// `Some(reason)` when it could not conclude.
async fn revocation(ctx: &mut Ctx<'_>, target: &Operation) -> Option<String> {
    let api = ctx.api;
    let logout = ctx.session.operations.logout.as_ref()?;
    let user = match accounts::fresh_user(ctx, &[]).await {
        Ok(user) => user,
        Err(reason) => return Some(format!("the logout check needs a fresh user: {reason}")),
    };
    let request = accounts::with_refresh_token(api, logout, user.refresh_token.as_deref())
        .bearer(&user.access_token);
    let exchange = ctx.send(request).await;
    if !succeeded(&exchange) {
        return Some(format!("logout was refused: {}", exchange.summary()));
    }
    let mut inconclusive = None;
    if let (Some(refresh), Some(token)) = (
        ctx.session.operations.refresh.as_ref(),
        user.refresh_token.as_deref(),
    ) {
        let exchange = ctx
            .send(accounts::with_refresh_token(api, refresh, Some(token)))
            .await;
        match status(&exchange) {
            Some(200..=299) => ctx.report(
                FindingDraft {
                    id: "auth-refresh-after-logout",
                    severity: Severity::High,
                    title: format!(
                        "{}: a refresh token still works after logout",
                        label(refresh)
                    ),
                    operation: Some(label(refresh)),
                    detail: "the user logged out, then exchanged the refresh token from before \
                             the logout for new tokens"
                        .into(),
                    fix_hint: "Revoke the session's refresh tokens on logout (store them \
                               server-side, hashed) and refuse revoked ones with 401.",
                },
                Some(exchange),
            ),
            Some(400 | 401 | 403) => {}
            _ => {
                inconclusive = Some(format!(
                    "refreshing after logout answered neither 2xx nor a refusal: {}",
                    exchange.summary()
                ));
            }
        }
    }
    let exchange = ctx.send(get(&target.path, Some(&user.access_token))).await;
    if succeeded(&exchange) {
        ctx.report(
            FindingDraft {
                id: "auth-access-after-logout",
                severity: Severity::Medium,
                title: format!(
                    "{}: an access token still works after logout",
                    label(target)
                ),
                operation: Some(label(target)),
                detail: "the access token issued before the logout is still accepted. Common \
                         with stateless JWTs (valid until they expire); acceptable only with \
                         short lifetimes"
                    .into(),
                fix_hint: "Keep access tokens short-lived, or check a per-user token version \
                           or deny list so logout revokes them.",
            },
            Some(exchange),
        );
    }
    inconclusive
}

fn get(path: &str, token: Option<&str>) -> Request {
    let request = Request::new(Method::GET, path);
    match token {
        Some(token) => request.bearer(token),
        None => request,
    }
}

fn report(
    ctx: &mut Ctx<'_>,
    id: &'static str,
    what: &str,
    operation: &Operation,
    exchange: Exchange,
) {
    ctx.report(
        FindingDraft {
            id,
            severity: Severity::Critical,
            title: format!("{}: {what}", label(operation)),
            operation: Some(label(operation)),
            detail: format!(
                "the operation requires authentication by the document, yet answered {}",
                status(&exchange).unwrap_or_default()
            ),
            fix_hint: FIX_VERIFY,
        },
        Some(exchange),
    );
}
