//! The implementation module of a resource (`src/resources/{plural}.rs`): its field rules,
//! list features, access rules, response type and the five handlers.

use apiwright_spec::{Field, FieldType, Operation, Resource, Spec};
use serde::Serialize;

use crate::names::{self, array, assignment, chain, rust_raw_string, sql_ident, wrap};
use crate::plan::{self, Uses};
use crate::sample;

/// Context of `src/resources/resource.rs`.
#[derive(Debug, Serialize)]
pub(crate) struct ResourceModule {
    module_doc: String,
    table: String,
    plural: String,
    plural_words: String,
    type_name: String,
    struct_doc: String,
    owned: bool,
    columns_const: String,
    validate_imports: String,
    access: AccessExprs,
    statics: Vec<String>,
    fields: Vec<FieldCode>,
    list_arrays: String,
    page_size: u32,
    max_page_size: u32,
    from_row: Vec<String>,
    has_references: bool,
    needs_user_for_references: bool,
    check_references: String,
    owner_arg: &'static str,
    list_call: String,
    read_call: String,
    delete_call: String,
}

#[derive(Debug, Serialize)]
struct AccessExprs {
    list: String,
    create: String,
    read: String,
    update: String,
    delete: String,
}

#[derive(Debug, Serialize)]
struct FieldCode {
    rule: String,
    struct_field: String,
}

impl ResourceModule {
    pub(crate) fn new(spec: &Spec, resource: &Resource, uses: &Uses) -> Self {
        let plural = resource.plural();
        let type_name = names::pascal(&resource.name);
        let mut statics = Vec::new();
        let mut kinds = Vec::new();
        for field in &resource.fields {
            let (kind, extra) = kind(spec, field, uses);
            statics.extend(extra);
            kinds.push(kind);
        }
        let fields = resource
            .fields
            .iter()
            .zip(&kinds)
            .map(|(field, kind)| FieldCode {
                rule: rule(field, kind),
                struct_field: struct_field(field),
            })
            .collect();
        let columns = crate::sql::column_names(resource);
        let columns_literal = format!("{:?}", columns.join(", "));
        let has_references = resource.references().next().is_some();
        let references_owned = plan::references_owned(spec, resource);
        let check_references = if !uses.owned_reference {
            "validate::check_references(&tx, FIELDS, &values)?;"
        } else if resource.owned {
            "validate::check_references(&tx, FIELDS, &values, Some(&user))?;"
        } else if references_owned {
            "validate::check_references(&tx, FIELDS, &values, user.as_ref())?;"
        } else {
            "validate::check_references(&tx, FIELDS, &values, None)?;"
        };
        let mut imports = vec!["self", "Field", "Kind"];
        if uses.pattern && resource.fields.iter().any(|field| field.pattern.is_some()) {
            imports.push("Pattern");
        }
        if resource.fields.iter().any(|field| field.default.is_some()) {
            imports.push("Preset");
        }
        let owner_arg = if resource.owned {
            "owner_id.as_deref()"
        } else {
            "None"
        };
        let call = |prefix: &str, closure: String| {
            chain(4, prefix, &["state", "db", &closure, "await?"], ";")
        };
        let list_call = call(
            "let page = ",
            format!("call(move |conn| query.fetch(conn, {type_name}::from_row))"),
        );
        let read_call = call(
            "let record = ",
            if resource.owned {
                format!("call(move |conn| {type_name}::find(conn, &id, owner_id.as_deref()))")
            } else {
                format!("call(move |conn| {type_name}::find(conn, &id))")
            },
        );
        let delete_call = call(
            "let deleted = ",
            format!("call(move |conn| db::delete(conn, TABLE, &id, {owner_arg}))"),
        );
        Self {
            list_call,
            read_call,
            delete_call,
            module_doc: module_doc(resource, &plural),
            table: sql_ident(&resource.table()).replace('"', "\\\""),
            plural_words: names::words(&plural),
            struct_doc: format!(
                "/// {} {}, as the API returns it.",
                article(&resource.name),
                names::words(&resource.name)
            ),
            plural,
            type_name,
            owned: resource.owned,
            columns_const: assignment(0, "const COLUMNS: &str =", &columns_literal, ";"),
            validate_imports: if imports.len() == 1 {
                imports.join("")
            } else {
                format!("{{{}}}", imports.join(", "))
            },
            access: AccessExprs {
                list: plan::access_expr(resource, Operation::List),
                create: plan::access_expr(resource, Operation::Create),
                read: plan::access_expr(resource, Operation::Read),
                update: plan::access_expr(resource, Operation::Update),
                delete: plan::access_expr(resource, Operation::Delete),
            },
            statics,
            fields,
            list_arrays: list_arrays(resource),
            page_size: resource.list.page_size,
            max_page_size: resource.list.max_page_size,
            from_row: from_row(resource),
            has_references,
            needs_user_for_references: has_references
                && uses.owned_reference
                && references_owned
                && !resource.owned,
            check_references: check_references.to_owned(),
            owner_arg,
        }
    }
}

