//! One test per rule of the validator (api, auth, resource names, relations, access, list
//! features, rate limits, SLAs), each checking the exact `line:col` and message. Field rules
//! are in `validate/fields_tests.rs`.

use pretty_assertions::assert_eq;

use crate::SpecError;
use crate::load_str;

/// The diagnostics of an invalid spec as `line:col: message`.
pub(crate) fn errors(text: &str) -> Vec<String> {
    match load_str("s.yaml", text) {
        Err(SpecError::Invalid(diagnostics)) => diagnostics
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
            .collect(),
        Err(SpecError::Parse(diagnostic)) => panic!("shape error: {diagnostic}"),
        Ok(_) => panic!("loaded, but errors were expected:\n{text}"),
    }
}

/// A valid spec with one resource, to which a test appends.
pub(crate) const ONE: &str = "\
api: { name: shop, version: 1.0.0 }
resources:
  - name: item
    fields:
      - { name: title, type: string }
";

#[test]
fn a_minimal_spec_loads_with_defaults() {
    let spec = match load_str("s.yaml", ONE) {
        Ok(spec) => spec,
        Err(error) => panic!("{error}"),
    };
    assert_eq!(spec.auth.roles, ["admin", "member"]);
    assert_eq!(spec.slas.p95_ms, 200);
    assert_eq!(spec.resources[0].list.page_size, 20);
    assert_eq!(spec.title(), "shop");
}

#[test]
fn api_name_and_version() {
    let text = ONE.replace(
        "{ name: shop, version: 1.0.0 }",
        "{ name: My_Shop, version: \"1.0\" }",
    );
    assert_eq!(
        errors(&text),
        [
            "1:14: expected a lowercase name (`a-z`, `0-9` and `-`, starting with a letter), found `My_Shop`",
            "1:32: expected a semantic version such as `1.0.0`, found `1.0`",
        ]
    );
    for good in ["1.0.0", "0.1.0-beta.1", "2.10.3+build.5", "1.0.0-rc-1+x"] {
        let text = ONE.replace("1.0.0", good);
        assert!(load_str("s.yaml", &text).is_ok(), "{good}");
    }
    for bad in ["01.0.0", "1.0.0-", "1.0.0+", "v1.0.0", "1.0.0.0", "1..0"] {
        let text = ONE.replace("1.0.0", &format!("\"{bad}\""));
        assert_eq!(
            errors(&text),
            [format!(
                "1:29: expected a semantic version such as `1.0.0`, found `{bad}`"
            )],
        );
    }
}

#[test]
fn at_least_one_resource() {
    let text = "api: { name: shop, version: 1.0.0 }\nresources: []\n";
    assert_eq!(
        errors(text),
        ["2:12: expected at least one resource, found an empty list"]
    );
}

#[test]
fn resource_names_are_snake_case_unique_and_not_reserved() {
    let text = format!(
        "{ONE}  - name: Item
    fields: [{{ name: a, type: string }}]
  - name: item
    fields: [{{ name: a, type: string }}]
  - name: user
    fields: [{{ name: a, type: string }}]
  - name: metric
    fields: [{{ name: a, type: string }}]
"
    );
    assert_eq!(
        errors(&text),
        [
            "6:11: expected a snake_case name (`a-z`, `0-9` and `_`, starting with a letter), found `Item`",
            "8:11: expected unique resource names, found `item` again",
            "10:11: expected a name not taken by the generated service (`user`, `users`, `auth`, `health`, `metrics`), found `user`",
            "12:11: expected a name whose plural is not taken by the generated service (`user`, `users`, `auth`, `health`, `metrics`), found `metric` (plural `metrics`)",
        ]
    );
}

#[test]
fn plurals_are_snake_case_unique_and_not_reserved() {
    let text = format!(
        "{ONE}  - name: thing
    plural: items
    fields: [{{ name: a, type: string }}]
  - name: person
    plural: users
    fields: [{{ name: a, type: string }}]
  - name: box
    plural: Boxes
    fields: [{{ name: a, type: string }}]
  - name: items
    plural: itemses
    fields: [{{ name: a, type: string }}]
"
    );
    assert_eq!(
        errors(&text),
        [
            "7:13: expected unique plurals (table and path names), found `items`, already the plural of `item`",
            "10:13: expected a name not taken by the generated service (`user`, `users`, `auth`, `health`, `metrics`), found `users`",
            "13:13: expected a snake_case name (`a-z`, `0-9` and `_`, starting with a letter), found `Boxes`",
        ]
    );
    // An implicit plural clashing with an explicit one is reported at the name.
    let text = format!(
        "{ONE}  - name: thing
    plural: widgets
    fields: [{{ name: a, type: string }}]
  - name: widget
    fields: [{{ name: a, type: string }}]
"
    );
    assert_eq!(
        errors(&text),
        [
            "9:11: expected unique plurals (table and path names), found `widgets`, already the plural of `thing`"
        ]
    );
}

