//! The gates that drive traffic at a running service — `contract`, `security` and `load` —
//! and what they share: starting the service ([`crate::service`]), reading its OpenAPI
//! document, and signing in through its documented auth operations. The traffic itself is
//! `apiwright-probe`'s and `apiwright-load`'s; this module turns their reports into outcomes.

pub(crate) mod contract;
pub(crate) mod deploy;
pub(crate) mod kubernetes;
pub(crate) mod load;
pub(crate) mod security;

use std::time::Duration;

use apiwright_probe::exchange::Client;
use apiwright_probe::openapi::Api;
use apiwright_probe::session::AuthOptions;
use apiwright_probe::session::Login;
use apiwright_probe::session::Session;
use apiwright_workflow::ServiceSpec;
use apiwright_workflow::template;
use serde_json::Value;
use serde_json::json;

use crate::GateContext;
use crate::GateError;
use crate::GateOutcome;
use crate::service::Service;

/// A gate's verdict: outcome, one line for humans, evidence.
pub(crate) type Verdict = (GateOutcome, String, Value);

/// Default limit of an evidence check after the build.
pub(crate) const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(600);

/// Everything a probe needs once the service is up.
pub(crate) struct Target {
    pub client: Client,
    pub api: Api,
    pub session: Session,
}

/// Starts the service (or finds it running), then runs `probe` against it within `limit`,
/// and always stops the service. Failures before the probe (build, start, document, sign-in)
/// fail the gate with their own evidence.
pub(crate) async fn with_service<F, Fut>(
    spec: &ServiceSpec,
    openapi: &str,
    limit: Duration,
    context: &GateContext<'_>,
    probe: F,
) -> Result<Verdict, GateError>
where
    F: FnOnce(Target, ServiceHandle) -> Fut,
    Fut: std::future::Future<Output = Verdict>,
{
    let mut service = match Service::start(spec, context).await? {
        Ok(service) => service,
        Err(not_ready) => {
            return Ok((GateOutcome::Failed, not_ready.summary, not_ready.evidence));
        }
    };
    let service_evidence = service.evidence.clone();
    let prepared = prepare(&service, openapi, context).await?;
    let verdict = match prepared {
        Err((summary, evidence)) => (GateOutcome::Failed, summary, evidence),
        Ok(target) => {
            let handle = ServiceHandle {
                pid: service
                    .main_pid()
                    .or_else(|| context.attached.and_then(|attached| attached.pid)),
                base_url: service.base_url.clone(),
            };
            match tokio::time::timeout(limit, probe(target, handle)).await {
                Ok(verdict) => verdict,
                Err(_) => (
                    GateOutcome::Failed,
                    format!("the check did not finish within {} s", limit.as_secs()),
                    json!({ "timeout_secs": limit.as_secs() }),
                ),
            }
        }
    };
    // A service that died under the probes is a finding in itself.
    let crashed = !service.is_running();
    let log_tail = service.log_tail();
    service.stop().await;
    let (mut outcome, mut summary, mut evidence) = verdict;
    if crashed {
        outcome = GateOutcome::Failed;
        summary = format!("the service exited during the check; {summary}");
    }
    if let Value::Object(object) = &mut evidence {
        object.insert("service".into(), service_evidence);
        if crashed || outcome == GateOutcome::Failed {
            object.insert("service_log_tail".into(), Value::String(log_tail));
        }
    } else {
        evidence = json!({ "service": service_evidence, "result": evidence });
    }
    Ok((outcome, summary, evidence))
}

/// What a probe may know about the running service beyond its URL.
pub(crate) struct ServiceHandle {
    /// The service's own process (for memory sampling), when the gate started it.
    pub pid: Option<u32>,
    pub base_url: String,
}

async fn prepare(
    service: &Service,
    openapi: &str,
    context: &GateContext<'_>,
) -> Result<Result<Target, (String, Value)>, GateError> {
    let client = match Client::new(&service.base_url, Duration::from_secs(10)) {
        Ok(client) => client,
        Err(error) => {
            return Ok(Err((
                error.to_string(),
                json!({ "error": error.to_string() }),
            )));
        }
    };
    let document = match document(openapi, &client, context).await? {
        Ok(document) => document,
        Err(reason) => {
            return Ok(Err((
                format!("cannot read the OpenAPI document: {reason}"),
                json!({ "openapi": openapi, "error": reason }),
            )));
        }
    };
    let api = match Api::from_document(document) {
        Ok(api) => api,
        Err(error) => {
            return Ok(Err((
                format!("the OpenAPI document cannot be used: {error}"),
                json!({ "openapi": openapi, "error": error.to_string() }),
            )));
        }
    };
    let options = match (&service.admin, context.attached) {
        (Some(admin), _) => AuthOptions {
            admin: Some(Login {
                email: admin.email.clone(),
                password: admin.password.clone(),
            }),
            ..AuthOptions::default()
        },
        (None, Some(attached)) => attached.auth.clone(),
        (None, None) => AuthOptions::default(),
    };
    let session = match Session::establish(&client, &api, &options).await {
        Ok(session) => session,
        Err(error) => {
            return Ok(Err((
                format!("cannot sign in through the documented auth operations: {error}"),
                json!({ "error": error.to_string() }),
            )));
        }
    };
    Ok(Ok(Target {
        client,
        api,
        session,
    }))
}

/// The document from the workspace (JSON, or YAML for `.yaml`/`.yml`) or, for a path
/// starting with `/`, from the service itself.
async fn document(
    openapi: &str,
    client: &Client,
    context: &GateContext<'_>,
) -> Result<Result<Value, String>, GateError> {
    let openapi = template::render(openapi, context.vars)?;
    // A file (relative to the workspace, or absolute) wins; otherwise a path starting with
    // `/` is asked of the service.
    let path = context.workspace.join(&openapi);
    if openapi.starts_with('/') && !path.is_file() {
        let exchange = client
            .send(apiwright_probe::exchange::Request::new(
                http::Method::GET,
                &openapi,
            ))
            .await;
        return Ok(match exchange.response {
            Some(response) if (200..300).contains(&response.status) => response
                .json
                .ok_or_else(|| format!("GET {openapi} did not answer JSON")),
            Some(response) => Err(format!("GET {openapi} answered {}", response.status)),
            None => Err(format!(
                "GET {openapi} failed: {}",
                exchange.error.unwrap_or_default()
            )),
        });
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => return Ok(Err(format!("{}: {error}", path.display()))),
    };
    let yaml = openapi.ends_with(".yaml") || openapi.ends_with(".yml");
    Ok(if yaml {
        serde_saphyr::from_str::<Value>(&text)
            .map_err(|error| format!("{}: {error}", path.display()))
    } else {
        serde_json::from_str::<Value>(&text).map_err(|error| {
            format!(
                "{}:{}:{}: {error}",
                path.display(),
                error.line(),
                error.column()
            )
        })
    })
}
