//! Values derived from JSON schemas: valid samples for requests ([`sample`]), deliberately
//! invalid request bodies ([`invalid_variants`]), and validation of response bodies
//! ([`validate`], JSON Schema 2020-12 via the `jsonschema` crate).
//!
//! Samples are built for *requests*: `readOnly` properties are left out unless required, and
//! every generated string carries a per-process nonce so that two creates do not collide on a
//! unique column. Reference fields (`author_id`) take real ids from [`Hints`].

mod pattern;

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;

use serde_json::Map;
use serde_json::Value;
use serde_json::json;

use crate::openapi::Api;
use pattern::Rng;

/// Size of the oversized-body variant: bigger than any sane request limit (most default to 1 or 2 MiB).
pub const OVERSIZED_BODY_BYTES: usize = 2 * 1024 * 1024 + 1024;

/// Deeper schemas are sampled as empty values: recursive schemas must end somewhere.
const MAX_DEPTH: usize = 12;

/// Known values by property name, e.g. `author_id` → the id of an author this run created,
/// so that samples reference records that exist.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    values: BTreeMap<String, Value>,
}

impl Hints {
    /// No hints: samples use generated values everywhere.
    pub fn new() -> Hints {
        Hints::default()
    }

    /// Makes every property named `name` take `value`.
    pub fn insert(&mut self, name: impl Into<String>, value: Value) {
        self.values.insert(name.into(), value);
    }

    /// The value given for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }
}

/// A request body that violates its schema, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    /// What is wrong with it, e.g. ``missing required property `title` ``.
    pub label: String,
    /// The body to send.
    pub body: InvalidBody,
}

/// An invalid body: a JSON value that fails the schema, or bytes that are not acceptable JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum InvalidBody {
    /// A well-formed JSON value that fails schema validation.
    Json(Value),
    /// Bytes sent as-is (malformed or oversized JSON).
    Raw {
        /// The body bytes.
        bytes: Vec<u8>,
        /// The `Content-Type` to send them with.
        content_type: String,
    },
}

/// A fresh nonce: a per-process random prefix and a counter, so values differ within a run
/// and across runs against the same database.
pub fn nonce() -> String {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0u8));
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{count}", seed & 0xff_ffff)
}

/// A random 64-bit number (std's per-process random hasher keys; no extra dependency).
pub(crate) fn random_u64() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(nonce())
}

/// A valid instance of `schema` (with `$ref`s resolved against `api`'s document), for a request.
pub fn sample(api: &Api, schema: &Value, hints: &Hints) -> Value {
    let mut sampler = Sampler {
        api,
        hints,
        nonce: nonce(),
        rng: Rng::new(random_u64()),
        strings: 0,
    };
    sampler.value(schema, None, 0)
}

/// The schema with refs resolved and `allOf` / the first `oneOf`/`anyOf` branch merged in, so
/// that callers see one object's `properties` and `required`.
pub fn effective(api: &Api, schema: &Value) -> Value {
    effective_at(api, schema, 0)
}

fn effective_at(api: &Api, schema: &Value, depth: usize) -> Value {
    let resolved = api.resolve(schema);
    let Some(object) = resolved.as_object() else {
        return resolved.clone();
    };
    let mut base = object.clone();
    if depth > MAX_DEPTH {
        return Value::Object(base);
    }
    let mut parts = Vec::new();
    if let Some(Value::Array(all)) = base.remove("allOf") {
        parts.extend(all);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(branches)) = base.remove(key)
            && let Some(first) = branches.into_iter().next()
        {
            parts.push(first);
        }
    }
    for part in parts {
        if let Value::Object(part) = effective_at(api, &part, depth + 1) {
            merge_into(&mut base, part);
        }
    }
    Value::Object(base)
}

