//! The security probes against the in-process notes service: each flaw is found with the
//! right id, severity and evidence, and the clean service yields nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use apiwright_probe::exchange::Client;
use apiwright_probe::openapi::Api;
use apiwright_probe::security::{
    self, ProbeId, ProbeStatus, SecretsOptions, SecurityOptions, SecurityReport, Severity,
};
use apiwright_probe::session::{AuthOptions, Login, Session};

use crate::notes::document::document;
use crate::notes::service::{Flaw, NotesService};

struct Probe {
    flaws: Vec<Flaw>,
    /// Paths left out of the document.
    hidden_paths: Vec<&'static str>,
    only: Vec<ProbeId>,
    rate_limit: u32,
    burst: u32,
}

impl Probe {
    fn new(flaws: &[Flaw], only: &[ProbeId]) -> Probe {
        Probe {
            flaws: flaws.to_vec(),
            hidden_paths: Vec::new(),
            only: only.to_vec(),
            rate_limit: 1000,
            burst: 60,
        }
    }

    async fn run(&self) -> SecurityReport {
        let service = NotesService::start(&self.flaws, self.rate_limit).await;
        let client = Client::new(&service.base_url, Duration::from_secs(10)).unwrap();
        let mut document = document();
        for path in &self.hidden_paths {
            document["paths"].as_object_mut().unwrap().remove(*path);
        }
        let api = Api::from_document(document).unwrap();
        let auth = AuthOptions {
            admin: Some(Login {
                email: service.admin_email.clone(),
                password: service.admin_password.clone(),
            }),
            ..AuthOptions::default()
        };
        let session = Session::establish(&client, &api, &auth).await.unwrap();
        let options = SecurityOptions {
            rate_limit_burst: self.burst,
            huge_body_bytes: 256 * 1024,
            skip: ProbeId::ALL
                .into_iter()
                .filter(|id| !self.only.contains(id))
                .collect(),
            ..SecurityOptions::default()
        };
        security::run(&client, &api, &session, &options).await
    }
}

/// The `(id, severity)` of every finding; each must carry its exchange.
fn found(report: &SecurityReport) -> BTreeSet<(String, Severity)> {
    for finding in &report.findings {
        assert!(finding.exchange.is_some(), "{} has no exchange", finding.id);
        assert!(
            finding.operation.is_some(),
            "{} names no operation",
            finding.id
        );
    }
    report
        .findings
        .iter()
        .map(|finding| (finding.id.clone(), finding.severity))
        .collect()
}

fn expected(pairs: &[(&str, Severity)]) -> BTreeSet<(String, Severity)> {
    pairs
        .iter()
        .map(|(id, severity)| (id.to_string(), *severity))
        .collect()
}

/// The flawed service yields exactly `findings`; the clean one yields none, and every probe
/// asked for ran.
async fn check(flaws: &[Flaw], only: &[ProbeId], findings: &[(&str, Severity)]) {
    let flawed = Probe::new(flaws, only).run().await;
    pretty_assert(found(&flawed), expected(findings), &flawed);
    let clean = Probe::new(&[], only).run().await;
    pretty_assert(found(&clean), expected(&[]), &clean);
    for probe in &clean.probes {
        if only.contains(&probe.id) {
            assert_eq!(probe.status, ProbeStatus::Ran, "{:?}", probe.id);
        }
    }
}

fn pretty_assert(
    actual: BTreeSet<(String, Severity)>,
    expected: BTreeSet<(String, Severity)>,
    report: &SecurityReport,
) {
    assert_eq!(
        actual,
        expected,
        "{}",
        serde_json::to_string_pretty(report).unwrap()
    );
}

#[tokio::test]
async fn bola_reads_changes_and_deletes_of_another_users_note() {
    check(
        &[Flaw::Idor],
        &[ProbeId::Bola],
        &[
            ("bola-read", Severity::Critical),
            ("bola-update", Severity::Critical),
            ("bola-delete", Severity::Critical),
        ],
    )
    .await;
}

