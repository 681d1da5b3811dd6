//! `apiwright approve RUN GATE [--reject --reason R]`: records the decision, then resumes.

use crate::app::ApproveArgs;
use crate::commands::Exit;
use crate::commands::run::build_engine;
use crate::commands::run::drive;
use crate::context::Context;

pub fn run(context: &Context, args: ApproveArgs) -> anyhow::Result<Exit> {
    let mut engine = build_engine(context)?;
    let by = args
        .by
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into());
    engine.decide(
        &args.run,
        &args.gate,
        !args.reject,
        &by,
        args.reason.clone(),
    )?;
    let verdict = if args.reject { "rejected" } else { "approved" };
    eprintln!("{verdict} `{}` of run {} as {by}", args.gate, args.run);
    if args.no_resume {
        return Ok(Exit::Success);
    }
    drive(
        context,
        &mut engine,
        &args.run,
        args.agents.as_deref(),
        args.json,
    )
}
