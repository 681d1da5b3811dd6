//! The tests of a resource (`tests/{plural}.rs`), written before its implementation: create
//! with location, defaults, every constraint violation, unique conflicts, read, list with
//! pagination, filters, sorting and search, partial update, delete, access by role,
//! ownership, and references. They use only the stable surface of the crate (the router and
//! the helpers of `tests/common`), so they compile before the resource exists and fail with
//! 404s until it is mounted. Expected orders and matches are computed here from the samples
//! with SQLite's comparison rules.

use std::fmt::Write;

use apiwright_spec::{Field, FieldType, Operation, Resource, Spec};
use serde_json::Value;

use crate::names::{self, array};
use crate::plan;
use crate::sample::{self, SAMPLES, Stored};

/// Everything the test functions of one resource share.
struct Tests<'s> {
    spec: &'s Spec,
    resource: &'s Resource,
    /// Resources created before a record of this one, in build order.
    ancestors: Vec<&'s Resource>,
    /// Role of the user creating records.
    creator_role: String,
    /// Whether `valid` needs the creator's token (some ancestor is owned).
    needs_owner: bool,
}

/// The reference fields of `resource` that samples fill: those to resources built before it
/// (references to itself or to later resources, in a cycle, are left out).
fn sample_references<'s>(spec: &'s Spec, resource: &'s Resource) -> Vec<(&'s Field, &'s Resource)> {
    let order = plan::resources_in_order(spec);
    let position = |name: &str| order.iter().position(|other| other.name == name);
    let own = position(&resource.name);
    resource
        .references()
        .filter_map(|(field, to)| {
            let target = spec.resource(to)?;
            (position(to) < own).then_some((field, target))
        })
        .collect()
}

/// The fields a sample sets.
fn sample_fields<'s>(spec: &'s Spec, resource: &'s Resource) -> Vec<&'s Field> {
    let references = sample_references(spec, resource);
    resource
        .fields
        .iter()
        .filter(|field| {
            field.field_type != FieldType::Reference
                || references
                    .iter()
                    .any(|(reference, _)| reference.name == field.name)
        })
        .collect()
}

impl<'s> Tests<'s> {
    fn new(spec: &'s Spec, resource: &'s Resource) -> Self {
        let order = plan::resources_in_order(spec);
        let mut needed: Vec<&str> = Vec::new();
        let mut queue = vec![resource];
        while let Some(current) = queue.pop() {
            for (_, target) in sample_references(spec, current) {
                if !needed.contains(&target.name.as_str()) {
                    needed.push(&target.name);
                    queue.push(target);
                }
            }
        }
        let ancestors: Vec<&Resource> = order
            .into_iter()
            .filter(|other| needed.contains(&other.name.as_str()))
            .collect();
        let needs_owner = ancestors.iter().any(|ancestor| ancestor.owned);
        Self {
            spec,
            resource,
            creator_role: plan::creator_role(spec, resource),
            ancestors,
            needs_owner,
        }
    }

    /// What list URLs need to see all samples on one page.
    fn all_on_one_page(&self) -> String {
        if (self.resource.list.page_size as usize) < SAMPLES {
            format!("&per_page={SAMPLES}")
        } else {
            String::new()
        }
    }

    fn plural(&self) -> String {
        self.resource.plural()
    }

    /// The expression of a valid new record `n` (an expression of type `Value`).
    fn valid(&self, n: &str) -> String {
        if self.ancestors.is_empty() {
            format!("sample({n})")
        } else if self.needs_owner {
            format!("valid(&app, &creator, {n}).await")
        } else {
            format!("valid(&app, {n}).await")
        }
    }

    /// How the test gets the token of a user with `role` named `name`.
    fn token_expr(&self, name: &str, role: &str) -> String {
        if role == "admin" {
            "app.admin_token().await".to_owned()
        } else if role == self.spec.auth.default_role {
            format!("app.member_token({name:?}).await")
        } else {
            format!("app.token_for({name:?}, {role:?}).await")
        }
    }

