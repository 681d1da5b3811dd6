//! `apiwright hooks pre-task | post-task | pre-edit | post-edit | notify | session-end`.

use apiwright_hooks::HookCall;
use apiwright_hooks::SessionSource;

use crate::app::HookArgs;
use crate::app::HooksCommand;
use crate::commands::Exit;
use crate::context::Context;
use crate::output::print_json;

pub fn run(context: &Context, command: HooksCommand) -> anyhow::Result<Exit> {
    let (call, common): (HookCall, HookArgs) = match command {
        HooksCommand::PreTask {
            description,
            task_id,
            common,
        } => (
            HookCall::PreTask {
                description,
                task_id,
            },
            common,
        ),
        HooksCommand::PostTask {
            task_id, common, ..
        } => (HookCall::PostTask { task_id }, common),
        HooksCommand::PreEdit { file, common } => (HookCall::PreEdit { file }, common),
        HooksCommand::PostEdit {
            file,
            memory_key,
            common,
        } => (HookCall::PostEdit { file, memory_key }, common),
        HooksCommand::Notify { message, common } => (HookCall::Notify { message }, common),
        HooksCommand::SessionEnd { export, common } => (HookCall::SessionEnd { export }, common),
    };
    let store = context.open_store()?;
    let state_dir = context
        .db_path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let session = SessionSource {
        explicit: common
            .session_id
            .or_else(|| std::env::var("APIWRIGHT_SESSION_ID").ok()),
        state_dir,
    };
    let outcome = apiwright_hooks::run_hook(&store, &context.config.hooks, &session, call)?;
    if common.json {
        print_json(&serde_json::json!({
            "session_id": outcome.session_id,
            "record_id": outcome.record_id,
            "task_id": outcome.task_id,
            "exported": outcome.exported,
            "user_hooks": outcome.user_hooks.iter().map(|h| serde_json::json!({
                "command": h.command, "exit_code": h.exit_code, "timed_out": h.timed_out,
                "duration_ms": h.duration_ms, "output_tail": h.output_tail,
            })).collect::<Vec<_>>(),
        }))?;
    } else if let Some(task_id) = &outcome.task_id {
        println!("{task_id}");
    } else if let Some(path) = &outcome.exported {
        println!(
            "exported session {} to {}",
            outcome.session_id,
            path.display()
        );
    }
    Ok(Exit::Success)
}
