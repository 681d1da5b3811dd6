//! Smoke tests of a freshly started release, before it gets any traffic: its ready path, then a
//! scripted user journey derived from its OpenAPI document — sign up and sign in (and the
//! admin's sign-in), create records in every collection, then list, read and update them, each
//! replayed once more and required to succeed. The journey's requests become the steady
//! client's traffic.

use std::time::Duration;
use std::time::Instant;

use apiwright_load::RequestSpec;
use apiwright_probe::exchange::Client;
use apiwright_probe::exchange::Request;
use apiwright_probe::openapi::Api;
use apiwright_probe::session::AuthOptions;
use apiwright_probe::session::Login;
use apiwright_probe::session::Session;
use apiwright_probe::traffic;
use serde::Deserialize;
use serde::Serialize;

/// One check of the smoke test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmokeCheck {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// The smoke test's outcome and, when it passed, the verified requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SmokeReport {
    pub passed: bool,
    pub checks: Vec<SmokeCheck>,
    pub seconds: f64,
    /// Requests of the journey that succeeded (method, path, weight; tokens not shown).
    pub journey: serde_json::Value,
    #[serde(skip)]
    pub requests: Vec<RequestSpec>,
}

impl SmokeReport {
    /// The first failed check, for summaries.
    pub fn first_failure(&self) -> Option<&SmokeCheck> {
        self.checks.iter().find(|check| !check.passed)
    }
}

/// Runs the smoke test against `base_url`.
pub async fn smoke(base_url: &str, ready: &str, api: &Api, admin: Option<Login>) -> SmokeReport {
    let started = Instant::now();
    let mut checks = Vec::new();
    let mut report = |name: &str, passed: bool, detail: String| {
        checks.push(SmokeCheck {
            name: name.to_string(),
            passed,
            detail,
        });
        passed
    };
    let finish = |checks: Vec<SmokeCheck>, journey, requests| {
        let passed = !checks.is_empty() && checks.iter().all(|check| check.passed);
        SmokeReport {
            passed,
            checks,
            seconds: started.elapsed().as_secs_f64(),
            journey,
            requests,
        }
    };
    let client = match Client::new(base_url, Duration::from_secs(10)) {
        Ok(client) => client,
        Err(error) => {
            report("client", false, error.to_string());
            return finish(checks, serde_json::Value::Null, Vec::new());
        }
    };
    let health = client.send(Request::new(http::Method::GET, ready)).await;
    let healthy = health
        .status()
        .is_some_and(|status| (200..300).contains(&status));
    if !report(
        "health",
        healthy,
        format!("GET {ready}: {}", health.summary()),
    ) {
        return finish(checks, serde_json::Value::Null, Vec::new());
    }
    let options = AuthOptions {
        admin,
        ..AuthOptions::default()
    };
    let session = match Session::establish(&client, api, &options).await {
        Ok(session) => session,
        Err(error) => {
            report("sign-up and sign-in", false, error.to_string());
            return finish(checks, serde_json::Value::Null, Vec::new());
        }
    };
    report(
        "sign-up and sign-in",
        true,
        format!(
            "{} users signed up and in{}",
            session.users.len(),
            if session.admin.is_some() {
                ", admin signed in"
            } else {
                ""
            }
        ),
    );
    let mix = match traffic::mix(&client, api, &session).await {
        Ok(mix) => mix,
        Err(error) => {
            report("create, list, read, update", false, error.to_string());
            return finish(checks, serde_json::Value::Null, Vec::new());
        }
    };
    let built = !mix.requests.is_empty() && mix.records_created > 0;
    report(
        "create, list, read, update",
        built,
        format!(
            "{} records created, {} kinds of request verified{}",
            mix.records_created,
            mix.requests.len(),
            if mix.left_out.is_empty() {
                String::new()
            } else {
                format!("; left out: {}", mix.left_out.join("; "))
            }
        ),
    );
    // Every verified request once more: the journey must be repeatable, not a lucky first pass.
    let mut replay_failures = Vec::new();
    for spec in &mix.requests {
        let exchange = client.send(to_request(spec)).await;
        if !exchange
            .status()
            .is_some_and(|status| (200..300).contains(&status))
        {
            replay_failures.push(format!(
                "{} {}: {}",
                spec.method,
                spec.path,
                exchange.summary()
            ));
        }
    }
    report(
        "journey replay",
        built && replay_failures.is_empty(),
        if replay_failures.is_empty() {
            format!("{} requests replayed, all 2xx", mix.requests.len())
        } else {
            replay_failures.join("; ")
        },
    );
    let journey = mix.describe();
    finish(checks, journey, mix.requests)
}

fn to_request(spec: &RequestSpec) -> Request {
    let method = http::Method::from_bytes(spec.method.as_bytes()).unwrap_or(http::Method::GET);
    let mut request = Request::new(method, spec.path.clone());
    for (name, value) in &spec.headers {
        if name.eq_ignore_ascii_case("content-type") {
            request.content_type = Some(value.clone());
        } else {
            request = request.header(name.clone(), value.clone());
        }
    }
    request.body = spec.body.clone();
    if request.body.is_some() && request.content_type.is_none() {
        request.content_type = Some("application/json".into());
    }
    request
}
