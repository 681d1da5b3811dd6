//! What a security probe reports: [`Finding`], its [`Severity`], and the OWASP API Security Top 10
//! (2023) categories the probes map to.

use serde::{Deserialize, Serialize};

use crate::exchange::Exchange;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing, nothing to fix.
    Info,
    /// Hardening.
    Low,
    /// A weakness that needs another flaw or unusual conditions to exploit.
    Medium,
    /// Exploitable; blocks a gate by default.
    High,
    /// Exploitable with direct loss of data or control; blocks a gate by default.
    Critical,
}

impl Severity {
    /// The lowest severity that blocks a gate unless configured otherwise.
    pub const DEFAULT_BLOCKING: Severity = Severity::High;
}

/// One weakness a probe demonstrated (or, for the secrets scan, found in the workspace).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// Stable identifier of the kind of finding, e.g. `bola-read`.
    pub id: String,
    /// OWASP API Security Top 10 (2023) category, e.g.
    /// `API1:2023 Broken Object Level Authorization`.
    pub owasp: String,
    /// One line saying what is wrong.
    pub title: String,
    /// How bad it is.
    pub severity: Severity,
    /// The operation concerned, as `METHOD /path/{template}`, when there is one.
    pub operation: Option<String>,
    /// Where in the workspace, as `file:line`, for findings of the secrets scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The exact request and response that prove it, when it was seen over HTTP.
    pub exchange: Option<Exchange>,
    /// What was observed.
    pub detail: String,
    /// How to fix it.
    pub fix_hint: String,
}

/// OWASP API Security Top 10 (2023) categories used by the probes.
pub mod owasp {
    /// API1.
    pub const BOLA: &str = "API1:2023 Broken Object Level Authorization";
    /// API2.
    pub const BROKEN_AUTHENTICATION: &str = "API2:2023 Broken Authentication";
    /// API3.
    pub const BOPLA: &str = "API3:2023 Broken Object Property Level Authorization";
    /// API4.
    pub const RESOURCE_CONSUMPTION: &str = "API4:2023 Unrestricted Resource Consumption";
    /// API5.
    pub const BFLA: &str = "API5:2023 Broken Function Level Authorization";
    /// API8 (injection and misconfiguration both belong here in the 2023 list).
    pub const MISCONFIGURATION: &str = "API8:2023 Security Misconfiguration";
    /// API9.
    pub const INVENTORY: &str = "API9:2023 Improper Inventory Management";
}
