//! The documented account operations (`…/register`, `…/login`, `…/logout`, `…/refresh`,
//! `…/me`) and a fresh throwaway user for probes that must not spend users A and B.

use http::Method;
use serde_json::{Value, json};

use super::ctx::{Ctx, json as response_json, succeeded};
use crate::exchange::Request;
use crate::openapi::{Api, Operation};
use crate::schema;
use crate::session::{Principal, read_tokens};

/// The operation with `method` whose path ends with `/suffix`.
pub(crate) fn find<'a>(api: &'a Api, method: &Method, suffix: &str) -> Option<&'a Operation> {
    api.operations.iter().find(|operation| {
        operation.method == *method
            && operation
                .path
                .trim_end_matches('/')
                .ends_with(&format!("/{suffix}"))
    })
}

/// A body for `operation` (sampled from its schema) with `overrides` set.
pub(crate) fn body_with(api: &Api, operation: &Operation, overrides: &[(&str, Value)]) -> Value {
    let mut body = operation
        .body
        .as_ref()
        .map(|body| schema::sample(api, &body.schema, &schema::Hints::default()))
        .unwrap_or_else(|| json!({}));
    if let Value::Object(object) = &mut body {
        for (name, value) in overrides {
            object.insert((*name).to_string(), value.clone());
        }
    }
    body
}

/// Property names a refresh token goes by in request bodies.
const REFRESH_KEYS: &[&str] = &["refresh_token", "refreshToken"];

/// A request for `operation` carrying `refresh_token` under the property name its body
/// schema uses (`refresh_token` when it names none), or no body when it takes none.
pub(crate) fn with_refresh_token(
    api: &Api,
    operation: &Operation,
    refresh_token: Option<&str>,
) -> Request {
    let Some(body) = &operation.body else {
        return Request::new(operation.method.clone(), &operation.path);
    };
    let declared = super::targets::properties(api, &body.schema);
    let key = REFRESH_KEYS
        .iter()
        .find(|key| declared.contains_key(**key))
        .copied()
        .unwrap_or("refresh_token");
    let overrides: Vec<(&str, Value)> = refresh_token
        .map(|token| (key, json!(token)))
        .into_iter()
        .collect();
    Request::json(
        operation.method.clone(),
        &operation.path,
        &body_with(api, operation, &overrides),
    )
}

/// Registers a new user through the documented register operation (with `extra` properties
/// in the body) and logs it in. `Err` says what did not work.
pub(crate) async fn fresh_user(
    ctx: &mut Ctx<'_>,
    extra: &[(&str, Value)],
) -> Result<Principal, String> {
    let api = ctx.api;
    let operations = &ctx.session.operations;
    let register = operations
        .register
        .as_ref()
        .ok_or("no documented register operation")?;
    let login = operations
        .login
        .as_ref()
        .ok_or("no documented login operation")?;
    let email = format!("probe-{}@example.test", schema::nonce());
    let password = format!("Pr0be-{}-Passphrase!", schema::nonce());
    let mut overrides = vec![("email", json!(email)), ("password", json!(password))];
    overrides.extend(extra.iter().cloned());
    let body = body_with(api, register, &overrides);
    let exchange = ctx
        .send(Request::json(Method::POST, &register.path, &body))
        .await;
    if !succeeded(&exchange) {
        return Err(format!(
            "registering a fresh user was refused: {:?}",
            exchange.response.map(|r| r.status)
        ));
    }
    let body = body_with(
        api,
        login,
        &[("email", json!(email)), ("password", json!(password))],
    );
    let exchange = ctx
        .send(Request::json(Method::POST, &login.path, &body))
        .await;
    let (access_token, refresh_token) = response_json(&exchange)
        .filter(|_| succeeded(&exchange))
        .and_then(read_tokens)
        .ok_or("logging the fresh user in gave no access token")?;
    Ok(Principal {
        email,
        password: Some(password),
        access_token,
        refresh_token,
    })
}