fn article(word: &str) -> &'static str {
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "An",
        _ => "A",
    }
}

fn module_doc(resource: &Resource, plural: &str) -> String {
    let mut text = format!("`/api/v1/{plural}`");
    match resource.description.trim() {
        "" => text.push('.'),
        description => text.push_str(&format!(": {description}")),
    }
    let list = &resource.list;
    let mut features = Vec::new();
    if !list.filter.is_empty() {
        features.push(format!("filters {}", list.filter.join(", ")));
    }
    let mut sorts = list.sort.clone();
    if !sorts.iter().any(|sort| sort == "created_at") {
        sorts.push("created_at".to_owned());
    }
    features.push(format!("sorting by {}", sorts.join(", ")));
    if !list.search.is_empty() {
        features.push(format!("search in {}", list.search.join(", ")));
    }
    features.push(format!(
        "{} per page, at most {}",
        list.page_size, list.max_page_size
    ));
    let access: Vec<String> = Operation::ALL
        .iter()
        .map(|operation| format!("{operation}: {}", resource.access(*operation).join(", ")))
        .collect();
    let mut details = format!(
        "List ({}), create, read, partial update and delete. Access by operation: {}.",
        features.join("; "),
        access.join("; ")
    );
    if resource.owned {
        details.push_str(
            " Records are owned by their creator: other users get 404 for them and do not see \
             them in lists; admins see and change every record.",
        );
    }
    format!(
        "{}\n//!\n{}",
        wrap("//! ", &text, names::MAX_WIDTH),
        wrap("//! ", &details, names::MAX_WIDTH)
    )
}

/// The `Kind` expression of a field (multi-line where rustfmt makes it so, indented for the
/// `kind:` line of a field rule), and the statics it needs.
fn kind(spec: &Spec, field: &Field, uses: &Uses) -> (String, Vec<String>) {
    let option = |value: Option<String>| value.map_or("None".to_owned(), |v| format!("Some({v})"));
    let block = |name: &str, parts: &[(&str, String)]| {
        let mut out = format!("Kind::{name} {{\n");
        for (key, value) in parts {
            out.push_str(&format!("            {key}: {value},\n"));
        }
        out.push_str("        }");
        out
    };
    let lengths = || {
        vec![
            (
                "min_length",
                option(field.min_length.map(|v| v.to_string())),
            ),
            (
                "max_length",
                option(field.max_length.map(|v| v.to_string())),
            ),
        ]
    };
    let mut statics = Vec::new();
    let expression = match field.field_type {
        FieldType::String | FieldType::Text => {
            let mut parts = lengths();
            if uses.pattern {
                let pattern = field.pattern.as_ref().map(|pattern| {
                    let name = format!("{}_PATTERN", names::constant(&field.name));
                    statics.push(assignment(
                        0,
                        &format!("static {name}: Pattern ="),
                        &format!("Pattern::new({})", rust_raw_string(pattern)),
                        ";",
                    ));
                    format!("&{name}")
                });
                parts.push(("pattern", option(pattern)));
            }
            block("Text", &parts)
        }
        FieldType::Email => block("Email", &lengths()),
        FieldType::Integer => block(
            "Integer",
            &[
                ("min", option(field.min.map(|v| (v as i64).to_string()))),
                ("max", option(field.max.map(|v| (v as i64).to_string()))),
            ],
        ),
        FieldType::Decimal => block(
            "Decimal",
            &[
                (
                    "min",
                    option(field.min.map(|v| sample::to_minor(v).to_string())),
                ),
                (
                    "max",
                    option(field.max.map(|v| sample::to_minor(v).to_string())),
                ),
            ],
        ),
        FieldType::Boolean => "Kind::Boolean".to_owned(),
        FieldType::DateTime => "Kind::Timestamp".to_owned(),
        FieldType::Enum => {
            let name = format!("{}_VALUES", names::constant(&field.name));
            let values: Vec<String> = field.values.iter().map(|v| format!("{v:?}")).collect();
            statics.push(array(
                0,
                &format!("const {name}: &[&str] = &"),
                &values,
                ";",
            ));
            format!("Kind::Enum({name})")
        }
        FieldType::Uuid => "Kind::Uuid".to_owned(),
        FieldType::Reference => {
            let target = field.reference().and_then(|to| spec.resource(to));
            block(
                "Reference",
                &[
                    (
                        "table",
                        format!(
                            "{:?}",
                            target.map(|t| sql_ident(&t.table())).unwrap_or_default()
                        ),
                    ),
                    ("owned", target.is_some_and(|t| t.owned).to_string()),
                ],
            )
        }
    };
    (expression, statics)
}

