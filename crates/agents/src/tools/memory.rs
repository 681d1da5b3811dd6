//! The memory tools: `memory_store` stages deliverables and namespaced keys (after the
//! deliverable's checks pass), `memory_retrieve` and `memory_search` read staged values first
//! and then the run's memory through [`MemoryAccess`].
//!
//! Staged values win over the store because they are newer: the engine commits them only
//! when the step ends.

use std::collections::BTreeSet;

use serde_json::Value;

use super::search::matcher;
use crate::request::ContextEntry;
use crate::request::WriteTarget;
use crate::services::BoundCheck;
use crate::services::MemoryAccess;
use crate::tools::Staged;

/// Bytes of each value shown by `memory_search`; `memory_retrieve` shows it whole.
const SEARCH_VALUE_BYTES: usize = 1000;
/// Most entries `memory_search` returns, whatever the model asks.
const SEARCH_MAX: usize = 100;
const UNAVAILABLE: &str = "memory is not available in this run";

/// What the step may store and where it may read.
pub(crate) struct Memory<'a> {
    pub access: Option<&'a dyn MemoryAccess>,
    pub writes: &'a [WriteTarget],
    pub namespace: Option<&'a str>,
    pub checks: &'a [BoundCheck],
}

/// A value accepted by `memory_store`, to be staged.
#[derive(Debug)]
pub(crate) enum Stored {
    Deliverable {
        name: String,
        key: String,
        value: Value,
    },
    Memory {
        key: String,
        value: Value,
    },
}

