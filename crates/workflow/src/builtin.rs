//! The built-in workflows, one per SOP seed, embedded in the binary.
//!
//! The YAML files live in `crates/workflow/builtin/` and are compiled in with `include_str!`,
//! so `apiwright workflow export NAME` prints exactly what the engine runs.
//!
//! | name                    | seed | shape                                                       |
//! |-------------------------|------|-------------------------------------------------------------|
//! | `api-development`       | 000  | 5 phases: sequential, parallel, TDD, parallel, sequential   |
//! | `develop-backend`       | 002  | phases 0–7, remediation loop from 7 back to 3 (max 2)       |
//! | `api-orchestration-sop` | 001  | the six playbook steps, an iterative validation loop        |
//! | `sequential-feature`    | 003  | pattern 1: designer → engineer → tests → review             |
//! | `parallel-tasks`        | 003  | pattern 2: independent tasks in parallel, then review       |
//! | `iterative-refinement`  | 003  | pattern 3: implement ⇄ test, max 3 iterations, escalate     |
//! | `debug-fix-verify`      | 003  | pattern 4: failing test → fix → verify → regression review  |
//! | `sprint-task`           | 003  | pattern 5: sprint task through the board                    |
//! | `backend-iteration`     | 004  | iterative, score ≥ 95/100 and four approval gates           |

use crate::loader::LoadError;
use crate::loader::load_str;
use crate::model::Workflow;

/// Names of the built-in workflows, in the order `workflow list` prints them.
pub const NAMES: [&str; 9] = [
    "api-development",
    "develop-backend",
    "api-orchestration-sop",
    "sequential-feature",
    "parallel-tasks",
    "iterative-refinement",
    "debug-fix-verify",
    "sprint-task",
    "backend-iteration",
];

/// The YAML text of a built-in workflow.
pub fn source(name: &str) -> Option<&'static str> {
    let text = match name {
        "api-development" => include_str!("../builtin/api-development.yaml"),
        "develop-backend" => include_str!("../builtin/develop-backend.yaml"),
        "api-orchestration-sop" => include_str!("../builtin/api-orchestration-sop.yaml"),
        "sequential-feature" => include_str!("../builtin/sequential-feature.yaml"),
        "parallel-tasks" => include_str!("../builtin/parallel-tasks.yaml"),
        "iterative-refinement" => include_str!("../builtin/iterative-refinement.yaml"),
        "debug-fix-verify" => include_str!("../builtin/debug-fix-verify.yaml"),
        "sprint-task" => include_str!("../builtin/sprint-task.yaml"),
        "backend-iteration" => include_str!("../builtin/backend-iteration.yaml"),
        _ => return None,
    };
    Some(text)
}

/// Loads a built-in workflow by name.
pub fn load(name: &str) -> Option<Result<Workflow, LoadError>> {
    source(name).map(|text| load_str(&format!("builtin:{name}"), text))
}

#[cfg(test)]
#[path = "builtin_tests.rs"]
mod tests;
