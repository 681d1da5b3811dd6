//! The `kubernetes` target of the `deploy` gate: blue/green manifests rendered from the
//! gate's plan (blue is the version this gate last deployed, kept in the deployment
//! directory), written beside the deployment as evidence, applied with kubectl once it is
//! found and the cluster answers, green's rollout waited for, then the HTTPRoute weights moved
//! through the canary steps. Without kubectl or a reachable cluster the gate fails saying so
//! and applies nothing.

use std::time::Duration;

use apiwright_deploy::kubernetes;
use apiwright_deploy::kubernetes::ApplyOptions;
use apiwright_deploy::kubernetes::GatewayRef;
use apiwright_deploy::kubernetes::KubernetesPlan;
use apiwright_deploy::kubernetes::Track;
use apiwright_workflow::DeployCheck;
use apiwright_workflow::template;
use serde_json::Value;
use serde_json::json;

use super::Verdict;
use crate::GateContext;
use crate::GateError;
use crate::GateOutcome;

fn failed(summary: String, evidence: Value) -> Verdict {
    (GateOutcome::Failed, summary, evidence)
}

pub(crate) async fn evaluate(
    check: &DeployCheck,
    context: &GateContext<'_>,
) -> Result<Verdict, GateError> {
    let Some(spec) = &check.kubernetes else {
        return Ok(failed(
            "expected a `kubernetes` section (image_repository, version, gateway) with `target: kubernetes`, found none".into(),
            Value::Null,
        ));
    };
    let (state_dir, name) =
        super::deploy::location(check.state_dir.as_ref(), check.name.as_ref(), context)?;
    let deployment = state_dir.join(&name);
    let record = deployment.join("kubernetes.json");
    let previous: Option<String> = std::fs::read_to_string(&record)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|value| value["live"].as_str().map(str::to_string));
    // Every step's watch time is read before anything is applied.
    let mut watches = Vec::new();
    for (index, step) in check.rollout.steps.iter().enumerate() {
        let field = format!("rollout.steps[{index}].watch_secs");
        match super::deploy::number(&step.watch_secs, &field, context)? {
            Ok(watch) => watches.push(watch),
            Err(reason) => return Ok(failed(reason, Value::Null)),
        }
    }
    let version = template::render(&spec.version, context.vars)?;
    let namespace = spec.namespace.clone().unwrap_or_else(|| "default".into());
    let (gateway_namespace, gateway_name) = match spec.gateway.split_once('/') {
        Some((namespace, name)) => (namespace.to_string(), name.to_string()),
        None => (namespace.clone(), spec.gateway.clone()),
    };
    let mut env: Vec<(String, String)> = Vec::new();
    for (variable, value) in &check.service.env {
        env.push((variable.clone(), template::render(value, context.vars)?));
    }
    let blue = previous
        .filter(|previous| *previous != version)
        .map(|version| Track { version });
    let mut plan = KubernetesPlan {
        app: name.clone(),
        namespace: namespace.clone(),
        image_repository: spec.image_repository.clone(),
        weights: if blue.is_some() { (100, 0) } else { (0, 100) },
        blue,
        green: Track {
            version: version.clone(),
        },
        port: spec.port.unwrap_or(8080),
        health_path: check
            .service
            .ready
            .clone()
            .unwrap_or_else(|| "/health".into()),
        replicas: spec.replicas.unwrap_or(2),
        env,
        secret_name: spec.secret_name.clone(),
        gateway: GatewayRef {
            name: gateway_name,
            namespace: gateway_namespace,
        },
    };
    let manifests = match kubernetes::render(&plan) {
        Ok(manifests) => manifests,
        Err(error) => {
            return Ok(failed(
                format!("NO-GO: the Kubernetes plan is invalid: {error}"),
                Value::Null,
            ));
        }
    };
    let rendered = kubernetes::render_yaml(&manifests);
    let written = deployment
        .join("kubernetes")
        .join(format!("{version}.yaml"));
    let saved = std::fs::create_dir_all(written.parent().unwrap_or(&deployment))
        .and_then(|()| std::fs::write(&written, &rendered));
    if let Err(error) = saved {
        return Ok(failed(
            format!("cannot write {}: {error}", written.display()),
            Value::Null,
        ));
    }
    let objects: Vec<Value> = manifests
        .iter()
        .map(|manifest| json!({"kind": manifest.kind, "name": manifest.name}))
        .collect();
    let mut options = ApplyOptions::new(namespace);
    options.context = spec.context.clone();
    if let Some(kubectl) = &spec.kubectl {
        options.kubectl = kubectl.into();
    }
    let evidence = |extra: Value| {
        let mut value = json!({
            "environment": "production", "target": "kubernetes", "version": version,
            "blue": plan.blue.as_ref().map(|track| track.version.clone()),
            "manifests": written, "objects": objects,
        });
        if let (Some(object), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
            object.extend(extra.clone());
        }
        value
    };
    let applied = match kubernetes::apply(&options, &manifests).await {
        Ok(report) => report,
        Err(error) => {
            return Ok(failed(
                format!("NO-GO: {error}"),
                evidence(json!({"decision": "NO-GO", "applied": false})),
            ));
        }
    };
    let green = format!("{name}-green");
    let startup = Duration::from_secs(check.service.startup_timeout_secs.unwrap_or(300));
    if let Err(error) = kubernetes::rollout_status(&options, &green, startup).await {
        if plan.blue.is_some() {
            let _ = kubernetes::set_weights(&options, &plan, (100, 0)).await;
        }
        return Ok(failed(
            format!("NO-GO: green did not roll out, traffic stays on blue: {error}"),
            evidence(json!({"decision": "NO-GO", "applied": applied.applied})),
        ));
    }
    let mut steps = Vec::new();
    if plan.blue.is_some() {
        for (step, watch) in check.rollout.steps.iter().zip(watches) {
            let weights = (100 - step.percent.min(100), step.percent.min(100));
            if let Err(error) = kubernetes::set_weights(&options, &plan, weights).await {
                let _ = kubernetes::set_weights(&options, &plan, (100, 0)).await;
                return Ok(failed(
                    format!(
                        "NO-GO: shifting to {}% failed, traffic returned to blue: {error}",
                        step.percent
                    ),
                    evidence(json!({"decision": "NO-GO", "steps": steps})),
                ));
            }
            steps.push(json!({"percent": step.percent, "watch_secs": watch}));
            tokio::time::sleep(Duration::from_secs_f64(watch)).await;
        }
        plan.weights = (0, 100);
    }
    let _ = std::fs::write(
        &record,
        json!({"live": version, "blue": plan.blue.as_ref().map(|track| track.version.clone())})
            .to_string(),
    );
    Ok((
        GateOutcome::Passed,
        format!(
            "applied {} objects to {} (server {}); green {version} rolled out and has 100% of the HTTPRoute",
            manifests.len(),
            applied.context.as_deref().unwrap_or("the current context"),
            applied.server_version
        ),
        evidence(
            json!({"decision": "GO", "applied": applied.applied, "steps": steps,
            "thresholds": "not evaluated on this target: apiwright has no metrics source inside the cluster; the local target measures them"}),
        ),
    ))
}
