//! Semantic validation of a deserialized spec: everything the types cannot express, such as
//! name formats, references between resources, constraints that only apply to some types,
//! defaults that must fit their field, and access lists naming declared roles.
//!
//! Each check reports issues as a document path plus a message of the form
//! `expected …, found …`; the loader turns paths into `line:col` with the span index.

use std::collections::HashMap;
use std::collections::HashSet;

use apiwright_yaml::Issue;
use apiwright_yaml::Path;

use crate::helpers::AUTHENTICATED;
use crate::helpers::MIN_PASSWORD_LENGTH;
use crate::helpers::PUBLIC;
use crate::helpers::RESERVED_RESOURCE_NAMES;
use crate::model::Spec;

mod default;
mod fields;
mod resource;

/// Collects issues while the checks walk the spec.
struct Checker<'a> {
    spec: &'a Spec,
    issues: Vec<Issue>,
}

/// Checks a spec and returns every problem found (empty when it is valid).
pub(crate) fn validate(spec: &Spec) -> Vec<Issue> {
    let mut checker = Checker {
        spec,
        issues: Vec::new(),
    };
    checker.api();
    checker.auth();
    checker.resource_names();
    for (index, resource) in spec.resources.iter().enumerate() {
        let at = Path::root().key("resources").index(index);
        checker.fields(resource, &at);
        checker.relations(resource, &at);
        checker.access(resource, &at);
        checker.list(resource, &at);
    }
    checker.rate_limits_and_slas();
    checker.issues
}

use apiwright_yaml::quoted_list as list;

