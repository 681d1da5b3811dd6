//! Evidence gates (`contract`, `security`, `load`) and gate `record` keys: a service that can
//! be reached, limits that mean something, and a recorded key no step also writes.

use super::Issue;
use crate::deploy::DeployCheck;
use crate::evidence::LoadCheck;
use crate::evidence::ServiceSpec;
use crate::model::Gate;
use crate::model::Step;
use crate::span_index::Path;

/// Every template of an evidence gate with its path, for the placeholder check.
pub(super) fn templates<'a>(gate: &'a Gate, at: &Path) -> Vec<(Path, &'a String)> {
    let mut templates = Vec::new();
    if let Some(check) = &gate.contract {
        service_templates(
            &mut templates,
            &check.service,
            &check.openapi,
            at.key("contract"),
        );
    }
    if let Some(check) = &gate.security {
        service_templates(
            &mut templates,
            &check.service,
            &check.openapi,
            at.key("security"),
        );
    }
    if let Some(check) = &gate.load {
        service_templates(
            &mut templates,
            &check.service,
            &check.openapi,
            at.key("load"),
        );
        let slas = at.key("load").key("slas");
        let targets = &check.slas;
        for (name, value) in [
            ("p95_ms", &targets.p95_ms),
            ("rps", &targets.rps),
            ("error_rate_percent", &targets.error_rate_percent),
            ("memory_mb", &targets.memory_mb),
        ] {
            if let Some(value) = value {
                templates.push((slas.key(name), value));
            }
        }
        if let Some(source) = &check.slas_from {
            templates.push((at.key("load").key("slas_from").key("key"), &source.key));
        }
    }
    if let Some(check) = &gate.deploy {
        let at = at.key("deploy");
        service_templates(&mut templates, &check.service, &check.openapi, at.clone());
        templates.push((at.key("release").key("package"), &check.release.package));
        for (name, value) in [("name", &check.name), ("state_dir", &check.state_dir)] {
            if let Some(value) = value {
                templates.push((at.key(name), value));
            }
        }
        let rollout = at.key("rollout");
        for (index, step) in check.rollout.steps.iter().enumerate() {
            templates.push((
                rollout.key("steps").index(index).key("watch_secs"),
                &step.watch_secs,
            ));
        }
        for (name, value) in [
            ("interval_secs", &check.rollout.interval_secs),
            (
                "max_error_rate_percent",
                &check.rollout.max_error_rate_percent,
            ),
            ("p95_ms", &check.rollout.p95_ms),
            ("keep_blue_secs", &check.rollout.keep_blue_secs),
            ("traffic_rps", &check.rollout.traffic_rps),
        ] {
            if let Some(value) = value {
                templates.push((rollout.key(name), value));
            }
        }
        if let Some(source) = &check.rollout.slas_from {
            templates.push((rollout.key("slas_from").key("key"), &source.key));
        }
    }
    if let Some(check) = &gate.monitor {
        let at = at.key("monitor");
        for (name, value) in [
            ("name", &check.name),
            ("state_dir", &check.state_dir),
            ("window_secs", &check.window_secs),
            ("traffic_rps", &check.traffic_rps),
        ] {
            if let Some(value) = value {
                templates.push((at.key(name), value));
            }
        }
        let thresholds = at.key("thresholds");
        let t = &check.thresholds;
        for (name, value) in [
            ("p95_warning_ms", &t.p95_warning_ms),
            ("p95_critical_ms", &t.p95_critical_ms),
            ("error_rate_warning_percent", &t.error_rate_warning_percent),
            (
                "error_rate_critical_percent",
                &t.error_rate_critical_percent,
            ),
            (
                "availability_critical_percent",
                &t.availability_critical_percent,
            ),
            ("db_pool_warning_percent", &t.db_pool_warning_percent),
        ] {
            templates.push((thresholds.key(name), value));
        }
    }
    if let Some(record) = &gate.record {
        templates.push((at.key("record"), record));
    }
    templates
}

fn service_templates<'a>(
    templates: &mut Vec<(Path, &'a String)>,
    service: &'a ServiceSpec,
    openapi: &'a String,
    at: Path,
) {
    templates.push((at.key("openapi"), openapi));
    let at = at.key("service");
    for (name, value) in [
        ("build", &service.build),
        ("run", &service.run),
        ("url", &service.url),
    ] {
        if let Some(value) = value {
            templates.push((at.key(name), value));
        }
    }
    for (name, value) in &service.env {
        templates.push((at.key("env").key(name), value));
    }
}

/// Shape problems of a gate's evidence check and of its `record` key.
pub(super) fn check_gate(gate: &Gate, at: &Path, steps: &[Step]) -> Vec<Issue> {
    let mut issues = Vec::new();
    let mut report = |path: Path, message: String| {
        issues.push(Issue {
            path,
            message,
            on_key: false,
        });
    };
    let checks = [
        gate.contract
            .as_ref()
            .map(|c| ("contract", &c.service, &c.openapi, c.timeout_secs)),
        gate.security
            .as_ref()
            .map(|c| ("security", &c.service, &c.openapi, c.timeout_secs)),
        gate.load
            .as_ref()
            .map(|c| ("load", &c.service, &c.openapi, c.timeout_secs)),
    ];
    for (kind, service, openapi, timeout) in checks.into_iter().flatten() {
        let at = at.key(kind);
        if openapi.trim().is_empty() {
            report(
                at.key("openapi"),
                "expected a path in the workspace or on the service (`/openapi.json`), found an empty string".into(),
            );
        }
        if timeout == Some(0) {
            report(
                at.key("timeout_secs"),
                "expected a timeout of at least 1 second, found 0".into(),
            );
        }
        service_issues(service, &at.key("service"), &mut report);
    }
    if let Some(load) = &gate.load {
        load_issues(load, &at.key("load"), &mut report);
    }
    if let Some(deploy) = &gate.deploy {
        deploy_issues(deploy, &at.key("deploy"), &mut report);
    }
    if let Some(record) = &gate.record {
        record_issues(record, steps, &at.key("record"), &mut report);
    }
    issues
}

