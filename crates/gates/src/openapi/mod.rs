//! OpenAPI gates: the document is a valid OpenAPI 3.1 document, every documented operation is
//! served and every served route is documented.
//!
//! The document is checked here, on its JSON value (`document.rs`), rather than with a crate
//! such as `oas3`: deserializing into typed models stops at the first shape error and cannot
//! say which JSON pointer is wrong, does not check the cross-cutting rules this gate needs
//! (path parameters declared and used, unique `operationId`s, resolving `$ref`s), and `oas3`
//! turns on serde_json's `preserve_order` for the whole workspace. JSON is read with
//! serde_json and YAML (`.yaml`, `.yml`) with serde-saphyr, into the same value.
//!
//! Served routes come from the service's Rust sources (`axum.rs`, with `syn`; nothing is
//! built) or from a command printing `METHOD /path` lines (`routes.rs`). Paths are compared by
//! shape — parameter names and syntax aside (`/books/{id}`, `/books/{book_id}` and
//! `/books/:id` are one path) — and methods exactly, except that axum's `any` serves every
//! documented method and a documented `HEAD` is served by a `GET` (axum answers HEAD with
//! the GET handler).

mod axum;
mod document;
mod routes;

use std::collections::BTreeMap;
use std::time::Duration;

use apiwright_workflow::OpenApiCheck;
use apiwright_workflow::template::render;
use serde_json::Value;
use serde_json::json;

use crate::GateContext;
use crate::GateError;
use crate::GateOutcome;
use crate::shell;
use routes::ANY;
use routes::ServedRoute;
use routes::shape;

type Outcome = (GateOutcome, String, Value);

/// Items named in a summary before `…`.
const SUMMARY_ITEMS: usize = 3;

/// Where the served routes come from, placeholders filled.
enum Source {
    Axum(String),
    Command(String),
}

/// The served routes and what could not be read, plus evidence of how they were found.
struct Served {
    routes: Vec<ServedRoute>,
    problems: Vec<String>,
    evidence: Value,
}

pub(crate) async fn evaluate(
    check: &OpenApiCheck,
    context: &GateContext<'_>,
) -> Result<Outcome, GateError> {
    let document_path = render(&check.document, context.vars)?;
    let source = match (&check.routes.axum, &check.routes.command) {
        (Some(dir), None) => Source::Axum(render(dir, context.vars)?),
        (None, Some(command)) => Source::Command(render(command, context.vars)?),
        _ => {
            return Ok((
                GateOutcome::Failed,
                "expected exactly one of `routes.axum` and `routes.command`".into(),
                json!({ "document": document_path }),
            ));
        }
    };
    let source_evidence = match &source {
        Source::Axum(dir) => json!({ "axum": dir }),
        Source::Command(command) => json!({ "command": command }),
    };

    // The document.
    let file = context.workspace.join(&document_path);
    let yaml = file
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml"));
    let read = std::fs::read_to_string(&file)
        .map_err(|error| format!("cannot read `{document_path}`: {error}"))
        .and_then(|text| {
            document::parse(&text, yaml).map_err(|error| format!("`{document_path}` is {error}"))
        });
    let (checked, unreadable) = match read {
        Ok(value) => (document::check(&value), None),
        Err(error) => (document::Checked::default(), Some(error)),
    };

    // The routes.
    let served = match source {
        Source::Axum(dir) => axum_routes(&dir, context).await,
        Source::Command(command) => {
            let timeout = check
                .timeout_secs
                .map_or(context.default_timeout, Duration::from_secs);
            command_routes(&command, timeout, context).await
        }
    };

    // Against a document that cannot be read every route would be undocumented: noise.
    let comparison = if unreadable.is_none() {
        compare(&checked.operations, &served.routes, &check.ignore)
    } else {
        Comparison::default()
    };
    let mut parts = Vec::new();
    if let Some(error) = &unreadable {
        parts.push(error.clone());
    }
    if !checked.problems.is_empty() {
        parts.push(counted(
            checked.problems.len(),
            "document problem",
            checked.problems.iter().cloned(),
        ));
    }
    if !served.problems.is_empty() {
        parts.push(counted(
            served.problems.len(),
            "route problem",
            served.problems.iter().cloned(),
        ));
    }
    if unreadable.is_none() && checked.operations.is_empty() {
        parts.push("expected at least one documented operation, found none".into());
    }
    if !comparison.undocumented.is_empty() {
        parts.push(counted(
            comparison.undocumented.len(),
            "undocumented route",
            comparison
                .undocumented
                .iter()
                .map(|route| format!("{} {} at {}", route.method, route.path, route.at)),
        ));
    }
    if !comparison.unserved.is_empty() {
        parts.push(counted(
            comparison.unserved.len(),
            "unserved operation",
            comparison
                .unserved
                .iter()
                .map(|operation| format!("{} {}", operation.method, operation.path)),
        ));
    }
    let (outcome, summary) = if parts.is_empty() {
        (
            GateOutcome::Passed,
            format!(
                "{} operation{} documented, {} served, all match",
                comparison.documented,
                if comparison.documented == 1 { "" } else { "s" },
                comparison.served
            ),
        )
    } else {
        (GateOutcome::Failed, parts.join(", "))
    };
    let route_json =
        |route: &ServedRoute| json!({"method": route.method, "path": route.path, "at": route.at});
    let evidence = json!({
        "document": document_path,
        "openapi": checked.version,
        "routes_from": source_evidence,
        "documented_operations": comparison.documented,
        "served_routes": comparison.served,
        "matched": comparison.matched,
        "document_error": unreadable,
        "document_problems": checked.problems,
        "route_problems": served.problems,
        "undocumented": comparison.undocumented.iter().map(route_json).collect::<Vec<_>>(),
        "unserved": comparison.unserved.iter().map(|operation| json!({
            "method": operation.method,
            "path": operation.path,
            "pointer": operation.pointer,
        })).collect::<Vec<_>>(),
        "ignored": comparison.ignored.iter().map(route_json).collect::<Vec<_>>(),
        "routes": served.routes.iter().map(route_json).collect::<Vec<_>>(),
        "source": served.evidence,
    });
    Ok((outcome, summary, evidence))
}

