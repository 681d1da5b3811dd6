{{ r.module_doc }}

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;

use crate::AppState;
use crate::auth::{Access, Caller};
use crate::db;
use crate::error::ApiError;
use crate::extract::JsonObject;
use crate::list::{ListParams, ListSpec};
use crate::validate::{{ r.validate_imports }};

/// The table, as written in SQL.
const TABLE: &str = "{{ r.table }}";
const COLLECTION: &str = "/api/v1/{{ r.plural }}";
const RECORD: &str = "/api/v1/{{ r.plural }}/{id}";
/// Selected columns, in the order [`{{ r.type_name }}::from_row`] reads them.
{{ r.columns_const }}

const LIST_ACCESS: Access = {{ r.access.list }};
const CREATE_ACCESS: Access = {{ r.access.create }};
const READ_ACCESS: Access = {{ r.access.read }};
const UPDATE_ACCESS: Access = {{ r.access.update }};
const DELETE_ACCESS: Access = {{ r.access.delete }};
{% for item in r.statics %}

{{ item }}
{% endfor %}

/// The writable fields and their rules.
static FIELDS: &[Field] = &[
{% for field in r.fields %}
{{ field.rule }}
{% endfor %}
];

static LIST: ListSpec = ListSpec {
    table: TABLE,
    columns: COLUMNS,
    fields: FIELDS,
{{ r.list_arrays }}
    page_size: {{ r.page_size }},
    max_page_size: {{ r.max_page_size }},
};

{{ r.struct_doc }}
#[derive(Debug, Serialize)]
pub struct {{ r.type_name }} {
    pub id: String,
{% if r.owned %}
    /// The user who created it.
    pub owner_id: String,
{% endif %}
{% for field in r.fields %}
{{ field.struct_field }}
{% endfor %}
    pub created_at: String,
    pub updated_at: String,
}

impl {{ r.type_name }} {
    /// Reads a row of [`COLUMNS`].
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
{% for line in r.from_row %}
            {{ line }}
{% endfor %}
        })
    }

{% if r.owned %}
    /// The record `id`, if it exists and `owner_id` (when given) owns it.
    fn find(conn: &Connection, id: &str, owner_id: Option<&str>) -> Result<Self, ApiError> {
        let record = match owner_id {
            Some(owner_id) => conn.query_row(
                &format!("SELECT {COLUMNS} FROM {TABLE} WHERE id = ?1 AND owner_id = ?2"),
                [id, owner_id],
                Self::from_row,
            ),
            None => conn.query_row(
                &format!("SELECT {COLUMNS} FROM {TABLE} WHERE id = ?1"),
                [id],
                Self::from_row,
            ),
        };
        record.optional()?.ok_or(ApiError::NotFound)
    }
{% else %}
    /// The record `id`, if it exists.
    fn find(conn: &Connection, id: &str) -> Result<Self, ApiError> {
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM {TABLE} WHERE id = ?1"),
            [id],
            Self::from_row,
        )
        .optional()?
        .ok_or(ApiError::NotFound)
    }
{% endif %}
}

/// The routes of `/api/v1/{{ r.plural }}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(COLLECTION, get(list).post(create))
        .route(RECORD, get(read).patch(update).delete(remove))
}

/// `GET /api/v1/{{ r.plural }}`: a page of {{ r.plural_words }}{% if r.owned %} (a user's own, all for admins){% endif %}.
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ListParams(params): ListParams,
) -> Result<Response, ApiError> {
{% if r.owned %}
    let user = caller.require_user(LIST_ACCESS)?;
    let query = LIST.query(&params, user.owner_scope())?;
{% else %}
    caller.authorize(LIST_ACCESS)?;
    let query = LIST.query(&params, None)?;
{% endif %}
{{ r.list_call }}
    Ok(Json(page).into_response())
}

/// `POST /api/v1/{{ r.plural }}`: 201 with the new record and its `Location`.
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
{% if r.owned %}
    let user = caller.require_user(CREATE_ACCESS)?;
{% elif r.needs_user_for_references %}
    let user = caller.authorize(CREATE_ACCESS)?;
{% else %}
    caller.authorize(CREATE_ACCESS)?;
{% endif %}
    let values = validate::check_body(FIELDS, body, true)?;
    let record = state
        .db
        .call(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
{% if r.has_references %}
            {{ r.check_references }}
{% endif %}
{% if r.owned %}
            let id = db::insert(&tx, TABLE, Some(&user.id), values)?;
{% else %}
            let id = db::insert(&tx, TABLE, None, values)?;
{% endif %}
            let record = {{ r.type_name }}::find(&tx, &id{% if r.owned %}, None{% endif %})?;
            tx.commit()?;
            Ok(record)
        })
        .await?;
    let location = format!("{COLLECTION}/{}", record.id);
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(record)).into_response())
}

/// `GET /api/v1/{{ r.plural }}/{id}`.
async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
{% if r.owned %}
    let owner_id = caller.require_user(READ_ACCESS)?.owner_scope();
{% else %}
    caller.authorize(READ_ACCESS)?;
{% endif %}
{{ r.read_call }}
    Ok(Json(record).into_response())
}

/// `PATCH /api/v1/{{ r.plural }}/{id}`: changes the fields given, with the same rules as create.
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
{% if r.owned %}
    let user = caller.require_user(UPDATE_ACCESS)?;
    let owner_id = user.owner_scope();
{% elif r.needs_user_for_references %}
    let user = caller.authorize(UPDATE_ACCESS)?;
{% else %}
    caller.authorize(UPDATE_ACCESS)?;
{% endif %}
    let values = validate::check_body(FIELDS, body, false)?;
    let record = state
        .db
        .call(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
{% if r.has_references %}
            {{ r.check_references }}
{% endif %}
            if !db::update(&tx, TABLE, &id, {{ r.owner_arg }}, values)? {
                return Err(ApiError::NotFound);
            }
            let record = {{ r.type_name }}::find(&tx, &id{% if r.owned %}, None{% endif %})?;
            tx.commit()?;
            Ok(record)
        })
        .await?;
    Ok(Json(record).into_response())
}

/// `DELETE /api/v1/{{ r.plural }}/{id}`: 204; 409 while other records refer to it.
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
{% if r.owned %}
    let owner_id = caller.require_user(DELETE_ACCESS)?.owner_scope();
{% else %}
    caller.authorize(DELETE_ACCESS)?;
{% endif %}
{{ r.delete_call }}
    if deleted {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound)
    }
}
