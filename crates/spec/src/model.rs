//! The requirements spec as written in YAML (see `docs/spec.md`): what an API must offer.
//! Every field's doc comment ends up in the JSON Schema.

use schemars::JsonSchema;
use serde::Deserialize;
use serde::Serialize;

/// A structured requirements spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Name, version and description of the API.
    pub api: ApiInfo,
    /// Authentication and roles.
    #[serde(default)]
    pub auth: Auth,
    /// The resources (entities) the API manages.
    pub resources: Vec<Resource>,
    /// Request rate limits.
    #[serde(default)]
    pub rate_limits: RateLimits,
    /// Service-level objectives; defaults are seed 000's targets.
    #[serde(default)]
    pub slas: Slas,
}

/// Identity of the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiInfo {
    /// Machine name: lowercase letters, digits and `-` (used as crate name and API id).
    pub name: String,
    /// Human title (defaults to the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Semantic version, e.g. `1.0.0`.
    pub version: String,
    /// What the API is for.
    #[serde(default)]
    pub description: String,
}

/// Authentication: JWT access tokens with refresh tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// Roles a user can have; `admin` must be one of them.
    #[serde(default = "default_roles")]
    pub roles: Vec<String>,
    /// Role given to users who register.
    #[serde(default = "default_role")]
    pub default_role: String,
    /// Lifetime of an access token, in minutes.
    #[serde(default = "default_access_minutes")]
    pub access_token_minutes: u32,
    /// Lifetime of a refresh token, in days.
    #[serde(default = "default_refresh_days")]
    pub refresh_token_days: u32,
    /// Minimum password length.
    #[serde(default = "default_password_min")]
    pub password_min_length: u32,
}

fn default_roles() -> Vec<String> {
    vec!["admin".into(), "member".into()]
}
fn default_role() -> String {
    "member".into()
}
fn default_access_minutes() -> u32 {
    15
}
fn default_refresh_days() -> u32 {
    7
}
fn default_password_min() -> u32 {
    8
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            roles: default_roles(),
            default_role: default_role(),
            access_token_minutes: default_access_minutes(),
            refresh_token_days: default_refresh_days(),
            password_min_length: default_password_min(),
        }
    }
}

/// One resource (a table and its CRUD endpoints under `/api/v1/{plural}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// Singular snake_case name, e.g. `book`.
    pub name: String,
    /// Plural used in paths and table names (default: name + `s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plural: Option<String>,
    /// What the resource is.
    #[serde(default)]
    pub description: String,
    /// Fields besides `id`, `created_at`, `updated_at` (and `owner_id` when owned), which
    /// every resource has.
    pub fields: Vec<Field>,
    /// Relations to other resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relations: Vec<Relation>,
    /// Records belong to the user who created them; other users cannot read or change them
    /// (admins can).
    #[serde(default)]
    pub owned: bool,
    /// Who may call each operation.
    #[serde(default)]
    pub access: Access,
    /// Filtering, sorting, search and pagination of the list operation.
    #[serde(default)]
    pub list: ListFeatures,
}

/// A field of a resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// snake_case name.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Must be present on create.
    #[serde(default)]
    pub required: bool,
    /// No two records may have the same value.
    #[serde(default)]
    pub unique: bool,
    /// Minimum (integer, decimal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Maximum (integer, decimal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Minimum length in characters (string, text, email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Maximum length in characters (string, text, email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Regular expression the value must match (string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Allowed values (enum).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Referenced resource name (reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Value used when the field is absent on create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// What the field means.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// Field types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FieldType {
    /// Short text (single line).
    String,
    /// Long text.
    Text,
    /// 64-bit integer.
    Integer,
    /// Exact decimal with at most 2 fraction digits (money): exchanged as a JSON string such
    /// as `"12.50"` and stored as integer minor units, so no value is ever rounded.
    Decimal,
    /// true / false.
    Boolean,
    /// RFC 3339 timestamp.
    DateTime,
    /// One of `values`.
    Enum,
    /// An email address.
    Email,
    /// A UUID.
    Uuid,
    /// The id of a record of resource `to`.
    Reference,
}

