//! The `deploy` gate's failures before any traffic (build, package, unreadable document) and
//! its Kubernetes target: without kubectl it fails saying so and applies nothing; with a
//! kubectl that answers (a fake one: a real child process speaking kubectl's output), the
//! rendered manifests are applied and the route's weights moved.

use std::collections::BTreeMap;

use apiwright_workflow::DeployCheck;
use apiwright_workflow::DeployTarget;
use apiwright_workflow::Environment;
use apiwright_workflow::KubernetesSpec;
use apiwright_workflow::ReleaseSpec;
use apiwright_workflow::RolloutSpec;
use apiwright_workflow::ServiceSpec;

use super::*;

fn deploy_gate(fixture: &Fixture, target: DeployTarget, kubectl: Option<String>) -> Gate {
    Gate {
        deploy: Some(DeployCheck {
            environment: Environment::Production,
            target,
            service: ServiceSpec {
                build: None,
                run: Some("exec ./service".into()),
                url: None,
                port_env: None,
                env: BTreeMap::new(),
                admin: None,
                ready: None,
                startup_timeout_secs: Some(5),
                build_timeout_secs: None,
            },
            release: ReleaseSpec {
                package: "true".into(),
                secret_env: vec![],
                database_env: None,
            },
            openapi: "openapi.json".into(),
            name: Some("books".into()),
            state_dir: Some(fixture.dir.path().join("deploy").display().to_string()),
            rollout: RolloutSpec::default(),
            kubernetes: Some(KubernetesSpec {
                image_repository: "registry.example.com/books".into(),
                version: "1.0.0".into(),
                namespace: Some("shop".into()),
                context: None,
                kubectl,
                gateway: "infra/public".into(),
                port: None,
                replicas: None,
                secret_name: None,
            }),
            timeout_secs: None,
        }),
        ..gate("deploy")
    }
}

#[tokio::test]
async fn a_release_that_does_not_package_is_no_go() {
    let fixture = Fixture::new();
    let mut gate = deploy_gate(&fixture, DeployTarget::Local, None);
    if let Some(check) = gate.deploy.as_mut() {
        check.release.package = "echo 'no binary to copy' >&2; exit 3".into();
    }
    let report = fixture.check(&gate).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert!(
        report
            .summary
            .starts_with("NO-GO: packaging the release failed"),
        "{}",
        report.summary
    );
    assert!(
        report.evidence["output_tail"]
            .as_str()
            .unwrap()
            .contains("no binary to copy")
    );
}

#[tokio::test]
async fn kubernetes_without_kubectl_fails_saying_so() {
    let fixture = Fixture::new();
    let missing = fixture
        .dir
        .path()
        .join("no-such-kubectl")
        .display()
        .to_string();
    let report = fixture
        .check(&deploy_gate(
            &fixture,
            DeployTarget::Kubernetes,
            Some(missing),
        ))
        .await
        .unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert!(
        report.summary.contains("nothing was applied"),
        "{}",
        report.summary
    );
    assert_eq!(report.evidence["applied"], false);
    // The manifests were rendered for review even so.
    let manifests =
        std::fs::read_to_string(report.evidence["manifests"].as_str().unwrap()).unwrap();
    assert!(manifests.contains("kind: HTTPRoute"), "{manifests}");
}

#[tokio::test]
async fn kubernetes_with_a_cluster_applies_and_moves_the_weights() {
    let fixture = Fixture::new();
    let log = fixture.dir.path().join("kubectl.log");
    let kubectl = fixture.dir.path().join("kubectl");
    std::fs::write(
        &kubectl,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{log}'\ncase \"$*\" in\n  *version*) echo '{{\"serverVersion\":{{\"gitVersion\":\"v1.31.0\"}}}}' ;;\n  *apply*) cat >> '{log}'; echo 'deployment.apps/books-green configured' ;;\n  *rollout*) echo 'deployment \"books-green\" successfully rolled out' ;;\nesac\n",
            log = log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).unwrap();
    let kubectl = Some(kubectl.display().to_string());
    let first = fixture
        .check(&deploy_gate(
            &fixture,
            DeployTarget::Kubernetes,
            kubectl.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(first.outcome, GateOutcome::Passed, "{}", first.summary);
    assert!(
        first.evidence["blue"].is_null(),
        "the first release has no blue"
    );
    // The second release has the first as blue and moves through the canary steps.
    let mut second = deploy_gate(&fixture, DeployTarget::Kubernetes, kubectl);
    if let Some(check) = second.deploy.as_mut() {
        if let Some(kubernetes) = check.kubernetes.as_mut() {
            kubernetes.version = "1.1.0".into();
        }
        for step in &mut check.rollout.steps {
            step.watch_secs = "0".into();
        }
    }
    let report = fixture.check(&second).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Passed, "{}", report.summary);
    assert_eq!(report.evidence["blue"], "1.0.0");
    let steps: Vec<u64> = report.evidence["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["percent"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [10, 50, 100]);
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(
        calls.contains("rollout status deployment/books-green"),
        "{calls}"
    );
    assert!(
        calls.contains("weight: 90") && calls.contains("weight: 10"),
        "{calls}"
    );
}

#[tokio::test]
async fn staging_that_never_becomes_ready_is_no_go() {
    let fixture = Fixture::new();
    std::fs::write(
        fixture.dir.path().join("openapi.json"),
        r#"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}"#,
    )
    .unwrap();
    let mut gate = deploy_gate(&fixture, DeployTarget::Local, None);
    if let Some(check) = gate.deploy.as_mut() {
        check.environment = Environment::Staging;
        check.service.run = Some("exec sleep 60".into());
        check.service.startup_timeout_secs = Some(1);
    }
    let report = fixture.check(&gate).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert!(
        report.summary.starts_with("NO-GO: staging did not start"),
        "{}",
        report.summary
    );
    assert_eq!(report.evidence["decision"], "NO-GO");
}

#[tokio::test]
async fn monitoring_with_nothing_deployed_fails() {
    let fixture = Fixture::new();
    let gate = Gate {
        monitor: Some(apiwright_workflow::MonitorCheck {
            name: Some("books".into()),
            state_dir: Some(fixture.dir.path().join("deploy").display().to_string()),
            window_secs: Some("1".into()),
            traffic_rps: None,
            thresholds: apiwright_workflow::AlertThresholds::default(),
            fail_on: apiwright_workflow::AlertLevel::Critical,
        }),
        ..gate("monitoring")
    };
    let report = fixture.check(&gate).await.unwrap();
    assert_eq!(report.outcome, GateOutcome::Failed);
    assert!(
        report.summary.contains("nothing to monitor"),
        "{}",
        report.summary
    );
    assert!(
        !fixture.dir.path().join("deploy").exists(),
        "looking must not create the deployment"
    );
}
