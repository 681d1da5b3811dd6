//! The load generator against a real in-process axum service over real TCP: closed loop, open
//! loop, coordinated-omission correction, error classes, SLA checks, RSS sampling and spikes.

// Test helpers outside #[test] functions may unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod server;

use std::time::Duration;

use apiwright_load::LoadError;
use apiwright_load::Mode;
use apiwright_load::Report;
use apiwright_load::RequestSpec;
use apiwright_load::RssConfig;
use apiwright_load::RunConfig;
use apiwright_load::SlaMetric;
use apiwright_load::Slas;
use apiwright_load::Target;
use apiwright_load::run;

fn get(path: &str) -> RequestSpec {
    RequestSpec {
        method: "GET".into(),
        path: path.into(),
        headers: vec![],
        body: None,
        weight: 1,
    }
}

fn config(base_url: String, requests: Vec<RequestSpec>, mode: Mode) -> RunConfig {
    RunConfig {
        target: Target { base_url, requests },
        mode,
        open_loop_connections: 8,
        max_in_flight: 1000,
        request_timeout: Duration::from_secs(5),
        rss: None,
    }
}

fn assert_percentiles_ordered(report: &Report) {
    let latency = &report.stats.latency_us;
    assert!(
        latency.p50 <= latency.p95 && latency.p95 <= latency.p99 && latency.p99 <= latency.max,
        "{latency:?}"
    );
    assert!(latency.p50 > 0, "{latency:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_counts_every_request_and_throughput_is_requests_over_elapsed() {
    let base_url = server::start().await;
    let mode = Mode::ClosedLoop {
        connections: 2,
        duration: Duration::from_millis(800),
    };
    let report = run(&config(base_url, vec![get("/fast")], mode))
        .await
        .unwrap();

    let stats = &report.stats;
    assert_eq!(report.mode, "closed_loop");
    assert!(stats.requests > 0);
    assert_eq!(stats.ok, stats.requests);
    assert_eq!(
        (stats.errors, stats.client_errors, stats.dropped),
        (0, 0, 0)
    );
    assert_eq!(stats.per_status.get(&200), Some(&stats.requests));
    assert_eq!(stats.latency_us.responses, stats.requests);
    assert!(stats.elapsed_secs >= 0.8, "ran {} s", stats.elapsed_secs);
    let expected_rps = stats.requests as f64 / stats.elapsed_secs;
    assert!(
        (stats.throughput_rps - expected_rps).abs() <= expected_rps * 0.01,
        "{stats:?}"
    );
    assert_percentiles_ordered(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_sends_at_the_offered_rate() {
    let base_url = server::start().await;
    let mode = Mode::OpenLoop {
        rate_per_sec: 200.0,
        duration: Duration::from_secs(2),
    };
    let report = run(&config(base_url, vec![get("/fast")], mode))
        .await
        .unwrap();

    let stats = &report.stats;
    assert_eq!(report.offered_rate_per_sec, Some(200.0));
    assert!((380..=420).contains(&stats.requests), "{stats:?}");
    assert_eq!((stats.ok, stats.dropped), (stats.requests, 0));
    assert!(
        (stats.throughput_rps - 200.0).abs() <= 10.0,
        "achieved {} req/s",
        stats.throughput_rps
    );
    assert_percentiles_ordered(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_latency_includes_waiting_behind_a_stall() {
    // One connection, so requests due while the server stalls on its 100th request queue behind
    // it. A naive client (a closed loop, timing from the actual send) would see exactly one
    // slow response of 300 ms in 300, so its p99 would stay near the fast path. Measured from
    // the intended send times, the ~30 requests due during the stall waited up to 300 ms each
    // (300, 290, 280, ... ms), so at least 1% of requests took 200 ms or more: the corrected p99
    // must be at least 200 ms. (An in-flight cap of 1 would drop those requests instead.)
    let base_url = server::start().await;
    let mut run_config = config(
        base_url,
        vec![get("/stall")],
        Mode::OpenLoop {
            rate_per_sec: 100.0,
            duration: Duration::from_secs(3),
        },
    );
    run_config.open_loop_connections = 1;
    let report = run(&run_config).await.unwrap();

    let latency = &report.stats.latency_us;
    assert_eq!(report.stats.ok, report.stats.requests);
    assert!(
        report.stats.requests >= server::STALL_AT,
        "{:?}",
        report.stats
    );
    assert!(
        latency.max >= server::STALL.as_micros() as u64,
        "{latency:?}"
    );
    assert!(
        latency.p99 >= 200_000,
        "corrected p99 {} µs, expected at least 200 ms",
        latency.p99
    );
    // Most requests were not near the stall.
    assert!(latency.p50 < 100_000, "{latency:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_client_errors_and_transport_errors_are_classified() {
    let base_url = server::start().await;
    let mode = Mode::ClosedLoop {
        connections: 1,
        duration: Duration::from_millis(400),
    };
    let flaky = run(&config(base_url.clone(), vec![get("/flaky")], mode))
        .await
        .unwrap()
        .stats;
    assert!(flaky.requests >= 40, "{flaky:?}");
    assert_eq!(flaky.errors, flaky.per_status[&500]);
    assert_eq!(flaky.transport_errors, 0);
    assert!(
        (flaky.error_rate_percent() - 25.0).abs() <= 1.0,
        "error rate {}%",
        flaky.error_rate_percent()
    );

    // The Authorization header is just a header: with it 200, without it 401 (a client error).
    let mut authorized = get("/auth");
    authorized
        .headers
        .push(("Authorization".into(), "Bearer secret".into()));
    let mode = Mode::OpenLoop {
        rate_per_sec: 100.0,
        duration: Duration::from_millis(400),
    };
    let auth = run(&config(base_url, vec![authorized, get("/auth")], mode))
        .await
        .unwrap()
        .stats;
    assert_eq!(auth.ok, auth.client_errors, "{auth:?}");
    assert_eq!(auth.ok + auth.client_errors, auth.requests);
    assert_eq!((auth.errors, auth.error_rate_percent()), (0, 0.0));

    let mode = Mode::OpenLoop {
        rate_per_sec: 50.0,
        duration: Duration::from_millis(400),
    };
    let refused = run(&config(
        server::closed_port().await,
        vec![get("/fast")],
        mode,
    ))
    .await
    .unwrap()
    .stats;
    assert!(refused.requests >= 19, "{refused:?}");
    assert_eq!(
        (refused.transport_errors, refused.errors, refused.ok),
        (refused.requests, refused.requests, 0)
    );
    assert_eq!(refused.latency_us.responses, 0);
    let message = refused.first_transport_error.clone().unwrap();
    assert!(message.contains("refused"), "{message}");
    assert_eq!(refused.error_rate_percent(), 100.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_later_than_the_timeout_is_a_transport_error() {
    let mut run_config = config(
        server::start().await,
        vec![get("/slow")],
        Mode::OpenLoop {
            rate_per_sec: 20.0,
            duration: Duration::from_millis(200),
        },
    );
    run_config.request_timeout = Duration::from_millis(50);
    let stats = run(&run_config).await.unwrap().stats;
    assert!(stats.requests >= 3, "{stats:?}");
    assert_eq!((stats.transport_errors, stats.ok), (stats.requests, 0));
    assert_eq!(
        stats.first_transport_error.as_deref(),
        Some("no complete response within 50 ms")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_drops_requests_due_while_the_in_flight_cap_is_reached() {
    // Each /slow request takes 500 ms; with a cap of 2, the 3rd to 10th requests (due every
    // 20 ms) find 2 outstanding and are dropped, not delayed.
    let mut run_config = config(
        server::start().await,
        vec![get("/slow")],
        Mode::OpenLoop {
            rate_per_sec: 50.0,
            duration: Duration::from_millis(200),
        },
    );
    run_config.max_in_flight = 2;
    let report = run(&run_config).await.unwrap();
    let stats = &report.stats;
    assert_eq!(
        (stats.requests, stats.ok, stats.dropped),
        (2, 2, 8),
        "{stats:?}"
    );
    assert_eq!(stats.error_rate_percent(), 80.0);
    let slas = Slas {
        p95_ms: None,
        rps: None,
        error_rate_percent: Some(1.0),
        memory_mb: None,
    };
    assert_eq!(report.check(&slas)[0].metric, SlaMetric::ErrorRate);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_check_reports_what_is_exceeded_and_nothing_for_generous_slas() {
    let base_url = server::start().await;
    let mode = Mode::OpenLoop {
        rate_per_sec: 100.0,
        duration: Duration::from_millis(500),
    };
    let report = run(&config(base_url, vec![get("/fast")], mode))
        .await
        .unwrap();
    let measured_p95_ms = report.stats.latency_us.p95 as f64 / 1000.0;

    let strict = Slas {
        p95_ms: Some(measured_p95_ms / 2.0),
        rps: Some(report.stats.throughput_rps * 2.0),
        error_rate_percent: Some(0.0),
        memory_mb: Some(1.0),
    };
    let violations = report.check(&strict);
    let metrics: Vec<SlaMetric> = violations
        .iter()
        .map(|violation| violation.metric)
        .collect();
    // No errors, so the error rate SLA of 0% holds; memory was not sampled, so it cannot hold.
    assert_eq!(
        metrics,
        vec![
            SlaMetric::P95Latency,
            SlaMetric::Throughput,
            SlaMetric::Memory
        ]
    );
    for violation in &violations {
        let message = violation.to_string();
        assert!(
            message.contains("expected") && message.contains("found"),
            "{message}"
        );
    }

    let generous = Slas {
        p95_ms: Some(10_000.0),
        rps: Some(1.0),
        error_rate_percent: Some(5.0),
        memory_mb: None,
    };
    assert_eq!(report.check(&generous), vec![]);

    // The report is evidence stored as JSON; it must read back (floats to within rounding).
    let json = serde_json::to_string(&report).unwrap();
    let read_back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(read_back.stats.per_status, report.stats.per_status);
    assert_eq!(read_back.stats.latency_us.p95, report.stats.latency_us.p95);
    assert_eq!(read_back.stats.requests, report.stats.requests);
    assert!((read_back.stats.throughput_rps - report.stats.throughput_rps).abs() < 1e-9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rss_of_a_running_process_is_sampled() {
    let base_url = server::start().await;
    let mut run_config = config(
        base_url,
        vec![get("/fast")],
        Mode::OpenLoop {
            rate_per_sec: 50.0,
            duration: Duration::from_millis(500),
        },
    );
    run_config.rss = Some(RssConfig {
        pid: std::process::id(),
        interval: Duration::from_millis(100),
    });
    let report = run(&run_config).await.unwrap();

    let rss = report.rss.unwrap();
    assert!(rss.samples.len() >= 2, "{rss:?}");
    assert!(
        rss.samples.iter().all(|sample| sample.rss_kb > 0),
        "{rss:?}"
    );
    assert!(
        rss.samples
            .windows(2)
            .all(|pair| pair[0].at_ms <= pair[1].at_ms),
        "{rss:?}"
    );
    assert_eq!(rss.first_kb, rss.samples[0].rss_kb);
    assert_eq!(rss.last_kb, rss.samples[rss.samples.len() - 1].rss_kb);
    assert_eq!(
        rss.max_kb,
        rss.samples
            .iter()
            .map(|sample| sample.rss_kb)
            .max()
            .unwrap()
    );
    assert_eq!(rss.growth_kb, rss.last_kb as i64 - rss.first_kb as i64);
    assert_eq!(rss.stopped_early, None);

    run_config.rss = Some(RssConfig {
        pid: u32::MAX,
        interval: Duration::from_millis(100),
    });
    assert!(matches!(
        run(&run_config).await,
        Err(LoadError::Rss { pid: u32::MAX, .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spike_reports_each_phase_in_proportion_to_its_rate() {
    let base_url = server::start().await;
    let mode = Mode::Spike {
        base_rate: 50.0,
        factor: 5.0,
        base: Duration::from_millis(500),
        spike: Duration::from_millis(500),
    };
    let report = run(&config(base_url, vec![get("/fast")], mode))
        .await
        .unwrap();

    assert_eq!(report.mode, "spike");
    let names: Vec<&str> = report
        .phases
        .iter()
        .map(|phase| phase.name.as_str())
        .collect();
    assert_eq!(names, ["base", "spike", "recovery"]);
    let due: Vec<u64> = report
        .phases
        .iter()
        .map(|phase| phase.stats.requests + phase.stats.dropped)
        .collect();
    // 50/s, 250/s and 50/s for half a second each.
    for (found, expected) in due.iter().zip([25u64, 125, 25]) {
        assert!(found.abs_diff(expected) <= 1, "phases due {due:?}");
    }
    assert_eq!(
        report.stats.requests,
        report
            .phases
            .iter()
            .map(|phase| phase.stats.requests)
            .sum::<u64>()
    );
    assert!(
        (report.phases[1].stats.throughput_rps - 250.0).abs() <= 12.5,
        "{:?}",
        report.phases[1].stats
    );
}

#[tokio::test]
async fn invalid_configurations_are_errors() {
    let mode = Mode::OpenLoop {
        rate_per_sec: f64::NAN,
        duration: Duration::from_secs(1),
    };
    let error = run(&config("http://127.0.0.1:9".into(), vec![get("/")], mode))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid mode.rate_per_sec: expected a finite number above 0, found NaN"
    );
    let mode = Mode::ClosedLoop {
        connections: 0,
        duration: Duration::from_secs(1),
    };
    assert!(
        run(&config("http://127.0.0.1:9".into(), vec![get("/")], mode))
            .await
            .is_err()
    );
}