/// `[a-z][a-z0-9_]*`.
fn is_snake_case(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `[a-z][a-z0-9-]*`.
fn is_kebab_case(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `MAJOR.MINOR.PATCH`, optionally followed by `-pre.release` and `+build`, numbers without
/// leading zeros.
fn is_semver(text: &str) -> bool {
    let (version, build) = text.split_once('+').unwrap_or((text, ""));
    let (core, pre) = version.split_once('-').unwrap_or((version, ""));
    let number = |part: &str| {
        !part.is_empty()
            && part.bytes().all(|b| b.is_ascii_digit())
            && (part == "0" || !part.starts_with('0'))
    };
    let identifiers = |text: &str| {
        text.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|part| number(part))
        && (!version.contains('-') || identifiers(pre))
        && (!text.contains('+') || identifiers(build))
}

const SNAKE_CASE: &str = "a snake_case name (`a-z`, `0-9` and `_`, starting with a letter)";

impl Checker<'_> {
    fn report(&mut self, path: Path, message: impl Into<String>) {
        self.issues.push(Issue::at(path, message));
    }

    fn report_key(&mut self, path: Path, message: impl Into<String>) {
        self.issues.push(Issue::on_key(path, message));
    }

    /// Reports `name` at `path` unless it is snake_case; returns whether it is.
    fn snake_case(&mut self, name: &str, path: Path) -> bool {
        if is_snake_case(name) {
            return true;
        }
        self.report(path, format!("expected {SNAKE_CASE}, found `{name}`"));
        false
    }

    fn api(&mut self) {
        let api = &self.spec.api;
        let at = Path::root().key("api");
        if !is_kebab_case(&api.name) {
            self.report(
                at.key("name"),
                format!(
                    "expected a lowercase name (`a-z`, `0-9` and `-`, starting with a letter), found `{}`",
                    api.name
                ),
            );
        }
        if !is_semver(&api.version) {
            self.report(
                at.key("version"),
                format!(
                    "expected a semantic version such as `1.0.0`, found `{}`",
                    api.version
                ),
            );
        }
    }

    fn auth(&mut self) {
        let auth = &self.spec.auth;
        let at = Path::root().key("auth");
        let mut seen = HashSet::new();
        for (index, role) in auth.roles.iter().enumerate() {
            let path = at.key("roles").index(index);
            if role == PUBLIC || role == AUTHENTICATED {
                self.report(
                    path,
                    format!(
                        "expected a role name other than `{PUBLIC}` and `{AUTHENTICATED}` (they have a meaning in access lists), found `{role}`"
                    ),
                );
            } else if self.snake_case(role, path.clone()) && !seen.insert(role.as_str()) {
                self.report(path, format!("expected unique roles, found `{role}` again"));
            }
        }
        if !auth.roles.iter().any(|role| role == "admin") {
            self.report(
                at.key("roles"),
                format!(
                    "expected `admin` among the roles, found {}",
                    list(auth.roles.iter().map(String::as_str))
                ),
            );
        }
        let default_role = &auth.default_role;
        if default_role == "admin" {
            self.report(
                at.key("default_role"),
                "expected a role other than `admin` (anyone can register), found `admin`",
            );
        } else if !auth.roles.contains(default_role) {
            self.report(
                at.key("default_role"),
                format!(
                    "expected one of the roles ({}), found `{default_role}`",
                    list(auth.roles.iter().map(String::as_str))
                ),
            );
        }
        let positive = [
            ("access_token_minutes", auth.access_token_minutes),
            ("refresh_token_days", auth.refresh_token_days),
        ];
        for (key, value) in positive {
            if value == 0 {
                self.report(at.key(key), "expected a lifetime of at least 1, found `0`");
            }
        }
        if auth.password_min_length < MIN_PASSWORD_LENGTH {
            self.report(
                at.key("password_min_length"),
                format!(
                    "expected a minimum password length of at least {MIN_PASSWORD_LENGTH}, found `{}`",
                    auth.password_min_length
                ),
            );
        }
    }

    /// At least one resource; names and plurals snake_case, unique and not reserved.
    fn resource_names(&mut self) {
        let resources = &self.spec.resources;
        if resources.is_empty() {
            self.report(
                Path::root().key("resources"),
                "expected at least one resource, found an empty list",
            );
        }
        let mut names = HashSet::new();
        // Plural to the resource that has it.
        let mut plurals: HashMap<String, &str> = HashMap::new();
        for (index, resource) in resources.iter().enumerate() {
            let at = Path::root().key("resources").index(index);
            let name = &resource.name;
            if self.snake_case(name, at.key("name")) {
                if RESERVED_RESOURCE_NAMES.contains(&name.as_str()) {
                    self.report(at.key("name"), reserved(name));
                } else if !names.insert(name.as_str()) {
                    self.report(
                        at.key("name"),
                        format!("expected unique resource names, found `{name}` again"),
                    );
                }
            }
            let plural = resource.plural();
            if resource.plural.is_some() {
                let at = at.key("plural");
                if !self.snake_case(&plural, at.clone()) {
                    continue;
                }
                if RESERVED_RESOURCE_NAMES.contains(&plural.as_str()) {
                    self.report(at, reserved(&plural));
                    continue;
                }
            } else if !is_snake_case(name) || RESERVED_RESOURCE_NAMES.contains(&name.as_str()) {
                // Already reported at the name.
                continue;
            } else if RESERVED_RESOURCE_NAMES.contains(&plural.as_str()) {
                self.report(
                    at.key("name"),
                    format!(
                        "expected a name whose plural is not taken by the generated service ({}), found `{name}` (plural `{plural}`)",
                        list(RESERVED_RESOURCE_NAMES)
                    ),
                );
                continue;
            }
            match plurals.get(&plural) {
                // The same name twice is reported once, at the name.
                Some(other) if *other == name.as_str() => {}
                Some(other) => {
                    // An implicit plural is reported at the name, which is what produced it.
                    let key = if resource.plural.is_some() {
                        "plural"
                    } else {
                        "name"
                    };
                    self.report(
                        at.key(key),
                        format!(
                            "expected unique plurals (table and path names), found `{plural}`, already the plural of `{other}`"
                        ),
                    );
                }
                None => {
                    plurals.insert(plural, name);
                }
            }
        }
    }

    fn rate_limits_and_slas(&mut self) {
        let limits = &self.spec.rate_limits;
        for (key, value) in [
            ("per_user_per_minute", limits.per_user_per_minute),
            ("per_ip_per_minute", limits.per_ip_per_minute),
        ] {
            if value == 0 {
                self.report(
                    Path::root().key("rate_limits").key(key),
                    "expected a limit of at least 1 request per minute, found `0`",
                );
            }
        }
        let slas = &self.spec.slas;
        let at = Path::root().key("slas");
        for (key, value) in [
            ("p95_ms", slas.p95_ms),
            ("rps", slas.rps),
            ("memory_mb", slas.memory_mb),
        ] {
            if value == 0 {
                self.report(at.key(key), "expected a positive number, found `0`");
            }
        }
        let rate = slas.error_rate_percent;
        if !(rate > 0.0 && rate <= 100.0) {
            self.report(
                at.key("error_rate_percent"),
                format!("expected a percentage above 0 and at most 100, found `{rate}`"),
            );
        }
    }
}

fn reserved(name: &str) -> String {
    format!(
        "expected a name not taken by the generated service ({}), found `{name}`",
        list(RESERVED_RESOURCE_NAMES)
    )
}

#[cfg(test)]
#[path = "validate_tests.rs"]
pub(crate) mod tests;
