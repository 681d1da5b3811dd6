//! The shape of a security run's result: which probes ran (or why not), what they found, and
//! how many requests it took.

use serde::{Deserialize, Serialize};

use super::finding::{Finding, Severity};

/// The probes, in the order [`super::run`] runs them (the rate-limit burst goes last so its
/// 429s cannot disturb the others).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeId {
    /// API2: forged, expired and revoked credentials on protected operations.
    BrokenAuthentication,
    /// API1: one user's records read, changed or deleted by another.
    Bola,
    /// API3: properties the request schema does not allow (owner, role, ids) taking effect.
    MassAssignment,
    /// API5: a member calling admin operations.
    Bfla,
    /// API8: SQL metacharacters in query and path parameters.
    Injection,
    /// API8: security headers, CORS, verbose errors.
    Misconfiguration,
    /// API9: undocumented routes that answer.
    Inventory,
    /// API4: list operations that accept any page size.
    PageSize,
    /// API4: request bodies of any size.
    HugeBody,
    /// API4: no rate limit on a burst of requests.
    RateLimit,
    /// Secrets written into the workspace's files.
    Secrets,
}

impl ProbeId {
    /// Every probe, in run order.
    pub const ALL: [ProbeId; 11] = [
        ProbeId::BrokenAuthentication,
        ProbeId::Bola,
        ProbeId::MassAssignment,
        ProbeId::Bfla,
        ProbeId::Injection,
        ProbeId::Misconfiguration,
        ProbeId::Inventory,
        ProbeId::PageSize,
        ProbeId::HugeBody,
        ProbeId::Secrets,
        ProbeId::RateLimit,
    ];
}

/// Whether a probe did its work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ProbeStatus {
    /// The probe ran to the end; absence of findings from it means it saw no weakness.
    Ran,
    /// The probe did not run (nothing in the document to probe, or skipped by options). Never
    /// counts as passed.
    Skipped {
        /// Why.
        reason: String,
    },
    /// The probe started but could not conclude (for instance an unexpected 429, or a
    /// record it needed could not be created). Never counts as passed.
    Inconclusive {
        /// Why.
        reason: String,
    },
}

/// One probe's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeResult {
    /// Which probe.
    pub id: ProbeId,
    /// Its OWASP category.
    pub owasp: String,
    /// Whether it did its work.
    #[serde(flatten)]
    pub status: ProbeStatus,
    /// Requests it sent.
    pub requests: u32,
}

/// Everything a security run produced.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SecurityReport {
    /// What the probes found, in probe order.
    pub findings: Vec<Finding>,
    /// One entry per probe, run or not.
    pub probes: Vec<ProbeResult>,
    /// Requests sent in total.
    pub requests_sent: u32,
}

impl SecurityReport {
    /// Findings at or above `threshold` (by default [`Severity::DEFAULT_BLOCKING`]: high and
    /// critical block a gate).
    pub fn blocking(&self, threshold: Severity) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|finding| finding.severity >= threshold)
            .collect()
    }

    /// Probes that did not run to the end, with the reason.
    pub fn not_run(&self) -> Vec<&ProbeResult> {
        self.probes
            .iter()
            .filter(|probe| !matches!(probe.status, ProbeStatus::Ran))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, severity: Severity) -> Finding {
        Finding {
            id: id.into(),
            owasp: String::new(),
            title: String::new(),
            severity,
            operation: None,
            location: None,
            exchange: None,
            detail: String::new(),
            fix_hint: String::new(),
        }
    }

    #[test]
    fn blocking_is_at_or_above_the_threshold() {
        let report = SecurityReport {
            findings: [
                ("a", Severity::Low),
                ("b", Severity::High),
                ("c", Severity::Critical),
                ("d", Severity::Medium),
            ]
            .map(|(id, severity)| finding(id, severity))
            .into(),
            ..SecurityReport::default()
        };
        let ids = |threshold| -> Vec<String> {
            report
                .blocking(threshold)
                .iter()
                .map(|f| f.id.clone())
                .collect()
        };
        assert_eq!(ids(Severity::DEFAULT_BLOCKING), ["b", "c"]);
        assert_eq!(ids(Severity::Medium), ["b", "c", "d"]);
    }

    #[test]
    fn serde_shapes() {
        let result = ProbeResult {
            id: ProbeId::BrokenAuthentication,
            owasp: "API2".into(),
            status: ProbeStatus::Inconclusive {
                reason: "429".into(),
            },
            requests: 3,
        };
        assert_eq!(
            serde_json::to_value(&result).unwrap(),
            serde_json::json!({"id": "broken-authentication", "owasp": "API2", "status": "inconclusive", "reason": "429", "requests": 3})
        );
        assert_eq!(
            serde_json::to_value(Severity::Critical).unwrap(),
            "critical"
        );
    }
}
