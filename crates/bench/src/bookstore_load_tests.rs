use pretty_assertions::assert_eq;

use super::*;

fn row(rps: f64) -> Row {
    Row {
        tool: "apiwright-load".into(),
        round: 1,
        requests: 1000,
        errors: 0,
        rps,
        p50_us: 500.0,
        p95_us: Some(900.0),
        p99_us: 1500.0,
    }
}

fn sustained(achieved_rps: f64, p95_ms: f64, error_rate_percent: f64) -> SustainedRow {
    SustainedRow {
        round: 1,
        requests: 10_000,
        client_errors: 0,
        errors: 0,
        dropped: 0,
        error_rate_percent,
        achieved_rps,
        p50_ms: 0.5,
        p95_ms,
        p99_ms: 2.0,
        max_ms: 9.0,
        max_rss_mb: 20.0,
    }
}

fn results(mix_rows: Vec<Row>, sustained_rows: Vec<SustainedRow>, max_rss_mb: f64) -> Results {
    Results {
        source: "test".into(),
        build_secs: 1.0,
        mix: Vec::new(),
        left_out: Vec::new(),
        records_seeded: 0,
        totals_before: Vec::new(),
        totals_after: Vec::new(),
        idle_rss_mb: 10.0,
        list_rows: Vec::new(),
        mix_rows,
        sustained_rows,
        max_rss_mb,
    }
}

#[test]
fn every_objective_is_judged_on_the_worst_round_with_its_margin() {
    let results = results(
        vec![row(6000.0), row(5000.0)],
        vec![sustained(1000.0, 0.8, 0.0), sustained(999.5, 1.6, 0.0)],
        25.6,
    );
    // 512 / 25.6 = 20: ten and more without decimals, below ten with one.
    let assessed = results.assess();
    assert_eq!(
        assessed
            .iter()
            .map(|a| (a.margin.as_str(), a.met))
            .collect::<Vec<_>>(),
        vec![
            ("5.0× (maximum / target)", true),
            ("125×", true),
            ("no errors", true),
            ("20×", true),
        ]
    );
    assert_eq!(
        assessed[0].measured,
        "1000 req/s completed without error at the 1000 req/s schedule; maximum 5000 req/s (mix, closed loop)"
    );
    assert_eq!(assessed[1].measured, "p95 1.60 ms at 1000 req/s");
    let slower = super::Results {
        sustained_rows: vec![sustained(1000.0, 87.0, 0.0)],
        ..results
    };
    assert_eq!(slower.assess()[1].margin, "2.3×");
}

#[test]
fn a_missed_objective_is_not_met() {
    let results = results(vec![row(900.0)], vec![sustained(950.0, 250.0, 0.5)], 600.0);
    let met: Vec<bool> = results.assess().iter().map(|a| a.met).collect();
    assert_eq!(met, vec![false, false, false, false]);
}

#[test]
fn nothing_measured_meets_nothing() {
    let results = results(Vec::new(), Vec::new(), 0.0);
    assert!(results.assess().iter().all(|a| !a.met));
}
