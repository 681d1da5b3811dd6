//! `apiwright check contract|security|load` as a user types it, against the testbed served
//! in-process on 127.0.0.1:0: the clean service passes (exit 0), a flawed one fails (exit 6)
//! naming what is wrong, and bad input is refused (exit 1) before any traffic.

use std::process::Output;

use apiwright_testbed::AdminAccount;
use apiwright_testbed::Config;
use apiwright_testbed::Flaw;
use serde_json::Value;

use crate::support::Sandbox;

const ADMIN_EMAIL: &str = "root@example.test";
const ADMIN_PASSWORD: &str = "root-password-1";

/// A testbed serving on its own runtime until dropped.
/// The testbed served in-process on a loopback port.
struct Testbed(apiwright_testbed::Background);

impl Testbed {
    fn start(config: Config) -> Testbed {
        Testbed(apiwright_testbed::Background::start(config).unwrap())
    }

    fn url(&self) -> &str {
        &self.0.url
    }
}

/// `config` with the admin account the security checks sign in as.
fn with_admin(mut config: Config) -> Config {
    config.admin = Some(AdminAccount {
        email: ADMIN_EMAIL.into(),
        password: ADMIN_PASSWORD.into(),
    });
    config
}

/// Runs `apiwright check ARGS`, with no check credentials from the environment.
fn check(args: &[&str]) -> Output {
    let sandbox = Sandbox::new();
    let mut full = vec!["check"];
    full.extend_from_slice(args);
    sandbox
        .command(&full)
        .env_remove("APIWRIGHT_CHECK_ADMIN_EMAIL")
        .env_remove("APIWRIGHT_CHECK_ADMIN_PASSWORD")
        .env_remove("APIWRIGHT_CHECK_ADMIN_TOKEN")
        .output()
        .unwrap()
}

/// Asserts the exit code and returns (stdout, stderr).
fn expect(output: &Output, code: i32) -> (String, String) {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

#[test]
fn contract_passes_on_the_clean_service_with_a_row_per_operation() {
    let testbed = Testbed::start(Config::clean());
    let output = check(&[
        "contract",
        "--url",
        testbed.url(),
        "--openapi",
        "/openapi.json",
    ]);
    let (stdout, _) = expect(&output, 0);
    assert!(stdout.starts_with("contract check PASSED: "), "{stdout}");
    assert!(stdout.contains(": 0 violations"), "{stdout}");
    for (method, path) in apiwright_testbed::ROUTES {
        let row = format!("  {method} {path} ");
        assert!(stdout.contains(&row), "no row `{row}` in:\n{stdout}");
    }
    // The violations table (and its pointer to --json) is printed only when there are some.
    assert!(!stdout.contains("are in --json"), "{stdout}");
}

#[test]
fn contract_fails_on_a_schema_violation_and_prints_it() {
    let testbed = Testbed::start(Config::flawed(Flaw::SchemaViolation));
    let output = check(&[
        "contract",
        "--url",
        testbed.url(),
        "--openapi",
        "/openapi.json",
    ]);
    let (stdout, _) = expect(&output, 6);
    assert!(stdout.starts_with("contract check FAILED: "), "{stdout}");
    let row = stdout
        .lines()
        .find(|line| line.contains("GET /api/v1/notes/{id}") && line.contains("schema_mismatch"))
        .unwrap_or_else(|| {
            panic!("no schema_mismatch row for GET /api/v1/notes/{{id}}:\n{stdout}")
        });
    assert!(row.contains("pinned"), "{row}");
    assert!(stdout.contains("(the exact requests and responses are in --json)"));
}

#[test]
fn contract_json_is_the_gate_report() {
    let testbed = Testbed::start(Config::flawed(Flaw::SchemaViolation));
    let output = check(&[
        "contract",
        "--url",
        testbed.url(),
        "--openapi",
        "/openapi.json",
        "--json",
    ]);
    let (stdout, _) = expect(&output, 6);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["outcome"], "failed", "{report}");
    assert!(report["summary"].as_str().unwrap().contains("violations"));
    assert!(report["duration_ms"].is_u64());
    let violation = report["evidence"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|violation| {
            violation["kind"] == "schema_mismatch"
                && violation["operation"] == "GET /api/v1/notes/{id}"
        })
        .unwrap_or_else(|| panic!("{}", report["evidence"]["violations"]));
    assert_eq!(violation["exchange"]["response"]["status"], 200);
}