    /// The variable of the token used for `operation`: the creator when allowed, else admin.
    fn actor(&self, operation: Operation) -> &'static str {
        if self.resource.access.allows(operation, &self.creator_role) {
            "creator"
        } else {
            "admin"
        }
    }

    /// A test function: declares the tokens its body uses, then the body.
    fn test(&self, name: &str, body: &str) -> String {
        let mut out =
            format!("#[tokio::test]\nasync fn {name}() {{\n    let app = TestApp::new();\n");
        if body.contains("&creator") || body.contains("creator)") {
            let _ = writeln!(
                out,
                "    let creator = {};",
                self.token_expr("alice", &self.creator_role)
            );
        }
        if body.contains("&admin") {
            out.push_str("    let admin = app.admin_token().await;\n");
        }
        if body.contains("&member") {
            let _ = writeln!(
                out,
                "    let member = {};",
                self.token_expr("mallory", &self.spec.auth.default_role)
            );
        }
        if body.contains("&other") {
            let _ = writeln!(
                out,
                "    let other = {};",
                self.token_expr("bob", &self.creator_role)
            );
        }
        out.push_str(body);
        out.push('}');
        out
    }
}

/// The file `tests/{plural}.rs`.
pub(crate) fn resource_tests(spec: &Spec, resource: &Resource) -> String {
    let t = Tests::new(spec, resource);
    let plural = t.plural();
    let mut helpers = Vec::new();
    for ancestor in &t.ancestors {
        helpers.push(sample_fn(
            spec,
            ancestor,
            &format!("{}_sample", ancestor.name),
        ));
    }
    helpers.push(sample_fn(spec, resource, "sample"));
    if !t.ancestors.is_empty() {
        helpers.push(valid_fn(&t));
    }
    let mut tests = vec![
        create_test(&t),
        defaults_test(&t),
        validation_test(&t),
        unique_test(&t),
        read_test(&t),
        pagination_test(&t),
        filter_test(&t),
        sort_test(&t),
        search_test(&t),
        update_test(&t),
        delete_test(&t),
        access_test(&t),
        ownership_test(&t),
        foreign_reference_test(&t),
    ];
    tests.extend(referenced_delete_tests(&t));
    let tests: Vec<String> = tests.into_iter().flatten().collect();
    let mut code = helpers.join("\n\n");
    code.push_str("\n\n");
    code.push_str(&tests.join("\n\n"));
    if code.contains("create_samples(") {
        code = format!("{}\n\n{code}", create_samples_fn(&t));
    }
    let mut header = names::wrap(
        "//! ",
        &format!(
            "Tests of `/api/v1/{plural}`, written before its implementation: create, defaults, \
             validation of every field, unique conflicts, read, list (pagination, filters, \
             sorting, search), partial update, delete, access by role{}{}.",
            if resource.owned { ", ownership" } else { "" },
            if resource.references().next().is_some() {
                " and references"
            } else {
                ""
            },
        ),
        names::MAX_WIDTH,
    );
    header.push_str("\n\nmod common;\n\n");
    header.push_str("use axum::http::StatusCode;\n");
    let common: Vec<&str> = [
        "TestApp",
        "assert_field_error",
        "assert_problem",
        "ids",
        "pick",
        "query_value",
        "with_field",
    ]
    .into_iter()
    .filter(|name| *name == "TestApp" || code.contains(&format!("{name}(")))
    .collect();
    header.push_str(&format!("use common::{{{}}};\n", common.join(", ")));
    let mut json = vec![];
    if code.contains("Value") {
        json.push("Value");
    }
    if code.contains("json!") {
        json.push("json");
    }
    match json.as_slice() {
        [] => {}
        [one] => header.push_str(&format!("use serde_json::{one};\n")),
        many => header.push_str(&format!("use serde_json::{{{}}};\n", many.join(", "))),
    }
    header.push_str(&format!("\nconst PATH: &str = \"/api/v1/{plural}\";\n"));
    if code.contains("MISSING") {
        header.push_str(&format!(
            "/// A well-formed id no record has.\nconst MISSING: &str = {:?};\n",
            sample::MISSING_ID
        ));
    }
    format!("{header}\n{code}\n")
}

/// A `(field, value)` element of a vertical array of cases.
fn case(field: &str, value: &str) -> String {
    names::tuple(8, &[field.to_owned(), value.to_owned()])
}

