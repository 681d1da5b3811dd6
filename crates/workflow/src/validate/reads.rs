//! Reads that nothing writes: every key a step, a gate or a tdd `items_from` reads must be
//! written by something that runs before it, or be an input key.
//!
//! Writes are expanded through the memory pattern with what is known before the run (phase
//! number and id, agent); everything known only at run time (parameters, items, iteration,
//! run id) becomes a dynamic segment that matches anything, so the check never refuses a
//! workflow that could work.

use super::Issue;
use crate::model::Mode;
use crate::model::Phase;
use crate::model::Topology;
use crate::model::Workflow;
use crate::span_index::Path;
use crate::template;
use crate::template::Vars;

/// Stands in for a value only known at run time while a key is expanded; it cannot occur
/// in YAML text, so a segment containing it is known to be dynamic.
const DYNAMIC: &str = "\u{0}";

/// One `/`-separated segment of an expanded key or pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seg {
    /// Known text.
    Lit(String),
    /// Depends on a run-time value (item, iteration, run id, a parameter): matches anything.
    Dynamic,
    /// `*`: any one segment.
    One,
    /// `**`: any number of segments.
    Any,
    /// A segment with `*` among other characters: refused, the store does not match it.
    Glob(String),
}

/// A key some step writes, or an input (`step` is `None`).
struct Write<'a> {
    phase: usize,
    phase_id: &'a str,
    /// Index and id of the writing step.
    step: Option<(usize, &'a str)>,
    key: Vec<Seg>,
}

/// Who reads, which decides the writes that run before it.
#[derive(Debug, Clone, Copy)]
enum Reader {
    Step { phase: usize, step: usize },
    Gate { phase: usize },
    Items { phase: usize },
}

/// One key or pattern that something reads, with where it is written in the file.
struct Read<'a> {
    reader: Reader,
    /// The reading step's agent, which fills `{agent}`.
    agent: Option<&'a str>,
    template: &'a str,
    path: Path,
}

pub(super) fn check(workflow: &Workflow, issues: &mut Vec<Issue>) {
    let writes = writes(workflow);
    for (p, phase) in workflow.phases.iter().enumerate() {
        for read in reads(phase, p) {
            let vars = known_vars(workflow, p, read.agent);
            let rendered = template::render_lenient(read.template, &vars, DYNAMIC);
            let pattern = segments(&rendered, true);
            // The store matches `*` and `**` only as whole segments; say so now rather than
            // when the run reaches this read.
            if let Some(Seg::Glob(segment)) = pattern
                .iter()
                .find(|segment| matches!(segment, Seg::Glob(_)))
            {
                issues.push(Issue {
                    path: read.path,
                    message: format!(
                        "expected `*` (one segment) or `**` (any depth) as whole segments of `{}`, found `{}`",
                        read.template,
                        segment.replace(DYNAMIC, "…")
                    ),
                    on_key: false,
                });
                continue;
            }
            let mut matching = writes.iter().filter(|write| matches(&pattern, &write.key));
            // Remember a writer that runs too late, to name it in the message.
            let mut late = None;
            let satisfied = matching.any(|write| {
                let seen = sees(workflow, write, read.reader);
                if !seen && late.is_none() {
                    late = write.step.map(|(_, step)| (write.phase_id, step));
                }
                seen
            });
            if !satisfied {
                issues.push(Issue {
                    path: read.path,
                    message: message(read.reader, read.template, late),
                    on_key: false,
                });
            }
        }
    }
}

/// Everything phase `p` reads: step reads, memory and score gate keys, `items_from`.
fn reads(phase: &Phase, p: usize) -> Vec<Read<'_>> {
    let at = Path::root().key("phases").index(p);
    let mut reads = Vec::new();
    for (s, step) in phase.steps.iter().enumerate() {
        let reads_at = at.key("steps").index(s).key("reads");
        reads.extend(step.reads.iter().enumerate().map(|(r, template)| Read {
            reader: Reader::Step { phase: p, step: s },
            agent: Some(&step.agent),
            template,
            path: reads_at.index(r),
        }));
    }
    let gate_read = |template, path| Read {
        reader: Reader::Gate { phase: p },
        agent: None,
        template,
        path,
    };
    for (g, gate) in phase.gates.iter().enumerate() {
        let gate_at = at.key("gates").index(g);
        if let Some(memory) = &gate.memory {
            let keys_at = gate_at.key("memory").key("keys");
            let keys = memory.keys.iter().enumerate();
            reads.extend(keys.map(|(k, key)| gate_read(key.as_str(), keys_at.index(k))));
            let contents_at = gate_at.key("memory").key("content");
            let contents = memory.content.iter().enumerate();
            reads.extend(contents.map(|(c, content)| {
                gate_read(content.key.as_str(), contents_at.index(c).key("key"))
            }));
        }
        if let Some(spec) = &gate.spec {
            reads.push(gate_read(&spec.key, gate_at.key("spec").key("key")));
        }
        if let Some(score) = &gate.score {
            reads.push(gate_read(&score.key, gate_at.key("score").key("key")));
        }
        if let Some(source) = gate.load.as_ref().and_then(|load| load.slas_from.as_ref()) {
            let at = gate_at.key("load").key("slas_from").key("key");
            reads.push(gate_read(&source.key, at));
        }
    }
    if let Mode::Tdd(tdd) = &phase.mode
        && let Some(items_from) = &tdd.items_from
    {
        reads.push(Read {
            reader: Reader::Items { phase: p },
            agent: None,
            template: items_from,
            path: at.key("mode").key("tdd").key("items_from"),
        });
    }
    reads
}

