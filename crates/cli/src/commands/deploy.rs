//! `apiwright deploy status|rollback|promote|stop` talk to a deployment's supervisor over its
//! loopback control API; `apiwright deploy daemon` is the supervisor.

use std::path::PathBuf;

use anyhow::Context as _;
use apiwright_deploy::control::Client;
use serde_json::Value;

use super::Exit;
use crate::app::DeployCommand;
use crate::app::DeploymentArgs;
use crate::output;

pub fn run(command: DeployCommand) -> anyhow::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(command))
}

async fn run_async(command: DeployCommand) -> anyhow::Result<Exit> {
    match command {
        DeployCommand::Daemon { target, listen } => {
            let (state_dir, name) = locate(&target)?;
            apiwright_deploy::control::serve(&state_dir, &name, listen)
                .await
                .with_context(|| format!("running the deploy supervisor of {name}"))?;
            Ok(Exit::Success)
        }
        DeployCommand::Status { target, json } => {
            let Some(client) = connect(&target).await? else {
                return not_running(&target);
            };
            let status = client.status().await?;
            show(&status, json, print_status)
        }
        DeployCommand::Rollback { target, json } => {
            let Some(client) = connect(&target).await? else {
                return not_running(&target);
            };
            match client.rollback().await {
                Ok(status) => show(&status, json, |status| {
                    println!("rolled back: all traffic on blue");
                    print_status(status);
                }),
                Err(error) => refused(&error.to_string()),
            }
        }
        DeployCommand::Promote { target, json } => {
            let Some(client) = connect(&target).await? else {
                return not_running(&target);
            };
            match client.promote().await {
                Ok(status) => show(&status, json, |status| {
                    println!("promoted: blue retired");
                    print_status(status);
                }),
                Err(error) => refused(&error.to_string()),
            }
        }
        DeployCommand::Stop { target } => {
            let Some(client) = connect(&target).await? else {
                return not_running(&target);
            };
            client.shutdown().await?;
            println!("stopping the supervisor, its proxy and its instances");
            Ok(Exit::Success)
        }
    }
}

fn refused(message: &str) -> anyhow::Result<Exit> {
    eprintln!("error: {message}");
    Ok(Exit::DeployRefused)
}

fn not_running(target: &DeploymentArgs) -> anyhow::Result<Exit> {
    let (state_dir, name) = locate(target)?;
    refused(&format!(
        "no deploy supervisor runs for `{name}` in {} (nothing is deployed, or it was stopped)",
        state_dir.display()
    ))
}

fn show(value: &Value, json: bool, human: impl FnOnce(&Value)) -> anyhow::Result<Exit> {
    if json {
        output::print_json(value)?;
    } else {
        human(value);
    }
    Ok(Exit::Success)
}

fn print_status(status: &Value) {
    if let Some(busy) = status["busy"].as_str() {
        println!("busy: {busy}");
        return;
    }
    println!("deployment  {}", status["name"].as_str().unwrap_or("?"));
    println!(
        "proxy       {}",
        status["proxy_url"]
            .as_str()
            .unwrap_or("(not running: nothing deployed)")
    );
    if let Some(weights) = status["weights"].as_array() {
        println!(
            "weights     blue {} / green {}",
            weights.first().unwrap_or(&Value::Null),
            weights.get(1).unwrap_or(&Value::Null)
        );
    }
    for (label, key) in [("live", "live"), ("blue", "blue")] {
        let instance = &status[key];
        if instance.is_null() {
            println!("{label:<11} -");
        } else {
            println!(
                "{label:<11} {} ({}{})",
                instance["release"].as_str().unwrap_or("?"),
                if instance["running"].as_bool() == Some(true) {
                    "running"
                } else {
                    "stopped"
                },
                instance["url"]
                    .as_str()
                    .map(|url| format!(" at {url}"))
                    .unwrap_or_default()
            );
        }
    }
    if let Some(history) = status["history"].as_array() {
        println!("history:");
        for event in history {
            println!(
                "  {} {:<12} {} {}",
                event["at_unix_ms"],
                event["kind"].as_str().unwrap_or(""),
                event["release"].as_str().unwrap_or(""),
                event["detail"].as_str().unwrap_or("")
            );
        }
    }
}

async fn connect(target: &DeploymentArgs) -> anyhow::Result<Option<Client>> {
    let (state_dir, name) = locate(target)?;
    Ok(Client::connect(&state_dir, &name).await?)
}

/// The state directory and the deployment's name; the name may be left out when the
/// directory holds exactly one deployment.
fn locate(target: &DeploymentArgs) -> anyhow::Result<(PathBuf, String)> {
    let state_dir = match &target.state_dir {
        Some(dir) => dir.clone(),
        None => apiwright_deploy::deployment::default_state_dir(),
    };
    if let Some(name) = &target.name {
        return Ok((state_dir, name.clone()));
    }
    let names: Vec<String> = std::fs::read_dir(&state_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().is_dir())
                .filter_map(|entry| entry.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    match names.as_slice() {
        [one] => Ok((state_dir, one.clone())),
        [] => anyhow::bail!(
            "no deployment in {}: deploy first, or pass --state-dir",
            state_dir.display()
        ),
        many => anyhow::bail!(
            "{} holds several deployments ({}): pass --name",
            state_dir.display(),
            many.join(", ")
        ),
    }
}
