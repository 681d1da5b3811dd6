//! List queries: pagination (`?page=&per_page=`, a `per_page` above the resource's maximum is
//! clamped to it), exact-match filters, `?sort=field` / `?sort=-field`, and `?q=` substring
//! search, turned into one parameterized SQL query and a count. Unknown parameters are a 422.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params_from_iter};
use serde::Serialize;

use crate::db::quote;
use crate::error::{ApiError, FieldError};
use crate::validate::Field;

/// What a resource's list supports.
#[derive(Debug)]
pub struct ListSpec {
    /// Table name, as written in SQL.
    pub table: &'static str,
    /// Selected columns, in the order the row mapping expects.
    pub columns: &'static str,
    /// The resource's fields (for filter values).
    pub fields: &'static [Field],
    /// Fields usable as filters.
    pub filters: &'static [&'static str],
    /// Fields usable with `sort` (`created_at` always is).
    pub sorts: &'static [&'static str],
    /// Fields searched by `q`.
    pub search: &'static [&'static str],
    /// Page size when `per_page` is not given.
    pub page_size: u32,
    /// Largest page size.
    pub max_page_size: u32,
}

/// The query string as pairs, in order.
#[derive(Debug)]
pub struct ListParams(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Query::try_from_uri(&parts.uri)
            .map(|Query(pairs)| Self(pairs))
            .map_err(|_| ApiError::BadRequest("The query string is malformed.".to_owned()))
    }
}

/// One page of records.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// The records of the page.
    pub data: Vec<T>,
    /// Page number, from 1.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// Number of records matching the filters, over all pages.
    pub total: u64,
}

/// A checked list query, ready to run.
#[derive(Debug)]
pub struct ListQuery {
    select: String,
    count: String,
    params: Vec<Value>,
    page: u32,
    per_page: u32,
}

impl ListSpec {
    /// Checks the parameters; `owner_id` restricts the list to one owner's records.
    pub fn query(
        &self,
        params: &[(String, String)],
        owner_id: Option<String>,
    ) -> Result<ListQuery, ApiError> {
        let mut errors = Vec::new();
        let mut page = 1;
        let mut per_page = self.page_size;
        let mut order = "created_at ASC, rowid ASC".to_owned();
        let mut conditions = Vec::new();
        let mut values = Vec::new();
        if let Some(owner_id) = owner_id {
            values.push(Value::Text(owner_id));
            conditions.push(format!("owner_id = ?{}", values.len()));
        }
        for (name, raw) in params {
            match name.as_str() {
                "page" => match raw.parse::<u32>() {
                    Ok(number) if number >= 1 => page = number,
                    _ => errors.push(FieldError::new(name, "must be a positive integer")),
                },
                "per_page" => match raw.parse::<u32>() {
                    Ok(number) if number >= 1 => per_page = number.min(self.max_page_size),
                    _ => errors.push(FieldError::new(name, "must be a positive integer")),
                },
                "sort" => {
                    let (column, direction) = match raw.strip_prefix('-') {
                        Some(column) => (column, "DESC"),
                        None => (raw.as_str(), "ASC"),
                    };
                    if column == "created_at" || self.sorts.contains(&column) {
                        order = format!("{} {direction}, rowid {direction}", quote(column));
                    } else {
                        let allowed = self.sorts.join(", ");
                        let message =
                            format!("must be one of created_at, {allowed} (- for descending)");
                        errors.push(FieldError::new(name, message));
                    }
                }
                "q" if !self.search.is_empty() => {
                    let escaped = raw
                        .replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_");
                    values.push(Value::Text(format!("%{escaped}%")));
                    let placeholder = values.len();
                    let matches: Vec<String> = self
                        .search
                        .iter()
                        .map(|column| format!("{} LIKE ?{placeholder} ESCAPE '\\'", quote(column)))
                        .collect();
                    conditions.push(format!("({})", matches.join(" OR ")));
                }
                _ => match self.filter(name) {
                    Some(field) => match field.kind.convert_query(raw) {
                        Ok(value) => {
                            values.push(value);
                            conditions.push(format!("{} = ?{}", quote(name), values.len()));
                        }
                        Err(message) => errors.push(FieldError::new(name, message)),
                    },
                    None => {
                        errors.push(FieldError::new(name, "is not a supported query parameter"))
                    }
                },
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let table = self.table;
        let limit = values.len() + 1;
        Ok(ListQuery {
            select: format!(
                "SELECT {} FROM {table}{filter} ORDER BY {order} LIMIT ?{limit} OFFSET ?{}",
                self.columns,
                limit + 1
            ),
            count: format!("SELECT COUNT(*) FROM {table}{filter}"),
            params: values,
            page,
            per_page,
        })
    }

    fn filter(&self, name: &str) -> Option<&'static Field> {
        if !self.filters.contains(&name) {
            return None;
        }
        self.fields.iter().find(|field| field.name == name)
    }
}

impl ListQuery {
    /// Runs the query; `map` turns a row of the selected columns into a record.
    pub fn fetch<T>(
        &self,
        conn: &Connection,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Page<T>, ApiError> {
        let total: i64 = conn.query_row(&self.count, params_from_iter(&self.params), |row| {
            row.get(0)
        })?;
        let offset = u64::from(self.page - 1) * u64::from(self.per_page);
        let mut params = self.params.clone();
        params.push(Value::Integer(i64::from(self.per_page)));
        params.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
        let mut statement = conn.prepare(&self.select)?;
        let data = statement
            .query_map(params_from_iter(params), map)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            data,
            page: self.page,
            per_page: self.per_page,
            total: u64::try_from(total).unwrap_or_default(),
        })
    }
}
