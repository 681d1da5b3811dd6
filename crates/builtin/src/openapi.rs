//! The OpenAPI 3.1 document of the service generated from a spec: every endpoint, request
//! and response schemas derived from the fields and their constraints, an RFC 9457
//! problem+json error model, pagination, and the bearer (JWT) security scheme.

use apiwright_spec::Field;
use apiwright_spec::FieldType;
use apiwright_spec::Method;
use apiwright_spec::Resource;
use apiwright_spec::Spec;
use serde_json::Map;
use serde_json::Value;
use serde_json::json;

/// `Book` for `book`, `OrderItem` for `order_item`.
pub(crate) fn type_name(resource: &str) -> String {
    resource
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().collect::<String>() + chars.as_str()
            })
        })
        .collect()
}

fn field_schema(field: &Field) -> Value {
    let mut schema = match field.field_type {
        FieldType::String | FieldType::Text => json!({"type": "string"}),
        FieldType::Integer => json!({"type": "integer", "format": "int64"}),
        FieldType::Decimal => json!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]{1,2})?$",
            "description": "Exact decimal with at most 2 fraction digits, as a string",
        }),
        FieldType::Boolean => json!({"type": "boolean"}),
        FieldType::DateTime => json!({"type": "string", "format": "date-time"}),
        FieldType::Enum => json!({"type": "string", "enum": field.values}),
        FieldType::Email => json!({"type": "string", "format": "email"}),
        FieldType::Uuid => json!({"type": "string", "format": "uuid"}),
        FieldType::Reference => json!({
            "type": "string",
            "format": "uuid",
            "description": format!("Id of a {}", field.to.as_deref().unwrap_or("record")),
        }),
    };
    if let Some(object) = schema.as_object_mut() {
        match field.field_type {
            FieldType::Integer => {
                if let Some(min) = field.min {
                    object.insert("minimum".into(), json!(min));
                }
                if let Some(max) = field.max {
                    object.insert("maximum".into(), json!(max));
                }
            }
            FieldType::String | FieldType::Text | FieldType::Email => {
                if let Some(min) = field.min_length {
                    object.insert("minLength".into(), json!(min));
                }
                if let Some(max) = field.max_length {
                    object.insert("maxLength".into(), json!(max));
                }
                if let Some(pattern) = &field.pattern {
                    object.insert("pattern".into(), json!(pattern));
                }
            }
            FieldType::Decimal
            | FieldType::Boolean
            | FieldType::DateTime
            | FieldType::Enum
            | FieldType::Uuid
            | FieldType::Reference => {}
        }
        if !field.description.is_empty() {
            object.insert("description".into(), json!(field.description));
        }
        if let Some(default) = &field.default {
            object.insert("default".into(), default.clone());
        }
    }
    schema
}

fn resource_schemas(resource: &Resource, schemas: &mut Map<String, Value>) {
    let name = type_name(&resource.name);
    let mut record = Map::new();
    record.insert(
        "id".into(),
        json!({"type": "string", "format": "uuid", "readOnly": true}),
    );
    for field in &resource.fields {
        record.insert(field.name.clone(), field_schema(field));
    }
    if resource.owned {
        record.insert(
            "owner_id".into(),
            json!({"type": "string", "format": "uuid", "readOnly": true}),
        );
    }
    record.insert(
        "created_at".into(),
        json!({"type": "string", "format": "date-time", "readOnly": true}),
    );
    record.insert(
        "updated_at".into(),
        json!({"type": "string", "format": "date-time", "readOnly": true}),
    );
    let mut required: Vec<String> = vec!["id".into(), "created_at".into(), "updated_at".into()];
    required.extend(
        resource
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name.clone()),
    );
    schemas.insert(
        name.clone(),
        json!({"type": "object", "properties": record, "required": required}),
    );
    let writable: Map<String, Value> = resource
        .fields
        .iter()
        .map(|field| (field.name.clone(), field_schema(field)))
        .collect();
    let create_required: Vec<&str> = resource
        .fields
        .iter()
        .filter(|field| field.required && field.default.is_none())
        .map(|field| field.name.as_str())
        .collect();
    schemas.insert(
        format!("{name}Create"),
        json!({"type": "object", "properties": writable, "required": create_required, "additionalProperties": false}),
    );
    schemas.insert(
        format!("{name}Update"),
        json!({"type": "object", "properties": writable, "additionalProperties": false, "minProperties": 1}),
    );
    schemas.insert(
        format!("{name}Page"),
        json!({
            "type": "object",
            "properties": {
                "data": {"type": "array", "items": {"$ref": format!("#/components/schemas/{name}")}},
                "page": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1, "maximum": resource.list.max_page_size},
                "total": {"type": "integer", "minimum": 0},
            },
            "required": ["data", "page", "per_page", "total"],
        }),
    );
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    })
}