/// The `Field { … }` entry of `FIELDS`.
fn rule(field: &Field, kind: &str) -> String {
    let default = match (&field.default, field.field_type) {
        (None, _) => "None".to_owned(),
        (Some(serde_json::Value::Bool(flag)), _) => format!("Some(Preset::Boolean({flag}))"),
        (Some(serde_json::Value::Number(number)), FieldType::Integer) => {
            format!(
                "Some(Preset::Integer({}))",
                number.as_i64().unwrap_or_default()
            )
        }
        (Some(value), _) => {
            let text = match sample::default_as_returned(field) {
                Some(serde_json::Value::String(text)) => text,
                _ => value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned),
            };
            format!("Some(Preset::Text({text:?}))")
        }
    };
    format!(
        "    Field {{\n        name: {:?},\n        kind: {kind},\n        required: {},\n        default: {default},\n    }},",
        field.name, field.required
    )
}

/// The Rust type of a field in the response struct.
fn rust_type(field: &Field) -> String {
    let base = match field.field_type {
        FieldType::Integer => "i64",
        FieldType::Boolean => "bool",
        _ => "String",
    };
    if field.required || field.default.is_some() {
        base.to_owned()
    } else {
        format!("Option<{base}>")
    }
}

fn struct_field(field: &Field) -> String {
    let (ident, rename) = names::rust_field(&field.name);
    let mut out = String::new();
    let mut doc = field.description.trim().to_owned();
    if field.field_type == FieldType::Decimal {
        if !doc.is_empty() && !doc.ends_with('.') {
            doc.push('.');
        }
        if !doc.is_empty() {
            doc.push(' ');
        }
        doc.push_str("A decimal string with two fraction digits, such as `\"12.50\"`.");
    }
    if !doc.is_empty() {
        out.push_str(&wrap("    /// ", &doc, names::MAX_WIDTH));
        out.push('\n');
    }
    if rename {
        out.push_str(&format!("    #[serde(rename = {:?})]\n", field.name));
    }
    out.push_str(&format!("    pub {ident}: {},", rust_type(field)));
    out
}

fn from_row(resource: &Resource) -> Vec<String> {
    let mut lines = vec!["id: row.get(0)?,".to_owned()];
    if resource.owned {
        lines.push("owner_id: row.get(1)?,".to_owned());
    }
    for field in &resource.fields {
        let index = lines.len();
        let (ident, _) = names::rust_field(&field.name);
        let nullable = !field.required && field.default.is_none();
        let line = match (field.field_type, nullable) {
            (FieldType::Decimal, false) => {
                format!("{ident}: validate::format_decimal(row.get({index})?),")
            }
            (FieldType::Decimal, true) => format!(
                "{ident}: row.get::<_, Option<i64>>({index})?.map(validate::format_decimal),"
            ),
            _ => format!("{ident}: row.get({index})?,"),
        };
        lines.push(line);
    }
    let index = lines.len();
    lines.push(format!("created_at: row.get({index})?,"));
    lines.push(format!("updated_at: row.get({})?,", index + 1));
    lines
}

fn list_arrays(resource: &Resource) -> String {
    let quoted =
        |names: &[String]| -> Vec<String> { names.iter().map(|n| format!("{n:?}")).collect() };
    let list = &resource.list;
    [
        ("filters: &", &list.filter),
        ("sorts: &", &list.sort),
        ("search: &", &list.search),
    ]
    .iter()
    .map(|(prefix, names)| array(4, prefix, &quoted(names), ","))
    .collect::<Vec<_>>()
    .join("\n")
}
