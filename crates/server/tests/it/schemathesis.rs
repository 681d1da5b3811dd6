//! Schemathesis fuzzes the real server from the document it serves: no 5xx, and every response
//! has a documented status, content type, headers and body schema.
//!
//! The `schemathesis` CLI (PyPI) is required, never skipped: `APIWRIGHT_SCHEMATHESIS` names
//! the binary, else `schemathesis` on `PATH`. `.ci/run` installs it.

use std::path::PathBuf;
use std::time::Duration;

use crate::TestServer;

/// Cases per operation and phase; the run takes well under a minute.
const MAX_EXAMPLES: &str = "50";

/// Operations whose 422 on a body or query that matches the document is right: what makes the
/// values acceptable is beyond a schema, so schemathesis's `positive_data_acceptance` check
/// also accepts 422 there (every other operation must accept what its schema allows).
/// - `register_workflow`: the YAML must load as a workflow (`validate_workflow` says why not).
/// - `start_run`, `execute_workflow`: the workflow's parameters, its structured spec and its
///   agents are checked against the workflow (the test host plays only roles with a
///   `command`: a built-in workflow's agents are refused).
/// - `decide_approval`: a rejection needs a reason that is not blank.
/// - `list_runs`: `cursor` must be a `next_cursor` this endpoint returned.
/// - `list_memory`: `pattern` and `prefix` are exclusive.
const SEMANTIC_422: [&str; 6] = [
    "register_workflow",
    "start_run",
    "execute_workflow",
    "decide_approval",
    "list_runs",
    "list_memory",
];

/// `schemathesis.toml`: the operations of [`SEMANTIC_422`] accept 422 as well as the
/// statuses `positive_data_acceptance` accepts by default.
fn config() -> String {
    let operations = SEMANTIC_422
        .iter()
        .map(|id| format!("\"{id}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "[[operations]]\n\
         include-operation-id = [{operations}]\n\
         checks.positive_data_acceptance.expected-statuses = \
         [\"2xx\", \"3xx\", \"401\", \"403\", \"404\", \"409\", \"422\", \"429\", \"5xx\"]\n"
    )
}

/// A hard stop for the child, should it hang.
const TIMEOUT: Duration = Duration::from_secs(240);

fn schemathesis_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("APIWRIGHT_SCHEMATHESIS").filter(|path| !path.is_empty()) {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("schemathesis"))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "schemathesis is not installed: install it with `python3 -m pip install \
                 schemathesis`, or set APIWRIGHT_SCHEMATHESIS to its binary"
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_undocumented_response() {
    let binary = schemathesis_binary();
    let server = TestServer::start().await;
    let tokens = server.admin_tokens().await;
    // Schemathesis authenticates with an admin API key, not the JWT: it calls every operation,
    // and `POST /api/v1/auth/logout` revokes the access token used (an API key it cannot
    // revoke), so a JWT would stop working halfway. `DELETE /api/v1/api-keys/{id}` stays
    // fuzzed: its ids are random strings, and the one link schemathesis infers feeds it the id
    // of a key it has just created; our key's id appears only in the list of keys, which it
    // links to nothing. Were the key revoked, the 401s would pass as documented but test
    // less: the end of the test checks it still works.
    let (_, key) = server.api_key(&tokens.access, "admin").await;
    // Schemathesis writes nothing here (no example database, no report), but keep its working
    // directory out of the repository anyway.
    let work = tempfile::tempdir().unwrap();
    let config_file = work.path().join("schemathesis.toml");
    std::fs::write(&config_file, config()).unwrap();
    let config_file = config_file.display().to_string();
    let document = server.url("/openapi.json");
    let authorization = format!("Authorization: Bearer {key}");
    let arguments = [
        "--no-color",
        "--config-file",
        &config_file,
        "run",
        &document,
        "--header",
        &authorization,
        // Every check of schemathesis 4, named so that a new one does not fail the build
        // unannounced.
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,\
         response_headers_conformance,response_schema_conformance,negative_data_rejection,\
         positive_data_acceptance,missing_required_header,unsupported_method,\
         allow_header_conformance,use_after_free,ensure_resource_availability,ignored_auth,\
         object_level_authorization",
        // Stateful: sequences along the links it infers (create an API key, then revoke it).
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        MAX_EXAMPLES,
        // Reproducible: the same document yields the same cases.
        "--seed",
        "1",
        "--generation-database",
        "none",
        // Keep the key: generated `X-API-Key` values would not replace it anyway.
        "--generation-with-security-parameters",
        "false",
        "--workers",
        "2",
        "--request-timeout",
        "10",
    ];
    let mut command = tokio::process::Command::new(&binary);
    command
        .args(arguments)
        .current_dir(work.path())
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    let output = tokio::time::timeout(TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("schemathesis ran longer than {TIMEOUT:?}"))
        .unwrap_or_else(|err| panic!("cannot run {}: {err}", binary.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis {} failed ({}):\n{stdout}\n{stderr}",
        arguments.join(" ").replace(&key, "KEY"),
        output.status
    );
    // Shown with `--nocapture`: operations, cases and phases.
    eprintln!("{stdout}");
    // A run that tested nothing also exits 0.
    assert!(
        stdout.contains("passed") && !stdout.contains("No operations"),
        "{stdout}"
    );
    let me = server
        .client
        .get(server.url("/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status(),
        reqwest::StatusCode::OK,
        "schemathesis revoked its own API key"
    );
    server.stop().await;
}
