//! Subcommand dispatch and exit codes.

mod admin;
mod approve;
mod check;
mod deploy;
mod hooks;
mod memory;
mod prompt;
mod run;
mod runs;
mod serve;
mod workflow;

use crate::app::Cli;
use crate::app::Command;
use crate::context::Context;

/// Process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done (for a run: completed).
    Success = 0,
    /// A run ended failed.
    RunFailed = 4,
    /// A run paused for a person (approval or escalation).
    Paused = 3,
    /// A run was interrupted (Ctrl-C); resumable.
    Interrupted = 130,
    /// A lookup found nothing (memory retrieve of a missing key).
    NotFound = 5,
    /// `apiwright check` ran and the service did not pass.
    CheckFailed = 6,
    /// `apiwright deploy` could not do what was asked (nothing deployed, nothing to roll back).
    DeployRefused = 7,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

pub fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Workflow(command) => workflow::run(command),
        Command::Run(args) => {
            let context = Context::load(&cli.global)?;
            run::run(&context, args)
        }
        Command::Runs(command) => {
            let context = Context::load(&cli.global)?;
            runs::run(&context, command)
        }
        Command::Approve(args) => {
            let context = Context::load(&cli.global)?;
            approve::run(&context, args)
        }
        Command::Memory(command) => {
            let context = Context::load(&cli.global)?;
            memory::run(&context, command)
        }
        Command::Prompt(command) => {
            let context = Context::load(&cli.global)?;
            prompt::run(&context, command)
        }
        Command::Check(command) => check::run(command),
        Command::Deploy(command) => deploy::run(command),
        Command::Hooks(command) => {
            let context = Context::load(&cli.global)?;
            hooks::run(&context, command)
        }
        Command::Admin(command) => {
            let context = Context::load(&cli.global)?;
            admin::run(&context, command)
        }
        Command::Serve(args) => {
            let context = Context::load(&cli.global)?;
            serve::run(&context, args)
        }
    }
}