/// `2 undocumented routes (A, B)`, naming at most [`SUMMARY_ITEMS`].
fn counted(count: usize, noun: &str, items: impl Iterator<Item = String>) -> String {
    let mut named: Vec<String> = items.take(SUMMARY_ITEMS).collect();
    if count > SUMMARY_ITEMS {
        named.push("…".into());
    }
    format!(
        "{count} {noun}{} ({})",
        if count == 1 { "" } else { "s" },
        named.join("; ")
    )
}

async fn axum_routes(dir: &str, context: &GateContext<'_>) -> Served {
    let root = context.workspace.join(dir);
    let base = context.workspace.to_path_buf();
    // Parsing every source file is CPU work: keep it off the engine's task.
    let scanned = tokio::task::spawn_blocking(move || axum::scan(&root, &base)).await;
    match scanned {
        Ok(Ok(scan)) => Served {
            evidence: json!({ "files": scan.files }),
            routes: scan.routes,
            problems: scan.problems,
        },
        Ok(Err(error)) => Served {
            routes: Vec::new(),
            problems: vec![error],
            evidence: json!({ "files": 0 }),
        },
        Err(error) => Served {
            routes: Vec::new(),
            problems: vec![format!("the source scan crashed: {error}")],
            evidence: Value::Null,
        },
    }
}

async fn command_routes(command: &str, timeout: Duration, context: &GateContext<'_>) -> Served {
    let mut lines: Vec<String> = Vec::new();
    let execution = shell::run_with(
        command,
        context,
        &[],
        timeout,
        shell::Streams::Separate,
        &mut |line| lines.push(line.to_string()),
    )
    .await;
    let (routes, mut problems) = routes::parse_route_lines(lines.iter().map(String::as_str));
    let failure = if let Some(error) = &execution.start_error {
        Some(error.clone())
    } else if execution.timed_out {
        Some(format!(
            "the routes command `{command}` timed out after {} s",
            timeout.as_secs()
        ))
    } else {
        match execution.exit_code {
            Some(0) => None,
            Some(code) => Some(format!(
                "the routes command `{command}` exited {code} (expected exit 0){}",
                execution
                    .stderr_tail
                    .lines()
                    .last()
                    .map(|line| format!(": {}", routes::shorten(line, 120)))
                    .unwrap_or_default()
            )),
            None => Some(format!(
                "the routes command `{command}` was killed by a signal"
            )),
        }
    };
    if let Some(failure) = failure {
        problems.insert(0, failure);
    }
    Served {
        routes,
        problems,
        evidence: json!({
            "command": command,
            "exit_code": execution.exit_code,
            "timed_out": execution.timed_out,
            "duration_ms": u64::try_from(execution.duration.as_millis()).unwrap_or(u64::MAX),
            "lines": lines.len(),
            "stderr_tail": execution.stderr_tail,
        }),
    }
}

/// Documented operations against served routes.
#[derive(Debug, Default)]
struct Comparison {
    /// Distinct documented operations (method and path shape).
    documented: usize,
    /// Distinct served routes (method and path shape), ignored ones included.
    served: usize,
    /// Documented operations that are served.
    matched: usize,
    /// Served, not documented, not ignored: the first registration of each.
    undocumented: Vec<ServedRoute>,
    /// Documented, not served.
    unserved: Vec<document::Operation>,
    /// Served, not documented, ignored.
    ignored: Vec<ServedRoute>,
}

