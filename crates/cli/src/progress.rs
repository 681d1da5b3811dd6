//! Live progress of a run: a spinner with the current phase, step and gate on a terminal,
//! plain lines otherwise, JSON lines with `--json`.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::rc::Rc;
use std::time::Duration;

use apiwright_engine::Event;
use apiwright_gates::GateOutcome;
use apiwright_workflow::Workflow;
use indicatif::ProgressBar;
use indicatif::ProgressStyle;

#[derive(Clone)]
pub struct Progress {
    inner: Rc<RefCell<Inner>>,
}

struct Inner {
    run_id: String,
    bar: Option<ProgressBar>,
    json: bool,
    phases: usize,
}

impl Progress {
    pub fn new(run_id: &str, workflow: &Workflow, json: bool) -> Progress {
        let bar = (!json && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let progress = Progress {
            inner: Rc::new(RefCell::new(Inner {
                run_id: run_id.to_string(),
                bar,
                json,
                phases: workflow.phases.len(),
            })),
        };
        if !json {
            progress.line(&format!("run {run_id}: workflow {}", workflow.name));
        }
        progress
    }

    fn line(&self, text: &str) {
        let inner = self.inner.borrow();
        match &inner.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn status(&self, text: &str) {
        if let Some(bar) = &self.inner.borrow().bar {
            bar.set_message(text.to_string());
        }
    }

    pub fn event(&mut self, event: &Event) {
        if self.inner.borrow().json {
            let line = serde_json::json!({
                "run_id": self.inner.borrow().run_id,
                "event": event,
            });
            println!("{line}");
            return;
        }
        let phases = self.inner.borrow().phases;
        match event {
            Event::PhaseStarted { phase, visit } => {
                let again = if *visit > 1 {
                    format!(" (visit {visit})")
                } else {
                    String::new()
                };
                self.line(&format!("▶ phase {phase}{again} [of {phases}]"));
                self.status(&format!("phase {phase}"));
            }
            Event::RoundStarted { round, feedback } => {
                if round.iteration > 1 || round.item.is_some() {
                    self.line(&format!("  ↻ {round}"));
                }
                for note in feedback {
                    self.line(&format!("    feedback: {note}"));
                }
            }
            Event::ItemsResolved { items, .. } => {
                self.line(&format!("  items: {}", items.join(", ")));
            }
            Event::StepStarted {
                round,
                step,
                attempt,
                provider,
            } => {
                let retry = if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                };
                self.status(&format!("{round}: {step} working via {provider}{retry}"));
            }
            Event::StepFinished {
                step,
                summary,
                duration_ms,
                ..
            } => {
                self.line(&format!(
                    "  ✓ step {step} ({}): {summary}",
                    crate::output::duration(*duration_ms)
                ));
            }
            Event::StepFailed {
                step,
                error,
                retryable,
                ..
            } => {
                let note = if *retryable { " (retryable)" } else { "" };
                self.line(&format!("  ✗ step {step}{note}: {error}"));
            }
            Event::GateEvaluated {
                gate,
                outcome,
                summary,
                ..
            } => {
                let mark = match outcome {
                    GateOutcome::Passed => "✓",
                    GateOutcome::Failed => "✗",
                    GateOutcome::NotRun => "○",
                };
                self.line(&format!("  {mark} gate {gate}: {summary}"));
            }
            Event::ApprovalRequested { gate, prompt, .. } => {
                self.line(&format!("  ? approval {gate}: {prompt}"));
            }
            Event::ApprovalDecided {
                gate, approved, by, ..
            } => {
                let verdict = if *approved { "approved" } else { "rejected" };
                self.line(&format!("  {verdict} {gate} by {by}"));
            }
            Event::PhaseCompleted {
                phase, overridden, ..
            } => {
                let note = if *overridden {
                    " (accepted by a person)"
                } else {
                    ""
                };
                self.line(&format!("✔ phase {phase} passed{note}"));
            }
            Event::PhaseFailed { phase, reason, .. } => {
                self.line(&format!("✘ phase {phase} failed: {reason}"));
            }
            Event::LoopedBack {
                from,
                to,
                count,
                max,
                ..
            } => {
                self.line(&format!("↺ {from} → {to} (loop {count} of {max})"));
            }
            Event::Escalated {
                id,
                escalation,
                message,
                ..
            } => {
                self.line(&format!("⚠ {} `{id}`: {message}", escalation.as_str()));
            }
            Event::EscalationResolved {
                id, approved, by, ..
            } => {
                let verdict = if *approved { "approved" } else { "rejected" };
                self.line(&format!("  escalation {id} {verdict} by {by}"));
            }
            Event::RunStarted { .. } | Event::RunCompleted | Event::RunFailed { .. } => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.inner.borrow().bar {
            bar.finish_and_clear();
        }
    }
}
