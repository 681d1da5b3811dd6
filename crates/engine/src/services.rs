//! What the engine lends an agent for a step: memory reads from the state database, the
//! checks its deliverables must pass (taken from the phase's own gates, so an agent hears
//! what a gate will say before the gate runs), its memory namespace and the run's budget.

use std::sync::Arc;
use std::sync::Mutex;

use apiwright_agents::BoundCheck;
use apiwright_agents::Budget;
use apiwright_agents::ContextEntry;
use apiwright_agents::DeliverableCheck;
use apiwright_agents::MemoryAccess;
use apiwright_agents::Usage;
use apiwright_agents::WriteTarget;
use apiwright_store::KeyPattern;
use apiwright_store::Store;
use apiwright_store::StoreOptions;
use apiwright_workflow::Phase;
use apiwright_workflow::template::Vars;
use apiwright_workflow::template::render;

/// Memory reads over a connection of its own (a `Store` is not shared between threads).
pub(crate) struct StoreMemory {
    store: Mutex<Store>,
}

impl StoreMemory {
    /// Opens a reading connection to the database at `path`.
    pub(crate) fn open(path: &std::path::Path) -> Option<Arc<dyn MemoryAccess>> {
        match Store::open(path, &StoreOptions::default()) {
            Ok(store) => Some(Arc::new(StoreMemory {
                store: Mutex::new(store),
            })),
            Err(error) => {
                tracing::warn!("memory tools unavailable: {error}");
                None
            }
        }
    }

    fn with<T>(
        &self,
        read: impl FnOnce(&Store) -> apiwright_store::Result<T>,
    ) -> Result<T, String> {
        let store = self
            .store
            .lock()
            .map_err(|_| "the memory connection is unusable after a panic".to_string())?;
        read(&store).map_err(|error| error.to_string())
    }
}

fn entry(entry: apiwright_store::MemoryEntry) -> ContextEntry {
    ContextEntry {
        key: entry.key,
        value: entry.value.to_text(),
    }
}

impl MemoryAccess for StoreMemory {
    fn get(&self, key: &str) -> Result<Option<ContextEntry>, String> {
        self.with(|store| store.memory_get(key))
            .map(|found| found.map(entry))
    }

    fn query(&self, pattern: &str) -> Result<Vec<ContextEntry>, String> {
        let pattern = KeyPattern::parse(pattern).map_err(|error| error.to_string())?;
        self.with(|store| store.memory_match(&pattern))
            .map(|found| found.into_iter().map(entry).collect())
    }

    fn search(&self, text: &str, limit: usize) -> Result<Vec<ContextEntry>, String> {
        self.with(|store| store.memory_search(text, limit))
            .map(|found| found.into_iter().map(entry).collect())
    }
}

/// The fields a memory gate's `content` check requires of a deliverable.
struct ContentFields {
    gate: String,
    fields: Vec<String>,
    equals: std::collections::BTreeMap<String, serde_json::Value>,
}

impl DeliverableCheck for ContentFields {
    fn describe(&self) -> String {
        format!(
            "gate `{}` requires fields {}",
            self.gate,
            self.fields.join(", ")
        )
    }

    fn check(&self, value: &serde_json::Value) -> Result<(), String> {
        let document = as_document(value);
        let problems = apiwright_gates::content_problems(&document, &self.fields, &self.equals);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "gate `{}` will fail: {}",
                self.gate,
                problems.join("; ")
            ))
        }
    }
}

/// A requirements spec that must load like a user's `--spec` file.
struct SpecLoads {
    gate: String,
    key: String,
    field: Option<String>,
}

impl DeliverableCheck for SpecLoads {
    fn describe(&self) -> String {
        format!(
            "gate `{}` requires a valid spec{}",
            self.gate,
            self.field
                .as_deref()
                .map(|field| format!(" under `{field}`"))
                .unwrap_or_default()
        )
    }

    fn check(&self, value: &serde_json::Value) -> Result<(), String> {
        let document = as_document(value);
        apiwright_gates::load_spec_at(&self.key, &document, self.field.as_deref())
            .map(|_| ())
            .map_err(|problems| {
                format!(
                    "gate `{}` will fail: the spec does not load like a --spec file (docs/spec.md):\n{problems}",
                    self.gate
                )
            })
    }
}

/// A deliverable given as JSON text is judged as the JSON it holds, as the store keeps it.
fn as_document(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::String(text) => {
            serde_json::from_str(text).unwrap_or_else(|_| value.clone())
        }
        other => other.clone(),
    }
}