fn merge_into(base: &mut Map<String, Value>, part: Map<String, Value>) {
    for (key, value) in part {
        match (key.as_str(), base.get_mut(&key), value) {
            ("properties", Some(Value::Object(existing)), Value::Object(more)) => {
                for (name, schema) in more {
                    existing.entry(name).or_insert(schema);
                }
            }
            ("required", Some(Value::Array(existing)), Value::Array(more)) => {
                for name in more {
                    if !existing.contains(&name) {
                        existing.push(name);
                    }
                }
            }
            (_, Some(_), _) => {}
            (_, None, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// The schema's primary type: the first non-`null` entry of `type`, else inferred from keywords.
pub fn primary_type(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(name)) => Some(name.as_str()),
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .find(|name| *name != "null")
            .or(Some("null")),
        _ if schema.get("properties").is_some() => Some("object"),
        _ if schema.get("items").is_some() => Some("array"),
        _ => None,
    }
}

struct Sampler<'a> {
    api: &'a Api,
    hints: &'a Hints,
    nonce: String,
    rng: Rng,
    strings: usize,
}

impl Sampler<'_> {
    fn value(&mut self, schema: &Value, name: Option<&str>, depth: usize) -> Value {
        let schema = effective(self.api, schema);
        if let Some(value) = schema.get("const") {
            return value.clone();
        }
        if let Some(Value::Array(members)) = schema.get("enum") {
            let member = members.iter().find(|m| !m.is_null()).or(members.first());
            return member.cloned().unwrap_or(Value::Null);
        }
        match primary_type(&schema) {
            Some("object") => self.object(&schema, depth),
            Some("array") => self.array(&schema, name, depth),
            Some("integer") => integer(&schema).into(),
            Some("number") => number(&schema),
            Some("boolean") => Value::Bool(true),
            Some("null") => Value::Null,
            _ => Value::String(self.string(&schema, name)),
        }
    }

    fn object(&mut self, schema: &Value, depth: usize) -> Value {
        let mut out = Map::new();
        if depth > MAX_DEPTH {
            return Value::Object(out);
        }
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                let is_required = required.contains(&name.as_str());
                let property_schema = effective(self.api, property);
                let read_only = property_schema
                    .get("readOnly")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if read_only && !is_required {
                    continue;
                }
                let value = match self.hints.get(name) {
                    Some(hint) => hint.clone(),
                    None => self.value(property, Some(name), depth + 1),
                };
                out.insert(name.clone(), value);
            }
        }
        Value::Object(out)
    }

    fn array(&mut self, schema: &Value, name: Option<&str>, depth: usize) -> Value {
        let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(1);
        let max = schema
            .get("maxItems")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX);
        let count = min.max(1).min(max);
        let items = schema.get("items").cloned().unwrap_or(json!({}));
        let unique = schema.get("uniqueItems").and_then(Value::as_bool) == Some(true);
        let enum_members = effective(self.api, &items)
            .get("enum")
            .and_then(Value::as_array)
            .cloned();
        let mut out = Vec::new();
        for index in 0..count {
            let item = match (&enum_members, unique) {
                (Some(members), true) => usize::try_from(index)
                    .ok()
                    .and_then(|i| members.get(i))
                    .cloned()
                    .unwrap_or(Value::Null),
                _ => self.value(&items, name, depth + 1),
            };
            out.push(item);
        }
        Value::Array(out)
    }

    fn string(&mut self, schema: &Value, name: Option<&str>) -> String {
        self.strings += 1;
        let unique = format!("{}{}", self.nonce, self.strings);
        let name = name.unwrap_or_default().to_ascii_lowercase();
        let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
        let from_format = match format {
            "email" | "idn-email" => Some(format!("probe-{unique}@example.test")),
            "uuid" => Some(uuid(&mut self.rng)),
            "date-time" => Some("2024-01-02T03:04:05Z".to_string()),
            "date" => Some("2024-01-02".to_string()),
            "time" => Some("03:04:05Z".to_string()),
            "uri" | "url" | "iri" => Some(format!("http://example.test/{unique}")),
            "hostname" | "idn-hostname" => Some(format!("probe-{unique}.example.test")),
            "ipv4" => Some("192.0.2.10".to_string()),
            "ipv6" => Some("2001:db8::10".to_string()),
            "byte" => Some("cHJvYmU=".to_string()),
            "password" => Some(password(&unique)),
            _ => None,
        };
        let pattern = schema
            .get("pattern")
            .and_then(Value::as_str)
            .and_then(|p| regex::Regex::new(p).ok());
        let matches = |candidate: &str| pattern.as_ref().is_none_or(|p| p.is_match(candidate));
        let by_name = if name.contains("email") {
            Some(format!("probe-{unique}@example.test"))
        } else if name.contains("password") {
            Some(password(&unique))
        } else if name.contains("isbn") {
            Some(isbn13(&mut self.rng))
        } else if name.contains("price") || name.contains("amount") {
            Some("12.50".to_string())
        } else if name.contains("url") || name.contains("website") {
            Some(format!("http://example.test/{unique}"))
        } else {
            None
        };
        let from_pattern = || {
            schema
                .get("pattern")
                .and_then(Value::as_str)
                .and_then(|p| pattern::generate(p, &mut Rng::new(random_u64())))
        };
        let chosen = from_format
            .filter(|c| matches(c))
            .or_else(|| by_name.filter(|c| matches(c)))
            .or_else(|| from_pattern().filter(|c| matches(c)))
            .unwrap_or_else(|| format!("probe-{unique}"));
        fit_length(chosen, schema, pattern.is_some())
    }
}

