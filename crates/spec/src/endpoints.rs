//! Every endpoint of the service generated from a spec (documented in `docs/spec.md`).

use std::fmt;

use crate::helpers::Operation;
use crate::model::Resource;
use crate::model::Spec;

/// Prefix of the versioned API.
pub const API_PREFIX: &str = "/api/v1";

/// HTTP method of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

impl Method {
    /// Upper-case name (`GET`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One endpoint of the generated service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// HTTP method.
    pub method: Method,
    /// Path, with `{id}` for the record id (OpenAPI style).
    pub path: String,
    /// snake_case operation id, unique in the service (`list_books`, `auth_login`).
    pub operation_id: String,
    /// The resource it serves, `None` for auth, health and metrics.
    pub resource: Option<String>,
    /// One-line summary.
    pub summary: String,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// The auth endpoints: `(method, path under /api/v1/auth, operation id, summary)`.
const AUTH: [(Method, &str, &str, &str); 7] = [
    (
        Method::Post,
        "/register",
        "auth_register",
        "Create an account with the default role",
    ),
    (
        Method::Post,
        "/login",
        "auth_login",
        "Exchange email and password for an access and a refresh token",
    ),
    (
        Method::Post,
        "/refresh",
        "auth_refresh",
        "Exchange a refresh token for a new token pair",
    ),
    (
        Method::Post,
        "/logout",
        "auth_logout",
        "Revoke a refresh token",
    ),
    (
        Method::Post,
        "/password-reset/request",
        "auth_password_reset_request",
        "Ask for a password reset token",
    ),
    (
        Method::Post,
        "/password-reset/confirm",
        "auth_password_reset_confirm",
        "Set a new password with a reset token",
    ),
    (Method::Get, "/me", "auth_me", "The signed-in user"),
];

impl Spec {
    /// Every endpoint of the generated service, in a stable order: auth, then each resource's
    /// operations in declaration order (list, create, read, update, delete), then `/health`
    /// and `/metrics`.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let mut endpoints: Vec<Endpoint> = AUTH
            .iter()
            .map(|(method, path, operation_id, summary)| Endpoint {
                method: *method,
                path: format!("{API_PREFIX}/auth{path}"),
                operation_id: (*operation_id).to_string(),
                resource: None,
                summary: (*summary).to_string(),
            })
            .collect();
        for resource in &self.resources {
            endpoints.extend(Operation::ALL.map(|operation| resource.endpoint(operation)));
        }
        endpoints.push(Endpoint {
            method: Method::Get,
            path: "/health".to_string(),
            operation_id: "health".to_string(),
            resource: None,
            summary: "Liveness and database readiness".to_string(),
        });
        endpoints.push(Endpoint {
            method: Method::Get,
            path: "/metrics".to_string(),
            operation_id: "metrics".to_string(),
            resource: None,
            summary: "Prometheus metrics".to_string(),
        });
        endpoints
    }
}

impl Resource {
    /// The endpoint of one operation of this resource.
    pub fn endpoint(&self, operation: Operation) -> Endpoint {
        let plural = self.plural();
        let collection = format!("{API_PREFIX}/{plural}");
        let record = format!("{collection}/{{id}}");
        let words = self.name.replace('_', " ");
        let article = match words.chars().next() {
            Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
            _ => "a",
        };
        let (method, path, operation_id, summary) = match operation {
            Operation::List => (
                Method::Get,
                collection,
                format!("list_{plural}"),
                format!("List {}", plural.replace('_', " ")),
            ),
            Operation::Create => (
                Method::Post,
                collection,
                format!("create_{}", self.name),
                format!("Create {article} {words}"),
            ),
            Operation::Read => (
                Method::Get,
                record,
                format!("get_{}", self.name),
                format!("Get {article} {words}"),
            ),
            Operation::Update => (
                Method::Patch,
                record,
                format!("update_{}", self.name),
                format!("Update {article} {words}"),
            ),
            Operation::Delete => (
                Method::Delete,
                record,
                format!("delete_{}", self.name),
                format!("Delete {article} {words}"),
            ),
        };
        Endpoint {
            method,
            path,
            operation_id,
            resource: Some(self.name.clone()),
            summary,
        }
    }
}
