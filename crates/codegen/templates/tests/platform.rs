//! Tests of what the scaffold provides before any item is implemented: health, metrics, the
//! problem responses for unknown routes, security headers, request ids, trace context,
//! configuration, migrations (up, down, seed), the account bootstrap, the rate limiter, and
//! serving over TCP with graceful shutdown.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{PASSWORD, TestApp, assert_problem, temp_database_path};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use {{ lib_name }}::metrics::{Metrics, PoolUsage};
use {{ lib_name }}::rate_limit::RateLimiter;
use {{ lib_name }}::{AppConfig, bootstrap_admin, build_app, db, ensure_user, serve};

#[tokio::test]
async fn health_reports_the_database() {
    let app = TestApp::new();
    let response = app.get("/health", None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["status"], "ok");
    assert_eq!(response.body["database"], "ok");
}

#[tokio::test]
async fn every_response_has_security_headers_and_a_request_id() {
    let app = TestApp::new();
    for path in ["/health", "/nowhere"] {
        let response = app.get(path, None).await;
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(response.header("x-frame-options"), Some("DENY"));
        assert_eq!(response.header("cache-control"), Some("no-store"));
        assert_eq!(
            response.header("content-security-policy"),
            Some("default-src 'none'")
        );
        assert!(response.header("access-control-allow-origin").is_none());
        assert!(
            response
                .header("x-request-id")
                .is_some_and(|id| id.len() == 36)
        );
    }
    let request = Request::get("/health")
        .header("x-request-id", "trace-42")
        .body(Body::empty())
        .expect("a valid request");
    let response = app.send(request).await;
    assert_eq!(response.header("x-request-id"), Some("trace-42"));
}

/// `(trace id, span id)` of a well-formed `traceparent` response header.
fn trace_of(response: &common::TestResponse) -> (String, String) {
    let header = response
        .header("traceparent")
        .expect("a traceparent header");
    let parts: Vec<&str> = header.split('-').collect();
    assert_eq!(parts.len(), 4, "{header}");
    assert_eq!(parts[0], "00", "{header}");
    assert_eq!(parts[1].len(), 32, "{header}");
    assert_eq!(parts[2].len(), 16, "{header}");
    assert!(
        parts[1..3]
            .iter()
            .all(|part| part.bytes().all(|b| b.is_ascii_hexdigit()))
    );
    (parts[1].to_owned(), parts[2].to_owned())
}

