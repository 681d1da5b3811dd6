//! The database schema of a spec: the up and down migration (users and their tokens, then one
//! table per resource in dependency order, with NOT NULL, UNIQUE, CHECK, DEFAULT and FOREIGN
//! KEY constraints and an index per filter, sort, owner and reference column), and seed rows.

use std::fmt::Write;

use apiwright_spec::{Field, FieldType, Resource, Spec};
use serde_json::Value;

use crate::names::{sql_ident, sql_string};
use crate::plan;

/// A resource table's columns in their order: id, owner (when owned), the fields, timestamps.
pub(crate) fn column_names(resource: &Resource) -> Vec<String> {
    let mut columns = vec!["id".to_owned()];
    if resource.owned {
        columns.push("owner_id".to_owned());
    }
    columns.extend(resource.fields.iter().map(|field| sql_ident(&field.name)));
    columns.push("created_at".to_owned());
    columns.push("updated_at".to_owned());
    columns
}
use crate::sample;

/// The SQL type of a field.
fn sql_type(field: &Field) -> &'static str {
    match field.field_type {
        FieldType::Integer | FieldType::Decimal | FieldType::Boolean => "INTEGER",
        _ => "TEXT",
    }
}

/// A default value as an SQL literal.
fn default_literal(field: &Field, value: &Value) -> String {
    match (field.field_type, value) {
        (FieldType::Boolean, Value::Bool(flag)) => i64::from(*flag).to_string(),
        (FieldType::Decimal, _) => sample::stored(field, &decimal_default(value)).to_sql(),
        (_, Value::String(text)) => sql_string(text),
        (_, other) => other.to_string(),
    }
}

fn decimal_default(value: &Value) -> Value {
    match value {
        Value::Number(number) => Value::from(sample::format_minor(sample::to_minor(
            number.as_f64().unwrap_or_default(),
        ))),
        other => other.clone(),
    }
}

impl sample::Stored {
    /// The value as an SQL literal.
    pub(crate) fn to_sql(&self) -> String {
        match self {
            sample::Stored::Null => "NULL".to_owned(),
            sample::Stored::Integer(number) => number.to_string(),
            sample::Stored::Text(text) => sql_string(text),
        }
    }
}

/// The column definition of a field.
fn column(field: &Field, spec: &Spec) -> String {
    let name = sql_ident(&field.name);
    let mut column = format!("{name} {}", sql_type(field));
    if field.required || field.default.is_some() {
        column.push_str(" NOT NULL");
    }
    if field.unique {
        column.push_str(" UNIQUE");
    }
    if let Some(default) = &field.default {
        let _ = write!(column, " DEFAULT {}", default_literal(field, default));
    }
    let checks = checks(field, &name);
    if !checks.is_empty() {
        let _ = write!(column, " CHECK ({})", checks.join(" AND "));
    }
    if let Some(target) = field.reference().and_then(|to| spec.resource(to)) {
        let _ = write!(column, " REFERENCES {} (id)", sql_ident(&target.table()));
    }
    column
}

fn checks(field: &Field, name: &str) -> Vec<String> {
    let mut checks = Vec::new();
    match field.field_type {
        FieldType::Enum => {
            let values: Vec<String> = field.values.iter().map(|value| sql_string(value)).collect();
            checks.push(format!("{name} IN ({})", values.join(", ")));
        }
        FieldType::Boolean => checks.push(format!("{name} IN (0, 1)")),
        FieldType::Integer | FieldType::Decimal => {
            let bound = |value: f64| {
                if field.field_type == FieldType::Decimal {
                    sample::to_minor(value)
                } else {
                    value as i64
                }
            };
            if let Some(min) = field.min {
                checks.push(format!("{name} >= {}", bound(min)));
            }
            if let Some(max) = field.max {
                checks.push(format!("{name} <= {}", bound(max)));
            }
        }
        _ => {}
    }
    checks
}

/// Columns that get an index: owner, references, filters and sorts (unique ones already have
/// one), and `created_at`.
fn indexed_columns(resource: &Resource) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        let unique = resource.field(name).is_some_and(|field| field.unique);
        if !unique && !columns.iter().any(|column| column == name) {
            columns.push(name.to_owned());
        }
    };
    if resource.owned {
        add("owner_id");
    }
    for (field, _) in resource.references() {
        add(&field.name);
    }
    for name in resource.list.filter.iter().chain(&resource.list.sort) {
        add(name);
    }
    add("created_at");
    columns
}

const AUTH_TABLES: &str = "\
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ({roles})),
    token_version INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX idx_refresh_tokens_user_id ON refresh_tokens (user_id);