/// Checks of the phase's gates that name one of the step's deliverables by its exact key.
pub(crate) fn checks_for(phase: &Phase, writes: &[WriteTarget], vars: &Vars) -> Vec<BoundCheck> {
    let mut checks = Vec::new();
    let target = |template: &str| -> Option<&WriteTarget> {
        let key = render(template, vars).ok()?;
        writes.iter().find(|write| write.key == key)
    };
    for gate in &phase.gates {
        if let Some(memory) = &gate.memory {
            for content in &memory.content {
                if content.fields.is_empty() && content.equals.is_empty() {
                    continue;
                }
                if let Some(write) = target(&content.key) {
                    checks.push(BoundCheck {
                        deliverable: write.name.clone(),
                        check: Arc::new(ContentFields {
                            gate: gate.id.clone(),
                            fields: content.fields.clone(),
                            equals: content.equals.clone(),
                        }),
                    });
                }
            }
        }
        if let Some(spec) = &gate.spec
            && let Some(write) = target(&spec.key)
        {
            checks.push(BoundCheck {
                deliverable: write.name.clone(),
                check: Arc::new(SpecLoads {
                    gate: gate.id.clone(),
                    key: write.key.clone(),
                    field: spec.field.clone(),
                }),
            });
        }
    }
    checks
}

/// The step's own memory namespace: the memory pattern with an empty deliverable, when the
/// pattern ends with `{deliverable}` (e.g. `api-development/x/phase-1/product-manager/`).
pub(crate) fn namespace(memory_pattern: &str, vars: &Vars) -> Option<String> {
    let prefix = memory_pattern.strip_suffix("{deliverable}")?;
    let rendered = render(prefix, vars).ok()?;
    (rendered.ends_with('/') && rendered.len() > 1).then_some(rendered)
}

/// What the run may still spend.
pub(crate) fn remaining(limits: Budget, spent: Usage) -> Budget {
    Budget {
        tokens_left: limits
            .tokens_left
            .map(|max| max.saturating_sub(spent.input_tokens + spent.output_tokens)),
        cost_left_usd: limits
            .cost_left_usd
            .map(|max| (max - spent.cost_usd).max(0.0)),
    }
}

/// Adds a step's usage to a total.
pub(crate) fn add_usage(total: &mut Usage, usage: Option<Usage>) {
    if let Some(usage) = usage {
        total.input_tokens += usage.input_tokens;
        total.output_tokens += usage.output_tokens;
        total.cost_usd += usage.cost_usd;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_is_the_pattern_without_its_deliverable() {
        let vars: Vars = [
            ("api_id".to_string(), "shop".to_string()),
            ("phase".to_string(), "1".to_string()),
            ("agent".to_string(), "tester".to_string()),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            namespace(
                "api-development/{api_id}/phase-{phase}/{agent}/{deliverable}",
                &vars
            ),
            Some("api-development/shop/phase-1/tester/".to_string())
        );
        assert_eq!(namespace("{deliverable}", &vars), None);
        assert_eq!(namespace("x/{deliverable}/y", &vars), None);
    }

    #[test]
    fn remaining_budget_never_goes_negative() {
        let limits = Budget {
            tokens_left: Some(100),
            cost_left_usd: Some(1.0),
        };
        let spent = Usage {
            input_tokens: 80,
            output_tokens: 40,
            cost_usd: 0.25,
        };
        let left = remaining(limits, spent);
        assert_eq!(left.tokens_left, Some(0));
        assert_eq!(left.cost_left_usd, Some(0.75));
        assert_eq!(remaining(Budget::default(), spent), Budget::default());
    }

    #[test]
    fn content_checks_explain_missing_fields_before_the_gate_runs() {
        let check = ContentFields {
            gate: "deliverables-stored".into(),
            fields: vec!["endpoints".into(), "auth.method".into()],
            equals: Default::default(),
        };
        assert!(
            check
                .check(&serde_json::json!({"endpoints": ["a"], "auth": {"method": "jwt"}}))
                .is_ok()
        );
        let error = check
            .check(&serde_json::json!("{\"endpoints\": []}"))
            .unwrap_err();
        assert!(
            error.contains("gate `deliverables-stored` will fail"),
            "{error}"
        );
        assert!(error.contains("endpoints"), "{error}");
        assert!(error.contains("auth"), "{error}");
    }
}