/// `fn name(n: usize, refs…) -> Value`: sample `n` of `resource`.
fn sample_fn(spec: &Spec, resource: &Resource, name: &str) -> String {
    let references = sample_references(spec, resource);
    let mut params = vec!["n: usize".to_owned()];
    params.extend(
        references
            .iter()
            .map(|(field, _)| format!("{}: &str", field.name)),
    );
    let mut out = format!(
        "/// Sample `n` (0 to {}) of a new {}; the samples differ in every field.\n",
        SAMPLES - 1,
        names::words(&resource.name)
    );
    let _ = writeln!(out, "fn {name}({}) -> Value {{", params.join(", "));
    let mut entries = Vec::new();
    for field in sample_fields(spec, resource) {
        let (ident, _) = names::rust_field(&field.name);
        if field.field_type == FieldType::Reference {
            entries.push(format!("{:?}: {ident}", field.name));
            continue;
        }
        let values: Vec<Value> = (0..SAMPLES).map(|n| sample::value(field, n)).collect();
        let big = values
            .iter()
            .any(|value| value.as_i64().is_some_and(|v| i32::try_from(v).is_err()));
        let items: Vec<String> = values
            .iter()
            .map(|value| {
                let literal = sample::json_literal(value);
                if big {
                    format!("{literal}_i64")
                } else {
                    literal
                }
            })
            .collect();
        out.push_str(&array(4, &format!("let {ident} = "), &items, "[n];"));
        out.push('\n');
        entries.push(format!("{:?}: {ident}", field.name));
    }
    out.push_str("    json!({\n");
    out.push_str(
        &entries
            .iter()
            .map(|entry| format!("        {entry}"))
            .collect::<Vec<_>>()
            .join(",\n"),
    );
    out.push_str("\n    })\n}");
    out
}

/// `async fn valid(app, [owner,] n) -> Value`: creates sample `n`'s ancestors.
fn valid_fn(t: &Tests<'_>) -> String {
    let owner = if t.needs_owner { ", owner: &str" } else { "" };
    let mut out = format!(
        "/// Creates what sample `n` refers to, and returns sample `n`.\n\
         async fn valid(app: &TestApp{owner}, n: usize) -> Value {{\n"
    );
    if t.ancestors.iter().any(|ancestor| !ancestor.owned) {
        out.push_str("    let admin = app.admin_token().await;\n");
    }
    for ancestor in &t.ancestors {
        let args: Vec<String> = std::iter::once("n".to_owned())
            .chain(
                sample_references(t.spec, ancestor)
                    .iter()
                    .map(|(_, target)| format!("&{}_id", target.name)),
            )
            .collect();
        let _ = writeln!(
            out,
            "    let body = {}_sample({});",
            ancestor.name,
            args.join(", ")
        );
        let token = if ancestor.owned {
            "Some(owner)"
        } else {
            "Some(&admin)"
        };
        let create = format!("create(\"/api/v1/{}\", {token}, body)", ancestor.plural());
        out.push_str(&names::chain(
            4,
            &format!("let {}_id = ", ancestor.name),
            &["app", &create, "await"],
            ";\n",
        ));
    }
    let args: Vec<String> = std::iter::once("n".to_owned())
        .chain(
            sample_references(t.spec, t.resource)
                .iter()
                .map(|(_, target)| format!("&{}_id", target.name)),
        )
        .collect();
    let _ = write!(out, "    sample({})\n}}", args.join(", "));
    out
}

fn create_samples_fn(t: &Tests<'_>) -> String {
    let (params, valid) = if t.ancestors.is_empty() {
        ("app: &TestApp, creator: &str", "sample(n)".to_owned())
    } else if t.needs_owner {
        (
            "app: &TestApp, creator: &str",
            "valid(app, creator, n).await".to_owned(),
        )
    } else {
        (
            "app: &TestApp, creator: &str",
            "valid(app, n).await".to_owned(),
        )
    };
    format!(
        "/// Creates the {SAMPLES} samples; returns their ids and bodies, in creation order.\n\
         async fn create_samples({params}) -> (Vec<String>, Vec<Value>) {{\n    \
         let mut ids = Vec::new();\n    \
         let mut bodies = Vec::new();\n    \
         for n in 0..{SAMPLES} {{\n        \
         let body = {valid};\n        \
         ids.push(app.create(PATH, Some(creator), body.clone()).await);\n        \
         bodies.push(body);\n    \
         }}\n    \
         (ids, bodies)\n\
         }}"
    )
}

fn create_test(t: &Tests<'_>) -> Option<String> {
    let mut body = format!(
        "    let body = {};\n\
         \x20   let response = app.post(PATH, Some(&creator), body.clone()).await;\n\
         \x20   assert_eq!(response.status, StatusCode::CREATED, \"{{}}\", response.text);\n\
         \x20   let id = response.body[\"id\"].as_str().expect(\"an id\");\n\
         \x20   let location = format!(\"{{PATH}}/{{id}}\");\n\
         \x20   assert_eq!(response.header(\"location\"), Some(location.as_str()));\n\
         \x20   for (field, value) in body.as_object().expect(\"an object\") {{\n\
         \x20       assert_eq!(&response.body[field], value, \"{{field}}\");\n\
         \x20   }}\n",
        t.valid("0")
    );
    let generated = if t.resource.owned {
        "[\"owner_id\", \"created_at\", \"updated_at\"]"
    } else {
        "[\"created_at\", \"updated_at\"]"
    };
    let _ = write!(
        body,
        "    for field in {generated} {{\n        \
         assert!(response.body[field].is_string(), \"{{field}}\");\n    \
         }}\n"
    );
    Some(t.test("create_returns_the_record_and_its_location", &body))
}

