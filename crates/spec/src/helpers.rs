//! Pure helpers on the model that the validator and the code generators share: type
//! classes, lookups by name, names in the generated service.

use std::fmt;

use crate::model::Access;
use crate::model::Field;
use crate::model::FieldType;
use crate::model::RelationKind;
use crate::model::Resource;
use crate::model::Spec;

/// Names the generated service uses for itself; no resource may be named (or pluralized) so.
pub const RESERVED_RESOURCE_NAMES: [&str; 5] = ["user", "users", "auth", "health", "metrics"];

/// Columns every resource has; no field may be named so (`owner_id` only exists on owned
/// resources but is reserved everywhere, so that making a resource owned never breaks it).
pub const GENERATED_FIELDS: [&str; 4] = ["id", "created_at", "updated_at", "owner_id"];

/// Access entries that are not roles.
pub const PUBLIC: &str = "public";
/// Any signed-in user, whatever their role.
pub const AUTHENTICATED: &str = "authenticated";

/// The largest `max_page_size` a list may allow.
pub const MAX_PAGE_SIZE_LIMIT: u32 = 1000;

/// Smallest allowed `auth.password_min_length`.
pub const MIN_PASSWORD_LENGTH: u32 = 8;

impl FieldType {
    /// Every type, in the order of the documentation.
    pub const ALL: [FieldType; 10] = [
        FieldType::String,
        FieldType::Text,
        FieldType::Integer,
        FieldType::Decimal,
        FieldType::Boolean,
        FieldType::DateTime,
        FieldType::Enum,
        FieldType::Email,
        FieldType::Uuid,
        FieldType::Reference,
    ];

    /// The name as written in YAML (`date-time`).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Text => "text",
            FieldType::Integer => "integer",
            FieldType::Decimal => "decimal",
            FieldType::Boolean => "boolean",
            FieldType::DateTime => "date-time",
            FieldType::Enum => "enum",
            FieldType::Email => "email",
            FieldType::Uuid => "uuid",
            FieldType::Reference => "reference",
        }
    }

    /// String, text and email: free text with a length, searchable with `?q=`.
    pub fn is_text_like(self) -> bool {
        matches!(self, FieldType::String | FieldType::Text | FieldType::Email)
    }

    /// Integer and decimal: numbers with `min` / `max`.
    pub fn is_numeric(self) -> bool {
        matches!(self, FieldType::Integer | FieldType::Decimal)
    }

    /// Whether a list may be sorted by a field of this type (everything but long text).
    pub fn is_sortable(self) -> bool {
        self != FieldType::Text
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RelationKind {
    /// The name as written in YAML (`belongs-to`).
    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::BelongsTo => "belongs-to",
            RelationKind::HasMany => "has-many",
        }
    }
}

impl fmt::Display for RelationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Field {
    /// String, text or email.
    pub fn is_text_like(&self) -> bool {
        self.field_type.is_text_like()
    }

    /// Integer or decimal.
    pub fn is_numeric(&self) -> bool {
        self.field_type.is_numeric()
    }

    /// The referenced resource, for a reference field.
    pub fn reference(&self) -> Option<&str> {
        match self.field_type {
            FieldType::Reference => self.to.as_deref(),
            _ => None,
        }
    }

    /// Whether this is a reference to `resource`.
    pub fn is_reference_to(&self, resource: &str) -> bool {
        self.reference() == Some(resource)
    }
}

impl Resource {
    /// The table name in the generated schema (the plural).
    pub fn table(&self) -> String {
        self.plural()
    }

    /// The field named `name` (declared fields only, not `id` and the other generated ones).
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The reference fields with the resource each one points to.
    pub fn references(&self) -> impl Iterator<Item = (&Field, &str)> {
        self.fields
            .iter()
            .filter_map(|field| field.reference().map(|to| (field, to)))
    }

    /// The roles allowed to call `operation` (`public` and `authenticated` included).
    pub fn access(&self, operation: Operation) -> &[String] {
        self.access.get(operation)
    }
}

/// The five operations of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// `GET /api/v1/{plural}`.
    List,
    /// `POST /api/v1/{plural}`.
    Create,
    /// `GET /api/v1/{plural}/{id}`.
    Read,
    /// `PATCH /api/v1/{plural}/{id}`.
    Update,
    /// `DELETE /api/v1/{plural}/{id}`.
    Delete,
}

impl Operation {
    /// Every operation, in the order of the endpoint list.
    pub const ALL: [Operation; 5] = [
        Operation::List,
        Operation::Create,
        Operation::Read,
        Operation::Update,
        Operation::Delete,
    ];

    /// The key in `access` (`list`, `read`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::List => "list",
            Operation::Create => "create",
            Operation::Read => "read",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Access {
    /// The entries of one operation.
    pub fn get(&self, operation: Operation) -> &[String] {
        match operation {
            Operation::List => &self.list,
            Operation::Create => &self.create,
            Operation::Read => &self.read,
            Operation::Update => &self.update,
            Operation::Delete => &self.delete,
        }
    }

    /// Whether the operation can be called without a token.
    pub fn is_public(&self, operation: Operation) -> bool {
        self.get(operation).iter().any(|entry| entry == PUBLIC)
    }

    /// Whether a user with `role` may call the operation (`admin` always may).
    pub fn allows(&self, operation: Operation, role: &str) -> bool {
        role == "admin"
            || self
                .get(operation)
                .iter()
                .any(|entry| entry == PUBLIC || entry == AUTHENTICATED || entry == role)
    }
}

impl Spec {
    /// The resource named `name`.
    pub fn resource(&self, name: &str) -> Option<&Resource> {
        self.resources.iter().find(|resource| resource.name == name)
    }

    /// The human title (explicit, or the name).
    pub fn title(&self) -> &str {
        self.api.title.as_deref().unwrap_or(&self.api.name)
    }

    /// The resources with a reference field pointing to `name`, with that field.
    pub fn referencing(&self, name: &str) -> Vec<(&Resource, &Field)> {
        self.resources
            .iter()
            .flat_map(|resource| {
                resource
                    .references()
                    .filter(|(_, to)| *to == name)
                    .map(move |(field, _)| (resource, field))
            })
            .collect()
    }
}