fn compare(
    operations: &[document::Operation],
    served: &[ServedRoute],
    ignore: &[String],
) -> Comparison {
    let mut documented: BTreeMap<(String, String), &document::Operation> = BTreeMap::new();
    for operation in operations {
        documented
            .entry((operation.method.clone(), shape(&operation.path)))
            .or_insert(operation);
    }
    let mut distinct: BTreeMap<(String, String), &ServedRoute> = BTreeMap::new();
    for route in served {
        distinct
            .entry((route.method.clone(), shape(&route.path)))
            .or_insert(route);
    }
    let is_served = |method: &str, path_shape: &str| {
        let key = |method: &str| (method.to_string(), path_shape.to_string());
        distinct.contains_key(&key(method))
            || distinct.contains_key(&key(ANY))
            || (method == "HEAD" && distinct.contains_key(&key("GET")))
    };
    let mut comparison = Comparison {
        documented: documented.len(),
        served: distinct.len(),
        ..Comparison::default()
    };
    // Document order for the unserved, source order for the undocumented.
    let mut seen = std::collections::BTreeSet::new();
    for operation in operations {
        let key = (operation.method.clone(), shape(&operation.path));
        if !seen.insert(key.clone()) {
            continue;
        }
        if is_served(&key.0, &key.1) {
            comparison.matched += 1;
        } else {
            comparison.unserved.push(operation.clone());
        }
    }
    let ignored: Vec<String> = ignore.iter().map(|path| shape(path)).collect();
    let mut reported = std::collections::BTreeSet::new();
    for route in served {
        let path_shape = shape(&route.path);
        if !reported.insert((route.method.clone(), path_shape.clone())) {
            continue;
        }
        let is_documented = if route.method == ANY {
            documented
                .keys()
                .any(|(_, documented_shape)| *documented_shape == path_shape)
        } else {
            documented.contains_key(&(route.method.clone(), path_shape.clone()))
        };
        if is_documented {
            continue;
        }
        if ignored.contains(&path_shape) {
            comparison.ignored.push(route.clone());
        } else {
            comparison.undocumented.push(route.clone());
        }
    }
    comparison
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation(method: &str, path: &str) -> document::Operation {
        document::Operation {
            method: method.into(),
            path: path.into(),
            pointer: format!(
                "/paths/{}/{}",
                document::escape(path),
                method.to_lowercase()
            ),
        }
    }

    fn route(method: &str, path: &str, at: &str) -> ServedRoute {
        ServedRoute {
            method: method.into(),
            path: path.into(),
            at: at.into(),
        }
    }

    #[test]
    fn routes_and_operations_compare_by_method_and_shape() {
        let operations = [
            operation("GET", "/books/{book_id}"),
            operation("PUT", "/books/{book_id}"),
            operation("HEAD", "/books/{book_id}"),
            operation("GET", "/files/{path}"),
            operation("POST", "/files/{path}"),
            operation("DELETE", "/authors/{id}"),
        ];
        let served = [
            route("GET", "/books/{id}", "src/a.rs:1"),
            route("PATCH", "/books/{id}", "src/a.rs:1"),
            route("ANY", "/files/{rest}", "src/a.rs:2"),
            route("GET", "/metrics", "src/a.rs:3"),
            route("GET", "/admin/debug", "src/a.rs:4"),
            route("GET", "/admin/debug", "src/b.rs:9"),
        ];
        let comparison = compare(&operations, &served, &["/metrics".to_string()]);
        assert_eq!(comparison.documented, 6);
        assert_eq!(comparison.served, 5);
        assert_eq!(
            comparison.matched, 4,
            "GET, HEAD (by GET) and both file methods by ANY"
        );
        let unserved: Vec<String> = comparison
            .unserved
            .iter()
            .map(|op| format!("{} {}", op.method, op.path))
            .collect();
        assert_eq!(unserved, ["PUT /books/{book_id}", "DELETE /authors/{id}"]);
        assert_eq!(
            comparison.undocumented,
            [
                route("PATCH", "/books/{id}", "src/a.rs:1"),
                route("GET", "/admin/debug", "src/a.rs:4"),
            ]
        );
        assert_eq!(comparison.ignored, [route("GET", "/metrics", "src/a.rs:3")]);
    }

    #[test]
    fn summaries_count_and_name_the_first_items() {
        assert_eq!(
            counted(
                1,
                "unserved operation",
                ["DELETE /books/{id}".to_string()].into_iter()
            ),
            "1 unserved operation (DELETE /books/{id})"
        );
        assert_eq!(
            counted(5, "route problem", (1..=5).map(|n| format!("p{n}"))),
            "5 route problems (p1; p2; p3; …)"
        );
    }
}