impl Memory<'_> {
    pub(crate) fn store(&self, key: &str, value: Value) -> Result<Stored, String> {
        let value = parse_json_text(value);
        if let Some(write) = self.deliverable(key) {
            let failures: Vec<String> = self
                .checks
                .iter()
                .filter(|check| check.deliverable == write.name)
                .filter_map(|check| {
                    check
                        .check
                        .check(&value)
                        .err()
                        .map(|error| format!("- {}: {error}", check.check.describe()))
                })
                .collect();
            if !failures.is_empty() {
                return Err(format!(
                    "deliverable `{}` was not stored: it fails {} check(s)\n{}",
                    write.name,
                    failures.len(),
                    failures.join("\n")
                ));
            }
            return Ok(Stored::Deliverable {
                name: write.name.clone(),
                key: write.key.clone(),
                value,
            });
        }
        if let Some(namespace) = self.namespace
            && key.len() > namespace.len()
            && key.starts_with(namespace)
        {
            if key.contains('*') {
                return Err(format!(
                    "key `{key}` contains `*`, which memory keys reserve for patterns"
                ));
            }
            return Ok(Stored::Memory {
                key: key.to_string(),
                value,
            });
        }
        let deliverables = self
            .writes
            .iter()
            .map(|write| format!("`{}` (key `{}`)", write.name, write.key))
            .collect::<Vec<_>>();
        let mut allowed = match deliverables.is_empty() {
            true => "this step has no deliverables".to_string(),
            false => format!("the deliverables are {}", deliverables.join(", ")),
        };
        match self.namespace {
            Some(namespace) => {
                allowed.push_str(&format!("; other keys must start with `{namespace}`"));
            }
            None => allowed.push_str("; no other keys may be stored"),
        }
        Err(format!(
            "key `{key}` may not be stored by this step: {allowed}"
        ))
    }

    pub(crate) fn retrieve(&self, staged: &Staged, key: &str) -> Result<String, String> {
        if key.contains('*') {
            let matcher = matcher(key)?;
            let mut entries = self.staged_entries(staged);
            entries.retain(|entry| matcher.is_match(&entry.key));
            let from_store = match self.access {
                Some(access) => access
                    .query(key)
                    .map_err(|error| format!("cannot query memory for `{key}`: {error}"))?,
                None if entries.is_empty() => return Err(UNAVAILABLE.into()),
                None => Vec::new(),
            };
            let entries = merge(entries, from_store, usize::MAX);
            if entries.is_empty() {
                return Err(format!("no memory entries match `{key}`"));
            }
            return Ok(entries
                .iter()
                .map(|entry| format!("## {}\n{}", entry.key, entry.value))
                .collect::<Vec<_>>()
                .join("\n\n"));
        }
        let full_key = self
            .deliverable(key)
            .map_or(key, |write| write.key.as_str());
        if let Some(entry) = self
            .staged_entries(staged)
            .into_iter()
            .find(|entry| entry.key == full_key)
        {
            return Ok(format!(
                "{} (staged in this step):\n{}",
                entry.key, entry.value
            ));
        }
        let Some(access) = self.access else {
            return Err(UNAVAILABLE.into());
        };
        match access.get(full_key) {
            Ok(Some(entry)) => Ok(entry.value),
            Ok(None) => Err(format!(
                "no memory entry at `{full_key}`; use memory_search or a key pattern with `*`"
            )),
            Err(error) => Err(format!("cannot read memory at `{full_key}`: {error}")),
        }
    }

    pub(crate) fn search(
        &self,
        staged: &Staged,
        query: &str,
        limit: usize,
    ) -> Result<String, String> {
        let limit = limit.min(SEARCH_MAX);
        let mut staged_matches = self.staged_entries(staged);
        staged_matches.retain(|entry| entry.key.contains(query) || entry.value.contains(query));
        let (from_store, note) = match self.access {
            Some(access) => (
                access
                    .search(query, limit)
                    .map_err(|error| format!("cannot search memory: {error}"))?,
                "",
            ),
            None => (
                Vec::new(),
                "\n[the run's memory is not available; only values stored in this step were \
                 searched]",
            ),
        };
        let entries = merge(staged_matches, from_store, limit);
        if entries.is_empty() {
            return Ok(format!("no memory entries contain `{query}`{note}"));
        }
        let listed = entries
            .iter()
            .map(|entry| {
                let value = match entry.value.len() > SEARCH_VALUE_BYTES {
                    true => format!(
                        "{}… [use memory_retrieve for the whole value]",
                        prefix(&entry.value, SEARCH_VALUE_BYTES)
                    ),
                    false => entry.value.clone(),
                };
                format!("## {}\n{value}", entry.key)
            })
            .collect::<Vec<_>>()
            .join("\n\n");
        Ok(format!("{listed}{note}"))
    }

    fn deliverable(&self, key: &str) -> Option<&WriteTarget> {
        self.writes
            .iter()
            .find(|write| write.name == key || write.key == key)
    }

    /// Staged values as entries under their full keys.
    fn staged_entries(&self, staged: &Staged) -> Vec<ContextEntry> {
        let deliverables = staged.deliverables.iter().filter_map(|(name, value)| {
            let write = self.writes.iter().find(|write| &write.name == name)?;
            Some((write.key.clone(), value))
        });
        let memory = staged
            .memory
            .iter()
            .map(|(key, value)| (key.clone(), value));
        deliverables
            .chain(memory)
            .map(|(key, value)| ContextEntry {
                key,
                value: value_text(value),
            })
            .collect()
    }
}

/// Staged entries first, then stored ones not shadowed by a staged key, at most `limit`.
fn merge(staged: Vec<ContextEntry>, stored: Vec<ContextEntry>, limit: usize) -> Vec<ContextEntry> {
    let shadowed: BTreeSet<String> = staged.iter().map(|entry| entry.key.clone()).collect();
    staged
        .into_iter()
        .chain(
            stored
                .into_iter()
                .filter(|entry| !shadowed.contains(&entry.key)),
        )
        .take(limit)
        .collect()
}

/// Models often pass a JSON document as a string; store the document, not its text.
fn parse_json_text(value: Value) -> Value {
    if let Value::String(text) = &value {
        let trimmed = text.trim();
        if (trimmed.starts_with('{') || trimmed.starts_with('['))
            && let Ok(parsed) = serde_json::from_str::<Value>(trimmed)
            && (parsed.is_object() || parsed.is_array())
        {
            return parsed;
        }
    }
    value
}

/// A value as text, the way [`ContextEntry`] holds it: strings bare, JSON compact.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn prefix(text: &str, bytes: usize) -> &str {
    let mut end = bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;
