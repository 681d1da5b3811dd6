//! API4 unbounded page size: list operations with a page-size query parameter (`limit`,
//! `page_size`, `per_page`, `size`, …) asked for ten times the documented maximum (or
//! [`super::SecurityOptions::max_page_size_probe`] without one). A 2xx that returns more items
//! than the documented maximum, or echoes the requested size back, is medium.

use http::Method;
use serde_json::Value;

use super::ctx::{Ctx, FindingDraft, NotRun, Outcome, json, label, succeeded};
use super::finding::Severity;
use super::targets::{list_items, list_operations};
use crate::exchange::Request;
use crate::openapi::ParamLocation;
use crate::schema;

const NAMES: &[&str] = &[
    "limit",
    "page_size",
    "pagesize",
    "per_page",
    "perpage",
    "size",
    "page_limit",
    "max_results",
    "count",
    "take",
    "first",
];

pub(crate) async fn probe(ctx: &mut Ctx<'_>) -> Outcome {
    let api = ctx.api;
    let token = ctx.user(0).ok().map(|user| user.access_token.clone());
    let mut probed = 0;
    for operation in list_operations(api) {
        let Some(parameter) = operation.parameters.iter().find(|parameter| {
            parameter.location == ParamLocation::Query
                && NAMES.contains(
                    &parameter
                        .name
                        .to_ascii_lowercase()
                        .replace('-', "_")
                        .as_str(),
                )
        }) else {
            continue;
        };
        let effective = schema::effective(api, &parameter.schema);
        let maximum = effective.get("maximum").and_then(Value::as_u64);
        let requested = maximum.map_or(ctx.options.max_page_size_probe, |maximum| {
            maximum.saturating_mul(10)
        });
        let path = format!("{}?{}={requested}", operation.path, parameter.name);
        let request = match (&token, operation.requires_auth) {
            (Some(token), _) => Request::new(Method::GET, path).bearer(token),
            (None, false) => Request::new(Method::GET, path),
            (None, true) => continue,
        };
        probed += 1;
        let exchange = ctx.send(request).await;
        if !succeeded(&exchange) {
            continue;
        }
        let body = json(&exchange);
        let items = body.and_then(list_items).map_or(0, Vec::len);
        // The requested size under a page-size name (top level or one object down, e.g.
        // `{"meta": {"per_page": 1000}}`): the service says it used it.
        let is_size = |(key, value): (&String, &Value)| {
            let key = key.to_ascii_lowercase().replace('-', "_");
            (key == parameter.name.to_ascii_lowercase() || NAMES.contains(&key.as_str()))
                && value.as_u64() == Some(requested)
        };
        let echoed = body.and_then(Value::as_object).is_some_and(|object| {
            object.iter().any(is_size)
                || object
                    .values()
                    .filter_map(Value::as_object)
                    .any(|nested| nested.iter().any(is_size))
        });
        let too_many = maximum.is_some_and(|maximum| items as u64 > maximum);
        if !(too_many || echoed) {
            continue;
        }
        let observed = if too_many {
            format!(
                "returned {items} items, more than the documented maximum {}",
                maximum.unwrap_or_default()
            )
        } else {
            format!("accepted and echoed the page size {requested}")
        };
        ctx.report(
            FindingDraft {
                id: "unbounded-page-size",
                severity: Severity::Medium,
                title: format!("{}: `{}` is not bounded", label(operation), parameter.name),
                operation: Some(label(operation)),
                detail: format!(
                    "`{}={requested}` was answered with a 2xx that {observed}",
                    parameter.name
                ),
                fix_hint: "Document a maximum page size and reject (422) or clamp larger values.",
            },
            Some(exchange),
        );
    }
    if probed == 0 {
        return Err(NotRun::Skipped(
            "no list operation has a page-size query parameter".into(),
        ));
    }
    Ok(())
}