#[tokio::test]
async fn requests_join_the_callers_trace_or_start_one() {
    let app = TestApp::new();
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let request = Request::get("/health")
        .header("traceparent", parent)
        .body(Body::empty())
        .expect("a valid request");
    let (trace, span) = trace_of(&app.send(request).await);
    assert_eq!(
        trace, "4bf92f3577b34da6a3ce929d0e0e4736",
        "the caller's trace continues"
    );
    assert_ne!(span, "00f067aa0ba902b7", "this service's span is its own");

    let (fresh, _) = trace_of(&app.get("/health", None).await);
    let (other, _) = trace_of(&app.get("/health", None).await);
    assert_ne!(
        fresh, other,
        "requests without a caller start their own traces"
    );

    for malformed in [
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "garbage",
    ] {
        let request = Request::get("/health")
            .header("traceparent", malformed)
            .body(Body::empty())
            .expect("a valid request");
        let (trace, _) = trace_of(&app.send(request).await);
        assert_ne!(
            trace, "4bf92f3577b34da6a3ce929d0e0e4736",
            "{malformed} is not continued"
        );
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = TestApp::new();
    assert_problem(&app.get("/nowhere", None).await, StatusCode::NOT_FOUND);
    let response = app
        .call(axum::http::Method::POST, "/health", None, None)
        .await;
    assert_problem(&response, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = TestApp::new();
    app.get("/health", None).await;
    app.get("/nowhere/42", None).await;
    let response = app.get("/metrics", None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/plain"))
    );
    let text = response.text;
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/health",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
    assert!(text.contains(r#"http_request_duration_seconds_bucket{method="GET",route="/health",status="200",le="+Inf"} 1"#), "{text}");
    assert!(text.contains("http_request_duration_seconds_count"));
}

#[tokio::test]
async fn metrics_report_the_database_pool() {
    let app = TestApp::with_config(|config| config.db_pool_size = 3);
    app.get("/health", None).await;
    let response = app.get("/metrics", None).await;
    assert_eq!(response.status, StatusCode::OK);
    let text = response.text;
    for name in ["db_pool_connections_in_use", "db_pool_connections_max"] {
        assert!(text.contains(&format!("\n# HELP {name} ")), "{text}");
        assert!(text.contains(&format!("\n# TYPE {name} gauge\n")), "{text}");
    }
    // Nothing else is running: no connection is lent while /metrics renders.
    assert!(text.contains("\ndb_pool_connections_in_use 0\n"), "{text}");
    assert!(text.contains("\ndb_pool_connections_max 3\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_gauges_count_the_connections_lent() {
    let path = temp_database_path();
    let db = db::Db::open(&path, 2).expect("the database opens");
    assert_eq!(db.connections_in_use(), 0);
    assert_eq!(db.max_connections(), 2);
    let (entered, has_entered) = tokio::sync::oneshot::channel::<()>();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let held = tokio::spawn({
        let db = db.clone();
        async move {
            db.call(move |_conn| {
                let _ = entered.send(());
                let _ = released.recv();
                Ok(())
            })
            .await
        }
    });
    has_entered.await.expect("the work holds a connection");
    let usage = PoolUsage {
        in_use: db.connections_in_use(),
        max: db.max_connections(),
    };
    assert_eq!(usage, PoolUsage { in_use: 1, max: 2 });
    let text = Metrics::default().render(usage);
    assert!(text.contains("\ndb_pool_connections_in_use 1\n"), "{text}");
    assert!(text.contains("\ndb_pool_connections_max 2\n"), "{text}");
    release.send(()).expect("the work is waiting");
    let finished = held.await.expect("the task finished");
    assert!(finished.is_ok(), "{finished:?}");
    assert_eq!(db.connections_in_use(), 0);
    drop(db);
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

#[test]
fn configuration_comes_from_the_environment() {
    let lookup = |vars: &[(&str, &str)]| {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        AppConfig::from_lookup(move |name| vars.get(name).cloned())
    };
    let defaults = lookup(&[]).expect("defaults");
    assert_eq!(defaults.port, 8080);
    assert!(!defaults.expose_reset_tokens);
    assert!(defaults.admin.is_none());
    assert!(
        !format!("{defaults:?}")
            .contains(&String::from_utf8_lossy(&defaults.jwt_secret).into_owned())
    );

    let secret = "s".repeat(32);
    let config = lookup(&[
        ("APP_ENV", "production"),
        ("JWT_SECRET", &secret),
        ("DATABASE_PATH", "/tmp/x.db"),
        ("PORT", "9000"),
        ("RATE_LIMIT_PER_USER", "7"),
        ("RATE_LIMIT_PER_IP", "3"),
        ("EXPOSE_RESET_TOKENS", "true"),
        ("ADMIN_EMAIL", "root@example.com"),
        ("ADMIN_PASSWORD", PASSWORD),
    ])
    .expect("a full configuration");
    assert_eq!(config.jwt_secret, secret.as_bytes());
    assert_eq!(config.database_path.to_str(), Some("/tmp/x.db"));
    assert_eq!(config.port, 9000);
    assert_eq!(config.rate_limit_per_user, 7);
    assert_eq!(config.rate_limit_per_ip, 3);
    assert!(config.expose_reset_tokens);
    assert!(config.admin.is_some());

    let errors = [
        lookup(&[("APP_ENV", "production")]),
        lookup(&[("JWT_SECRET", "short")]),
        lookup(&[("PORT", "eighty")]),
        lookup(&[("EXPOSE_RESET_TOKENS", "maybe")]),
        lookup(&[("ADMIN_EMAIL", "root@example.com")]),
    ];
    for result in errors {
        let error = result.expect_err("an invalid configuration");
        assert!(!error.to_string().is_empty());
    }
}

#[test]
fn migrations_go_up_and_down_and_the_seed_applies() {
    let path = temp_database_path();
    let mut conn = db::connect(&path).expect("the database opens");
    let tables = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            [],
            |row| row.get(0),
        )
        .expect("a count")
    };
    db::migrate(&mut conn).expect("up");
    assert!(tables(&conn) > 3);
    db::migrate(&mut conn).expect("up again is a no-op");
    db::seed(&mut conn).expect("the seed applies");
    db::migrate_down(&mut conn).expect("down");
    assert_eq!(tables(&conn), 0);
    db::migrate(&mut conn).expect("up after down");
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[test]
fn accounts_are_validated_and_updated_in_place() {
    let app = TestApp::new();
    let first = bootstrap_admin(&app.config, "root@example.com", PASSWORD).expect("created");
    let again =
        bootstrap_admin(&app.config, "ROOT@example.com", "another password").expect("updated");
    assert_eq!(first, again);
    let invalid = [
        ensure_user(&app.config, "not-an-email", PASSWORD, "admin"),
        ensure_user(&app.config, "a@example.com", "short", "admin"),
        ensure_user(&app.config, "a@example.com", PASSWORD, "no-such-role"),
    ];
    for result in invalid {
        let error = result.expect_err("an invalid account");
        assert!(error.to_string().starts_with("account: "));
    }
}

#[test]
fn an_unusable_database_path_fails_the_start() {
    let config = AppConfig::new("/nonexistent-directory/for/sure/app.db");
    let error = build_app(config).expect_err("no database");
    assert!(error.to_string().starts_with("database: "));
}

#[test]
fn the_rate_limiter_counts_per_key_and_window() {
    let limiter = RateLimiter::new(Duration::from_millis(200), 3);
    assert_eq!(limiter.check("a", 2), Ok(()));
    assert_eq!(limiter.check("a", 2), Ok(()));
    assert!(limiter.check("a", 2).is_err_and(|seconds| seconds >= 1));
    assert_eq!(limiter.check("b", 2), Ok(()));
    std::thread::sleep(Duration::from_millis(250));
    // "a" starts a new window; the fourth key prunes the expired window of "b".
    assert_eq!(limiter.check("a", 2), Ok(()));
    assert_eq!(limiter.check("c", 2), Ok(()));
    assert_eq!(limiter.check("d", 2), Ok(()));
}

#[tokio::test]
async fn serves_over_tcp_until_shutdown() {
    let path = temp_database_path();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(AppConfig::new(&path), listener, async {
        let _ = stopped.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connected");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("sent");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("received");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    stop.send(()).expect("the server is running");
    server.await.expect("joined").expect("a clean shutdown");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
