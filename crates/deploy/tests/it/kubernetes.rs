//! The Kubernetes target: rendered manifests (snapshot, YAML round trip, the official schemas
//! vendored in `crates/deploy/schemas/`), plan validation, and kubectl driven as a real child
//! process — a fake `kubectl` script that records its arguments and stdin.

use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use apiwright_deploy::kubernetes;
use apiwright_deploy::kubernetes::ApplyOptions;
use apiwright_deploy::kubernetes::GatewayRef;
use apiwright_deploy::kubernetes::KubernetesError;
use apiwright_deploy::kubernetes::KubernetesPlan;
use apiwright_deploy::kubernetes::Manifest;
use apiwright_deploy::kubernetes::Track;
use serde_json::Value;
use serde_json::json;

fn plan() -> KubernetesPlan {
    KubernetesPlan {
        app: "books".to_owned(),
        namespace: "shop".to_owned(),
        image_repository: "registry.example.com/team/books".to_owned(),
        blue: Some(Track {
            version: "1.10".to_owned(),
        }),
        green: Track {
            version: "1.11".to_owned(),
        },
        weights: (90, 10),
        port: 8080,
        health_path: "/healthz".to_owned(),
        replicas: 2,
        env: vec![
            ("RUST_LOG".to_owned(), "info".to_owned()),
            ("FEATURE_FLAG".to_owned(), "true".to_owned()),
        ],
        secret_name: Some("books-secrets".to_owned()),
        gateway: GatewayRef {
            name: "public".to_owned(),
            namespace: "gateways".to_owned(),
        },
    }
}

fn first_deployment() -> KubernetesPlan {
    KubernetesPlan {
        blue: None,
        weights: (0, 100),
        env: Vec::new(),
        secret_name: None,
        ..plan()
    }
}

/// The document of a manifest, read back from its YAML.
fn document(manifest: &Manifest) -> Value {
    serde_saphyr::from_str(&manifest.yaml).unwrap()
}

fn kinds_and_names(manifests: &[Manifest]) -> Vec<(String, String)> {
    manifests
        .iter()
        .map(|manifest| (manifest.kind.clone(), manifest.name.clone()))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(kind, name)| ((*kind).to_owned(), (*name).to_owned()))
        .collect()
}

#[test]
fn blue_and_green_render_two_deployments_two_services_and_a_weighted_route() {
    let manifests = kubernetes::render(&plan()).unwrap();
    assert_eq!(
        kinds_and_names(&manifests),
        pairs(&[
            ("Deployment", "books-blue"),
            ("Deployment", "books-green"),
            ("Service", "books-blue"),
            ("Service", "books-green"),
            ("HTTPRoute", "books"),
        ])
    );
    insta::assert_snapshot!("blue_green", kubernetes::render_yaml(&manifests));
}

#[test]
fn a_first_deployment_renders_and_routes_only_green() {
    let manifests = kubernetes::render(&first_deployment()).unwrap();
    assert_eq!(
        kinds_and_names(&manifests),
        pairs(&[
            ("Deployment", "books-green"),
            ("Service", "books-green"),
            ("HTTPRoute", "books"),
        ])
    );
    let route = document(&manifests[2]);
    assert_eq!(
        route["spec"]["rules"][0]["backendRefs"],
        json!([{"group": "", "kind": "Service", "name": "books-green", "port": 8080, "weight": 100}])
    );
    insta::assert_snapshot!("green_only", kubernetes::render_yaml(&manifests));
}

#[test]
fn rendering_is_deterministic_and_the_yaml_reads_back_with_strings_kept_strings() {
    let plan = plan();
    let manifests = kubernetes::render(&plan).unwrap();
    assert_eq!(manifests, kubernetes::render(&plan).unwrap());
    let blue = document(&manifests[0]);
    // "1.10" must not come back as the number 1.1, nor "true" as a boolean.
    assert_eq!(blue["metadata"]["labels"]["version"], json!("1.10"));
    let container = &blue["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["image"],
        json!("registry.example.com/team/books:1.10")
    );
    assert_eq!(
        container["env"],
        json!([
            {"name": "PORT", "value": "8080"},
            {"name": "RUST_LOG", "value": "info"},
            {"name": "FEATURE_FLAG", "value": "true"},
        ])
    );
    let stream = kubernetes::render_yaml(&manifests);
    let documents: Vec<Value> = serde_saphyr::from_multiple(&stream).unwrap();
    let from_manifests: Vec<Value> = manifests.iter().map(document).collect();
    assert_eq!(documents, from_manifests);
}

