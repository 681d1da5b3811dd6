//! Plan → manifests: a Deployment and a Service per track and one Gateway API HTTPRoute that
//! splits the traffic between the tracks' Services. Pure and deterministic: the same plan always
//! renders the same bytes (object keys are written in sorted order).

use serde_json::Value;
use serde_json::json;

use super::KubernetesError;
use super::KubernetesPlan;
use super::Manifest;
use super::plan::check_weights;

/// The two tracks, in the order they are rendered.
#[derive(Debug, Clone, Copy)]
enum Color {
    Blue,
    Green,
}

impl Color {
    fn name(self) -> &'static str {
        match self {
            Color::Blue => "blue",
            Color::Green => "green",
        }
    }
}

const MANAGED_BY: &str = "apiwright";
/// The container's name in every pod, and the name of its port.
const CONTAINER: &str = "app";
const PORT_NAME: &str = "http";

/// Renders every manifest of the plan: Deployments, then Services (blue before green), then the
/// HTTPRoute.
pub fn render(plan: &KubernetesPlan) -> Result<Vec<Manifest>, KubernetesError> {
    plan.validate()?;
    let tracks: Vec<(Color, &str)> = plan
        .blue
        .as_ref()
        .map(|blue| (Color::Blue, blue.version.as_str()))
        .into_iter()
        .chain([(Color::Green, plan.green.version.as_str())])
        .collect();
    let mut manifests = Vec::new();
    for (color, version) in &tracks {
        manifests.push(manifest(deployment(plan, *color, version))?);
    }
    for (color, _) in &tracks {
        manifests.push(manifest(service(plan, *color))?);
    }
    manifests.push(manifest(http_route(plan, plan.weights))?);
    Ok(manifests)
}

/// Renders only the HTTPRoute of `plan`, with `weights` instead of the plan's.
pub fn render_route(
    plan: &KubernetesPlan,
    weights: (u32, u32),
) -> Result<Manifest, KubernetesError> {
    plan.validate()?;
    check_weights(plan.blue.is_some(), weights)?;
    manifest(http_route(plan, weights))
}

/// All documents as one YAML stream, each introduced by `---`.
pub fn render_yaml(manifests: &[Manifest]) -> String {
    let mut stream = String::new();
    for manifest in manifests {
        stream.push_str("---\n");
        stream.push_str(manifest.yaml.trim_start_matches("---\n"));
        if !stream.ends_with('\n') {
            stream.push('\n');
        }
    }
    stream
}

fn manifest(document: Value) -> Result<Manifest, KubernetesError> {
    let kind = document["kind"].as_str().unwrap_or_default().to_owned();
    let name = document["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match serde_saphyr::to_string(&document) {
        Ok(yaml) => Ok(Manifest { kind, name, yaml }),
        Err(source) => Err(KubernetesError::Yaml { kind, name, source }),
    }
}

fn track_name(plan: &KubernetesPlan, color: Color) -> String {
    format!("{}-{}", plan.app, color.name())
}

/// Labels on every object, so that `kubectl get all -l app.kubernetes.io/name=APP` finds them.
fn common_labels(plan: &KubernetesPlan) -> serde_json::Map<String, Value> {
    let mut labels = serde_json::Map::new();
    labels.insert("app".into(), json!(plan.app));
    labels.insert("app.kubernetes.io/name".into(), json!(plan.app));
    labels.insert("app.kubernetes.io/managed-by".into(), json!(MANAGED_BY));
    labels
}

/// The labels that pick a track's pods; never includes the version, so a Service keeps its pods
/// whatever version the track runs.
fn selector(plan: &KubernetesPlan, color: Color) -> Value {
    json!({ "app": plan.app, "track": color.name() })
}

fn track_labels(plan: &KubernetesPlan, color: Color, version: Option<&str>) -> Value {
    let mut labels = common_labels(plan);
    labels.insert("track".into(), json!(color.name()));
    if let Some(version) = version {
        labels.insert("version".into(), json!(version));
    }
    Value::Object(labels)
}

fn deployment(plan: &KubernetesPlan, color: Color, version: &str) -> Value {
    let labels = track_labels(plan, color, Some(version));
    let mut env = Vec::new();
    if !plan.env.iter().any(|(name, _)| name == "PORT") {
        env.push(json!({ "name": "PORT", "value": plan.port.to_string() }));
    }
    env.extend(
        plan.env
            .iter()
            .map(|(name, value)| json!({ "name": name, "value": value })),
    );
    let mut container = json!({
        "name": CONTAINER,
        "image": format!("{}:{version}", plan.image_repository),
        "imagePullPolicy": "IfNotPresent",
        "ports": [{ "name": PORT_NAME, "containerPort": plan.port, "protocol": "TCP" }],
        "env": env,
        "readinessProbe": {
            "httpGet": { "path": plan.health_path, "port": PORT_NAME },
            "initialDelaySeconds": 2,
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            "httpGet": { "path": plan.health_path, "port": PORT_NAME },
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "resources": {
            "requests": { "cpu": "100m", "memory": "128Mi" },
            "limits": { "cpu": "500m", "memory": "256Mi" },
        },
        "securityContext": {
            "runAsNonRoot": true,
            "readOnlyRootFilesystem": true,
            "allowPrivilegeEscalation": false,
            "capabilities": { "drop": ["ALL"] },
        },
        // A read-only root needs somewhere writable for temporary files.
        "volumeMounts": [{ "name": "tmp", "mountPath": "/tmp" }],
    });
    if let Some(secret_name) = &plan.secret_name {
        container["envFrom"] = json!([{ "secretRef": { "name": secret_name } }]);
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": track_name(plan, color),
            "namespace": plan.namespace,
            "labels": labels,
        },
        "spec": {
            "replicas": plan.replicas,
            "revisionHistoryLimit": 5,
            "selector": { "matchLabels": selector(plan, color) },
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": { "maxSurge": 1, "maxUnavailable": 0 },
            },
            "template": {
                "metadata": { "labels": labels },
                "spec": {
                    "automountServiceAccountToken": false,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "seccompProfile": { "type": "RuntimeDefault" },
                    },
                    "containers": [container],
                    "volumes": [{ "name": "tmp", "emptyDir": {} }],
                },
            },
        },
    })
}

fn service(plan: &KubernetesPlan, color: Color) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": track_name(plan, color),
            "namespace": plan.namespace,
            "labels": track_labels(plan, color, None),
        },
        "spec": {
            "type": "ClusterIP",
            "selector": selector(plan, color),
            "ports": [{ "name": PORT_NAME, "port": plan.port, "targetPort": PORT_NAME, "protocol": "TCP" }],
        },
    })
}

fn http_route(plan: &KubernetesPlan, weights: (u32, u32)) -> Value {
    let backend = |color: Color, weight: u32| {
        json!({
            "group": "",
            "kind": "Service",
            "name": track_name(plan, color),
            "port": plan.port,
            "weight": weight,
        })
    };
    let mut backend_refs = Vec::new();
    if plan.blue.is_some() {
        backend_refs.push(backend(Color::Blue, weights.0));
    }
    backend_refs.push(backend(Color::Green, weights.1));
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {
            "name": plan.app,
            "namespace": plan.namespace,
            "labels": Value::Object(common_labels(plan)),
        },
        "spec": {
            "parentRefs": [{
                "group": "gateway.networking.k8s.io",
                "kind": "Gateway",
                "name": plan.gateway.name,
                "namespace": plan.gateway.namespace,
            }],
            "rules": [{
                "matches": [{ "path": { "type": "PathPrefix", "value": "/" } }],
                "backendRefs": backend_refs,
            }],
        },
    })
}