/// A relation between resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Relation {
    /// `belongs-to` (this resource has a reference field) or `has-many` (the other has one).
    pub kind: RelationKind,
    /// The other resource.
    pub resource: String,
    /// The reference field (on this resource for belongs-to, on the other for has-many).
    pub field: String,
}

/// Kind of relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RelationKind {
    /// This resource references one record of the other.
    BelongsTo,
    /// Records of the other resource reference this one.
    HasMany,
}

/// Who may call each operation: `public` (no token), `authenticated` (any user), or role names.
/// On owned resources, non-admin users only ever see and change their own records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// `GET /{plural}`.
    #[serde(default = "authenticated")]
    pub list: Vec<String>,
    /// `GET /{plural}/{id}`.
    #[serde(default = "authenticated")]
    pub read: Vec<String>,
    /// `POST /{plural}`.
    #[serde(default = "authenticated")]
    pub create: Vec<String>,
    /// `PATCH /{plural}/{id}`.
    #[serde(default = "authenticated")]
    pub update: Vec<String>,
    /// `DELETE /{plural}/{id}`.
    #[serde(default = "authenticated")]
    pub delete: Vec<String>,
}

fn authenticated() -> Vec<String> {
    vec!["authenticated".into()]
}

impl Default for Access {
    fn default() -> Self {
        Access {
            list: authenticated(),
            read: authenticated(),
            create: authenticated(),
            update: authenticated(),
            delete: authenticated(),
        }
    }
}

/// List operation features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListFeatures {
    /// Fields usable as exact-match query filters (`?genre=fiction`).
    #[serde(default)]
    pub filter: Vec<String>,
    /// Fields usable in `?sort=field` / `?sort=-field` (plus `created_at`).
    #[serde(default)]
    pub sort: Vec<String>,
    /// Text fields searched by `?q=`.
    #[serde(default)]
    pub search: Vec<String>,
    /// Default page size.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Largest page size a client may ask for.
    #[serde(default = "default_max_page_size")]
    pub max_page_size: u32,
}

fn default_page_size() -> u32 {
    20
}
fn default_max_page_size() -> u32 {
    100
}

impl Default for ListFeatures {
    fn default() -> Self {
        ListFeatures {
            filter: Vec::new(),
            sort: Vec::new(),
            search: Vec::new(),
            page_size: default_page_size(),
            max_page_size: default_max_page_size(),
        }
    }
}

/// Rate limits (requests per minute).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    /// Per authenticated user.
    #[serde(default = "default_user_rpm")]
    pub per_user_per_minute: u32,
    /// Per client IP (unauthenticated requests, and login attempts).
    #[serde(default = "default_ip_rpm")]
    pub per_ip_per_minute: u32,
}

fn default_user_rpm() -> u32 {
    600
}
fn default_ip_rpm() -> u32 {
    120
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_user_per_minute: default_user_rpm(),
            per_ip_per_minute: default_ip_rpm(),
        }
    }
}

/// Service-level objectives (seed 000's success metrics are the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Slas {
    /// p95 latency in milliseconds (seed 000: < 200 ms).
    #[serde(default = "default_p95")]
    pub p95_ms: u32,
    /// Sustained throughput in requests per second (seed 000: > 1000).
    #[serde(default = "default_rps")]
    pub rps: u32,
    /// Error rate in percent (seed 000: < 0.1 %).
    #[serde(default = "default_error_rate")]
    pub error_rate_percent: f64,
    /// Memory per instance in MB (seed 000: < 512).
    #[serde(default = "default_memory")]
    pub memory_mb: u32,
}

fn default_p95() -> u32 {
    200
}
fn default_rps() -> u32 {
    1000
}
fn default_error_rate() -> f64 {
    0.1
}
fn default_memory() -> u32 {
    512
}

impl Default for Slas {
    fn default() -> Self {
        Slas {
            p95_ms: default_p95(),
            rps: default_rps(),
            error_rate_percent: default_error_rate(),
            memory_mb: default_memory(),
        }
    }
}

impl Resource {
    /// The plural (explicit, or name + `s`).
    pub fn plural(&self) -> String {
        self.plural
            .clone()
            .unwrap_or_else(|| format!("{}s", self.name))
    }
}