CREATE TABLE password_resets (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX idx_password_resets_user_id ON password_resets (user_id);
";

/// The up and down SQL of the initial migration.
pub(crate) fn migrations(spec: &Spec) -> (String, String) {
    let order = plan::resources_in_order(spec);
    let mut up = String::new();
    let _ = writeln!(
        up,
        "-- Schema of the {} API, migration 0001 (generated by apiwright from the spec).",
        spec.api.name
    );
    up.push_str(
        "-- Ids are UUID text; timestamps are RFC 3339 UTC text with microseconds (text order is\n\
         -- time order); decimals are integer minor units (cents); booleans are 0 or 1.\n\n",
    );
    let roles: Vec<String> = spec
        .auth
        .roles
        .iter()
        .map(|role| sql_string(role))
        .collect();
    up.push_str(&AUTH_TABLES.replace("{roles}", &roles.join(", ")));
    for resource in &order {
        let table = sql_ident(&resource.table());
        up.push('\n');
        if !resource.description.is_empty() {
            let _ = writeln!(up, "-- {}", resource.description.replace('\n', " "));
        }
        let mut columns = vec!["id TEXT PRIMARY KEY NOT NULL".to_owned()];
        if resource.owned {
            columns
                .push("owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE".to_owned());
        }
        columns.extend(resource.fields.iter().map(|field| column(field, spec)));
        columns.push("created_at TEXT NOT NULL".to_owned());
        columns.push("updated_at TEXT NOT NULL".to_owned());
        let _ = writeln!(
            up,
            "CREATE TABLE {table} (\n    {}\n);",
            columns.join(",\n    ")
        );
        for name in indexed_columns(resource) {
            let _ = writeln!(
                up,
                "CREATE INDEX idx_{}_{name} ON {table} ({});",
                resource.table(),
                sql_ident(&name)
            );
        }
    }
    let mut down = format!(
        "-- Reverts migration 0001 of the {} API: drops every table, dependents first.\n\n",
        spec.api.name
    );
    for resource in order.iter().rev() {
        let _ = writeln!(
            down,
            "DROP TABLE IF EXISTS {};",
            sql_ident(&resource.table())
        );
    }
    down.push_str("DROP TABLE IF EXISTS password_resets;\n");
    down.push_str("DROP TABLE IF EXISTS refresh_tokens;\n");
    down.push_str("DROP TABLE IF EXISTS users;\n");
    (up, down)
}

/// Id of seed row `n` of the resource at `index` (in build order).
fn seed_id(index: usize, n: usize) -> String {
    format!("00000000-0000-4000-8000-{:04x}{:08x}", index + 1, n + 1)
}

/// Sample rows: a seed user (who cannot sign in) owning two rows of each resource.
pub(crate) fn seed(spec: &Spec) -> String {
    let order = plan::resources_in_order(spec);
    let user = "00000000-0000-4000-8000-000000000000";
    let now = "2024-01-01T00:00:00.000000Z";
    let mut out = format!(
        "-- Sample data of the {} API: a seed user (its password hash is not a hash, so it cannot\n\
         -- sign in) and two records of each resource.\n\n",
        spec.api.name
    );
    let _ = writeln!(
        out,
        "INSERT INTO users (id, email, password_hash, role, token_version, created_at, updated_at)\n\
         VALUES ('{user}', 'seed@example.com', '!', {}, 0, '{now}', '{now}');",
        sql_string(&spec.auth.default_role)
    );
    for (index, resource) in order.iter().enumerate() {
        let columns = column_names(resource);
        let rows: Vec<String> = (0..2)
            .map(|n| {
                let mut values = vec![sql_string(&seed_id(index, n))];
                if resource.owned {
                    values.push(sql_string(user));
                }
                for field in &resource.fields {
                    let value = match field.reference() {
                        // Rows of resources created earlier; a reference to this resource or
                        // a later one (a cycle) stays NULL unless it is required.
                        Some(to) => order
                            .iter()
                            .position(|other| other.name == to)
                            .filter(|parent| *parent < index || field.required)
                            .map_or("NULL".to_owned(), |parent| sql_string(&seed_id(parent, n))),
                        None => sample::stored(field, &sample::value(field, n)).to_sql(),
                    };
                    values.push(value);
                }
                values.push(sql_string(now));
                values.push(sql_string(now));
                format!("    ({})", values.join(", "))
            })
            .collect();
        let _ = writeln!(
            out,
            "\nINSERT INTO {} ({})\nVALUES\n{};",
            sql_ident(&resource.table()),
            columns.join(", "),
            rows.join(",\n")
        );
    }
    out
}