#[test]
fn roles_are_unique_snake_case_with_admin() {
    let text =
        format!("{ONE}auth:\n  roles: [editor, editor, Boss, public]\n  default_role: editor\n");
    assert_eq!(
        errors(&text),
        [
            "7:10: expected `admin` among the roles, found `editor`, `editor`, `Boss`, `public`",
            "7:19: expected unique roles, found `editor` again",
            "7:27: expected a snake_case name (`a-z`, `0-9` and `_`, starting with a letter), found `Boss`",
            "7:33: expected a role name other than `public` and `authenticated` (they have a meaning in access lists), found `public`",
        ]
    );
}

#[test]
fn the_default_role_is_declared_and_not_admin() {
    let text = format!("{ONE}auth:\n  roles: [admin, editor]\n  default_role: guest\n");
    assert_eq!(
        errors(&text),
        ["8:17: expected one of the roles (`admin`, `editor`), found `guest`"]
    );
    let text = format!("{ONE}auth:\n  default_role: admin\n");
    assert_eq!(
        errors(&text),
        ["7:17: expected a role other than `admin` (anyone can register), found `admin`"]
    );
    // The default `member` must be declared when the roles change; the `auth` mapping is the
    // nearest place in the text.
    let text = format!("{ONE}auth:\n  roles: [admin, editor]\n");
    assert_eq!(
        errors(&text),
        ["7:3: expected one of the roles (`admin`, `editor`), found `member`"]
    );
}

#[test]
fn token_lifetimes_and_password_length() {
    let text = format!(
        "{ONE}auth:\n  access_token_minutes: 0\n  refresh_token_days: 0\n  password_min_length: 6\n"
    );
    assert_eq!(
        errors(&text),
        [
            "7:25: expected a lifetime of at least 1, found `0`",
            "8:23: expected a lifetime of at least 1, found `0`",
            "9:24: expected a minimum password length of at least 8, found `6`",
        ]
    );
}

#[test]
fn relations_name_a_resource_and_a_matching_reference() {
    let text = "\
api: { name: shop, version: 1.0.0 }
resources:
  - name: author
    fields: [{ name: name, type: string }]
    relations:
      - { kind: has-many, resource: book, field: author_id }
      - { kind: has-many, resource: book, field: writer_id }
      - { kind: has-many, resource: book, field: title }
      - { kind: has-many, resource: publisher, field: author_id }
  - name: book
    fields:
      - { name: title, type: string }
      - { name: author_id, type: reference, to: author }
      - { name: editor_id, type: reference, to: book }
    relations:
      - { kind: belongs-to, resource: author, field: author_id }
      - { kind: belongs-to, resource: author, field: editor_id }
      - { kind: belongs-to, resource: author, field: name }
";
    assert_eq!(
        errors(text),
        [
            "7:50: expected a reference field of `book` (has-many names a field of the other resource), found `writer_id`",
            "8:50: expected a reference to `author`, found `book.title` of type string",
            "9:37: expected the name of a declared resource (`author`, `book`), found `publisher`",
            "17:54: expected a reference to `author`, found `book.editor_id`, a reference to `book`",
            "18:54: expected a reference field of `book` (belongs-to names a field of this resource), found `name`",
        ]
    );
}

#[test]
fn access_lists_name_public_authenticated_or_roles() {
    let text = format!(
        "{ONE}    access: {{ list: [public, editor], read: [], create: [admin, admin] }}\n"
    );
    assert_eq!(
        errors(&text),
        [
            "6:30: expected `public`, `authenticated` or a declared role (`admin`, `member`), found `editor`",
            "6:45: expected `public`, `authenticated` or roles allowed to read, found an empty list",
            "6:65: expected each entry once, found `admin` again",
        ]
    );
}