fn defaults_test(t: &Tests<'_>) -> Option<String> {
    let optional: Vec<&Field> = sample_fields(t.spec, t.resource)
        .into_iter()
        .filter(|field| !field.required || field.default.is_some())
        .collect();
    if optional.is_empty() {
        return None;
    }
    let names_list: Vec<String> = optional
        .iter()
        .map(|field| format!("{:?}", field.name))
        .collect();
    let mut body = format!("    let mut body = {};\n", t.valid("0"));
    body.push_str(&array(4, "let fields = ", &names_list, ";"));
    body.push_str(
        "\n    for field in fields {\n        body = with_field(&body, field, None);\n    }\n",
    );
    body.push_str(
        "    let response = app.post(PATH, Some(&creator), body).await;\n    \
         assert_eq!(response.status, StatusCode::CREATED, \"{}\", response.text);\n",
    );
    for field in optional {
        let expected = match sample::default_as_returned(field) {
            Some(value) => format!("json!({})", sample::json_literal(&value)),
            None => "Value::Null".to_owned(),
        };
        let _ = writeln!(
            body,
            "    assert_eq!(response.body[{:?}], {expected});",
            field.name
        );
    }
    Some(t.test("create_applies_defaults", &body))
}

fn validation_test(t: &Tests<'_>) -> Option<String> {
    let mut cases: Vec<String> = Vec::new();
    for field in &t.resource.fields {
        for (value, _) in sample::invalid(field, true) {
            cases.push(case(&format!("{:?}", field.name), &value));
        }
    }
    for (name, value) in [
        ("id", "Some(json!(MISSING))".to_owned()),
        ("owner_id", "Some(json!(MISSING))".to_owned()),
        (
            "created_at",
            "Some(json!(\"2024-01-01T00:00:00Z\"))".to_owned(),
        ),
        (
            "updated_at",
            "Some(json!(\"2024-01-01T00:00:00Z\"))".to_owned(),
        ),
        ("no_such_field", "Some(json!(1))".to_owned()),
    ] {
        cases.push(case(&format!("{name:?}"), &value));
    }
    let mut body = format!("    let body = {};\n", t.valid("0"));
    body.push_str(&array(4, "let cases = ", &cases, ";"));
    let _ = write!(
        body,
        "\n    for (field, value) in cases {{\n        \
         let invalid = with_field(&body, field, value);\n        \
         let response = app.post(PATH, Some(&creator), invalid).await;\n        \
         assert_field_error(&response, field);\n    \
         }}\n    \
         let response = app.get(PATH, Some(&{})).await;\n    \
         assert_eq!(response.body[\"total\"], 0, \"{{}}\", response.text);\n",
        t.actor(Operation::List)
    );
    Some(t.test("create_rejects_invalid_fields", &body))
}

fn unique_test(t: &Tests<'_>) -> Option<String> {
    let unique: Vec<String> = t
        .resource
        .fields
        .iter()
        .filter(|field| field.unique && sample_fields(t.spec, t.resource).contains(field))
        .map(|field| format!("{:?}", field.name))
        .collect();
    if unique.is_empty() {
        return None;
    }
    let mut body = format!(
        "    let first = {};\n    \
         app.create(PATH, Some(&creator), first.clone()).await;\n    \
         let second = {};\n",
        t.valid("0"),
        t.valid("1")
    );
    body.push_str(&array(4, "let fields = ", &unique, ";"));
    body.push_str(
        "\n    for field in fields {\n        let body = with_field(&second, field, Some(first[field].clone()));\n        \
         let response = app.post(PATH, Some(&creator), body).await;\n        \
         assert_problem(&response, StatusCode::CONFLICT);\n        \
         assert_eq!(response.body[\"errors\"][0][\"field\"], field);\n    \
         }\n",
    );
    Some(t.test("unique_fields_refuse_duplicates", &body))
}

