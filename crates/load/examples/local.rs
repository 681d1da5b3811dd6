//! Runs each mode for a second against an in-process axum service and prints the reports as
//! JSON: `cargo run --release -p apiwright-load --example local`.

use std::time::Duration;

use apiwright_load::Mode;
use apiwright_load::RequestSpec;
use apiwright_load::RssConfig;
use apiwright_load::RunConfig;
use apiwright_load::Slas;
use apiwright_load::Target;
use apiwright_load::run;
use axum::Router;
use axum::routing::get;
use axum::routing::post;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let router = Router::new()
        .route(
            "/notes",
            get(|| async { "[]" }).post(|body: String| async move { body }),
        )
        .route(
            "/notes/{id}",
            get(|| async { "{}" }).put(|body: String| async move { body }),
        )
        .route("/reset", post(|| async { "" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });

    let request = |method: &str, path: &str, body: Option<&str>, weight| RequestSpec {
        method: method.into(),
        path: path.into(),
        headers: vec![("authorization".into(), "Bearer example".into())],
        body: body.map(|text| text.as_bytes().to_vec()),
        weight,
    };
    let target = Target {
        base_url,
        requests: vec![
            request("GET", "/notes", None, 50),
            request("GET", "/notes/1", None, 30),
            request("POST", "/notes", Some(r#"{"title":"a"}"#), 15),
            request("PUT", "/notes/1", Some(r#"{"title":"b"}"#), 5),
        ],
    };
    let second = Duration::from_secs(1);
    let modes = [
        Mode::ClosedLoop {
            connections: 4,
            duration: second,
        },
        Mode::OpenLoop {
            rate_per_sec: 500.0,
            duration: second,
        },
        Mode::Spike {
            base_rate: 200.0,
            factor: 10.0,
            base: second / 2,
            spike: second / 2,
        },
    ];
    let slas = Slas {
        p95_ms: Some(50.0),
        rps: Some(400.0),
        error_rate_percent: Some(1.0),
        memory_mb: Some(512.0),
    };
    for mode in modes {
        let config = RunConfig {
            target: target.clone(),
            mode,
            open_loop_connections: 16,
            max_in_flight: 256,
            request_timeout: Duration::from_secs(5),
            rss: Some(RssConfig {
                pid: std::process::id(),
                interval: Duration::from_millis(250),
            }),
        };
        let report = run(&config).await?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        for violation in report.check(&slas) {
            println!("SLA violation: {violation}");
        }
    }
    Ok(())
}