#[tokio::test]
async fn forged_tokens_are_critical() {
    check(
        &[Flaw::UnverifiedToken],
        &[ProbeId::BrokenAuthentication],
        &[
            ("auth-expired-token", Severity::Critical),
            ("auth-wrong-signature", Severity::Critical),
            ("auth-alg-none", Severity::Critical),
            ("auth-tampered-claims", Severity::Critical),
            // An unverified token is not checked against logout either.
            ("auth-access-after-logout", Severity::Medium),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_protected_list_without_auth_is_critical() {
    let report = Probe::new(&[Flaw::MissingAuth], &[ProbeId::BrokenAuthentication])
        .run()
        .await;
    pretty_assert(
        found(&report),
        expected(&[("auth-missing-token", Severity::Critical)]),
        &report,
    );
    let finding = &report.findings[0];
    assert_eq!(finding.operation.as_deref(), Some("GET /api/v1/notes"));
    assert_eq!(finding.exchange.as_ref().unwrap().status(), Some(200));
}

#[tokio::test]
async fn a_protected_create_without_auth_is_critical() {
    let report = Probe::new(&[Flaw::AnonymousCreate], &[ProbeId::BrokenAuthentication])
        .run()
        .await;
    pretty_assert(
        found(&report),
        expected(&[("auth-missing-token", Severity::Critical)]),
        &report,
    );
    assert_eq!(
        report.findings[0].operation.as_deref(),
        Some("POST /api/v1/notes")
    );
}

#[tokio::test]
async fn tokens_that_survive_logout() {
    check(
        &[Flaw::RefreshAfterLogout],
        &[ProbeId::BrokenAuthentication],
        &[
            ("auth-refresh-after-logout", Severity::High),
            ("auth-access-after-logout", Severity::Medium),
        ],
    )
    .await;
}

#[tokio::test]
async fn mass_assignment_of_owner_and_role() {
    check(
        &[Flaw::MassAssignment],
        &[ProbeId::MassAssignment],
        &[
            ("mass-assignment-role", Severity::Critical),
            ("mass-assignment-owner", Severity::Critical),
            // `created_at`, honoured too, is a separate, lesser finding.
            ("mass-assignment", Severity::High),
        ],
    )
    .await;
}

#[tokio::test]
async fn mass_assignment_seen_only_when_reading_the_record_back() {
    let report = Probe::new(&[Flaw::QuietMassAssignment], &[ProbeId::MassAssignment])
        .run()
        .await;
    pretty_assert(
        found(&report),
        expected(&[("mass-assignment", Severity::High)]),
        &report,
    );
    let finding = &report.findings[0];
    assert!(
        finding.detail.contains("read back") && finding.title.contains("created_at"),
        "{finding:?}"
    );
    assert_eq!(finding.exchange.as_ref().unwrap().request.method, "GET");
}

#[tokio::test]
async fn a_member_calling_an_admin_operation() {
    check(
        &[Flaw::OpenAdmin],
        &[ProbeId::Bfla],
        &[("bfla", Severity::Critical)],
    )
    .await;
}

#[tokio::test]
async fn injectable_search() {
    check(
        &[Flaw::InjectableSearch],
        &[ProbeId::Injection],
        &[
            ("sql-injection-error", Severity::High),
            ("sql-injection-boolean", Severity::Critical),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_word_search_that_matches_sql_looking_text_is_not_injection() {
    let report = Probe::new(&[Flaw::WordSearch], &[ProbeId::Injection])
        .run()
        .await;
    pretty_assert(found(&report), expected(&[]), &report);
}

#[tokio::test]
async fn lax_headers_and_cors() {
    check(
        &[Flaw::LaxHeaders],
        &[ProbeId::Misconfiguration],
        &[
            ("missing-nosniff", Severity::Low),
            ("missing-frame-policy", Severity::Low),
            ("cacheable-authenticated-response", Severity::Medium),
            ("cors-reflects-origin-with-credentials", Severity::High),
        ],
    )
    .await;
}

#[tokio::test]
async fn cors_wildcard() {
    check(
        &[Flaw::CorsWildcard],
        &[ProbeId::Misconfiguration],
        &[("cors-wildcard", Severity::Low)],
    )
    .await;
}

#[tokio::test]
async fn cors_reflecting_the_origin_without_credentials() {
    check(
        &[Flaw::CorsReflect],
        &[ProbeId::Misconfiguration],
        &[("cors-reflects-origin", Severity::Medium)],
    )
    .await;
}

#[tokio::test]
async fn a_bare_server_error_on_bad_input() {
    check(
        &[Flaw::CrashOnBadId],
        &[ProbeId::Misconfiguration],
        &[("server-error-on-bad-input", Severity::Medium)],
    )
    .await;
}

#[tokio::test]
async fn any_bearer_value_signs_in() {
    check(
        &[Flaw::AnyBearer],
        &[ProbeId::BrokenAuthentication],
        &[("auth-malformed-token", Severity::Critical)],
    )
    .await;
}

#[tokio::test]
async fn verbose_errors() {
    let report = Probe::new(&[Flaw::VerboseError], &[ProbeId::Misconfiguration])
        .run()
        .await;
    pretty_assert(
        found(&report),
        expected(&[("verbose-error", Severity::High)]),
        &report,
    );
    assert!(
        report.findings[0].detail.contains("rust panic"),
        "{}",
        report.findings[0].detail
    );
}

#[tokio::test]
async fn undocumented_route() {
    check(
        &[Flaw::UndocumentedRoute],
        &[ProbeId::Inventory],
        &[
            ("undocumented-route", Severity::High),
            ("undocumented-route-authenticated", Severity::Medium),
        ],
    )
    .await;
}

#[tokio::test]
async fn unbounded_page_size_and_body() {
    check(
        &[Flaw::UnboundedPage, Flaw::NoBodyLimit],
        &[ProbeId::PageSize, ProbeId::HugeBody],
        &[
            ("unbounded-page-size", Severity::Medium),
            ("huge-body-accepted", Severity::High),
        ],
    )
    .await;
}

#[tokio::test]
async fn no_rate_limit() {
    let flawed = Probe {
        rate_limit: 40,
        ..Probe::new(&[Flaw::NoRateLimit], &[ProbeId::RateLimit])
    }
    .run()
    .await;
    pretty_assert(
        found(&flawed),
        expected(&[
            ("no-rate-limit-authenticated", Severity::High),
            ("no-rate-limit-anonymous", Severity::High),
        ]),
        &flawed,
    );
    let clean = Probe {
        rate_limit: 40,
        ..Probe::new(&[], &[ProbeId::RateLimit])
    }
    .run()
    .await;
    pretty_assert(found(&clean), expected(&[]), &clean);
    assert!(
        clean.requests_sent < 2 * 60,
        "the burst stops at the first 429: {}",
        clean.requests_sent
    );
}

#[tokio::test]
async fn without_a_public_get_the_anonymous_burst_goes_to_login() {
    let probe = |flaws: &[Flaw]| Probe {
        rate_limit: 40,
        hidden_paths: vec!["/api/v1/tags"],
        ..Probe::new(flaws, &[ProbeId::RateLimit])
    };
    let flawed = probe(&[Flaw::NoRateLimit]).run().await;
    let anonymous = flawed
        .findings
        .iter()
        .find(|finding| finding.id == "no-rate-limit-anonymous")
        .unwrap();
    assert_eq!(
        anonymous.operation.as_deref(),
        Some("POST /api/v1/auth/login")
    );
    assert_eq!(anonymous.exchange.as_ref().unwrap().status(), Some(401));
    let clean = probe(&[]).run().await;
    pretty_assert(found(&clean), expected(&[]), &clean);
}

#[tokio::test]
async fn an_unexpected_429_makes_a_probe_inconclusive() {
    let report = Probe {
        rate_limit: 8,
        ..Probe::new(&[], &[ProbeId::Inventory])
    }
    .run()
    .await;
    let inventory = report
        .probes
        .iter()
        .find(|probe| probe.id == ProbeId::Inventory)
        .unwrap();
    assert!(
        matches!(&inventory.status, ProbeStatus::Inconclusive { reason } if reason.contains("429")),
        "{inventory:?}"
    );
}

#[tokio::test]
async fn the_clean_service_passes_every_probe() {
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(
        workspace.path().join("config.toml"),
        "password = \"changeme-changeme\"\n",
    )
    .unwrap();
    let service_probe = Probe {
        rate_limit: 150,
        burst: 200,
        ..Probe::new(&[], &ProbeId::ALL)
    };
    let service = NotesService::start(&[], service_probe.rate_limit).await;
    let client = Client::new(&service.base_url, Duration::from_secs(10)).unwrap();
    let api = Api::from_document(document()).unwrap();
    let auth = AuthOptions {
        admin: Some(Login {
            email: service.admin_email.clone(),
            password: service.admin_password.clone(),
        }),
        ..AuthOptions::default()
    };
    let session = Session::establish(&client, &api, &auth).await.unwrap();
    let options = SecurityOptions {
        workspace: Some(workspace.path().to_path_buf()),
        rate_limit_burst: service_probe.burst,
        huge_body_bytes: 256 * 1024,
        ..SecurityOptions::default()
    };
    let report = security::run(&client, &api, &session, &options).await;
    pretty_assert(found(&report), expected(&[]), &report);
    let statuses: Vec<(ProbeId, ProbeStatus)> = report
        .probes
        .iter()
        .map(|probe| (probe.id, probe.status.clone()))
        .collect();
    let all_ran: Vec<(ProbeId, ProbeStatus)> = ProbeId::ALL
        .iter()
        .map(|id| (*id, ProbeStatus::Ran))
        .collect();
    assert_eq!(statuses, all_ran);
    assert!(report.blocking(Severity::High).is_empty());
}

#[test]
fn secrets_in_a_workspace() {
    let workspace = tempfile::tempdir().unwrap();
    let root = workspace.path();
    // Split so that this file does not itself hold what the scan looks for.
    const KEY: &str = concat!("AKIA", "QWERTYUIOPASDFGH");
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::create_dir_all(root.join("target")).unwrap();
    std::fs::write(
        root.join("src/config.rs"),
        format!("// settings\nconst KEY: &str = \"{KEY}\";\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("src/example.toml"),
        "api_key = \"your-api-key-here\"\npassword = \"${DB_PASSWORD}\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("deploy.yaml"),
        concat!("jwt_secret: \"k3J9xQ2mZ7", "pL0vR5tY8wB1nC4\"\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("target/build.rs"),
        format!("const KEY: &str = \"{KEY}\";\n"),
    )
    .unwrap();
    std::fs::write(root.join(".env"), "DATABASE_URL=sqlite://x\n").unwrap();
    std::fs::write(root.join("blob.bin"), format!("\0\0{KEY}")).unwrap();

    let findings = security::scan_secrets(root, &SecretsOptions::default());
    let summary: Vec<(String, Option<String>, Severity)> = findings
        .iter()
        .map(|finding| {
            (
                finding.id.clone(),
                finding.location.clone(),
                finding.severity,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("secret-env-file", ".env", Severity::Medium),
            (
                "secret-generic-assignment",
                "deploy.yaml:1",
                Severity::Medium
            ),
            ("secret-aws-access-key", "src/config.rs:2", Severity::High),
        ]
        .map(|(id, location, severity)| (
            id.to_string(),
            Some(location.to_string()),
            severity
        ))
    );
    assert!(
        findings
            .iter()
            .all(|finding| !finding.detail.contains("QWERTYUIOP"))
    );
}