fn body(schema: &str) -> Value {
    json!({
        "required": true,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}},
    })
}

fn ok(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}},
    })
}

fn security_for(access: &[String]) -> Option<Value> {
    if access.iter().any(|who| who == "public") {
        None
    } else {
        Some(json!([{"bearerAuth": []}]))
    }
}

fn resource_operations(resource: &Resource, paths: &mut Map<String, Value>) {
    use apiwright_spec::Operation;
    let name = type_name(&resource.name);
    for operation in Operation::ALL {
        let endpoint = resource.endpoint(operation);
        let mut responses = Map::new();
        let mut op = Map::new();
        op.insert("operationId".into(), json!(endpoint.operation_id));
        op.insert("summary".into(), json!(endpoint.summary));
        op.insert("tags".into(), json!([resource.plural()]));
        let access = resource.access(operation);
        if let Some(security) = security_for(access) {
            op.insert("security".into(), security);
            responses.insert("401".into(), problem("Missing, invalid or expired token"));
            responses.insert("403".into(), problem("The caller's role may not do this"));
        }
        responses.insert(
            "429".into(),
            problem("Rate limit exceeded; see Retry-After"),
        );
        let id_parameter = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}});
        match operation {
            Operation::List => {
                let mut parameters = vec![
                    json!({"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}}),
                    // The service clamps a larger page size to the maximum (the response's
                    // `per_page` says which applied), so the parameter itself has no maximum.
                    json!({"name": "per_page", "in": "query", "description": format!("Page size; values above {} are clamped to {}", resource.list.max_page_size, resource.list.max_page_size), "schema": {"type": "integer", "minimum": 1, "default": resource.list.page_size}}),
                ];
                let mut sorts: Vec<String> = resource.list.sort.clone();
                sorts.push("created_at".into());
                let sort_values: Vec<String> = sorts
                    .iter()
                    .flat_map(|field| [field.clone(), format!("-{field}")])
                    .collect();
                parameters.push(json!({"name": "sort", "in": "query", "schema": {"type": "string", "enum": sort_values}}));
                if !resource.list.search.is_empty() {
                    parameters.push(json!({"name": "q", "in": "query", "description": format!("Case-insensitive search in {}", resource.list.search.join(", ")), "schema": {"type": "string"}}));
                }
                for filter in &resource.list.filter {
                    if let Some(field) = resource.field(filter) {
                        parameters.push(
                            json!({"name": filter, "in": "query", "schema": field_schema(field)}),
                        );
                    }
                }
                op.insert("parameters".into(), json!(parameters));
                responses.insert(
                    "200".into(),
                    ok("A page of records", &format!("{name}Page")),
                );
                responses.insert("422".into(), problem("Invalid query parameters"));
            }
            Operation::Create => {
                op.insert("requestBody".into(), body(&format!("{name}Create")));
                let mut created = ok("Created", &name);
                if let Some(object) = created.as_object_mut() {
                    object.insert(
                        "headers".into(),
                        json!({"Location": {"schema": {"type": "string"}}}),
                    );
                }
                responses.insert("201".into(), created);
                responses.insert("400".into(), problem("Malformed JSON"));
                responses.insert(
                    "409".into(),
                    problem("A unique field already has this value"),
                );
                responses.insert("413".into(), problem("Body too large"));
                responses.insert(
                    "422".into(),
                    problem("Validation failed; `errors` names each field"),
                );
            }
            Operation::Read => {
                op.insert("parameters".into(), json!([id_parameter]));
                responses.insert("200".into(), ok("The record", &name));
                responses.insert("404".into(), problem("No such record (or not yours)"));
            }
            Operation::Update => {
                op.insert("parameters".into(), json!([id_parameter]));
                op.insert("requestBody".into(), body(&format!("{name}Update")));
                responses.insert("200".into(), ok("The updated record", &name));
                responses.insert("400".into(), problem("Malformed JSON"));
                responses.insert("413".into(), problem("Body too large"));
                responses.insert("404".into(), problem("No such record (or not yours)"));
                responses.insert(
                    "409".into(),
                    problem("A unique field already has this value"),
                );
                responses.insert(
                    "422".into(),
                    problem("Validation failed; `errors` names each field"),
                );
            }
            Operation::Delete => {
                op.insert("parameters".into(), json!([id_parameter]));
                responses.insert("204".into(), json!({"description": "Deleted"}));
                responses.insert("404".into(), problem("No such record (or not yours)"));
            }
        }
        op.insert("responses".into(), Value::Object(responses));
        let method = match endpoint.method {
            Method::Get => "get",
            Method::Post => "post",
            Method::Patch => "patch",
            Method::Delete => "delete",
        };
        let path = paths
            .entry(endpoint.path.clone())
            .or_insert_with(|| json!({}));
        if let Some(object) = path.as_object_mut() {
            object.insert(method.into(), Value::Object(op));
        }
    }
}

