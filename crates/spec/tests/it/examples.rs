//! The three example specs load, and have the structure their comments promise.

use std::fs;
use std::path::PathBuf;

use apiwright_spec::FieldType;
use apiwright_spec::Method;
use apiwright_spec::Operation;
use apiwright_spec::RelationKind;
use apiwright_spec::Spec;
use apiwright_spec::load_str;
use pretty_assertions::assert_eq;

pub fn example(name: &str) -> Spec {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    let text =
        fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    load_str(&format!("examples/{name}"), &text).unwrap_or_else(|error| panic!("{error}"))
}

fn names(spec: &Spec) -> Vec<&str> {
    spec.resources.iter().map(|r| r.name.as_str()).collect()
}

#[test]
fn the_bookstore_loads() {
    let spec = example("bookstore.yaml");
    assert_eq!(spec.api.name, "bookstore");
    assert_eq!(names(&spec), ["author", "book", "review"]);
    let book = spec.resource("book").unwrap();
    assert_eq!(book.table(), "books");
    assert_eq!(book.field("price").unwrap().field_type, FieldType::Decimal);
    assert!(book.access.is_public(Operation::List));
    assert!(!book.access.allows(Operation::Create, "member"));
    let review = spec.resource("review").unwrap();
    assert!(review.owned);
    assert_eq!(
        review
            .references()
            .map(|(f, to)| (f.name.as_str(), to))
            .collect::<Vec<_>>(),
        [("book_id", "book")]
    );
    // 7 auth + 3 × 5 + health + metrics.
    assert_eq!(spec.endpoints().len(), 24);
}

#[test]
fn the_user_management_api_loads() {
    let spec = example("user-management.yaml");
    assert_eq!(spec.api.name, "user-management");
    assert_eq!(spec.auth.roles, ["admin", "manager", "member"]);
    assert_eq!(spec.auth.default_role, "member");
    assert_eq!(names(&spec), ["team", "membership"]);
    // Seed 000, example 1: about 15 endpoints counting auth (17 here), plus health, metrics.
    let endpoints = spec.endpoints();
    let api = endpoints
        .iter()
        .filter(|e| e.path.starts_with("/api/v1/"))
        .count();
    assert_eq!(api, 17);
    let team = spec.resource("team").unwrap();
    assert!(team.access.allows(Operation::Create, "manager"));
    assert!(!team.access.allows(Operation::Create, "member"));
    assert!(!team.access.allows(Operation::Delete, "manager"));
    let membership = spec.resource("membership").unwrap();
    assert!(membership.owned);
    assert_eq!(spec.referencing("team").len(), 1);
}

#[test]
fn the_order_service_loads() {
    let spec = example("order-service.yaml");
    assert_eq!(names(&spec), ["customer", "product", "order", "order_item"]);
    let order = spec.resource("order").unwrap();
    assert!(order.owned);
    let status = order.field("status").unwrap();
    assert_eq!(status.field_type, FieldType::Enum);
    assert_eq!(
        status.values,
        ["pending", "paid", "shipped", "delivered", "cancelled"]
    );
    assert_eq!(status.default, Some(serde_json::json!("pending")));
    let money: Vec<(&str, &str)> = spec
        .resources
        .iter()
        .flat_map(|r| r.fields.iter().map(move |f| (r.name.as_str(), f)))
        .filter(|(_, f)| f.field_type == FieldType::Decimal)
        .map(|(r, f)| (r, f.name.as_str()))
        .collect();
    assert_eq!(
        money,
        [
            ("product", "price"),
            ("order", "total"),
            ("order_item", "unit_price")
        ]
    );
    let items = spec.resource("order_item").unwrap();
    assert_eq!(items.table(), "order_items");
    let kinds: Vec<(RelationKind, &str)> = items
        .relations
        .iter()
        .map(|r| (r.kind, r.resource.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (RelationKind::BelongsTo, "order"),
            (RelationKind::BelongsTo, "product")
        ]
    );
    let delete = items.endpoint(Operation::Delete);
    assert_eq!(
        (
            delete.method,
            delete.path.as_str(),
            delete.operation_id.as_str()
        ),
        (
            Method::Delete,
            "/api/v1/order_items/{id}",
            "delete_order_item"
        )
    );
    assert_eq!(delete.summary, "Delete an order item");
    assert_eq!(spec.slas.p95_ms, 150);
}

#[test]
fn the_endpoint_list_of_a_spec() {
    let spec = example("bookstore.yaml");
    let lines: Vec<String> = spec
        .endpoints()
        .iter()
        .map(|e| format!("{e} {} {:?}", e.operation_id, e.resource))
        .collect();
    assert_eq!(
        lines,
        [
            "POST /api/v1/auth/register auth_register None",
            "POST /api/v1/auth/login auth_login None",
            "POST /api/v1/auth/refresh auth_refresh None",
            "POST /api/v1/auth/logout auth_logout None",
            "POST /api/v1/auth/password-reset/request auth_password_reset_request None",
            "POST /api/v1/auth/password-reset/confirm auth_password_reset_confirm None",
            "GET /api/v1/auth/me auth_me None",
            "GET /api/v1/authors list_authors Some(\"author\")",
            "POST /api/v1/authors create_author Some(\"author\")",
            "GET /api/v1/authors/{id} get_author Some(\"author\")",
            "PATCH /api/v1/authors/{id} update_author Some(\"author\")",
            "DELETE /api/v1/authors/{id} delete_author Some(\"author\")",
            "GET /api/v1/books list_books Some(\"book\")",
            "POST /api/v1/books create_book Some(\"book\")",
            "GET /api/v1/books/{id} get_book Some(\"book\")",
            "PATCH /api/v1/books/{id} update_book Some(\"book\")",
            "DELETE /api/v1/books/{id} delete_book Some(\"book\")",
            "GET /api/v1/reviews list_reviews Some(\"review\")",
            "POST /api/v1/reviews create_review Some(\"review\")",
            "GET /api/v1/reviews/{id} get_review Some(\"review\")",
            "PATCH /api/v1/reviews/{id} update_review Some(\"review\")",
            "DELETE /api/v1/reviews/{id} delete_review Some(\"review\")",
            "GET /health health None",
            "GET /metrics metrics None",
        ]
    );
    let endpoints = spec.endpoints();
    let ids: std::collections::HashSet<&str> =
        endpoints.iter().map(|e| e.operation_id.as_str()).collect();
    assert_eq!(ids.len(), 24, "operation ids are unique");
}
