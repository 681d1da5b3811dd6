//! What a built-in role works from (the spec, the step's reads, the workspace) and how it
//! leaves its work: files in the workspace, deliverables, a seed 003 summary and a seed 004
//! structured output under `docs/agents/`.

use std::collections::BTreeMap;
use std::path::Path;
use std::path::PathBuf;

use apiwright_agents::AgentError;
use apiwright_agents::StepOutput;
use apiwright_agents::StepRequest;
use apiwright_spec::Spec;

/// A file a role writes into the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct File {
    pub path: String,
    pub contents: String,
}

/// What one role produced for one step.
#[derive(Debug, Default)]
pub(crate) struct Work {
    pub deliverables: BTreeMap<String, serde_json::Value>,
    pub files: Vec<File>,
    pub decisions: Vec<String>,
    pub summary: String,
    /// A blocker the role raises instead of pretending (the run pauses for a person).
    pub escalation: Option<apiwright_agents::EscalationRequest>,
}

/// The step as a role sees it.
pub(crate) struct Step<'a> {
    pub request: &'a StepRequest,
    pub spec: Spec,
}

impl Step<'_> {
    pub fn workspace(&self) -> &Path {
        &self.request.workspace
    }

    /// The deliverable names the step must write, without the TDD item prefix
    /// (`books/tests` → `tests`).
    pub fn wants(&self, name: &str) -> bool {
        self.request
            .writes
            .iter()
            .any(|write| write.name == name || write.name.ends_with(&format!("/{name}")))
    }

    /// The full write name for a base name (`tests` → `books/tests`).
    pub fn write_name(&self, name: &str) -> String {
        self.request
            .writes
            .iter()
            .find(|write| write.name == name || write.name.ends_with(&format!("/{name}")))
            .map_or_else(|| name.to_string(), |write| write.name.clone())
    }

    /// A read whose key ends with `suffix`, parsed as JSON when it is JSON.
    pub fn read(&self, suffix: &str) -> Option<serde_json::Value> {
        self.request
            .reads
            .iter()
            .find(|entry| entry.key.ends_with(suffix))
            .map(|entry| {
                serde_json::from_str(&entry.value)
                    .unwrap_or_else(|_| serde_json::Value::String(entry.value.clone()))
            })
    }

    pub fn env(&self) -> &[(String, String)] {
        &self.request.env
    }
}

/// The raw text of the spec input, to tell what it states from what defaults filled in.
pub(crate) fn spec_text(step: &Step<'_>) -> String {
    step.request
        .reads
        .iter()
        .find(|entry| entry.key.ends_with("/input/spec"))
        .map(|entry| entry.value.clone())
        .unwrap_or_default()
}

/// Whether the spec states a top-level section (YAML `name:` at column 0 or JSON `"name"`).
pub(crate) fn states(text: &str, section: &str) -> bool {
    text.lines()
        .any(|line| line.starts_with(&format!("{section}:")))
        || text.contains(&format!("\"{section}\""))
}