/// Pads or truncates to `minLength`/`maxLength` (in characters), unless a pattern governs the
/// shape, in which case the generated value is trusted as it is.
fn fit_length(mut value: String, schema: &Value, patterned: bool) -> String {
    if patterned {
        return value;
    }
    let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0);
    let max = schema.get("maxLength").and_then(Value::as_u64);
    let length = value.chars().count() as u64;
    if length < min {
        value.extend(std::iter::repeat_n(
            'x',
            usize::try_from(min - length).unwrap_or(0),
        ));
    }
    if let Some(max) = max
        && (value.chars().count() as u64) > max
    {
        // Keep the tail: it holds the nonce that makes the value unique.
        let skip = value.chars().count() - usize::try_from(max).unwrap_or(0);
        value = value.chars().skip(skip).collect();
    }
    value
}

fn password(unique: &str) -> String {
    format!("Pr0be!{unique}-Secret")
}

fn uuid(rng: &mut Rng) -> String {
    let high = rng.next();
    let low = rng.next();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0x0fff,
        (low >> 48) & 0x3fff | 0x8000,
        low & 0xffff_ffff_ffff
    )
}

/// A random ISBN-13 with a correct check digit, in case the service verifies it.
fn isbn13(rng: &mut Rng) -> String {
    let mut digits: Vec<u32> = vec![9, 7, 8];
    for _ in 0..9 {
        digits.push(u32::try_from(rng.below(10)).unwrap_or(0));
    }
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { *d } else { d * 3 })
        .sum();
    digits.push((10 - sum % 10) % 10);
    digits
        .iter()
        .map(|d| char::from(b'0' + d.to_le_bytes()[0]))
        .collect()
}

