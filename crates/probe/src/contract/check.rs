//! Checking one answer against the document: status documented, expected class, no 5xx,
//! media type and body schema. Each contradiction becomes a [`Violation`] with its exchange.

use crate::exchange::Exchange;
use crate::openapi::Operation;
use crate::openapi::Response;
use crate::openapi::is_json_media_type;
use crate::schema;

use super::Expect;
use super::Runner;
use super::Violation;
use super::ViolationKind;

impl Runner<'_> {
    fn violation(
        &mut self,
        operation: &Operation,
        kind: ViolationKind,
        expected: String,
        found: String,
        exchange: &Exchange,
    ) {
        self.result(operation).violations += 1;
        self.report.violations.push(Violation {
            operation: operation.label(),
            kind,
            expected,
            found,
            exchange: exchange.clone(),
        });
    }

    /// Checks one answer; returns whether it met the expectation without any violation.
    pub(super) fn check(
        &mut self,
        operation: &Operation,
        exchange: &Exchange,
        expect: Expect,
        what: &str,
    ) -> bool {
        let Some(response) = &exchange.response else {
            self.report.server_errors += 1;
            self.violation(
                operation,
                ViolationKind::ServerError,
                format!("an answer to the {what}"),
                exchange.summary(),
                exchange,
            );
            return false;
        };
        let status = response.status;
        if status >= 500 {
            self.report.server_errors += 1;
            self.violation(
                operation,
                ViolationKind::ServerError,
                format!("no 5xx for the {what}"),
                exchange.summary(),
                exchange,
            );
            return false;
        }
        let before = self.report.violations.len();
        let met = match expect {
            Expect::Success => (200..300).contains(&status),
            Expect::Unauthorized => status == 401,
            Expect::Rejected => (400..500).contains(&status),
        };
        if !met {
            let (kind, expected) = match expect {
                Expect::Success => (
                    ViolationKind::UnexpectedStatus,
                    format!("a documented 2xx for the {what}"),
                ),
                Expect::Unauthorized => (ViolationKind::MissingAuth, format!("401 for the {what}")),
                Expect::Rejected if (200..300).contains(&status) => (
                    ViolationKind::AcceptedInvalid,
                    format!("a documented 4xx for the {what}"),
                ),
                Expect::Rejected => (
                    ViolationKind::UnexpectedStatus,
                    format!("a documented 4xx for the {what}"),
                ),
            };
            self.violation(operation, kind, expected, exchange.summary(), exchange);
        }
        match operation.documented_status(status) {
            None => {
                let documented: Vec<&str> =
                    operation.responses.keys().map(String::as_str).collect();
                self.violation(
                    operation,
                    ViolationKind::UndocumentedStatus,
                    format!(
                        "one of the documented statuses [{}] for the {what}",
                        documented.join(", ")
                    ),
                    exchange.summary(),
                    exchange,
                );
            }
            Some(documented) => {
                let documented = documented.clone();
                self.check_body(operation, exchange, &documented, what);
            }
        }
        self.report.violations.len() == before
    }

    fn check_body(
        &mut self,
        operation: &Operation,
        exchange: &Exchange,
        documented: &Response,
        what: &str,
    ) {
        let Some(response) = &exchange.response else {
            return;
        };
        let Some(media_type) = &documented.content_type else {
            return;
        };
        let actual = response.header("content-type").unwrap_or("");
        if response.body.is_empty() && documented.schema.is_none() {
            return;
        }
        if essence(actual) != essence(media_type) && !media_type.contains('*') {
            self.violation(
                operation,
                ViolationKind::ContentTypeMismatch,
                format!("Content-Type {media_type} for {} ({what})", response.status),
                format!(
                    "Content-Type {}",
                    if actual.is_empty() { "absent" } else { actual }
                ),
                exchange,
            );
        }
        let Some(body_schema) = &documented.schema else {
            return;
        };
        if !is_json_media_type(media_type) {
            return;
        }
        let errors = match &response.json {
            Some(json) => schema::validate(self.api, body_schema, json),
            None => vec!["/: the body is not JSON".to_string()],
        };
        if !errors.is_empty() {
            let shown: Vec<String> = errors.iter().take(10).cloned().collect();
            self.violation(
                operation,
                ViolationKind::SchemaMismatch,
                format!(
                    "a body matching the schema documented for {} ({what})",
                    response.status
                ),
                shown.join("; "),
                exchange,
            );
        }
    }
}

fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}
