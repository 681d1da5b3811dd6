//! What the engine lends an agent for one step besides the request's data: read access to
//! the run's memory, a meter for model usage, the run's remaining budget and the checks a
//! deliverable must pass. Model agents use them inside their tool loop; other providers may
//! ignore them.

use std::sync::Arc;
use std::sync::Mutex;

use crate::request::ContextEntry;
use crate::request::Usage;

/// Read access to the state database's memory, lent by the engine (an agent never writes the
/// store: what it stores comes back in [`crate::StepOutput`] and the engine commits it with
/// the step).
pub trait MemoryAccess: Send + Sync {
    /// The entry at exactly `key`.
    fn get(&self, key: &str) -> Result<Option<ContextEntry>, String>;
    /// Entries matching a key pattern (`*` one segment, `**` any depth).
    fn query(&self, pattern: &str) -> Result<Vec<ContextEntry>, String>;
    /// Entries whose key or value contains `text`, at most `limit`.
    fn search(&self, text: &str, limit: usize) -> Result<Vec<ContextEntry>, String>;
}

/// A check a deliverable must pass before the agent may hand it in (for example the fields a
/// later memory gate requires, or a requirements spec that must load like a user's file).
/// The error text goes back to the model, so it says what was expected and what was found.
pub trait DeliverableCheck: Send + Sync {
    /// What is checked, for logs and tool descriptions.
    fn describe(&self) -> String;
    /// Checks a value.
    fn check(&self, value: &serde_json::Value) -> Result<(), String>;
}

/// A check bound to one deliverable of the step.
#[derive(Clone)]
pub struct BoundCheck {
    /// Deliverable name (as in `StepRequest::writes`).
    pub deliverable: String,
    /// The check.
    pub check: Arc<dyn DeliverableCheck>,
}

impl std::fmt::Debug for BoundCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundCheck")
            .field("deliverable", &self.deliverable)
            .field("check", &self.check.describe())
            .finish()
    }
}

/// Model usage accumulated while a step runs, shared with the engine so that tokens spent by
/// an attempt that fails, times out or is cancelled are still accounted for.
#[derive(Debug, Default)]
pub struct UsageMeter {
    inner: Mutex<MeterState>,
}

#[derive(Debug, Default, Clone, Copy)]
struct MeterState {
    usage: Usage,
    turns: u32,
}

impl UsageMeter {
    /// Adds one model turn's usage.
    pub fn add_turn(&self, usage: Usage) {
        if let Ok(mut state) = self.inner.lock() {
            state.usage.input_tokens += usage.input_tokens;
            state.usage.output_tokens += usage.output_tokens;
            state.usage.cost_usd += usage.cost_usd;
            state.turns += 1;
        }
    }

    /// Usage so far (`None` when no model turn was recorded).
    pub fn usage(&self) -> Option<Usage> {
        let state = self.inner.lock().map(|state| *state).unwrap_or_default();
        (state.turns > 0).then_some(state.usage)
    }

    /// Model turns so far.
    pub fn turns(&self) -> u32 {
        self.inner
            .lock()
            .map(|state| state.turns)
            .unwrap_or_default()
    }
}

/// What the run may still spend (`None`: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Budget {
    /// Tokens (input + output) left.
    pub tokens_left: Option<u64>,
    /// US dollars left.
    pub cost_left_usd: Option<f64>,
}

impl Budget {
    /// Whether `spent` (this step so far) exceeds what was left; the message says which limit.
    pub fn exceeded_by(&self, spent: &Usage) -> Option<String> {
        let tokens = spent.input_tokens + spent.output_tokens;
        if let Some(left) = self.tokens_left
            && tokens > left
        {
            return Some(format!(
                "the run's token budget is spent: this step used {tokens} tokens, {left} were left"
            ));
        }
        if let Some(left) = self.cost_left_usd
            && spent.cost_usd > left
        {
            return Some(format!(
                "the run's cost budget is spent: this step cost ${:.4}, ${left:.4} was left",
                spent.cost_usd
            ));
        }
        None
    }
}

/// Everything the engine lends an agent for a step.
#[derive(Clone, Default)]
pub struct StepServices {
    /// Memory reads (`None` when the run has no database file, as in some tests).
    pub memory: Option<Arc<dyn MemoryAccess>>,
    /// Usage meter the engine reads after the attempt, however it ended.
    pub meter: Arc<UsageMeter>,
    /// What the run may still spend.
    pub budget: Budget,
    /// Checks per deliverable.
    pub checks: Vec<BoundCheck>,
    /// Key prefix (ending in `/`) under which the step may store memory besides its
    /// deliverables (the step's own namespace); `None`: deliverables only.
    pub namespace: Option<String>,
    /// The conversation a model agent had, set when it stops (however it stops); the engine
    /// keeps it with the attempt's prompt for review.
    pub transcript: Arc<Mutex<Option<serde_json::Value>>>,
    /// Whether the agent works through tools (the prompt then says how to hand in work with
    /// them instead of printing it).
    pub tools: bool,
}

impl std::fmt::Debug for StepServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepServices")
            .field("memory", &self.memory.is_some())
            .field("meter", &self.meter)
            .field("budget", &self.budget)
            .field("checks", &self.checks)
            .field("namespace", &self.namespace)
            .field("tools", &self.tools)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_reports_nothing_until_a_turn_is_recorded() {
        let meter = UsageMeter::default();
        assert_eq!(meter.usage(), None);
        meter.add_turn(Usage {
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: 0.5,
        });
        meter.add_turn(Usage {
            input_tokens: 1,
            output_tokens: 2,
            cost_usd: 0.25,
        });
        let usage = meter.usage().unwrap_or_default();
        assert_eq!((usage.input_tokens, usage.output_tokens), (11, 7));
        assert!((usage.cost_usd - 0.75).abs() < 1e-9);
        assert_eq!(meter.turns(), 2);
    }

    #[test]
    fn budget_names_the_limit_that_was_exceeded() {
        let budget = Budget {
            tokens_left: Some(100),
            cost_left_usd: Some(1.0),
        };
        let within = Usage {
            input_tokens: 60,
            output_tokens: 40,
            cost_usd: 1.0,
        };
        assert_eq!(budget.exceeded_by(&within), None);
        let tokens = Usage {
            input_tokens: 60,
            output_tokens: 41,
            cost_usd: 0.0,
        };
        assert!(
            budget
                .exceeded_by(&tokens)
                .unwrap_or_default()
                .contains("token budget")
        );
        let cost = Usage {
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: 1.5,
        };
        assert!(
            budget
                .exceeded_by(&cost)
                .unwrap_or_default()
                .contains("cost budget")
        );
        assert_eq!(Budget::default().exceeded_by(&cost), None);
    }
}
