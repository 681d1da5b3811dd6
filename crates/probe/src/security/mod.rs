//! The OWASP API Security Top 10 (2023) probes run against a live service, and the workspace
//! secrets scan. Every probe derives its targets from the OpenAPI document (no path of a
//! particular service is known here), sends real requests, and reports a [`Finding`] with the
//! exact exchange that proves it. A probe that could not do its work says so
//! ([`ProbeStatus::Skipped`] / [`ProbeStatus::Inconclusive`]); that never counts as passed, and
//! an unexpected 429 during a probe makes it inconclusive.
//!
//! One module per probe: [`authn`] (API2), [`bola`] (API1), [`mass_assignment`] (API3),
//! [`bfla`] (API5), [`injection`] and [`misconfig`] (API8), [`inventory`] (API9),
//! [`page_size`], [`huge_body`] and [`rate_limit`] (API4), [`secrets`]. Shared pieces:
//! [`ctx`] (request counting, findings), [`targets`] (what to probe, from the document),
//! [`accounts`] (the documented account operations), [`jwt`] (token forgeries), [`leaks`]
//! (internals in bodies).

mod accounts;
mod authn;
mod bfla;
mod bola;
mod ctx;
mod finding;
mod huge_body;
mod injection;
mod inventory;
mod jwt;
mod leaks;
mod mass_assignment;
mod misconfig;
mod page_size;
mod rate_limit;
mod report;
mod secrets;
mod targets;

use std::path::PathBuf;

pub use finding::{Finding, Severity, owasp};
pub use report::{ProbeId, ProbeResult, ProbeStatus, SecurityReport};
pub use secrets::{SecretsOptions, scan_secrets};

use crate::exchange::Client;
use crate::openapi::Api;
use crate::session::Session;
use ctx::{Ctx, NotRun};

/// What a security run does.
#[derive(Debug, Clone)]
pub struct SecurityOptions {
    /// The project directory to scan for secrets; `None` skips the scan.
    pub workspace: Option<PathBuf>,
    /// How the secrets scan walks the workspace.
    pub secrets: SecretsOptions,
    /// Requests sent (per target) looking for a 429 before declaring that there is no rate
    /// limit.
    pub rate_limit_burst: u32,
    /// Page size asked for when a list operation documents no maximum.
    pub max_page_size_probe: u64,
    /// Size of the body sent to find a missing body limit.
    pub huge_body_bytes: u64,
    /// Probes not to run (reported as skipped).
    pub skip: Vec<ProbeId>,
}

impl Default for SecurityOptions {
    fn default() -> Self {
        Self {
            workspace: None,
            secrets: SecretsOptions::default(),
            rate_limit_burst: 1000,
            max_page_size_probe: 100_000,
            huge_body_bytes: 10 * 1024 * 1024,
            skip: Vec::new(),
        }
    }
}

/// Runs every probe not in `options.skip`, in [`ProbeId::ALL`] order, against the service
/// `client` talks to, with the credentials of `session`.
pub async fn run(
    client: &Client,
    api: &Api,
    session: &Session,
    options: &SecurityOptions,
) -> SecurityReport {
    let mut report = SecurityReport::default();
    for id in ProbeId::ALL {
        let category = category(id);
        if options.skip.contains(&id) {
            report.probes.push(ProbeResult {
                id,
                owasp: category.into(),
                status: ProbeStatus::Skipped {
                    reason: "skipped by the options".into(),
                },
                requests: 0,
            });
            continue;
        }
        let mut ctx = Ctx::new(client, api, session, options, category);
        let outcome = match id {
            ProbeId::BrokenAuthentication => authn::probe(&mut ctx).await,
            ProbeId::Bola => bola::probe(&mut ctx).await,
            ProbeId::MassAssignment => mass_assignment::probe(&mut ctx).await,
            ProbeId::Bfla => bfla::probe(&mut ctx).await,
            ProbeId::Injection => injection::probe(&mut ctx).await,
            ProbeId::Misconfiguration => misconfig::probe(&mut ctx).await,
            ProbeId::Inventory => inventory::probe(&mut ctx).await,
            ProbeId::PageSize => page_size::probe(&mut ctx).await,
            ProbeId::HugeBody => huge_body::probe(&mut ctx).await,
            ProbeId::RateLimit => rate_limit::probe(&mut ctx).await,
            ProbeId::Secrets => match &options.workspace {
                Some(workspace) => {
                    ctx.findings = scan_secrets(workspace, &options.secrets);
                    Ok(())
                }
                None => Err(NotRun::Skipped("no workspace to scan was given".into())),
            },
        };
        let throttled = ctx.throttled.take().filter(|_| id != ProbeId::RateLimit);
        let status = match (outcome, throttled) {
            (Err(NotRun::Skipped(reason)), _) => ProbeStatus::Skipped { reason },
            (Err(NotRun::Inconclusive(reason)), _) | (Ok(()), Some(reason)) => {
                ProbeStatus::Inconclusive { reason }
            }
            (Ok(()), None) => ProbeStatus::Ran,
        };
        tracing::debug!(probe = ?id, requests = ctx.requests, findings = ctx.findings.len(), "security probe done");
        report.requests_sent += ctx.requests;
        report.findings.append(&mut ctx.findings);
        report.probes.push(ProbeResult {
            id,
            owasp: category.into(),
            status,
            requests: ctx.requests,
        });
    }
    report
}

fn category(id: ProbeId) -> &'static str {
    match id {
        ProbeId::Bola => owasp::BOLA,
        ProbeId::BrokenAuthentication => owasp::BROKEN_AUTHENTICATION,
        ProbeId::MassAssignment => owasp::BOPLA,
        ProbeId::Bfla => owasp::BFLA,
        ProbeId::Injection | ProbeId::Misconfiguration | ProbeId::Secrets => {
            owasp::MISCONFIGURATION
        }
        ProbeId::Inventory => owasp::INVENTORY,
        ProbeId::PageSize | ProbeId::HugeBody | ProbeId::RateLimit => owasp::RESOURCE_CONSUMPTION,
    }
}