fn read_test(t: &Tests<'_>) -> Option<String> {
    let reader = t.actor(Operation::Read);
    let body = format!(
        "    let body = {};\n    \
         let id = app.create(PATH, Some(&creator), body.clone()).await;\n    \
         let record = format!(\"{{PATH}}/{{id}}\");\n    \
         let response = app.get(&record, Some(&{reader})).await;\n    \
         assert_eq!(response.status, StatusCode::OK, \"{{}}\", response.text);\n    \
         assert_eq!(response.body[\"id\"], id.as_str());\n    \
         for (field, value) in body.as_object().expect(\"an object\") {{\n        \
         assert_eq!(&response.body[field], value, \"{{field}}\");\n    \
         }}\n    \
         let missing = format!(\"{{PATH}}/{{MISSING}}\");\n    \
         let response = app.get(&missing, Some(&{reader})).await;\n    \
         assert_problem(&response, StatusCode::NOT_FOUND);\n",
        t.valid("0")
    );
    Some(t.test("read_returns_the_record", &body))
}

fn pagination_test(t: &Tests<'_>) -> Option<String> {
    let lister = t.actor(Operation::List);
    let list = &t.resource.list;
    let first_page = if list.page_size as usize >= SAMPLES {
        "created".to_owned()
    } else {
        format!("created[..{}]", list.page_size)
    };
    let mut body = format!(
        "    let (created, _) = create_samples(&app, &creator).await;\n    \
         let response = app.get(PATH, Some(&{lister})).await;\n    \
         assert_eq!(ids(&response), {first_page});\n    \
         assert_eq!(response.body[\"total\"], {SAMPLES});\n    \
         assert_eq!(response.body[\"page\"], 1);\n    \
         assert_eq!(response.body[\"per_page\"], {});\n    \
         let second_page = format!(\"{{PATH}}?per_page=2&page=2\");\n    \
         let response = app.get(&second_page, Some(&{lister})).await;\n    \
         assert_eq!(ids(&response), created[2..]);\n    \
         assert_eq!(response.body[\"total\"], {SAMPLES});\n    \
         // A page size above the maximum is clamped to it.\n    \
         let too_large = format!(\"{{PATH}}?per_page={}\");\n    \
         let response = app.get(&too_large, Some(&{lister})).await;\n    \
         assert_eq!(response.body[\"per_page\"], {}, \"{{}}\", response.text);\n",
        list.page_size,
        list.max_page_size + 1,
        list.max_page_size
    );
    let cases = [
        "(\"page=0\", \"page\")",
        "(\"per_page=0\", \"per_page\")",
        "(\"per_page=many\", \"per_page\")",
        "(\"no_such_parameter=1\", \"no_such_parameter\")",
    ]
    .map(str::to_owned);
    body.push_str(&array(4, "let cases = ", &cases, ";"));
    let _ = write!(
        body,
        "\n    for (query, field) in cases {{\n        let url = format!(\"{{PATH}}?{{query}}\");\n        \
         let response = app.get(&url, Some(&{lister})).await;\n        \
         assert_field_error(&response, field);\n    \
         }}\n"
    );
    Some(t.test("list_paginates", &body))
}

/// The stored values of the samples of `field`.
fn stored_samples(field: &Field) -> Vec<Stored> {
    (0..SAMPLES)
        .map(|n| sample::stored(field, &sample::value(field, n)))
        .collect()
}

fn indices(values: &[usize]) -> String {
    let items: Vec<String> = values.iter().map(usize::to_string).collect();
    format!("&[{}]", items.join(", "))
}