#[test]
fn owned_resources_cannot_be_public() {
    let text = format!("{ONE}    owned: true\n    access: {{ read: [member, public] }}\n");
    assert_eq!(
        errors(&text),
        [
            "7:30: expected `authenticated` or roles on an owned resource (its records belong to users), found `public`"
        ]
    );
}

#[test]
fn list_fields_exist_and_suit_their_use() {
    let text = "\
api: { name: shop, version: 1.0.0 }
resources:
  - name: item
    fields:
      - { name: title, type: string }
      - { name: body, type: text }
      - { name: rank, type: integer }
    list:
      filter: [title, colour, title]
      sort: [body, rank, created_at, updated_at, id]
      search: [title, body, rank]
";
    assert_eq!(
        errors(text),
        [
            "9:23: expected a field of `item` (`title`, `body`, `rank`), found `colour`",
            "9:31: expected each field once, found `title` again",
            "10:14: expected a field that is not text to sort by, found `body` of type text",
            "10:50: expected a field of `item` (`title`, `body`, `rank`, `created_at`, `updated_at`), found `id`",
            "11:29: expected a string, text or email field to search, found `rank` of type integer",
        ]
    );
}

#[test]
fn page_sizes() {
    let text = format!("{ONE}    list: {{ page_size: 0, max_page_size: 5000 }}\n");
    assert_eq!(
        errors(&text),
        [
            "6:24: expected a page size of at least 1, found `0`",
            "6:42: expected a maximum page size ≤ 1000, found `5000`",
        ]
    );
    let text = format!("{ONE}    list: {{ page_size: 50, max_page_size: 10 }}\n");
    assert_eq!(
        errors(&text),
        ["6:24: expected a page size ≤ `max_page_size` (10), found `50`"]
    );
    // The default page size (20) against a smaller maximum: reported at the `list` mapping.
    let text = format!("{ONE}    list:\n      max_page_size: 10\n");
    assert_eq!(
        errors(&text),
        ["7:7: expected a page size ≤ `max_page_size` (10), found `20`"]
    );
}

#[test]
fn rate_limits_and_slas_are_positive() {
    let text = format!(
        "{ONE}rate_limits: {{ per_user_per_minute: 0, per_ip_per_minute: 0 }}
slas: {{ p95_ms: 0, rps: 0, error_rate_percent: 0, memory_mb: 0 }}
"
    );
    assert_eq!(
        errors(&text),
        [
            "6:37: expected a limit of at least 1 request per minute, found `0`",
            "6:59: expected a limit of at least 1 request per minute, found `0`",
            "7:17: expected a positive number, found `0`",
            "7:25: expected a positive number, found `0`",
            "7:48: expected a percentage above 0 and at most 100, found `0`",
            "7:62: expected a positive number, found `0`",
        ]
    );
    let text = format!("{ONE}slas: {{ error_rate_percent: 150 }}\n");
    assert_eq!(
        errors(&text),
        ["6:29: expected a percentage above 0 and at most 100, found `150`"]
    );
}

#[test]
fn every_problem_is_reported_in_position_order() {
    let text = "\
api: { name: Shop, version: 1.0.0 }
auth: { default_role: boss }
resources:
  - name: item
    fields:
      - { name: id, type: string, min: 1 }
    list: { sort: [nope] }
";
    assert_eq!(
        errors(text),
        [
            "1:14: expected a lowercase name (`a-z`, `0-9` and `-`, starting with a letter), found `Shop`",
            "2:23: expected one of the roles (`admin`, `member`), found `boss`",
            "6:17: expected a name other than the generated fields (`id`, `created_at`, `updated_at`, `owner_id`), found `id`",
            "6:35: expected `min` only on integer and decimal fields, found it on a string field",
            "7:20: expected a field of `item` (`id`, `created_at`, `updated_at`), found `nope`",
        ]
    );
}

#[test]
fn errors_behind_an_alias_point_at_the_anchor() {
    let text = "\
api: { name: shop, version: 1.0.0 }
resources:
  - name: item
    fields: &fields
      - { name: count, type: integer, min: 5, max: 1 }
  - name: thing
    fields: *fields
";
    assert_eq!(
        errors(text),
        ["5:52: expected `max` ≥ `min` (5), found `1`"]
    );
}