#[test]
fn new_weights_change_only_the_route() {
    let route = kubernetes::render_route(&plan(), (0, 100)).unwrap();
    assert_eq!(
        (route.kind.as_str(), route.name.as_str()),
        ("HTTPRoute", "books")
    );
    let weights: Vec<Value> = document(&route)["spec"]["rules"][0]["backendRefs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|backend| json!([backend["name"], backend["weight"]]))
        .collect();
    assert_eq!(
        weights,
        [json!(["books-blue", 0]), json!(["books-green", 100])]
    );
}

#[test]
fn invalid_plans_are_refused_naming_the_field_what_was_expected_and_what_was_found() {
    let error = |plan: KubernetesPlan| kubernetes::render(&plan).unwrap_err().to_string();
    insta::assert_snapshot!(
        error(KubernetesPlan { app: "Books_API".to_owned(), ..plan() }),
        @"plan field `app`: expected a DNS-1123 label starting with a letter (lowercase letters, digits and '-'), at most 57 characters so that `{app}-green` is a valid Service name, found \"Books_API\""
    );
    insta::assert_snapshot!(
        error(KubernetesPlan { app: "9books".to_owned(), ..plan() }),
        @r#"plan field `app`: expected a DNS-1123 label starting with a letter (lowercase letters, digits and '-'), at most 57 characters so that `{app}-green` is a valid Service name, found "9books""#
    );
    insta::assert_snapshot!(
        error(KubernetesPlan { app: "b".repeat(58), ..plan() }),
        @r#"plan field `app`: expected a DNS-1123 label starting with a letter (lowercase letters, digits and '-'), at most 57 characters so that `{app}-green` is a valid Service name, found "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb""#
    );
    insta::assert_snapshot!(
        error(KubernetesPlan { namespace: "Shop".to_owned(), ..plan() }),
        @r#"plan field `namespace`: expected a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters), found "Shop""#
    );
    insta::assert_snapshot!(
        error(KubernetesPlan { green: Track { version: "1.11 beta".to_owned() }, ..plan() }),
        @r#"plan field `green.version`: expected an image tag that is also a label value (letters, digits, '.', '_' and '-', starting and ending with a letter or digit, at most 63 characters), found "1.11 beta""#
    );
    insta::assert_snapshot!(
        error(KubernetesPlan { image_repository: "team/books:1.0".to_owned(), ..plan() }),
        @r#"plan field `image_repository`: expected an image repository without tag or digest, e.g. `registry.example.com:5000/team/books` (lowercase path components), found "team/books:1.0""#
    );
    insta::assert_snapshot!(
        error(KubernetesPlan { health_path: "healthz".to_owned(), ..plan() }),
        @r#"plan field `health_path`: expected an absolute path starting with '/' and without whitespace, found "healthz""#
    );
    insta::assert_snapshot!(
        error(KubernetesPlan { replicas: 0, ..plan() }),
        @r#"plan field `replicas`: expected at least one replica (at most 2147483647), found "0""#
    );
    insta::assert_snapshot!(
        error(KubernetesPlan { port: 0, ..plan() }),
        @r#"plan field `port`: expected a port between 1 and 65535, found "0""#
    );
    insta::assert_snapshot!(
        error(KubernetesPlan { env: vec![("A".to_owned(), "1".to_owned()), ("A".to_owned(), "2".to_owned())], ..plan() }),
        @r#"plan field `env[1]`: expected a name not already set earlier in `env`, found "A""#
    );
    insta::assert_snapshot!(
        error(KubernetesPlan { secret_name: Some("Books Secrets".to_owned()), ..plan() }),
        @r#"plan field `secret_name`: expected a DNS-1123 subdomain (a Secret's name), found "Books Secrets""#
    );
    insta::assert_snapshot!(
        error(KubernetesPlan { weights: (0, 0), ..plan() }),
        @"weights (0, 0) (blue, green): (0, 0) would send traffic nowhere"
    );
    insta::assert_snapshot!(
        error(KubernetesPlan { weights: (50, 50), ..first_deployment() }),
        @"weights (50, 50) (blue, green): the plan has no blue track, so blue's weight must be 0, found 50"
    );
    insta::assert_snapshot!(
        kubernetes::render_route(&plan(), (2_000_000, 0)).unwrap_err().to_string(),
        @"weights (2000000, 0) (blue, green): each weight must be at most 1000000 (the Gateway API's limit)"
    );
}

// ---------------------------------------------------------------------------------------------
// The schema check: the vendored official schemas, offline.

/// The vendored schema for a kind, compiled.
fn validator(kind: &str) -> jsonschema::Validator {
    let file = match kind {
        "Deployment" => "deployment-apps-v1.json",
        "Service" => "service-v1.json",
        "HTTPRoute" => "httproute-gateway-v1.json",
        other => panic!("no schema vendored for {other}"),
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(file);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .unwrap()
}

/// Where `document` breaks the official schema of its kind, one readable line each.
fn violations(document: &Value) -> Vec<String> {
    let kind = document["kind"].as_str().unwrap();
    validator(kind)
        .iter_errors(document)
        .map(|error| format!("{kind} {}: {error}", error.instance_path()))
        .collect()
}

#[test]
fn every_rendered_manifest_passes_its_official_schema() {
    for plan in [plan(), first_deployment()] {
        for manifest in kubernetes::render(&plan).unwrap() {
            let document = document(&manifest);
            assert_eq!(
                violations(&document),
                Vec::<String>::new(),
                "{}",
                manifest.yaml
            );
        }
    }
}

#[test]
fn the_schema_check_rejects_wrong_types_unknown_fields_and_out_of_range_values() {
    let manifests = kubernetes::render(&plan()).unwrap();
    let (deployment, service, route) = (
        document(&manifests[0]),
        document(&manifests[2]),
        document(&manifests[4]),
    );

    let mut broken = deployment.clone();
    broken["spec"]["replicas"] = json!("2");
    insta::assert_snapshot!(violations(&broken).join("\n"), @r#"Deployment /spec/replicas: "2" is not of types "null", "integer""#);

    let mut broken = deployment.clone();
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] =
        json!("/healthz");
    insta::assert_snapshot!(violations(&broken).join("\n"), @"Deployment /spec/template/spec/containers/0/readinessProbe/httpGet: Additional properties are not allowed ('paht' was unexpected)");

    let mut broken = service.clone();
    broken["spec"]["ports"][0]["port"] = json!("8080");
    insta::assert_snapshot!(violations(&broken).join("\n"), @r#"Service /spec/ports/0/port: "8080" is not of type "integer""#);

    let mut broken = route.clone();
    broken["spec"]["rules"][0]["backendRefs"][0]["weight"] = json!(2_000_000);
    insta::assert_snapshot!(violations(&broken).join("\n"), @"HTTPRoute /spec/rules/0/backendRefs/0/weight: 2000000 is greater than the maximum of 1000000");

    let mut broken = route.clone();
    let backend = broken["spec"]["rules"][0]["backendRefs"][1]
        .as_object_mut()
        .unwrap();
    backend.remove("name");
    backend.insert("weigth".to_owned(), json!(10));
    insta::assert_snapshot!(violations(&broken).join("\n"), @r#"
HTTPRoute /spec/rules/0/backendRefs/1: Additional properties are not allowed ('weigth' was unexpected)
HTTPRoute /spec/rules/0/backendRefs/1: "name" is a required property
"#);

    let mut broken = route;
    broken["apiVersion"] = json!("gateway.networking.k8s.io/v1beta1");
    insta::assert_snapshot!(violations(&broken).join("\n"), @r#"HTTPRoute /apiVersion: "gateway.networking.k8s.io/v1beta1" is not one of "gateway.networking.k8s.io/v1""#);
}

// ---------------------------------------------------------------------------------------------
// kubectl, faked by a script that answers like kubectl and records what it was given.

/// How the fake cluster behind the fake kubectl behaves.
#[derive(Clone, Copy)]
enum Cluster {
    Answering,
    Refusing,
    Silent,
    RejectingApply,
}

struct FakeKubectl {
    directory: tempfile::TempDir,
    path: PathBuf,
}

impl FakeKubectl {
    fn new(cluster: Cluster) -> FakeKubectl {
        let version = match cluster {
            Cluster::Answering | Cluster::RejectingApply => {
                r#"echo '{"clientVersion":{"gitVersion":"v1.32.4"},"serverVersion":{"gitVersion":"v1.31.2"}}'"#
            }
            Cluster::Refusing => {
                "echo 'The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?' >&2; exit 1"
            }
            Cluster::Silent => "exec sleep 30",
        };
        let apply = match cluster {
            Cluster::RejectingApply => {
                r#"echo 'Error from server (Forbidden): deployments.apps "books-blue" is forbidden: User "ci" cannot patch resource' >&2; exit 1"#
            }
            Cluster::Answering | Cluster::Refusing | Cluster::Silent => {
                r#"awk '/^kind:/ { kind = tolower($2) } /^  name:/ && kind != "" { print kind "/" $2 " configured"; kind = "" }' "$dir/stdin.yaml""#
            }
        };
        let script = format!(
            r#"#!/bin/sh
dir="$(dirname "$0")"
echo "$*" >> "$dir/args.log"
for argument in "$@"; do
  case "$argument" in
    version|apply|rollout) command="$argument"; break ;;
  esac
done
case "$command" in
  version) {version} ;;
  apply) cat > "$dir/stdin.yaml"; {apply} ;;
  rollout) echo 'deployment "books-green" successfully rolled out' ;;
  *) echo "fake kubectl: unexpected arguments: $*" >&2; exit 2 ;;
esac
"#
        );
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("kubectl");
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        FakeKubectl { directory, path }
    }

    fn options(&self) -> ApplyOptions {
        ApplyOptions {
            kubectl: self.path.clone(),
            context: Some("kind-test".to_owned()),
            ..ApplyOptions::new("shop")
        }
    }

    /// One line per invocation: the arguments.
    fn invocations(&self) -> Vec<String> {
        std::fs::read_to_string(self.directory.path().join("args.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// What `kubectl apply -f -` read on stdin, if it ran.
    fn applied_stdin(&self) -> Option<String> {
        std::fs::read_to_string(self.directory.path().join("stdin.yaml")).ok()
    }
}

#[tokio::test]
async fn apply_checks_the_cluster_then_pipes_every_document_to_kubectl_apply() {
    let kubectl = FakeKubectl::new(Cluster::Answering);
    let manifests = kubernetes::render(&plan()).unwrap();
    let report = kubernetes::apply(&kubectl.options(), &manifests)
        .await
        .unwrap();
    assert_eq!(
        kubectl.invocations(),
        [
            "--context kind-test --namespace shop version -o json --request-timeout=60s",
            "--context kind-test --namespace shop apply -f -",
        ]
    );
    assert_eq!(
        kubectl.applied_stdin().unwrap(),
        kubernetes::render_yaml(&manifests)
    );
    assert_eq!(report.server_version, "v1.31.2");
    assert_eq!(report.kubectl, kubectl.path);
    assert_eq!(report.context.as_deref(), Some("kind-test"));
    assert_eq!(
        report.applied,
        [
            "deployment/books-blue configured",
            "deployment/books-green configured",
            "service/books-blue configured",
            "service/books-green configured",
            "httproute/books configured",
        ]
    );
}

#[tokio::test]
async fn an_unreachable_cluster_is_reported_with_kubectls_words_and_nothing_is_applied() {
    let kubectl = FakeKubectl::new(Cluster::Refusing);
    let manifests = kubernetes::render(&plan()).unwrap();
    let error = kubernetes::apply(&kubectl.options(), &manifests)
        .await
        .unwrap_err();
    assert!(
        matches!(error, KubernetesError::Unreachable { .. }),
        "{error:?}"
    );
    insta::assert_snapshot!(error.to_string(), @"kubectl cannot reach the cluster (context kind-test): `kubectl version` exit status: 1: The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?; nothing was applied");
    assert_eq!(kubectl.invocations().len(), 1);
    assert!(kubectl.invocations()[0].contains(" version "));
    assert_eq!(kubectl.applied_stdin(), None);
}

#[tokio::test]
async fn a_cluster_that_does_not_answer_in_time_is_unreachable() {
    let kubectl = FakeKubectl::new(Cluster::Silent);
    let options = ApplyOptions {
        timeout: Duration::from_secs(1),
        context: None,
        ..kubectl.options()
    };
    let manifests = kubernetes::render(&plan()).unwrap();
    let error = kubernetes::apply(&options, &manifests).await.unwrap_err();
    insta::assert_snapshot!(error.to_string(), @"kubectl cannot reach the cluster (kubeconfig's current context): no answer within 1s; nothing was applied");
    assert_eq!(kubectl.applied_stdin(), None);
}

#[tokio::test]
async fn a_missing_kubectl_is_no_kubernetes_target() {
    let manifests = kubernetes::render(&plan()).unwrap();
    let on_path = ApplyOptions {
        kubectl: PathBuf::from("apiwright-no-such-kubectl"),
        ..ApplyOptions::new("shop")
    };
    let error = kubernetes::apply(&on_path, &manifests).await.unwrap_err();
    insta::assert_snapshot!(error.to_string(), @"no Kubernetes target: `apiwright-no-such-kubectl` was not found on PATH; nothing was applied");

    let directory = tempfile::tempdir().unwrap();
    let at_path = ApplyOptions {
        kubectl: directory.path().join("bin/kubectl"),
        ..ApplyOptions::new("shop")
    };
    let error = kubernetes::apply(&at_path, &manifests).await.unwrap_err();
    assert!(
        matches!(error, KubernetesError::KubectlMissing { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .ends_with("does not exist or is not a file; nothing was applied"),
        "{error}"
    );
}

#[tokio::test]
async fn a_rejected_apply_is_an_error_with_kubectls_stderr() {
    let kubectl = FakeKubectl::new(Cluster::RejectingApply);
    let manifests = kubernetes::render(&plan()).unwrap();
    let error = kubernetes::apply(&kubectl.options(), &manifests)
        .await
        .unwrap_err();
    let KubernetesError::CommandFailed {
        command,
        status,
        stderr,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert!(
        command.ends_with("--context kind-test --namespace shop apply -f -"),
        "{command}"
    );
    assert_eq!(status, "exit status: 1");
    assert!(stderr.contains("is forbidden"), "{stderr}");
}

#[tokio::test]
async fn set_weights_reapplies_only_the_route_with_the_new_split() {
    let kubectl = FakeKubectl::new(Cluster::Answering);
    let report = kubernetes::set_weights(&kubectl.options(), &plan(), (100, 0))
        .await
        .unwrap();
    assert_eq!(report.applied, ["httproute/books configured"]);
    let stdin = kubectl.applied_stdin().unwrap();
    let documents: Vec<Value> = serde_saphyr::from_multiple(&stdin).unwrap();
    assert_eq!(documents.len(), 1);
    assert_eq!(documents[0]["kind"], "HTTPRoute");
    assert_eq!(
        documents[0]["spec"]["rules"][0]["backendRefs"][0]["weight"],
        100
    );
    assert_eq!(
        documents[0]["spec"]["rules"][0]["backendRefs"][1]["weight"],
        0
    );

    let refused = kubernetes::set_weights(&kubectl.options(), &first_deployment(), (10, 90)).await;
    assert!(
        matches!(refused, Err(KubernetesError::InvalidWeights { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn rollout_status_checks_the_cluster_then_waits_on_the_named_deployment() {
    let kubectl = FakeKubectl::new(Cluster::Answering);
    let output =
        kubernetes::rollout_status(&kubectl.options(), "books-green", Duration::from_secs(120))
            .await
            .unwrap();
    assert_eq!(
        output.trim(),
        r#"deployment "books-green" successfully rolled out"#
    );
    assert_eq!(
        kubectl.invocations(),
        [
            "--context kind-test --namespace shop version -o json --request-timeout=60s",
            "--context kind-test --namespace shop rollout status deployment/books-green --timeout=120s",
        ]
    );
}

#[test]
fn environment_values_that_other_yaml_readers_would_retype_are_quoted() {
    // kubectl reads YAML 1.1, where `yes`, `on`, `0o10`, `1_000` and `2026-01-01` are not strings.
    let values = [
        "yes",
        "on",
        "n",
        "off",
        "null",
        "~",
        "",
        "0o10",
        "1_000",
        "1e3",
        "12:30",
        "2026-01-01",
        "- item",
        "# not a comment",
        "a: b",
        " leading space",
        "line\nbreak",
        "'quoted'",
        "\"",
        &"long ".repeat(40),
    ];
    let plan = KubernetesPlan {
        env: values
            .iter()
            .enumerate()
            .map(|(index, value)| (format!("V{index}"), (*value).to_owned()))
            .collect(),
        ..plan()
    };
    let manifests = kubernetes::render(&plan).unwrap();
    let env = &document(&manifests[0])["spec"]["template"]["spec"]["containers"][0]["env"];
    let read_back: Vec<&str> = env.as_array().unwrap()[1..]
        .iter()
        .map(|variable| variable["value"].as_str().unwrap())
        .collect();
    assert_eq!(read_back, values);
    for plain in [
        "value: yes",
        "value: on",
        "value: n\n",
        "value: 2026-01-01",
        "value: 0o10",
    ] {
        assert!(
            !manifests[0].yaml.contains(plain),
            "{plain:?} is not quoted:\n{}",
            manifests[0].yaml
        );
    }
}

#[tokio::test]
async fn set_weights_refuses_a_plan_for_another_namespace() {
    let kubectl = FakeKubectl::new(Cluster::Answering);
    let options = ApplyOptions {
        namespace: "staging".to_owned(),
        ..kubectl.options()
    };
    let error = kubernetes::set_weights(&options, &plan(), (100, 0))
        .await
        .unwrap_err();
    insta::assert_snapshot!(error.to_string(), @r#"plan field `namespace`: expected the namespace kubectl applies to, "staging", found "shop""#);
    assert!(kubectl.invocations().is_empty());
}

/// The real kubectl, where one is installed: a context that does not exist is reported as an
/// unreachable cluster in kubectl's own words. Skipped at run time without kubectl on PATH.
#[tokio::test]
async fn the_real_kubectl_with_an_unknown_context_applies_nothing() {
    let options = ApplyOptions {
        context: Some("apiwright-no-such-context".to_owned()),
        timeout: Duration::from_secs(20),
        ..ApplyOptions::new("shop")
    };
    let manifests = kubernetes::render(&plan()).unwrap();
    match kubernetes::apply(&options, &manifests).await {
        Err(KubernetesError::KubectlNotFound { .. }) => {
            eprintln!("skipped: no kubectl on PATH");
        }
        Err(error @ KubernetesError::Unreachable { .. }) => {
            let message = error.to_string();
            assert!(
                message.starts_with(
                    "kubectl cannot reach the cluster (context apiwright-no-such-context): "
                ),
                "{message}"
            );
            // kubectl's own words name the context (`context "…" does not exist` in current releases).
            let detail = message.split_once("): ").map_or("", |(_, detail)| detail);
            assert!(detail.contains("apiwright-no-such-context"), "{message}");
            assert!(message.ends_with("; nothing was applied"), "{message}");
        }
        other => panic!("expected an unreachable cluster, got {other:?}"),
    }
}
