//! `apiwright prompt show`: what a step was told, as recorded when its attempt started.

use anyhow::Context as _;

use crate::app::PromptCommand;
use crate::commands::Exit;
use crate::context::Context;

pub fn run(context: &Context, command: PromptCommand) -> anyhow::Result<Exit> {
    match command {
        PromptCommand::Show {
            run,
            step,
            item,
            attempt,
            transcript,
            json,
        } => show(
            context,
            &run,
            &step,
            item.as_deref(),
            attempt,
            transcript,
            json,
        ),
    }
}

fn show(
    context: &Context,
    run: &str,
    step: &str,
    item: Option<&str>,
    attempt: Option<u32>,
    with_transcript: bool,
    json: bool,
) -> anyhow::Result<Exit> {
    let store = context.open_store()?;
    if store.run(run)?.is_none() {
        anyhow::bail!("no run `{run}` in {}", context.db_path.display());
    }
    let (phase, step_id) = match step.split_once('/') {
        Some((phase, step_id)) => (Some(phase), step_id),
        None => (None, step),
    };
    let all = store
        .prompts(run, Some(step_id))
        .with_context(|| format!("reading the prompts of run {run}"))?;
    let matching: Vec<_> = all
        .iter()
        .filter(|record| phase.is_none_or(|phase| record.phase == phase))
        .filter(|record| item.is_none_or(|item| record.item.as_deref() == Some(item)))
        .filter(|record| attempt.is_none_or(|attempt| record.attempt == attempt))
        .collect();
    let Some(chosen) = matching.last() else {
        let recorded = store.prompts(run, None)?;
        // Each step once, in the order they first ran (TDD rounds repeat steps).
        let mut steps: Vec<String> = Vec::new();
        for record in &recorded {
            let step = format!("{}/{}", record.phase, record.step);
            if !steps.contains(&step) {
                steps.push(step);
            }
        }
        anyhow::bail!(
            "no recorded prompt of step `{step}`{}{} in run {run}: prompts are recorded when an \
             attempt of an agent that reads its prompt starts (the built-in agents work from the \
             request, not a prompt); recorded steps: {}",
            item.map(|item| format!(" item `{item}`"))
                .unwrap_or_default(),
            attempt
                .map(|attempt| format!(" attempt {attempt}"))
                .unwrap_or_default(),
            if steps.is_empty() {
                "none".to_string()
            } else {
                steps.join(", ")
            }
        );
    };
    if json {
        crate::output::print_json(chosen)?;
        return Ok(Exit::Success);
    }
    if matching.len() > 1 {
        eprintln!(
            "{} attempts match; showing round {} attempt {} (narrow with --item or --attempt)",
            matching.len(),
            chosen.round,
            chosen.attempt
        );
    }
    eprintln!(
        "run {run} · round {} · step {} · attempt {} · provider {}",
        chosen.round, chosen.step, chosen.attempt, chosen.provider
    );
    println!("{}", chosen.prompt);
    if with_transcript {
        match &chosen.transcript {
            Some(transcript) => {
                println!("\n---- transcript ----");
                println!("{}", serde_json::to_string_pretty(transcript)?);
            }
            None => {
                eprintln!("(no transcript: the provider keeps none, or the attempt is running)")
            }
        }
    }
    Ok(Exit::Success)
}
