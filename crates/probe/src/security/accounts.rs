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
    let login = operations.login.as_ref();
    let email = format!("probe-{}@example.test", schema::nonce());
    let password = format!("Pr0be-{}-Passphrase!", schema::nonce());
    let mut body = credentials(api, register, &email, &password);
    if let Value::Object(object) = &mut body {
        for (name, value) in extra {
            object.insert((*name).to_string(), value.clone());
        }
    }
    let exchange = ctx
        .send(Request::json(Method::POST, &register.path, &body))
        .await;
    if !succeeded(&exchange) {
        return Err(format!(
            "registering a fresh user was refused: {:?}",
            exchange.response.map(|r| r.status)
        ));
    }
    // Without a login operation the registration must answer with the tokens.
    let exchange = match login {
        Some(login) => {
            let body = credentials(api, login, &email, &password);
            ctx.send(Request::json(Method::POST, &login.path, &body))
                .await
        }
        None => exchange,
    };
    let (access_token, refresh_token) = response_json(&exchange)
        .filter(|_| succeeded(&exchange))
        .and_then(read_tokens)
        .ok_or("signing the fresh user in gave no access token")?;
    Ok(Principal {
        email,
        password: Some(password),
        access_token,
        refresh_token,
    })
}

/// A sampled body for a register or login operation with the login (any property named like
/// `email`, `username` or `login`, else `email`) and password set, as the session does.
pub(crate) fn credentials(api: &Api, operation: &Operation, email: &str, password: &str) -> Value {
    let mut body = body_with(api, operation, &[]);
    let Value::Object(object) = &mut body else {
        return json!({"email": email, "password": password});
    };
    let (mut has_login, mut has_password) = (false, false);
    for (name, value) in object.iter_mut() {
        let lower = name.to_ascii_lowercase();
        if lower.contains("email") || lower == "username" || lower == "login" {
            *value = json!(email);
            has_login = true;
        } else if lower.contains("password") {
            *value = json!(password);
            has_password = true;
        }
    }
    if !has_login {
        object.insert("email".into(), json!(email));
    }
    if !has_password {
        object.insert("password".into(), json!(password));
    }
    body
}
