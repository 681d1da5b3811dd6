//! Test helpers shared by the tool modules: tool boxes over temporary directories, a
//! synchronous `call`, a fake memory and a fake deliverable check.

use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;

use serde_json::Value;

use super::ToolBox;
use super::ToolBoxConfig;
use super::ToolLimits;
use super::ToolOutcome;
use crate::request::ContextEntry;
use crate::request::WriteTarget;
use crate::services::DeliverableCheck;
use crate::services::MemoryAccess;

/// A config with default limits, no memory, no deliverables and no namespace.
pub(crate) fn config(workspace: &Path) -> ToolBoxConfig {
    ToolBoxConfig {
        workspace: workspace.to_path_buf(),
        env: vec![],
        limits: ToolLimits::default(),
        memory: None,
        writes: vec![],
        namespace: None,
        checks: vec![],
    }
}

pub(crate) fn toolbox(workspace: &Path) -> ToolBox {
    ToolBox::new(config(workspace)).unwrap()
}

/// Calls a tool from a synchronous test on a fresh runtime.
pub(crate) fn call(toolbox: &ToolBox, name: &str, arguments: Value) -> ToolOutcome {
    call_raw(toolbox, name, &arguments.to_string())
}

pub(crate) fn call_raw(toolbox: &ToolBox, name: &str, arguments: &str) -> ToolOutcome {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(toolbox.call(name, arguments))
}

/// Asserts success and returns the content.
pub(crate) fn ok(outcome: ToolOutcome) -> String {
    assert!(!outcome.is_error, "expected success, got {outcome:?}");
    outcome.content
}

/// Asserts failure and returns the message.
pub(crate) fn error(outcome: ToolOutcome) -> String {
    assert!(outcome.is_error, "expected an error, got {outcome:?}");
    outcome.content
}

pub(crate) fn write_target(name: &str, key: &str) -> WriteTarget {
    WriteTarget {
        name: name.into(),
        key: key.into(),
    }
}

/// Memory held in a list, with every call recorded.
#[derive(Debug, Default)]
pub(crate) struct FakeMemory {
    pub entries: Vec<ContextEntry>,
    pub calls: Mutex<Vec<String>>,
    pub fail: bool,
}

impl FakeMemory {
    pub(crate) fn with(entries: &[(&str, &str)]) -> Arc<FakeMemory> {
        Arc::new(FakeMemory {
            entries: entries
                .iter()
                .map(|(key, value)| ContextEntry {
                    key: key.to_string(),
                    value: value.to_string(),
                })
                .collect(),
            ..FakeMemory::default()
        })
    }

    fn record(&self, call: String) -> Result<(), String> {
        self.calls.lock().unwrap().push(call);
        match self.fail {
            true => Err("database is locked".into()),
            false => Ok(()),
        }
    }
}

impl MemoryAccess for FakeMemory {
    fn get(&self, key: &str) -> Result<Option<ContextEntry>, String> {
        self.record(format!("get {key}"))?;
        Ok(self.entries.iter().find(|entry| entry.key == key).cloned())
    }

    fn query(&self, pattern: &str) -> Result<Vec<ContextEntry>, String> {
        self.record(format!("query {pattern}"))?;
        let matcher = super::search::matcher(pattern)?;
        Ok(self
            .entries
            .iter()
            .filter(|entry| matcher.is_match(&entry.key))
            .cloned()
            .collect())
    }

    fn search(&self, text: &str, limit: usize) -> Result<Vec<ContextEntry>, String> {
        self.record(format!("search {text} {limit}"))?;
        Ok(self
            .entries
            .iter()
            .filter(|entry| entry.key.contains(text) || entry.value.contains(text))
            .take(limit)
            .cloned()
            .collect())
    }
}

/// A check that a JSON object has a non-empty field.
#[derive(Debug)]
pub(crate) struct RequiresField(pub &'static str);

impl DeliverableCheck for RequiresField {
    fn describe(&self) -> String {
        format!("field `{}` is present", self.0)
    }

    fn check(&self, value: &Value) -> Result<(), String> {
        match value.get(self.0) {
            Some(field) if !field.is_null() => Ok(()),
            _ => Err(format!("expected field `{}`, found none", self.0)),
        }
    }
}
