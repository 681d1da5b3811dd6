//! What every probe works with: the client, document and session, a request counter that
//! notices unexpected 429s, and the findings collected so far.

use serde_json::Value;

use super::SecurityOptions;
use super::finding::{Finding, Severity};
use crate::exchange::{Client, Exchange, Request};
use crate::openapi::{Api, Operation};
use crate::session::{Principal, Session};

/// Why a probe did not run to the end.
#[derive(Debug)]
pub(crate) enum NotRun {
    /// Nothing to probe, or a prerequisite (a second user, an admin) is missing.
    Skipped(String),
    /// The probe started but could not conclude.
    Inconclusive(String),
}

/// A probe's result: it ran to the end, or why not.
pub(crate) type Outcome = Result<(), NotRun>;

/// One probe's working state.
pub(crate) struct Ctx<'a> {
    pub client: &'a Client,
    pub api: &'a Api,
    pub session: &'a Session,
    pub options: &'a SecurityOptions,
    /// Requests this probe sent.
    pub requests: u32,
    /// What it found.
    pub findings: Vec<Finding>,
    /// The first 429 answer, when the probe did not expect one.
    pub throttled: Option<String>,
    owasp: &'static str,
}

impl<'a> Ctx<'a> {
    pub fn new(
        client: &'a Client,
        api: &'a Api,
        session: &'a Session,
        options: &'a SecurityOptions,
        owasp: &'static str,
    ) -> Self {
        Self {
            client,
            api,
            session,
            options,
            requests: 0,
            findings: Vec::new(),
            throttled: None,
            owasp,
        }
    }

    /// Sends one request, counting it and noting a 429.
    pub async fn send(&mut self, request: Request) -> Exchange {
        let exchange = self.client.send(request).await;
        self.requests += 1;
        if status(&exchange) == Some(429) && self.throttled.is_none() {
            self.throttled = Some(format!(
                "the service answered 429 to {} {}; the probe cannot tell a refusal from \
                 throttling",
                exchange.request.method, exchange.request.url
            ));
        }
        exchange
    }

    /// Records a finding of this probe's OWASP category.
    pub fn report(&mut self, finding: FindingDraft, exchange: Option<Exchange>) {
        self.findings.push(Finding {
            id: finding.id.into(),
            owasp: self.owasp.into(),
            title: finding.title,
            severity: finding.severity,
            operation: finding.operation,
            location: None,
            exchange,
            detail: finding.detail,
            fix_hint: finding.fix_hint.into(),
        });
    }

    /// User A (index 0) or B (index 1) of the session.
    pub fn user(&self, index: usize) -> Result<&'a Principal, NotRun> {
        self.session.users.get(index).ok_or_else(|| {
            NotRun::Skipped(format!(
                "the session has {} user(s); this probe needs {}",
                self.session.users.len(),
                index + 1
            ))
        })
    }
}

/// A finding before the probe's context adds its category and evidence.
pub(crate) struct FindingDraft {
    pub id: &'static str,
    pub severity: Severity,
    pub title: String,
    pub operation: Option<String>,
    pub detail: String,
    pub fix_hint: &'static str,
}

/// The response status, `None` when no response came (connection error, timeout).
pub(crate) fn status(exchange: &Exchange) -> Option<u16> {
    exchange.response.as_ref().map(|response| response.status)
}

/// Whether the service accepted the request (any 2xx).
pub(crate) fn succeeded(exchange: &Exchange) -> bool {
    status(exchange).is_some_and(|code| (200..300).contains(&code))
}

/// The response body as JSON, when it is JSON.
pub(crate) fn json(exchange: &Exchange) -> Option<&Value> {
    exchange
        .response
        .as_ref()
        .and_then(|response| response.json.as_ref())
}

/// The response body as text.
pub(crate) fn body_text(exchange: &Exchange) -> String {
    exchange
        .response
        .as_ref()
        .map(|response| response.body.clone())
        .unwrap_or_default()
}

/// A response header, case-insensitively.
pub(crate) fn header<'e>(exchange: &'e Exchange, name: &str) -> Option<&'e str> {
    exchange.response.as_ref().and_then(|response| {
        response
            .headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    })
}

/// `METHOD /path/{template}` of an operation.
pub(crate) fn label(operation: &Operation) -> String {
    operation.label()
}
