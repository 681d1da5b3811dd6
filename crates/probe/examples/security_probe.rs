//! Runs the security probes against a running service, for development:
//! `cargo run -p apiwright-probe --example security_probe -- BASE_URL OPENAPI.json [WORKSPACE]`
//! with `ADMIN_EMAIL`/`ADMIN_PASSWORD` set when the service has an admin, or
//! `… -- --secrets-only WORKSPACE` for the secrets scan alone. Prints the result as JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use apiwright_probe::exchange::Client;
use apiwright_probe::openapi::Api;
use apiwright_probe::security::{self, SecurityOptions};
use apiwright_probe::session::{AuthOptions, Login, Session};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args[1] == "--secrets-only" {
        let findings = security::scan_secrets(
            std::path::Path::new(&args[2]),
            &security::SecretsOptions::default(),
        );
        println!("{}", serde_json::to_string_pretty(&findings).unwrap());
        return;
    }
    let client = Client::new(&args[1], Duration::from_secs(30)).unwrap();
    let document = serde_json::from_str(&std::fs::read_to_string(&args[2]).unwrap()).unwrap();
    let api = Api::from_document(document).unwrap();
    let admin = match (
        std::env::var("ADMIN_EMAIL"),
        std::env::var("ADMIN_PASSWORD"),
    ) {
        (Ok(email), Ok(password)) => Some(Login { email, password }),
        _ => None,
    };
    let session = Session::establish(
        &client,
        &api,
        &AuthOptions {
            admin,
            ..AuthOptions::default()
        },
    )
    .await
    .unwrap();
    let options = SecurityOptions {
        workspace: args.get(3).map(Into::into),
        ..SecurityOptions::default()
    };
    let report = security::run(&client, &api, &session, &options).await;
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
