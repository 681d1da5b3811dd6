//! Creating a run: resolving parameters and inputs, and recording `run_started` together with
//! the inputs in one transaction.

use std::collections::BTreeMap;
use std::path::PathBuf;

use apiwright_store::MemoryWrite;
use apiwright_store::NewEvent;
use apiwright_store::NewRun;
use apiwright_store::Store;
use apiwright_store::Value;
use apiwright_workflow::Workflow;
use apiwright_workflow::template::Vars;
use apiwright_workflow::template::render;

use crate::error::EngineError;
use crate::event::Event;
use crate::vars::run_vars;

/// Everything needed to start a run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The workflow.
    pub workflow: Workflow,
    /// Its YAML text (kept with the run so a resume uses the same definition).
    pub workflow_yaml: String,
    /// Parameter overrides (`--param k=v`).
    pub params: Vars,
    /// Inputs by name (`--spec FILE` is `spec`).
    pub inputs: BTreeMap<String, Value>,
    /// Workspace directory (created if missing).
    pub workspace: PathBuf,
    /// Approve approval gates automatically (`--yes`).
    pub auto_approve: bool,
    /// Directory of the workflow file (None for built-ins), given to agents and gates as
    /// `APIWRIGHT_WORKFLOW_DIR`.
    pub workflow_dir: Option<PathBuf>,
    /// The provider `--agents` forced on every role, kept so that a resume (or the resume
    /// after an approval) uses the same agents.
    pub agents: Option<String>,
}

/// A new time-ordered run id: `r` + UTC timestamp + 4 hex digits.
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let noise = (now.subsec_nanos() ^ std::process::id().rotate_left(16)) & 0xffff;
    format!("r{}{:04x}", now.as_millis(), noise)
}

/// Resolves parameters: defaults, then overrides; unknown names and values outside `choices`
/// are refused.
pub(crate) fn resolve_params(workflow: &Workflow, overrides: &Vars) -> Result<Vars, EngineError> {
    let mut params: Vars = workflow
        .parameters
        .iter()
        .map(|(name, parameter)| (name.clone(), parameter.default.clone()))
        .collect();
    for (name, value) in overrides {
        let Some(parameter) = workflow.parameters.get(name) else {
            let known: Vec<&str> = workflow.parameters.keys().map(String::as_str).collect();
            return Err(EngineError::InvalidRequest(format!(
                "--param {name}: expected one of {}, found unknown parameter `{name}`",
                if known.is_empty() {
                    "no parameters (this workflow has none)".to_string()
                } else {
                    known.join(", ")
                }
            )));
        };
        if !parameter.choices.is_empty() && !parameter.choices.contains(value) {
            return Err(EngineError::InvalidRequest(format!(
                "--param {name}: expected one of {}, found `{value}`",
                parameter.choices.join(", ")
            )));
        }
        params.insert(name.clone(), value.clone());
    }
    Ok(params)
}

pub(crate) fn create(store: &Store, run_id: &str, request: RunRequest) -> Result<(), EngineError> {
    let params = resolve_params(&request.workflow, &request.params)?;
    for name in request.inputs.keys() {
        if !request
            .workflow
            .inputs
            .iter()
            .any(|input| &input.name == name)
        {
            return Err(EngineError::InvalidRequest(format!(
                "input `{name}`: workflow `{}` expected one of its inputs ({}), found unknown input",
                request.workflow.name,
                request
                    .workflow
                    .inputs
                    .iter()
                    .map(|input| input.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let vars = run_vars(&params, run_id);
    let mut writes = Vec::new();
    for input in &request.workflow.inputs {
        match request.inputs.get(&input.name) {
            Some(value) => {
                let key = render(&input.key, &vars)
                    .map_err(|error| EngineError::InvalidRequest(error.to_string()))?;
                writes.push(MemoryWrite {
                    key,
                    value: value.clone(),
                    tags: BTreeMap::from([
                        ("who".to_string(), "user".to_string()),
                        (
                            "why".to_string(),
                            format!("input `{}` of run {run_id}", input.name),
                        ),
                    ]),
                });
            }
            None if input.required => {
                return Err(EngineError::InvalidRequest(format!(
                    "workflow `{}` expected input `{}` ({}), found none{}",
                    request.workflow.name,
                    input.name,
                    input.description,
                    if input.name == "spec" {
                        "; pass --spec FILE"
                    } else {
                        ""
                    }
                )));
            }
            None => {}
        }
    }
    std::fs::create_dir_all(&request.workspace).map_err(|source| EngineError::Workspace {
        path: request.workspace.display().to_string(),
        source,
    })?;
    let workspace = request
        .workspace
        .canonicalize()
        .unwrap_or(request.workspace.clone());
    let started = Event::RunStarted {
        workflow: request.workflow.name.clone(),
        params: params.clone(),
        auto_approve: request.auto_approve,
        inputs: writes.iter().map(|write| write.key.clone()).collect(),
    };
    let run = NewRun {
        id: run_id.to_string(),
        workflow_name: request.workflow.name.clone(),
        workflow_yaml: request.workflow_yaml,
        params: serde_json::json!({
            "params": params,
            "auto_approve": request.auto_approve,
            "workflow_dir": request.workflow_dir.as_ref().map(|dir| dir.display().to_string()),
            "agents": request.agents,
        }),
        workspace: workspace.display().to_string(),
    };
    // Inputs first: if the process dies before the run exists, the inputs are orphans that
    // the next run overwrites; a run never exists without its inputs.
    for write in &writes {
        store.memory_put(write)?;
    }
    store.create_run(
        &run,
        &[NewEvent {
            kind: started.kind().to_string(),
            payload: serde_json::to_value(&started).unwrap_or(serde_json::Value::Null),
        }],
    )?;
    Ok(())
}

/// The first role (by name) that reads the `spec` input and is played by the built-in
/// provider: free-text requirements would fail there, so `apiwright run` and `apiwright serve`
/// refuse such a run before it exists.
pub fn builtin_spec_reader<'w>(
    workflow: &'w apiwright_workflow::Workflow,
    agents: &BTreeMap<String, apiwright_agents::AnyAgent>,
) -> Option<&'w str> {
    workflow
        .phases
        .iter()
        .flat_map(|phase| &phase.steps)
        .filter(|step| step.reads.iter().any(|read| read.ends_with("/input/spec")))
        .map(|step| step.agent.as_str())
        .filter(|role| {
            agents
                .get(*role)
                .is_some_and(|agent| agent.provider() == "builtin")
        })
        .min()
}