/// The security check with the admin the testbed created and a burst that reaches its
/// limits quickly.
fn security(testbed: &Testbed) -> Output {
    check(&[
        "security",
        "--url",
        testbed.url(),
        "--openapi",
        "/openapi.json",
        "--admin-email",
        ADMIN_EMAIL,
        "--admin-password",
        ADMIN_PASSWORD,
        "--rate-limit-burst",
        "200",
    ])
}

/// Real limits the burst of 200 reaches: 60 per user, and the testbed's default 120 per IP
/// (the probes send about 80 anonymous requests themselves; below that the inventory probe
/// meets 429s and the check is rightly inconclusive).
fn low_limits(mut config: Config) -> Config {
    config.rate_limit_per_user = 60;
    config.rate_limit_per_ip = 120;
    config
}

#[test]
fn security_passes_on_the_clean_service() {
    let testbed = Testbed::start(with_admin(low_limits(Config::clean())));
    let (stdout, _) = expect(&security(&testbed), 0);
    assert!(stdout.starts_with("security check PASSED: "), "{stdout}");
    assert!(!stdout.contains("(blocking)"), "{stdout}");
    // Every probe is listed with its status.
    for probe in [
        "bola",
        "mass-assignment",
        "injection",
        "inventory",
        "rate-limit",
    ] {
        assert!(
            stdout
                .lines()
                .any(|line| line.trim_start().starts_with(probe) && line.contains("ran")),
            "probe {probe} did not run:\n{stdout}"
        );
    }
}

#[test]
fn security_fails_on_idor_and_names_the_finding() {
    let testbed = Testbed::start(with_admin(low_limits(Config::flawed(Flaw::Idor))));
    let (stdout, _) = expect(&security(&testbed), 6);
    assert!(stdout.starts_with("security check FAILED: "), "{stdout}");
    assert!(stdout.contains("(blocking)"), "{stdout}");
    let row = stdout
        .lines()
        .find(|line| line.trim_start().starts_with("critical") && line.contains("API1:2023"))
        .unwrap_or_else(|| panic!("no critical API1 finding row:\n{stdout}"));
    assert!(row.contains("another user's record"), "{row}");
    assert!(row.contains("/api/v1/notes/{id}"), "{row}");
}

#[test]
fn load_passes_on_the_clean_service_at_modest_objectives() {
    let mut config = Config::clean();
    config.rate_limit_per_user = 1_000_000_000;
    config.rate_limit_per_ip = 1_000_000_000;
    let testbed = Testbed::start(config);
    let output = check(&[
        "load",
        "--url",
        testbed.url(),
        "--openapi",
        "/openapi.json",
        "--rps",
        "100",
        "--duration",
        "2",
        "--stress",
        "1",
        "--spike",
        "1",
        "--spike-factor",
        "2",
        "--p95-ms",
        "200",
    ]);
    let (stdout, _) = expect(&output, 0);
    assert!(stdout.starts_with("load check PASSED: "), "{stdout}");
    assert!(stdout.contains("every objective met"), "{stdout}");
    for scenario in ["sustained", "stress", "spike"] {
        assert!(
            stdout
                .lines()
                .any(|line| line.trim_start().starts_with(scenario)),
            "no {scenario} row:\n{stdout}"
        );
    }
    assert!(!stdout.contains('✗'), "{stdout}");
}

/// Bad input: exit 1 with a message naming what is wrong, and nothing on stdout.
fn refused(args: &[&str], names: &[&str]) {
    let output = check(args);
    let (stdout, stderr) = expect(&output, 1);
    assert_eq!(stdout, "");
    for name in names {
        assert!(stderr.contains(name), "`{name}` not in: {stderr}");
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    // No service listens on this URL: each refusal happens before any traffic.
    let url = "http://127.0.0.1:9";
    refused(
        &[
            "load",
            "--url",
            url,
            "--openapi",
            "/openapi.json",
            "--rps",
            "0",
        ],
        &["--rps", "positive", "0"],
    );
    refused(
        &[
            "security",
            "--url",
            url,
            "--openapi",
            "/openapi.json",
            "--fail-on",
            "nonsense",
        ],
        &["--fail-on", "nonsense", "critical"],
    );
    refused(
        &[
            "contract",
            "--url",
            url,
            "--openapi",
            "no-such-openapi.yaml",
        ],
        &["--openapi", "no-such-openapi.yaml"],
    );
    refused(
        &[
            "contract",
            "--url",
            "https://127.0.0.1:9",
            "--openapi",
            "/openapi.json",
        ],
        &["--url", "https://127.0.0.1:9", "http://"],
    );
}