fn service_issues(service: &ServiceSpec, at: &Path, report: &mut impl FnMut(Path, String)) {
    match (&service.run, &service.url) {
        (Some(_), Some(_)) => report(
            at.clone(),
            "expected exactly one of `run` and `url` in `service`, found both".into(),
        ),
        (None, None) => report(
            at.clone(),
            "expected exactly one of `run` (a command starting the service) and `url` (a running service), found none".into(),
        ),
        (Some(run), None) if run.trim().is_empty() => {
            report(at.key("run"), "expected a command line, found an empty string".into());
        }
        (None, Some(url)) => {
            if !(url.starts_with("http://") || url.starts_with('{')) {
                report(at.key("url"), format!("expected an `http://` URL, found `{url}`"));
            }
            for (name, set) in [
                ("build", service.build.is_some()),
                ("admin", service.admin.is_some()),
                ("env", !service.env.is_empty()),
                ("port_env", service.port_env.is_some()),
            ] {
                if set {
                    report(
                        at.key(name),
                        format!("expected `{name}` only with `run` (the gate does not start a service given by `url`), found it with `url`"),
                    );
                }
            }
        }
        _ => {}
    }
    if let Some(ready) = &service.ready
        && !ready.starts_with('/')
    {
        report(
            at.key("ready"),
            format!("expected a path starting with `/`, found `{ready}`"),
        );
    }
    for (name, value) in [
        ("startup_timeout_secs", service.startup_timeout_secs),
        ("build_timeout_secs", service.build_timeout_secs),
    ] {
        if value == Some(0) {
            report(
                at.key(name),
                "expected a timeout of at least 1 second, found 0".into(),
            );
        }
    }
}

fn deploy_issues(deploy: &DeployCheck, at: &Path, report: &mut impl FnMut(Path, String)) {
    if deploy.openapi.trim().is_empty() {
        report(
            at.key("openapi"),
            "expected a path in the workspace, found an empty string".into(),
        );
    }
    if deploy.timeout_secs == Some(0) {
        report(
            at.key("timeout_secs"),
            "expected a timeout of at least 1 second, found 0".into(),
        );
    }
    let service = at.key("service");
    if deploy.service.url.is_some() {
        report(
            service.key("url"),
            "expected `run` (apiwright starts every release itself), found `url`".into(),
        );
    }
    if deploy
        .service
        .run
        .as_deref()
        .is_none_or(|run| run.trim().is_empty())
    {
        report(
            service.key("run"),
            "expected a command that starts the release from its directory, found none".into(),
        );
    }
    if deploy.release.package.trim().is_empty() {
        report(
            at.key("release").key("package"),
            "expected a command that copies the release into `$APIWRIGHT_RELEASE`, found an empty string".into(),
        );
    }
    let steps = &deploy.rollout.steps;
    let steps_at = at.key("rollout").key("steps");
    if steps.is_empty() {
        report(
            steps_at.clone(),
            "expected at least one canary step, found none".into(),
        );
    }
    let mut previous = 0;
    for (index, step) in steps.iter().enumerate() {
        if step.percent == 0 || step.percent > 100 || step.percent <= previous {
            report(
                steps_at.index(index).key("percent"),
                format!(
                    "expected a share between 1 and 100 above the previous step's {previous}, found {}",
                    step.percent
                ),
            );
        }
        previous = step.percent;
    }
    if let Some(last) = steps.last()
        && last.percent != 100
    {
        report(
            steps_at.index(steps.len() - 1).key("percent"),
            format!(
                "expected the last step to send 100% to green, found {}",
                last.percent
            ),
        );
    }
}

fn load_issues(load: &LoadCheck, at: &Path, report: &mut impl FnMut(Path, String)) {
    if load.slas.rps.is_none() && load.slas_from.is_none() {
        report(
            at.key("slas"),
            "expected the sustained rate: `slas.rps` or `slas_from` (a key holding `rps`), found neither".into(),
        );
    }
    if let Some(factor) = load.spike_factor
        && !(factor > 1.0 && factor.is_finite())
    {
        report(
            at.key("spike_factor"),
            format!("expected a factor above 1, found {factor}"),
        );
    }
    if load.sustained_secs == Some(0) {
        report(
            at.key("sustained_secs"),
            "expected at least 1 second of sustained load (it is what the objectives are checked on), found 0".into(),
        );
    }
    if load.connections == Some(0) {
        report(
            at.key("connections"),
            "expected at least 1 connection, found 0".into(),
        );
    }
}

fn record_issues(record: &str, steps: &[Step], at: &Path, report: &mut impl FnMut(Path, String)) {
    if record.trim().is_empty() || record.split('/').any(|segment| segment.contains('*')) {
        report(
            at.clone(),
            format!("expected a full memory key (no `*`), found `{record}`"),
        );
    }
    // The deliverable's last segment naming a step's own deliverable would make two writers
    // of one key; the engine would keep whichever came last.
    let name = record.rsplit('/').next().unwrap_or(record);
    for step in steps {
        let agent_segment = format!("/{}/", step.agent);
        if record.contains(&agent_segment) && step.writes.iter().any(|write| write == name) {
            report(
                at.clone(),
                format!(
                    "expected a key no step writes, found `{record}`, which step `{}` also writes as `{name}`",
                    step.id()
                ),
            );
        }
    }
}
