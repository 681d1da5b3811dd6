//! Runs the contract check against a running service and prints the report as JSON.
//!
//! `cargo run -p apiwright-probe --example contract -- <base-url> <openapi.json> [admin-email admin-password]`
//! A manual tool for developing the checker against real services; gates call the library.

use std::time::Duration;

use apiwright_probe::contract;
use apiwright_probe::exchange::Client;
use apiwright_probe::openapi::Api;
use apiwright_probe::session::AuthOptions;
use apiwright_probe::session::Login;
use apiwright_probe::session::Session;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base_url, document_path, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: contract <base-url> <openapi.json> [admin-email admin-password]");
    };
    let document = serde_json::from_str(&std::fs::read_to_string(document_path)?)?;
    let api = Api::from_document(document)?;
    let client = Client::new(base_url, Duration::from_secs(10))?;
    let options = AuthOptions {
        admin: match rest {
            [email, password] => Some(Login {
                email: email.clone(),
                password: password.clone(),
            }),
            _ => None,
        },
        ..AuthOptions::default()
    };
    let session = Session::establish(&client, &api, &options).await?;
    let report = contract::run(
        &client,
        &api,
        &session,
        &contract::ContractOptions {
            max_invalid_per_operation: 40,
            request_timeout: Duration::from_secs(10),
            skip_operations: Vec::new(),
        },
    )
    .await;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