/// Finds the spec: the run's `spec` input (YAML, validated like a user's file) or the
/// product manager's normalized requirements.
fn spec_of(request: &StepRequest) -> Result<Spec, AgentError> {
    if let Some(entry) = request
        .reads
        .iter()
        .find(|e| e.key.ends_with("/input/spec"))
    {
        return apiwright_spec::load_str("spec", &entry.value).map_err(|error| {
            AgentError::Fatal(format!("the requirements spec is invalid:\n{error}"))
        });
    }
    if let Some(entry) = request
        .reads
        .iter()
        .find(|e| e.key.ends_with("/product-manager/requirements"))
    {
        let requirements: serde_json::Value = serde_json::from_str(&entry.value).map_err(|e| {
            AgentError::Fatal(format!(
                "expected the requirements as JSON, found invalid JSON: {e}"
            ))
        })?;
        return serde_json::from_value(requirements["spec"].clone()).map_err(|error| {
            AgentError::Fatal(format!(
                "expected the normalized spec under `spec` in {}, found: {error}",
                entry.key
            ))
        });
    }
    Err(AgentError::Fatal(format!(
        "the built-in {} needs the requirements spec: expected a read of `…/input/spec` or \
         `…/product-manager/requirements`, found reads {}",
        request.role.id,
        if request.reads.is_empty() {
            "none".to_string()
        } else {
            request
                .reads
                .iter()
                .map(|entry| entry.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    )))
}

pub(crate) fn run_role(role: &str, request: &StepRequest) -> Result<StepOutput, AgentError> {
    let step = Step {
        request,
        spec: spec_of(request)?,
    };
    let work = match role {
        "product-manager" => crate::planning::product_manager(&step)?,
        "system-architect" => crate::planning::system_architect(&step)?,
        "database-architect" => crate::planning::database_architect(&step)?,
        "qa-engineer" => crate::planning::qa_engineer(&step)?,
        "tester" => crate::development::tester(&step)?,
        "backend-developer" if crate::seed004::is_iteration(&step) => {
            crate::seed004::backend_developer(&step)?
        }
        "backend-developer" => crate::seed001::backend_developer(&step)?,
        "code-reviewer" => crate::development::code_reviewer(&step)?,
        "api-documentation-specialist" => crate::documentation::specialist(&step)?,
        "devops-engineer" => crate::operations::devops_engineer(&step)?,
        "security-specialist" => crate::operations::security_specialist(&step)?,
        "performance-analyst" => crate::operations::performance_analyst(&step)?,
        "production-validator" => crate::operations::production_validator(&step)?,
        "performance-monitor" => crate::operations::performance_monitor(&step)?,
        // Seed 002 (develop-backend).
        "orchestrate-clarification" => crate::seed002::clarification(&step)?,
        "orchestrate-synthesis" => crate::seed002::synthesis(&step)?,
        "orchestrate-generation" => crate::generation::generation(&step)?,
        "orchestrate-validation" => crate::seed002::validation(&step)?,
        // Seed 001 (api-orchestration-sop).
        "api-orchestrator" => crate::seed001::orchestrator(&step)?,
        "test-engineer" => crate::seed001::test_engineer(&step)?,
        "release-engineer" => crate::seed001::release_engineer(&step)?,
        "adversarial-validator" => crate::seed001::adversarial_validator(&step)?,
        // Seed 001's designer writes the contract, error model and versioning policy; seed
        // 003's writes the contract, and the spec's baseline project when there is none yet
        // (its first phase's gates build, test and measure coverage).
        "api-designer" if step.wants("error-model") || step.wants("versioning-policy") => {
            crate::design::api_designer(&step)?
        }
        "api-designer" => crate::seed003::api_designer(&step)?,
        // Seed 003 (the five patterns).
        "python-backend-engineer" => crate::seed003::python_backend_engineer(&step)?,
        "python-test-engineer" => crate::seed003_testing::python_test_engineer(&step)?,
        "sprint-manager" => crate::seed003_sprint::sprint_manager(&step)?,
        other => {
            return Err(AgentError::Fatal(format!(
                "the built-in provider has no `{other}`; it plays {}",
                crate::ROLES.join(", ")
            )));
        }
    };
    finish(&step, work)
}

/// Checks every declared deliverable was produced, writes the files and the agent records.
fn finish(step: &Step<'_>, mut work: Work) -> Result<StepOutput, AgentError> {
    let request = step.request;
    let missing: Vec<&str> = request
        .writes
        .iter()
        .map(|write| write.name.as_str())
        .filter(|name| !work.deliverables.contains_key(*name))
        .collect();
    if !missing.is_empty() {
        return Err(AgentError::Fatal(format!(
            "the built-in {} does not produce {} (in phase `{}`)",
            request.role.id,
            missing.join(", "),
            request.phase_id
        )));
    }
    let record_name = record_name(request);
    work.files.push(File {
        path: format!("docs/agents/{record_name}.md"),
        contents: summary_markdown(request, &work),
    });
    work.files.push(File {
        path: format!("docs/agents/{record_name}.json"),
        contents: structured_output(request, &work),
    });
    write_files(&request.workspace, &work.files)?;
    Ok(StepOutput {
        deliverables: work.deliverables,
        summary: work.summary,
        decisions: work.decisions,
        escalation: work.escalation,
        usage: None,
        memory: BTreeMap::new(),
    })
}

fn record_name(request: &StepRequest) -> String {
    let mut name = format!("{}-{}", request.phase_id, request.step_id);
    if let Some(item) = &request.item {
        name.push('-');
        name.push_str(&apiwright_workflow::template::slug(item));
    }
    if request.iteration > 1 {
        name.push_str(&format!("-iteration-{}", request.iteration));
    }
    name
}

/// Writes files under the workspace, refusing paths that would leave it.
pub(crate) fn write_files(workspace: &Path, files: &[File]) -> Result<(), AgentError> {
    for file in files {
        let relative = PathBuf::from(&file.path);
        if relative.is_absolute()
            || relative
                .components()
                .any(|part| matches!(part, std::path::Component::ParentDir))
        {
            return Err(AgentError::Fatal(format!(
                "refusing to write {} outside the workspace",
                file.path
            )));
        }
        let path = workspace.join(&relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| {
                AgentError::Fatal(format!("creating {}: {error}", parent.display()))
            })?;
        }
        std::fs::write(&path, &file.contents)
            .map_err(|error| AgentError::Fatal(format!("writing {}: {error}", path.display())))?;
    }
    Ok(())
}

/// Seed 003's agent summary.
fn summary_markdown(request: &StepRequest, work: &Work) -> String {
    let mut out = format!(
        "# Agent Summary: {} - {}\n\n## Task Overview\n{}\n\n## Key Decisions\n",
        request.role.id, request.step_id, request.task
    );
    if work.decisions.is_empty() {
        out.push_str("- None beyond the requirements.\n");
    }
    for (index, decision) in work.decisions.iter().enumerate() {
        out.push_str(&format!("{}. {decision}\n", index + 1));
    }
    out.push_str("\n## Assumptions Made\n- The requirements spec is complete; nothing outside it was invented.\n");
    out.push_str("\n## Implementation Details\n");
    for file in &work.files {
        out.push_str(&format!("- wrote `{}`\n", file.path));
    }
    for name in work.deliverables.keys() {
        out.push_str(&format!("- deliverable `{name}` stored in memory\n"));
    }
    out.push_str("\n## Blockers & Resolutions\n- None.\n\n## Handoff Notes\n");
    out.push_str(&format!("- {}\n", work.summary));
    out.push_str("\n## Quality Validation\n- Judged by the phase's gates, which run the checks themselves; see `apiwright runs show`.\n");
    out
}

/// Seed 004's structured output with input references.
fn structured_output(request: &StepRequest, work: &Work) -> String {
    let document = serde_json::json!({
        "agent": request.role.id,
        "phase": request.phase_id,
        "step": request.step_id,
        "iteration": request.iteration,
        "item": request.item,
        "input_references": request.reads.iter().map(|entry| &entry.key).collect::<Vec<_>>(),
        "deliverables": request.writes.iter().map(|write| &write.key).collect::<Vec<_>>(),
        "files": work.files.iter().map(|file| &file.path).collect::<Vec<_>>(),
        "decisions": work.decisions,
        "summary": work.summary,
    });
    serde_json::to_string_pretty(&document).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;
    use std::time::Duration;

    use apiwright_agents::StepRequest;

    /// A bare step request for `role` working in `workspace`; tests fill in reads and writes.
    pub(crate) fn request(workspace: &Path, role: &str) -> StepRequest {
        StepRequest {
            run_id: "run-test".into(),
            workflow: "test".into(),
            phase_id: "phase".into(),
            phase_number: 1,
            phase_title: "Phase".into(),
            step_id: role.into(),
            role: apiwright_workflow::AgentRole {
                id: role.into(),
                description: String::new(),
                focus: Vec::new(),
                command: None,
            },
            task: String::new(),
            params: Default::default(),
            concurrent: false,
            iteration: 1,
            item: None,
            stage: None,
            reads: Vec::new(),
            missing_reads: Vec::new(),
            siblings: Vec::new(),
            handoffs: Vec::new(),
            feedback: Vec::new(),
            gates: std::sync::Arc::from(Vec::new()),
            writes: Vec::new(),
            workspace: workspace.to_path_buf(),
            db_path: None,
            workflow_dir: None,
            prompt: String::new(),
            timeout: Duration::from_secs(60),
            env: Vec::new(),
            attempt: 1,
            services: Default::default(),
        }
    }
}
