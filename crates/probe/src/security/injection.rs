//! API8 injection: SQL metacharacters in the string query parameters of list operations and
//! in item path ids, sent as user B after user A created records. A 5xx or a body that
//! reveals the database (SQL errors, SQLSTATE, `sqlite`) is high; a boolean payload
//! (`' OR '1'='1`) that returns more items than a nonsense search and than the same text with
//! its quotes doubled (which cannot break out of a string) is critical.

use http::Method;
use serde_json::Value;

use super::ctx::{Ctx, FindingDraft, NotRun, Outcome, body_text, json, label, status};
use super::finding::Severity;
use super::leaks;
use super::targets::{
    Collection, collections, create_record, fill_path, list_items, list_operations,
};
use crate::exchange::{Exchange, Request};
use crate::openapi::{Operation, ParamLocation};
use crate::schema;

/// Payloads that break a query built by string concatenation.
const ERROR_PAYLOADS: &[&str] = &["'", "\"", "1; DROP TABLE x--", "%27", "')"];
/// Payloads that make a concatenated `WHERE` clause true for every row.
const BOOLEAN_PAYLOADS: &[&str] = &["' OR '1'='1", "' OR 1=1--"];

const FIX: &str = "Pass every value as a bound parameter (`?`/`$1`); never build SQL text from \
                   request values, including LIKE patterns and sort columns.";

pub(crate) async fn probe(ctx: &mut Ctx<'_>) -> Outcome {
    let user_a = ctx.user(0)?;
    let user_b = ctx.user(1)?;
    let api = ctx.api;
    let searchable: Vec<(&Operation, String)> = list_operations(api)
        .into_iter()
        .flat_map(|operation| {
            operation
                .parameters
                .iter()
                .filter(|parameter| {
                    parameter.location == ParamLocation::Query
                        && is_free_text(api, &parameter.schema)
                })
                .map(move |parameter| (operation, parameter.name.clone()))
        })
        .collect();
    let all_collections = collections(api);
    let item_reads: Vec<(&Collection<'_>, &Operation)> = all_collections
        .iter()
        .filter_map(|collection| collection.read.map(|read| (collection, read)))
        .collect();
    if searchable.is_empty() && item_reads.is_empty() {
        return Err(NotRun::Skipped(
            "the document has no free-text query parameter and no item path to inject into".into(),
        ));
    }
    for collection in all_collections
        .iter()
        .filter(|collection| collection.is_owned())
    {
        // Records of A's that B must not see make a boolean injection visible.
        let _ = create_record(ctx, collection, user_a).await;
    }
    for (operation, parameter) in &searchable {
        let url = |value: &str| format!("{}?{}={}", operation.path, parameter, encode(value));
        for payload in ERROR_PAYLOADS {
            let exchange = ctx
                .send(Request::new(Method::GET, url(payload)).bearer(&user_b.access_token))
                .await;
            if judge_error(
                ctx,
                operation,
                &format!("query parameter `{parameter}`"),
                payload,
                exchange,
            ) {
                break;
            }
        }
        let nonsense = format!("zq{}xj", schema::nonce());
        let baseline = ctx
            .send(Request::new(Method::GET, url(&nonsense)).bearer(&user_b.access_token))
            .await;
        let Some(baseline_count) = item_count(&baseline) else {
            continue;
        };
        for payload in BOOLEAN_PAYLOADS {
            let exchange = ctx
                .send(Request::new(Method::GET, url(payload)).bearer(&user_b.access_token))
                .await;
            let Some(count) = item_count(&exchange) else {
                continue;
            };
            if count <= baseline_count {
                continue;
            }
            // The same text with its quotes doubled cannot leave an SQL string: a search that
            // merely matches words (`OR`, `1`) finds as much with it, an injection nothing.
            let escaped = payload.replace('\'', "''");
            let control = ctx
                .send(Request::new(Method::GET, url(&escaped)).bearer(&user_b.access_token))
                .await;
            let control_count = item_count(&control).unwrap_or(usize::MAX);
            if count > control_count {
                ctx.report(
                    FindingDraft {
                        id: "sql-injection-boolean",
                        severity: Severity::Critical,
                        title: format!("{}: SQL injection through `{parameter}`", label(operation)),
                        operation: Some(label(operation)),
                        detail: format!(
                            "`{parameter}={payload}` returned {count} items where a nonsense \
                             value returned {baseline_count} and the same text with its quotes \
                             doubled ({escaped}) {control_count}: the payload rewrote the query"
                        ),
                        fix_hint: FIX,
                    },
                    Some(exchange),
                );
                break;
            }
        }
    }
    for (collection, read) in item_reads {
        for payload in ["'", "1' OR '1'='1"] {
            let path = fill_path(
                api,
                read,
                &[(collection.id_param.as_str(), encode(payload).as_str())],
            );
            let exchange = ctx
                .send(Request::new(Method::GET, path).bearer(&user_b.access_token))
                .await;
            if judge_error(
                ctx,
                read,
                &format!("path parameter `{}`", collection.id_param),
                payload,
                exchange,
            ) {
                break;
            }
        }
    }
    Ok(())
}

/// A string schema without `enum`, `format` or `pattern`: where a search term goes.
fn is_free_text(api: &crate::openapi::Api, schema_value: &Value) -> bool {
    let effective = schema::effective(api, schema_value);
    schema::primary_type(&effective) == Some("string")
        && ["enum", "format", "pattern", "const"]
            .iter()
            .all(|key| effective.get(key).is_none())
}

fn item_count(exchange: &Exchange) -> Option<usize> {
    if !status(exchange).is_some_and(|code| (200..300).contains(&code)) {
        return None;
    }
    json(exchange).and_then(list_items).map(Vec::len)
}

/// Reports a 5xx or a database leak; `true` when it did.
fn judge_error(
    ctx: &mut Ctx<'_>,
    operation: &Operation,
    place: &str,
    payload: &str,
    exchange: Exchange,
) -> bool {
    let code = status(&exchange).unwrap_or_default();
    let text = body_text(&exchange);
    let encoded = encode(payload);
    let markers: Vec<_> = leaks::find(&text, &[payload, encoded.as_str()])
        .into_iter()
        .filter(|marker| marker.database)
        .collect();
    if code < 500 && markers.is_empty() {
        return false;
    }
    let observed = if markers.is_empty() {
        format!("answered {code}")
    } else {
        format!(
            "answered {code} with {} in the body",
            leaks::names(&markers)
        )
    };
    ctx.report(
        FindingDraft {
            id: "sql-injection-error",
            severity: Severity::High,
            title: format!(
                "{}: SQL metacharacters in {place} break the query",
                label(operation)
            ),
            operation: Some(label(operation)),
            detail: format!("`{payload}` in {place} {observed}"),
            fix_hint: FIX,
        },
        Some(exchange),
    );
    true
}

/// Percent-encodes everything but unreserved characters.
pub(crate) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