fn message(reader: Reader, read: &str, writer: Option<(&str, &str)>) -> String {
    let before = match reader {
        Reader::Step { .. } => "by a step that runs before this one",
        Reader::Gate { .. } => "in this phase or an earlier one",
        Reader::Items { .. } => "in an earlier phase",
    };
    let why = match writer {
        Some((phase, step)) => format!(
            ", which only step `{step}` of phase `{phase}` writes and it does not run before"
        ),
        None => ", which nothing writes".to_string(),
    };
    format!("expected a key written {before} or an input key, found `{read}`{why}")
}

/// Every input key and every step write, expanded through the memory pattern.
fn writes(workflow: &Workflow) -> Vec<Write<'_>> {
    // Input keys are stored before any phase: only parameters and the run fill them, and
    // those are dynamic here.
    let input_key =
        |key: &str| segments(&template::render_lenient(key, &Vars::new(), DYNAMIC), false);
    let mut writes: Vec<Write<'_>> = workflow
        .inputs
        .iter()
        .map(|input| Write {
            phase: 0,
            phase_id: "",
            step: None,
            key: input_key(&input.key),
        })
        .collect();
    for (p, phase) in workflow.phases.iter().enumerate() {
        for (s, step) in phase.steps.iter().enumerate() {
            let vars = known_vars(workflow, p, Some(&step.agent));
            for deliverable in &step.writes {
                let mut key_vars = vars.clone();
                let name = template::render_lenient(deliverable, &vars, DYNAMIC);
                key_vars.insert("deliverable".to_string(), name);
                let key = template::render_lenient(&workflow.memory_pattern, &key_vars, DYNAMIC);
                writes.push(Write {
                    phase: p,
                    phase_id: &phase.id,
                    step: Some((s, step.id())),
                    key: segments(&key, false),
                });
            }
        }
        // A gate's `record` is written after every step of its phase (hence the step index
        // past any real one), so later phases, and the gates after it, can read it.
        let vars = known_vars(workflow, p, None);
        for gate in &phase.gates {
            if let Some(record) = &gate.record {
                let key = template::render_lenient(record, &vars, DYNAMIC);
                writes.push(Write {
                    phase: p,
                    phase_id: &phase.id,
                    step: Some((usize::MAX, gate.id.as_str())),
                    key: segments(&key, false),
                });
            }
        }
    }
    writes
}

/// The placeholders whose value is known before the run: the phase and the agent.
/// Everything else (parameters, items, iteration, run id) stays dynamic.
pub(super) fn known_vars(workflow: &Workflow, phase: usize, agent: Option<&str>) -> Vars {
    let mut vars = Vars::new();
    if let Some(current) = workflow.phases.get(phase) {
        vars.insert("phase".to_string(), current.number_at(phase).to_string());
        vars.insert("phase_id".to_string(), current.id.clone());
    }
    if let Some(agent) = agent {
        vars.insert("agent".to_string(), agent.to_string());
    }
    vars
}

/// Whether `write` has happened by the time `reader` reads.
fn sees(workflow: &Workflow, write: &Write<'_>, reader: Reader) -> bool {
    let Some((step, _)) = write.step else {
        return true;
    };
    match reader {
        Reader::Items { phase } => write.phase < phase,
        Reader::Gate { phase } => write.phase <= phase,
        Reader::Step { phase, .. } if write.phase != phase => write.phase < phase,
        Reader::Step {
            phase,
            step: reading,
        } => {
            let Some(current) = workflow.phases.get(phase) else {
                return false;
            };
            match &current.mode {
                Mode::Sequential => step < reading,
                // Per item, every red step runs before every green one, and so on.
                Mode::Tdd(_) => {
                    let rank = |s: usize| (current.steps.get(s).and_then(|x| x.stage), s);
                    rank(step) < rank(reading)
                }
                // The lead runs alone first and its deliverables reach the others.
                Mode::Parallel(parallel) => {
                    parallel.topology == Topology::Hierarchical && step == 0 && reading > 0
                }
                // Later iterations see what earlier ones wrote.
                Mode::Iterative(_) => true,
            }
        }
    }
}

pub(super) fn segments(key: &str, pattern: bool) -> Vec<Seg> {
    key.split('/')
        .map(|segment| match segment {
            _ if segment.contains(DYNAMIC) => Seg::Dynamic,
            "*" if pattern => Seg::One,
            "**" if pattern => Seg::Any,
            _ if pattern && segment.contains('*') => Seg::Glob(segment.to_string()),
            _ => Seg::Lit(segment.to_string()),
        })
        .collect()
}

/// Whether the read pattern can match a key the write produces; a dynamic segment on
/// either side matches anything. Dynamic programming keeps `**` linear in key length.
pub(super) fn matches(read: &[Seg], write: &[Seg]) -> bool {
    let w_len = write.len();
    // row[j]: does read[i..] match write[j..]? Computed from the last read segment up.
    let mut next: Vec<bool> = (0..=w_len).map(|j| j == w_len).collect();
    for segment in read.iter().rev() {
        let mut row = vec![false; w_len + 1];
        for j in (0..=w_len).rev() {
            row[j] = match segment {
                Seg::Any => next[j] || (j < w_len && row[j + 1]),
                _ => j < w_len && segment_matches(segment, &write[j]) && next[j + 1],
            };
        }
        next = row;
    }
    next[0]
}

fn segment_matches(read: &Seg, write: &Seg) -> bool {
    match (read, write) {
        (_, Seg::Dynamic) | (Seg::Dynamic | Seg::One | Seg::Any, _) => true,
        (Seg::Lit(a), Seg::Lit(b)) => a == b,
        _ => false,
    }
}