fn bound(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

fn integer(schema: &Value) -> i64 {
    let low = bound(schema, "minimum")
        .map(f64::ceil)
        .or_else(|| bound(schema, "exclusiveMinimum").map(|v| v.floor() + 1.0));
    let high = bound(schema, "maximum")
        .map(f64::floor)
        .or_else(|| bound(schema, "exclusiveMaximum").map(|v| v.ceil() - 1.0));
    let mut value = match (low, high) {
        (Some(low), _) => low.max(1.0).min(high.unwrap_or(f64::MAX)),
        (None, Some(high)) => high.min(1.0),
        (None, None) => 1.0,
    } as i64;
    if let Some(step) = schema.get("multipleOf").and_then(Value::as_i64)
        && step > 0
        && value % step != 0
    {
        value += step - value.rem_euclid(step);
    }
    value
}

fn number(schema: &Value) -> Value {
    if schema.get("multipleOf").is_some() {
        return integer(schema).into();
    }
    let low =
        bound(schema, "minimum").or_else(|| bound(schema, "exclusiveMinimum").map(|v| v + 0.5));
    let high =
        bound(schema, "maximum").or_else(|| bound(schema, "exclusiveMaximum").map(|v| v - 0.5));
    let value = match (low, high) {
        (Some(low), Some(high)) => (low + high) / 2.0,
        (Some(low), None) => low.max(1.5),
        (None, Some(high)) => high.min(1.5),
        (None, None) => 1.5,
    };
    json!(value)
}

/// Request bodies that each break `schema` in one way; see [`invalid_variants_with`].
pub fn invalid_variants(api: &Api, schema: &Value) -> Vec<Invalid> {
    invalid_variants_with(api, schema, &Hints::new())
}

/// Request bodies that each break `schema` in one way, built from a valid sample (using `hints`,
/// so that only the named defect is wrong): each missing required property, a wrong type, values
/// beyond bounds and lengths, enum and format violations, an unknown property when
/// `additionalProperties` is `false`, plus malformed JSON and an oversized body. JSON variants
/// are kept only when [`validate`] really rejects them.
pub fn invalid_variants_with(api: &Api, schema: &Value, hints: &Hints) -> Vec<Invalid> {
    let schema_effective = effective(api, schema);
    let base = sample(api, schema, hints);
    let mut variants = Vec::new();
    let mut push = |label: String, body: Value| {
        variants.push(Invalid {
            label,
            body: InvalidBody::Json(body),
        });
    };
    if let (Some(properties), Value::Object(base_object)) = (
        schema_effective
            .get("properties")
            .and_then(Value::as_object),
        &base,
    ) {
        let required: Vec<&str> = schema_effective
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let with = |name: &str, value: Value| {
            let mut object = base_object.clone();
            object.insert(name.to_string(), value);
            Value::Object(object)
        };
        for name in &required {
            let mut object = base_object.clone();
            object.remove(*name);
            push(
                format!("missing required property `{name}`"),
                Value::Object(object),
            );
        }
        for (name, property) in properties {
            let property = effective(api, property);
            let wrong = match primary_type(&property) {
                Some("string") => Some((json!(12345), "a number instead of a string")),
                Some("integer") | Some("number") => {
                    Some((json!("not-a-number"), "a string instead of a number"))
                }
                Some("boolean") => Some((json!("yes"), "a string instead of a boolean")),
                Some("object") | Some("array") => {
                    Some((json!("probe"), "a string instead of a structure"))
                }
                _ => None,
            };
            if let Some((value, why)) = wrong {
                push(format!("`{name}` is {why}"), with(name, value));
            }
            let integral = primary_type(&property) == Some("integer");
            let step = if integral { 1.0 } else { 0.01 };
            if let Some(minimum) = bound(&property, "minimum") {
                push(
                    format!("`{name}` below minimum {minimum}"),
                    with(name, number_value(minimum - step, integral)),
                );
            }
            if let Some(limit) = bound(&property, "exclusiveMinimum") {
                push(
                    format!("`{name}` at exclusiveMinimum {limit}"),
                    with(name, number_value(limit, integral)),
                );
            }
            if let Some(maximum) = bound(&property, "maximum") {
                push(
                    format!("`{name}` above maximum {maximum}"),
                    with(name, number_value(maximum + step, integral)),
                );
            }
            if let Some(limit) = bound(&property, "exclusiveMaximum") {
                push(
                    format!("`{name}` at exclusiveMaximum {limit}"),
                    with(name, number_value(limit, integral)),
                );
            }
            let length = |n: u64| "a".repeat(usize::try_from(n).unwrap_or(0));
            if let Some(min) = property.get("minLength").and_then(Value::as_u64)
                && min > 0
            {
                push(
                    format!("`{name}` shorter than minLength {min}"),
                    with(name, json!(length(min - 1))),
                );
            }
            if let Some(max) = property.get("maxLength").and_then(Value::as_u64)
                && max < 1_000_000
            {
                push(
                    format!("`{name}` longer than maxLength {max}"),
                    with(name, json!(length(max + 1))),
                );
            }
            if property.get("enum").is_some() {
                push(
                    format!("`{name}` not one of its enum values"),
                    with(name, json!("probe-not-a-member")),
                );
            }
            if property.get("pattern").is_some() {
                push(
                    format!("`{name}` not matching its pattern"),
                    with(name, json!("!probe pattern mismatch!")),
                );
            }
            if let Some(format) = property.get("format").and_then(Value::as_str)
                && matches!(format, "email" | "uuid" | "date-time" | "date" | "uri")
            {
                push(
                    format!("`{name}` not a valid {format}"),
                    with(name, json!("probe not valid")),
                );
            }
        }
        if schema_effective.get("additionalProperties") == Some(&Value::Bool(false)) {
            push(
                "unknown property `probe_unknown_field` (additionalProperties: false)".to_string(),
                with("probe_unknown_field", json!("x")),
            );
        }
    }
    if primary_type(&schema_effective) == Some("object") {
        push(
            "body is an array instead of an object".to_string(),
            json!([]),
        );
    }
    variants.retain(|variant| match &variant.body {
        InvalidBody::Json(value) => !validate(api, schema, value).is_empty(),
        InvalidBody::Raw { .. } => true,
    });
    variants.push(Invalid {
        label: "malformed JSON".to_string(),
        body: InvalidBody::Raw {
            bytes: br#"{"probe": "unterminated"#.to_vec(),
            content_type: "application/json".to_string(),
        },
    });
    let mut oversized = br#"{"probe_padding": ""#.to_vec();
    oversized.resize(OVERSIZED_BODY_BYTES, b'a');
    oversized.extend_from_slice(br#""}"#);
    variants.push(Invalid {
        label: format!("oversized body ({} bytes)", oversized.len()),
        body: InvalidBody::Raw {
            bytes: oversized,
            content_type: "application/json".to_string(),
        },
    });
    variants
}

fn number_value(value: f64, integral: bool) -> Value {
    if integral {
        json!(value.round() as i64)
    } else {
        json!(value)
    }
}

/// Validates `instance` against `schema` (JSON Schema 2020-12, formats checked), resolving
/// `$ref`s against the document's `components`. Each message starts with the instance path.
pub fn validate(api: &Api, schema: &Value, instance: &Value) -> Vec<String> {
    let mut root = Map::new();
    root.insert("allOf".to_string(), json!([schema]));
    if let Some(components) = api.document().get("components") {
        root.insert("components".to_string(), components.clone());
    }
    let root = Value::Object(root);
    let validator = match jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
    {
        Ok(validator) => validator,
        Err(error) => return vec![format!("schema cannot be compiled: {error}")],
    };
    validator
        .iter_errors(instance)
        .map(|error| {
            let path = error.instance_path().as_str();
            let path = if path.is_empty() { "/" } else { path };
            format!("{path}: {error}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbn13_has_a_valid_check_digit() {
        let value = isbn13(&mut Rng::new(7));
        assert_eq!(value.len(), 13);
        let sum: u32 = value
            .chars()
            .enumerate()
            .map(|(i, c)| c.to_digit(10).unwrap() * if i % 2 == 0 { 1 } else { 3 })
            .sum();
        assert_eq!(sum % 10, 0);
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(nonce(), nonce());
    }

    #[test]
    fn lengths_keep_the_unique_tail() {
        let schema = json!({"maxLength": 4});
        assert_eq!(fit_length("probe-abc1".to_string(), &schema, false), "abc1");
    }
}
