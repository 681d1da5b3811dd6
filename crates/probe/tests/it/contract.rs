//! The contract run passes a correct service and catches each defect separately.

use std::time::Duration;

use apiwright_probe::contract;
use apiwright_probe::contract::ContractOptions;
use apiwright_probe::contract::ContractReport;
use apiwright_probe::contract::ViolationKind;
use apiwright_probe::session::AuthOptions;
use apiwright_probe::session::Login;
use apiwright_probe::session::Session;

use crate::support;
use crate::support::Fault;
use crate::support::Service;

async fn run(fault: Fault) -> ContractReport {
    let service = Service::start(fault).await;
    let client = service.client();
    let api = support::api();
    let auth = AuthOptions {
        admin: Some(Login {
            email: support::ADMIN_EMAIL.to_string(),
            password: support::ADMIN_PASSWORD.to_string(),
        }),
        ..AuthOptions::default()
    };
    let session = Session::establish(&client, &api, &auth).await.unwrap();
    let options = ContractOptions {
        max_invalid_per_operation: 50,
        request_timeout: Duration::from_secs(10),
        skip_operations: Vec::new(),
    };
    contract::run(&client, &api, &session, &options).await
}

fn kinds(report: &ContractReport) -> Vec<(String, ViolationKind)> {
    report
        .violations
        .iter()
        .map(|v| (v.operation.clone(), v.kind))
        .collect()
}

#[tokio::test]
async fn a_correct_service_passes() {
    let report = run(Fault::None).await;
    assert!(report.passed(), "{:#?}", report.violations);
    assert_eq!(report.server_errors, 0);
    assert_eq!(report.operations_skipped, 0, "{:#?}", report.operations);
    assert!(
        report.operations.iter().all(|o| o.requests > 0),
        "{:#?}",
        report.operations
    );
    // Valid + without-token + 12 invalid bodies (9 schema, malformed, oversized, array).
    let create = report
        .operations
        .iter()
        .find(|o| o.operation_id.as_deref() == Some("create_note"))
        .unwrap();
    assert!(create.requests >= 12, "{create:?}");
    // The report is the evidence; it must survive a round trip.
    let text = serde_json::to_string(&report).unwrap();
    assert_eq!(
        serde_json::from_str::<ContractReport>(&text).unwrap(),
        report
    );
}

#[tokio::test]
async fn an_undocumented_status_is_caught() {
    let report = run(Fault::UndocumentedStatus).await;
    assert_eq!(
        kinds(&report),
        [("GET /health".to_string(), ViolationKind::UndocumentedStatus)]
    );
    assert_eq!(report.violations[0].found, "203 {\"status\":\"ok\"}");
}

#[tokio::test]
async fn a_body_violating_the_schema_is_caught() {
    let report = run(Fault::SchemaViolation).await;
    assert_eq!(
        kinds(&report),
        [(
            "GET /api/notes/{id}".to_string(),
            ViolationKind::SchemaMismatch
        )]
    );
    assert!(
        report.violations[0].found.starts_with("/priority: "),
        "{}",
        report.violations[0].found
    );
}

#[tokio::test]
async fn a_server_error_on_an_invalid_body_is_caught() {
    let report = run(Fault::ServerErrorOnInvalid).await;
    assert!(!report.passed());
    assert!(report.server_errors >= 1);
    assert!(
        kinds(&report)
            .iter()
            .all(|k| *k == ("POST /api/notes".to_string(), ViolationKind::ServerError)),
        "{:#?}",
        report.violations
    );
    let violation = &report.violations[0];
    assert_eq!(violation.exchange.status(), Some(500));
    assert!(
        violation.expected.contains("invalid body"),
        "{}",
        violation.expected
    );
}

#[tokio::test]
async fn a_protected_operation_answering_without_a_token_is_caught() {
    let report = run(Fault::MissingAuth).await;
    assert_eq!(
        kinds(&report),
        [("GET /api/notes".to_string(), ViolationKind::MissingAuth)]
    );
    assert_eq!(report.violations[0].exchange.status(), Some(200));
}

#[tokio::test]
async fn operations_that_cannot_be_exercised_are_reported_as_skipped() {
    let service = Service::start(Fault::None).await;
    let client = service.client();
    let api = support::api();
    // No users: every protected operation must say why it was not exercised.
    let session = Session::default();
    let options = ContractOptions {
        max_invalid_per_operation: 0,
        request_timeout: Duration::from_secs(10),
        skip_operations: vec!["health".to_string()],
    };
    let report = contract::run(&client, &api, &session, &options).await;
    let skipped: Vec<(String, String)> = report
        .operations
        .iter()
        .filter_map(|o| Some((format!("{} {}", o.method, o.path), o.skipped.clone()?)))
        .collect();
    assert_eq!(report.operations_skipped as usize, skipped.len());
    assert!(
        skipped.contains(&("GET /health".to_string(), "skipped by options".to_string())),
        "{skipped:?}"
    );
    assert!(
        skipped.contains(&(
            "GET /api/notes".to_string(),
            "the operation requires credentials and the session has none".to_string()
        )),
        "{skipped:?}"
    );
    assert!(
        skipped.iter().any(|(op, why)| op == "GET /api/notes/{id}" && why.contains("no record of /api/notes")),
        "{skipped:?}"
    );
}

#[tokio::test]
async fn admin_only_operations_are_exercised_and_validated_as_the_admin() {
    let report = run(Fault::None).await;
    let create = report
        .operations
        .iter()
        .find(|o| o.operation_id.as_deref() == Some("create_tag"))
        .unwrap();
    assert_eq!(
        create.notes,
        ["answered 403 to a user; exercised as the admin"]
    );
    // Invalid bodies must reach validation: sent as a user they would all stop at 403.
    let report = run(Fault::AdminCreateAcceptsInvalid).await;
    let accepted: Vec<&str> = report
        .violations
        .iter()
        .filter(|v| v.operation == "POST /api/tags" && v.kind == ViolationKind::AcceptedInvalid)
        .map(|v| v.expected.as_str())
        .collect();
    assert!(
        accepted
            .contains(&"a documented 4xx for the invalid body: missing required property `name`"),
        "{:#?}",
        report.violations
    );
}

#[tokio::test]
async fn without_admin_credentials_admin_only_operations_are_skipped_with_the_reason() {
    let service = Service::start(Fault::None).await;
    let client = service.client();
    let api = support::api();
    let session = Session::establish(&client, &api, &AuthOptions::default())
        .await
        .unwrap();
    let options = ContractOptions {
        max_invalid_per_operation: 50,
        request_timeout: Duration::from_secs(10),
        skip_operations: Vec::new(),
    };
    let report = contract::run(&client, &api, &session, &options).await;
    assert!(report.passed(), "{:#?}", report.violations);
    let create = report
        .operations
        .iter()
        .find(|o| o.operation_id.as_deref() == Some("create_tag"))
        .unwrap();
    assert_eq!(
        create.skipped.as_deref(),
        Some("answered 403 to a user and no admin credentials were given")
    );
    assert_eq!(report.operations_skipped, 2, "{:#?}", report.operations);
}
