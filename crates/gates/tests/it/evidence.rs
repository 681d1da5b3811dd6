//! Evidence gates (`contract`, `security`, `load`) failing before any traffic: the service
//! does not build, exits, never becomes ready, or the objectives cannot be read — each fails
//! the gate with its own evidence, and the started process group is always stopped.
//! The gates against real services (a clean one and one flaw at a time) are tested in
//! `apiwright-testbed`, which owns those services.

use std::collections::BTreeMap;

use apiwright_workflow::ContractCheck;
use apiwright_workflow::LoadCheck;
use apiwright_workflow::SecurityCheck;
use apiwright_workflow::ServiceSpec;
use apiwright_workflow::SlaSource;
use apiwright_workflow::SlaTargets;

use super::*;

fn service(run: &str) -> ServiceSpec {
    ServiceSpec {
        build: None,
        run: Some(run.into()),
        url: None,
        port_env: None,
        env: BTreeMap::new(),
        admin: None,
        ready: None,
        startup_timeout_secs: Some(2),
        build_timeout_secs: None,
    }
}

fn contract(service: ServiceSpec) -> Gate {
    Gate {
        contract: Some(ContractCheck {
            service,
            openapi: "openapi.json".into(),
            skip: vec![],
            timeout_secs: None,
        }),
        ..gate("contract")
    }
}

#[tokio::test]
async fn a_service_that_does_not_build_fails_with_the_build_output() {
    let fixture = Fixture::new();
    let mut spec = service("sleep 60");
    spec.build = Some("echo 'error[E0308]: mismatched types' >&2; exit 101".into());
    let report = fixture.check(&contract(spec)).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert!(
        report.summary.contains("did not build"),
        "{}",
        report.summary
    );
    assert!(
        report.evidence["output_tail"]
            .as_str()
            .unwrap()
            .contains("mismatched types")
    );
}

#[tokio::test]
async fn a_service_that_exits_at_start_fails_with_its_log() {
    let fixture = Fixture::new();
    let report = fixture
        .check(&contract(service(
            "echo \"cannot bind port $PORT\"; exit 7",
        )))
        .await
        .unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert!(report.summary.contains("exited"), "{}", report.summary);
    assert!(
        report.evidence["log_tail"]
            .as_str()
            .unwrap()
            .contains("cannot bind port"),
        "{}",
        report.evidence
    );
}

#[tokio::test]
async fn a_service_that_never_answers_fails_and_its_process_group_is_stopped() {
    let fixture = Fixture::new();
    let pid_file = fixture.dir.path().join("service.pid");
    // The shell records the pid of the process that never serves, then becomes it.
    let run = format!("echo $$ > '{}'; exec sleep 600", pid_file.display());
    let report = fixture.check(&contract(service(&run))).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert!(
        report.summary.contains("to answer 2xx within 2 s"),
        "{}",
        report.summary
    );
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let proc = std::path::PathBuf::from(format!("/proc/{}", pid.trim()));
    // Reaped or at worst a zombie for an instant: never still sleeping.
    let deadline = Instant::now() + Duration::from_secs(5);
    while proc.exists() && Instant::now() < deadline {
        let status = std::fs::read_to_string(proc.join("status")).unwrap_or_default();
        if status.contains("State:\tZ") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = std::fs::read_to_string(proc.join("status")).unwrap_or_default();
    assert!(
        !proc.exists() || status.contains("State:\tZ"),
        "the service process {} is still running: {status}",
        pid.trim()
    );
}

#[tokio::test]
async fn a_url_nothing_listens_on_is_not_ready() {
    let fixture = Fixture::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut spec = service("unused");
    spec.run = None;
    spec.url = Some(format!("http://127.0.0.1:{port}"));
    spec.startup_timeout_secs = Some(1);
    let gate = Gate {
        security: Some(SecurityCheck {
            service: spec,
            openapi: "/openapi.json".into(),
            fail_on: apiwright_workflow::Severity::High,
            scan_secrets: false,
            rate_limit_burst: None,
            timeout_secs: None,
        }),
        ..gate("security")
    };
    let report = fixture.check(&gate).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert!(
        report.summary.contains("is not ready"),
        "{}",
        report.summary
    );
}

#[tokio::test]
async fn a_load_gate_without_readable_objectives_fails_before_starting_anything() {
    let fixture = Fixture::new();
    let marker = fixture.dir.path().join("started");
    let load = |slas_from: Option<SlaSource>, slas: SlaTargets| Gate {
        load: Some(LoadCheck {
            service: service(&format!("touch '{}'; exec sleep 600", marker.display())),
            openapi: "openapi.json".into(),
            slas,
            slas_from,
            sustained_secs: None,
            stress_secs: None,
            spike_factor: None,
            spike_secs: None,
            endurance_secs: None,
            connections: None,
            timeout_secs: None,
        }),
        ..gate("load")
    };
    let missing = load(
        Some(SlaSource {
            key: "api/{api_id}/input/spec".into(),
            field: "slas".into(),
        }),
        SlaTargets::default(),
    );
    let report = fixture.check(&missing).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert!(
        report
            .summary
            .contains("`api/books/input/spec` does not exist"),
        "{}",
        report.summary
    );

    // A spec stored as YAML text without the field.
    fixture.put(
        "api/books/input/spec",
        Value::Text("api: {name: books}\n".into()),
    );
    let report = fixture.check(&missing).await.unwrap();
    assert!(
        report.summary.contains("expected a field `slas`"),
        "{}",
        report.summary
    );

    let not_a_number = load(
        None,
        SlaTargets {
            rps: Some("fast".into()),
            ..SlaTargets::default()
        },
    );
    let report = fixture.check(&not_a_number).await.unwrap();
    assert!(
        report
            .summary
            .contains("expected a number for `slas.rps`, found `fast`"),
        "{}",
        report.summary
    );
    assert!(!marker.exists(), "no service may start without objectives");
}