fn auth_paths(paths: &mut Map<String, Value>) {
    let auth = |operation_id: &str,
                summary: &str,
                request: Option<&str>,
                status: &str,
                response: Option<(&str, &str)>,
                secured: bool| {
        let mut op = Map::new();
        op.insert("operationId".into(), json!(operation_id));
        op.insert("summary".into(), json!(summary));
        op.insert("tags".into(), json!(["auth"]));
        if let Some(schema) = request {
            op.insert("requestBody".into(), body(schema));
        }
        let mut responses = Map::new();
        responses.insert(
            status.into(),
            match response {
                Some((description, schema)) => ok(description, schema),
                None => json!({"description": "Done"}),
            },
        );
        if request.is_some() {
            responses.insert("400".into(), problem("Malformed JSON"));
            responses.insert("413".into(), problem("Body too large"));
            responses.insert("422".into(), problem("Validation failed"));
        }
        if secured {
            op.insert("security".into(), json!([{"bearerAuth": []}]));
            responses.insert("401".into(), problem("Missing, invalid or expired token"));
        }
        responses.insert(
            "429".into(),
            problem("Rate limit exceeded; see Retry-After"),
        );
        op.insert("responses".into(), Value::Object(responses));
        Value::Object(op)
    };
    let mut register = auth(
        "auth_register",
        "Create an account with the default role",
        Some("RegisterRequest"),
        "201",
        Some(("The new account and its tokens", "AuthResponse")),
        false,
    );
    if let Some(responses) = register.get_mut("responses").and_then(Value::as_object_mut) {
        responses.insert("409".into(), problem("Email already registered"));
    }
    let mut login = auth(
        "auth_login",
        "Exchange email and password for tokens",
        Some("LoginRequest"),
        "200",
        Some(("Tokens", "AuthResponse")),
        false,
    );
    if let Some(responses) = login.get_mut("responses").and_then(Value::as_object_mut) {
        responses.insert("401".into(), problem("Wrong email or password"));
    }
    let mut refresh = auth(
        "auth_refresh",
        "Exchange a refresh token for a new pair (the old one is revoked)",
        Some("RefreshRequest"),
        "200",
        Some(("Tokens", "AuthResponse")),
        false,
    );
    if let Some(responses) = refresh.get_mut("responses").and_then(Value::as_object_mut) {
        responses.insert(
            "401".into(),
            problem("Invalid, expired or revoked refresh token"),
        );
    }
    let entries = [
        ("/api/v1/auth/register", "post", register),
        ("/api/v1/auth/login", "post", login),
        ("/api/v1/auth/refresh", "post", refresh),
        (
            "/api/v1/auth/logout",
            "post",
            auth(
                "auth_logout",
                "Revoke the user's refresh tokens and outstanding access tokens",
                None,
                "204",
                None,
                true,
            ),
        ),
        (
            "/api/v1/auth/password-reset/request",
            "post",
            auth(
                "auth_password_reset_request",
                "Ask for a password reset token (always 202)",
                Some("PasswordResetRequest"),
                "202",
                None,
                false,
            ),
        ),
        (
            "/api/v1/auth/password-reset/confirm",
            "post",
            auth(
                "auth_password_reset_confirm",
                "Set a new password with a reset token",
                Some("PasswordResetConfirm"),
                "204",
                None,
                false,
            ),
        ),
        (
            "/api/v1/auth/me",
            "get",
            auth(
                "auth_me",
                "The signed-in user",
                None,
                "200",
                Some(("The user", "User")),
                true,
            ),
        ),
    ];
    for (path, method, op) in entries {
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        if let Some(object) = entry.as_object_mut() {
            object.insert(method.into(), op);
        }
    }
    paths.insert("/health".into(), json!({"get": {"operationId": "health", "summary": "Liveness and database readiness", "tags": ["operations"], "responses": {"200": ok("Healthy", "Health"), "503": problem("Database unavailable")}}}));
    paths.insert("/metrics".into(), json!({"get": {"operationId": "metrics", "summary": "Prometheus metrics", "tags": ["operations"], "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}}));
}

/// The OpenAPI 3.1 document of the generated service.
pub fn openapi_document(spec: &Spec) -> Value {
    let mut schemas = Map::new();
    schemas.insert("Problem".into(), json!({
        "type": "object",
        "description": "RFC 9457 problem details",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}, "required": ["field", "message"]}},
        },
        "required": ["type", "title", "status"],
    }));
    let password = json!({"type": "string", "minLength": spec.auth.password_min_length});
    schemas.insert("RegisterRequest".into(), json!({"type": "object", "properties": {"email": {"type": "string", "format": "email"}, "password": password}, "required": ["email", "password"]}));
    schemas.insert("LoginRequest".into(), json!({"type": "object", "properties": {"email": {"type": "string"}, "password": {"type": "string"}}, "required": ["email", "password"]}));
    schemas.insert("RefreshRequest".into(), json!({"type": "object", "properties": {"refresh_token": {"type": "string"}}, "required": ["refresh_token"]}));
    schemas.insert("PasswordResetRequest".into(), json!({"type": "object", "properties": {"email": {"type": "string", "format": "email"}}, "required": ["email"]}));
    schemas.insert("PasswordResetConfirm".into(), json!({"type": "object", "properties": {"token": {"type": "string"}, "new_password": password}, "required": ["token", "new_password"]}));
    schemas.insert("User".into(), json!({"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "email": {"type": "string", "format": "email"}, "role": {"type": "string", "enum": spec.auth.roles}, "created_at": {"type": "string", "format": "date-time"}}, "required": ["id", "email", "role"]}));
    schemas.insert("AuthResponse".into(), json!({"type": "object", "properties": {"user": {"$ref": "#/components/schemas/User"}, "access_token": {"type": "string"}, "refresh_token": {"type": "string"}, "token_type": {"type": "string"}, "expires_in": {"type": "integer"}}, "required": ["access_token", "refresh_token"]}));
    schemas.insert("Health".into(), json!({"type": "object", "properties": {"status": {"type": "string"}, "database": {"type": "string"}}, "required": ["status"]}));
    let mut paths = Map::new();
    auth_paths(&mut paths);
    for resource in &spec.resources {
        resource_schemas(resource, &mut schemas);
        resource_operations(resource, &mut paths);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": spec.title(),
            "version": spec.api.version,
            "description": spec.api.description,
        },
        "servers": [{"url": "http://localhost:8080"}],
        "tags": std::iter::once(json!({"name": "auth"}))
            .chain(spec.resources.iter().map(|r| json!({"name": r.plural(), "description": r.description})))
            .chain(std::iter::once(json!({"name": "operations"})))
            .collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": schemas,
        },
    })
}