fn filter_test(t: &Tests<'_>) -> Option<String> {
    let lister = t.actor(Operation::List);
    let page = t.all_on_one_page();
    let fields = sample_fields(t.spec, t.resource);
    let filters: Vec<&Field> = t
        .resource
        .list
        .filter
        .iter()
        .filter_map(|name| fields.iter().find(|field| &field.name == name).copied())
        .collect();
    if filters.is_empty() {
        return None;
    }
    let cases: Vec<String> = filters
        .iter()
        .map(|field| {
            let expected: Vec<usize> = if field.field_type == FieldType::Reference {
                vec![1]
            } else {
                let stored = stored_samples(field);
                (0..SAMPLES)
                    .filter(|n| sample::same(&stored[*n], &stored[1]))
                    .collect()
            };
            format!("({:?}, {})", field.name, indices(&expected))
        })
        .collect();
    let mut body = "    let (created, bodies) = create_samples(&app, &creator).await;\n".to_owned();
    body.push_str(&array(
        4,
        &format!("let cases: [(&str, &[usize]); {}] = ", cases.len()),
        &cases,
        ";",
    ));
    let _ = write!(
        body,
        "\n    for (field, expected) in cases {{\n        \
         let value = query_value(&bodies[1][field]);\n        \
         let url = format!(\"{{PATH}}?{{field}}={{value}}{page}\");\n        \
         let response = app.get(&url, Some(&{lister})).await;\n        \
         assert_eq!(ids(&response), pick(&created, expected), \"{{field}}\");\n    \
         }}\n"
    );
    let invalid: Vec<String> = filters
        .iter()
        .filter_map(|field| {
            sample::invalid_filter(field).map(|value| format!("({:?}, {value:?})", field.name))
        })
        .collect();
    if !invalid.is_empty() {
        body.push_str(&array(4, "let invalid = ", &invalid, ";"));
        let _ = write!(
            body,
            "\n    for (field, value) in invalid {{\n        let url = format!(\"{{PATH}}?{{field}}={{value}}\");\n        \
             let response = app.get(&url, Some(&{lister})).await;\n        \
             assert_field_error(&response, field);\n    \
             }}\n"
        );
    }
    Some(t.test("list_filters_by_exact_value", &body))
}

