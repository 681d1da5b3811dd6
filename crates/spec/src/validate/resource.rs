//! A resource's relations, access lists and list features.

use std::collections::HashSet;

use apiwright_yaml::Path;

use super::Checker;
use super::list;
use crate::helpers::AUTHENTICATED;
use crate::helpers::MAX_PAGE_SIZE_LIMIT;
use crate::helpers::Operation;
use crate::helpers::PUBLIC;
use crate::model::Field;
use crate::model::RelationKind;
use crate::model::Resource;

/// Generated columns a list may also be sorted by.
const SORTABLE_GENERATED: [&str; 2] = ["created_at", "updated_at"];

impl Checker<'_> {
    pub(super) fn relations(&mut self, resource: &Resource, at: &Path) {
        for (index, relation) in resource.relations.iter().enumerate() {
            let at = at.key("relations").index(index);
            let Some(other) = self.spec.resource(&relation.resource) else {
                let names = self.resource_names_list();
                self.report(
                    at.key("resource"),
                    format!(
                        "expected the name of a declared resource ({names}), found `{}`",
                        relation.resource
                    ),
                );
                continue;
            };
            // belongs-to: this resource holds a reference to the other;
            // has-many: the other holds a reference to this one.
            let (holder, target) = match relation.kind {
                RelationKind::BelongsTo => (resource, other),
                RelationKind::HasMany => (other, resource),
            };
            let field_name = &relation.field;
            let Some(field) = holder.field(field_name) else {
                let side = match relation.kind {
                    RelationKind::BelongsTo => "this resource",
                    RelationKind::HasMany => "the other resource",
                };
                self.report(
                    at.key("field"),
                    format!(
                        "expected a reference field of `{}` ({} names a field of {side}), found `{field_name}`",
                        holder.name, relation.kind
                    ),
                );
                continue;
            };
            if !field.is_reference_to(&target.name) {
                self.report(
                    at.key("field"),
                    format!(
                        "expected a reference to `{}`, found `{}.{field_name}`{}",
                        target.name,
                        holder.name,
                        describe(field)
                    ),
                );
            }
        }
    }

    pub(super) fn access(&mut self, resource: &Resource, at: &Path) {
        let roles = &self.spec.auth.roles;
        for operation in Operation::ALL {
            let at = at.key("access").key(operation.as_str());
            let entries = resource.access.get(operation);
            if entries.is_empty() {
                self.report(
                    at.clone(),
                    format!(
                        "expected `{PUBLIC}`, `{AUTHENTICATED}` or roles allowed to {operation}, found an empty list"
                    ),
                );
            }
            let mut seen = HashSet::new();
            for (index, entry) in entries.iter().enumerate() {
                let path = at.index(index);
                if entry == PUBLIC && resource.owned {
                    self.report(
                        path,
                        format!(
                            "expected `{AUTHENTICATED}` or roles on an owned resource (its records belong to users), found `{PUBLIC}`"
                        ),
                    );
                } else if entry != PUBLIC && entry != AUTHENTICATED && !roles.contains(entry) {
                    self.report(
                        path,
                        format!(
                            "expected `{PUBLIC}`, `{AUTHENTICATED}` or a declared role ({}), found `{entry}`",
                            list(roles.iter().map(String::as_str))
                        ),
                    );
                } else if !seen.insert(entry.as_str()) {
                    self.report(
                        path,
                        format!("expected each entry once, found `{entry}` again"),
                    );
                }
            }
        }
    }

    pub(super) fn list(&mut self, resource: &Resource, at: &Path) {
        let at = at.key("list");
        let features = &resource.list;
        let kinds: [(&str, &[String]); 3] = [
            ("filter", &features.filter),
            ("sort", &features.sort),
            ("search", &features.search),
        ];
        for (key, names) in kinds {
            let mut seen = HashSet::new();
            for (index, name) in names.iter().enumerate() {
                let path = at.key(key).index(index);
                if !seen.insert(name.as_str()) {
                    self.report(
                        path,
                        format!("expected each field once, found `{name}` again"),
                    );
                    continue;
                }
                if key == "sort" && SORTABLE_GENERATED.contains(&name.as_str()) {
                    continue;
                }
                let Some(field) = resource.field(name) else {
                    let mut known: Vec<&str> =
                        resource.fields.iter().map(|f| f.name.as_str()).collect();
                    if key == "sort" {
                        known.extend(SORTABLE_GENERATED);
                    }
                    self.report(
                        path,
                        format!(
                            "expected a field of `{}` ({}), found `{name}`",
                            resource.name,
                            list(known)
                        ),
                    );
                    continue;
                };
                let ty = field.field_type;
                if key == "search" && !ty.is_text_like() {
                    self.report(
                        path,
                        format!(
                            "expected a string, text or email field to search, found `{name}` of type {ty}"
                        ),
                    );
                } else if key == "sort" && !ty.is_sortable() {
                    self.report(
                        path,
                        format!("expected a field that is not text to sort by, found `{name}` of type {ty}"),
                    );
                }
            }
        }
        let (size, max) = (features.page_size, features.max_page_size);
        if size == 0 {
            self.report(
                at.key("page_size"),
                "expected a page size of at least 1, found `0`",
            );
        } else if size > max && max <= MAX_PAGE_SIZE_LIMIT {
            self.report(
                at.key("page_size"),
                format!("expected a page size ≤ `max_page_size` ({max}), found `{size}`"),
            );
        }
        if max > MAX_PAGE_SIZE_LIMIT {
            self.report(
                at.key("max_page_size"),
                format!("expected a maximum page size ≤ {MAX_PAGE_SIZE_LIMIT}, found `{max}`"),
            );
        }
    }
}

/// `of type string`, or `a reference to `x``, for messages.
fn describe(field: &Field) -> String {
    match field.reference() {
        Some(to) => format!(", a reference to `{to}`"),
        None => format!(" of type {}", field.field_type),
    }
}