fn sort_test(t: &Tests<'_>) -> Option<String> {
    let lister = t.actor(Operation::List);
    let page = t.all_on_one_page();
    let fields = sample_fields(t.spec, t.resource);
    let mut cases = vec![
        "(\"created_at\", [0, 1, 2])".to_owned(),
        "(\"-created_at\", [2, 1, 0])".to_owned(),
    ];
    for name in &t.resource.list.sort {
        if name == "created_at" {
            continue;
        }
        let Some(field) = fields.iter().find(|field| &field.name == name) else {
            continue;
        };
        if field.field_type == FieldType::Reference {
            continue;
        }
        let stored = stored_samples(field);
        for (prefix, descending) in [("", false), ("-", true)] {
            let order = sample::sort_order(&stored, descending);
            let items: Vec<String> = order.iter().map(usize::to_string).collect();
            cases.push(format!("(\"{prefix}{name}\", [{}])", items.join(", ")));
        }
    }
    let mut body = "    let (created, _) = create_samples(&app, &creator).await;\n".to_owned();
    body.push_str(&array(
        4,
        &format!(
            "let cases: [(&str, [usize; {SAMPLES}]); {}] = ",
            cases.len()
        ),
        &cases,
        ";",
    ));
    let _ = write!(
        body,
        "\n    for (sort, expected) in cases {{\n        \
         let url = format!(\"{{PATH}}?sort={{sort}}{page}\");\n        \
         let response = app.get(&url, Some(&{lister})).await;\n        \
         assert_eq!(ids(&response), pick(&created, &expected), \"{{sort}}\");\n    \
         }}\n    \
         let url = format!(\"{{PATH}}?sort=no_such_field\");\n    \
         let response = app.get(&url, Some(&{lister})).await;\n    \
         assert_field_error(&response, \"sort\");\n"
    );
    Some(t.test("list_sorts_by_the_allowed_fields", &body))
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

fn search_test(t: &Tests<'_>) -> Option<String> {
    let lister = t.actor(Operation::List);
    let page = t.all_on_one_page();
    let fields = sample_fields(t.spec, t.resource);
    let searched: Vec<&Field> = t
        .resource
        .list
        .search
        .iter()
        .filter_map(|name| fields.iter().find(|field| &field.name == name).copied())
        .collect();
    let first = searched.first()?;
    let needle = match sample::value(first, 1) {
        Value::String(text) => text,
        other => other.to_string(),
    };
    let stored: Vec<Vec<Stored>> = searched.iter().map(|field| stored_samples(field)).collect();
    let expected: Vec<usize> = (0..SAMPLES)
        .filter(|n| {
            stored
                .iter()
                .any(|values| sample::like(&values[*n], &needle))
        })
        .collect();
    let cases = vec![
        format!("({:?}, {})", encode(&needle), indices(&expected)),
        "(\"no-such-text\", &[])".to_owned(),
    ];
    let mut body = "    let (created, _) = create_samples(&app, &creator).await;\n".to_owned();
    body.push_str(&array(
        4,
        "let cases: [(&str, &[usize]); 2] = ",
        &cases,
        ";",
    ));
    let _ = write!(
        body,
        "\n    for (q, expected) in cases {{\n        \
         let url = format!(\"{{PATH}}?q={{q}}{page}\");\n        \
         let response = app.get(&url, Some(&{lister})).await;\n        \
         assert_eq!(ids(&response), pick(&created, expected), \"{{q}}\");\n    \
         }}\n"
    );
    Some(t.test("list_searches_text", &body))
}

fn update_test(t: &Tests<'_>) -> Option<String> {
    let updater = t.actor(Operation::Update);
    let reader = t.actor(Operation::Read);
    let mut body = format!(
        "    let body = {};\n    \
         let id = app.create(PATH, Some(&creator), body.clone()).await;\n    \
         let record = format!(\"{{PATH}}/{{id}}\");\n",
        t.valid("0")
    );
    let changed = t
        .resource
        .fields
        .iter()
        .find(|field| field.field_type != FieldType::Reference);
    if let Some(field) = changed {
        let literal = sample::json_literal(&sample::value(field, 1));
        let _ = write!(
            body,
            "    let field = {:?};\n    \
             let value = json!({literal});\n    \
             let change = with_field(&json!({{}}), field, Some(value.clone()));\n    \
             let response = app.patch(&record, Some(&{updater}), change).await;\n    \
             assert_eq!(response.status, StatusCode::OK, \"{{}}\", response.text);\n    \
             let expected = with_field(&body, field, Some(value.clone()));\n    \
             for (name, value) in expected.as_object().expect(\"an object\") {{\n        \
             assert_eq!(&response.body[name], value, \"{{name}}\");\n    \
             }}\n    \
             assert!(response.body[\"updated_at\"].as_str() >= response.body[\"created_at\"].as_str());\n    \
             let read = app.get(&record, Some(&{reader})).await;\n    \
             assert_eq!(read.body[field], value);\n",
            field.name
        );
    }
    let mut cases: Vec<String> = Vec::new();
    for field in &t.resource.fields {
        for (value, _) in sample::invalid(field, false) {
            cases.push(case(&format!("{:?}", field.name), &value));
        }
    }
    cases.push("(\"id\", Some(json!(MISSING)))".to_owned());
    cases.push("(\"no_such_field\", Some(json!(1)))".to_owned());
    body.push_str(&array(4, "let cases = ", &cases, ";"));
    let _ = write!(
        body,
        "\n    for (field, value) in cases {{\n        \
         let change = with_field(&json!({{}}), field, value);\n        \
         let response = app.patch(&record, Some(&{updater}), change).await;\n        \
         assert_field_error(&response, field);\n    \
         }}\n    \
         let missing = format!(\"{{PATH}}/{{MISSING}}\");\n    \
         let response = app.patch(&missing, Some(&{updater}), json!({{}})).await;\n    \
         assert_problem(&response, StatusCode::NOT_FOUND);\n"
    );
    Some(t.test("update_changes_only_the_given_fields", &body))
}

fn delete_test(t: &Tests<'_>) -> Option<String> {
    let deleter = t.actor(Operation::Delete);
    let reader = t.actor(Operation::Read);
    let body = format!(
        "    let body = {};\n    \
         let id = app.create(PATH, Some(&creator), body).await;\n    \
         let record = format!(\"{{PATH}}/{{id}}\");\n    \
         let response = app.delete(&record, Some(&{deleter})).await;\n    \
         assert_eq!(response.status, StatusCode::NO_CONTENT, \"{{}}\", response.text);\n    \
         let response = app.get(&record, Some(&{reader})).await;\n    \
         assert_problem(&response, StatusCode::NOT_FOUND);\n    \
         let response = app.delete(&record, Some(&{deleter})).await;\n    \
         assert_problem(&response, StatusCode::NOT_FOUND);\n",
        t.valid("0")
    );
    Some(t.test("delete_removes_the_record", &body))
}

/// The request of an operation with `token` (an `Option<&str>` expression).
fn request(operation: Operation, token: &str) -> String {
    match operation {
        Operation::List => format!("app.get(PATH, {token})"),
        Operation::Read => format!("app.get(&record, {token})"),
        Operation::Create => format!("app.post(PATH, {token}, json!({{}}))"),
        Operation::Update => format!("app.patch(&record, {token}, json!({{}}))"),
        Operation::Delete => format!("app.delete(&record, {token})"),
    }
}

fn access_test(t: &Tests<'_>) -> Option<String> {
    let mut body = format!(
        "    let body = {};\n    \
         let id = app.create(PATH, Some(&creator), body).await;\n    \
         let record = format!(\"{{PATH}}/{{id}}\");\n",
        t.valid("0")
    );
    for operation in Operation::ALL {
        if plan::is_public(t.resource, operation) {
            if matches!(operation, Operation::List | Operation::Read) {
                let _ = writeln!(
                    body,
                    "    let response = {}.await;\n    \
                     assert_eq!(response.status, StatusCode::OK, \"{{}}\", response.text);",
                    request(operation, "None")
                );
            }
        } else {
            let _ = writeln!(
                body,
                "    let response = {}.await;\n    \
                 assert_problem(&response, StatusCode::UNAUTHORIZED);",
                request(operation, "None")
            );
        }
    }
    let _ = writeln!(
        body,
        "    let response = {}.await;\n    \
         assert_problem(&response, StatusCode::UNAUTHORIZED);",
        request(Operation::List, "Some(\"not-a-token\")")
    );
    for operation in Operation::ALL {
        if !t
            .resource
            .access
            .allows(operation, &t.spec.auth.default_role)
        {
            let _ = writeln!(
                body,
                "    let response = {}.await;\n    \
                 assert_problem(&response, StatusCode::FORBIDDEN);",
                request(operation, "Some(&member)")
            );
        }
    }
    Some(t.test("access_rules_are_enforced", &body))
}

fn ownership_test(t: &Tests<'_>) -> Option<String> {
    if !t.resource.owned || t.creator_role == "admin" {
        return None;
    }
    let allowed = |operation| t.resource.access.allows(operation, &t.creator_role);
    let mut body = format!(
        "    let body = {};\n    \
         let id = app.create(PATH, Some(&creator), body).await;\n    \
         let record = format!(\"{{PATH}}/{{id}}\");\n",
        t.valid("0")
    );
    for operation in [Operation::Read, Operation::Update, Operation::Delete] {
        if allowed(operation) {
            let _ = writeln!(
                body,
                "    let response = {}.await;\n    \
                 assert_problem(&response, StatusCode::NOT_FOUND);",
                request(operation, "Some(&other)")
            );
        }
    }
    if allowed(Operation::List) {
        body.push_str(
            "    assert!(ids(&app.get(PATH, Some(&other)).await).is_empty());\n    \
             assert_eq!(ids(&app.get(PATH, Some(&creator)).await), [id.as_str()]);\n",
        );
    }
    body.push_str(
        "    let response = app.get(&record, Some(&admin)).await;\n    \
         assert_eq!(response.status, StatusCode::OK, \"{}\", response.text);\n    \
         assert_eq!(ids(&app.get(PATH, Some(&admin)).await), [id.as_str()]);\n",
    );
    if allowed(Operation::Read) {
        body.push_str(
            "    let response = app.get(&record, Some(&creator)).await;\n    \
             assert_eq!(response.status, StatusCode::OK, \"{}\", response.text);\n",
        );
    }
    Some(t.test("users_only_see_their_own_records", &body))
}

fn foreign_reference_test(t: &Tests<'_>) -> Option<String> {
    if t.creator_role == "admin" {
        return None;
    }
    let (field, _) = sample_references(t.spec, t.resource)
        .into_iter()
        .find(|(_, target)| target.owned)?;
    let body = format!(
        "    // Sample 0 refers to records of the creator, which others may not refer to.\n    \
         let body = {};\n    \
         let response = app.post(PATH, Some(&other), body).await;\n    \
         assert_field_error(&response, {:?});\n",
        t.valid("0"),
        field.name
    );
    Some(t.test("references_to_records_of_other_users_are_refused", &body))
}

fn referenced_delete_tests(t: &Tests<'_>) -> Vec<Option<String>> {
    let mut seen: Vec<&str> = Vec::new();
    let mut tests = Vec::new();
    for (field, target) in sample_references(t.spec, t.resource) {
        if seen.contains(&target.name.as_str()) {
            continue;
        }
        seen.push(&target.name);
        let body = format!(
            "    let body = {};\n    \
             app.create(PATH, Some(&creator), body.clone()).await;\n    \
             let parent = body[{:?}].as_str().expect(\"an id\");\n    \
             let url = format!(\"/api/v1/{}/{{parent}}\");\n    \
             let response = app.delete(&url, Some(&admin)).await;\n    \
             assert_problem(&response, StatusCode::CONFLICT);\n",
            t.valid("0"),
            field.name,
            target.plural()
        );
        tests.push(Some(t.test(
            &format!("deleting_a_referenced_{}_is_refused", target.name),
            &body,
        )));
    }
    tests
}
