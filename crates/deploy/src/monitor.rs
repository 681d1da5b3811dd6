//! Seed 000's alerts, evaluated on figures measured on the live deployment: p95 latency,
//! error rate, availability and database pool usage.

use serde::Deserialize;
use serde::Serialize;

/// The thresholds (seed 000: p95 > 500 ms warning, > 1000 ms critical; error rate > 1%
/// warning, > 5% critical; availability < 99.9% critical; pool > 80% warning).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertThresholds {
    pub p95_warning_ms: f64,
    pub p95_critical_ms: f64,
    pub error_rate_warning_percent: f64,
    pub error_rate_critical_percent: f64,
    pub availability_critical_percent: f64,
    pub db_pool_warning_percent: f64,
}

impl Default for AlertThresholds {
    fn default() -> Self {
        Self {
            p95_warning_ms: 500.0,
            p95_critical_ms: 1000.0,
            error_rate_warning_percent: 1.0,
            error_rate_critical_percent: 5.0,
            availability_critical_percent: 99.9,
            db_pool_warning_percent: 80.0,
        }
    }
}

/// What the live service did during the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveFigures {
    pub requests: u64,
    /// 5xx responses and requests that got no response.
    pub failures: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub throughput_rps: f64,
    pub error_rate_percent: f64,
    pub availability_percent: f64,
    /// Highest sampled share of the database pool in use; `None` when the service does not
    /// publish `db_pool_connections_in_use` and `db_pool_connections_max` in `/metrics`.
    pub db_pool_max_usage_percent: Option<f64>,
}

/// How serious an alert is (ordered: a warning is below a critical alert).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Warning,
    Critical,
}

/// An alert that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub level: Level,
    pub metric: String,
    pub value: f64,
    pub threshold: f64,
    pub message: String,
}

/// The alerts `figures` raise under `thresholds`, critical first per metric (a metric past
/// its critical threshold raises only the critical alert).
pub fn evaluate(figures: &LiveFigures, thresholds: &AlertThresholds) -> Vec<Alert> {
    let mut alerts = Vec::new();
    let mut above =
        |metric: &str, value: f64, warning: Option<f64>, critical: Option<f64>, unit: &str| {
            let (level, threshold) = match (critical, warning) {
                (Some(limit), _) if value > limit => (Level::Critical, limit),
                (_, Some(limit)) if value > limit => (Level::Warning, limit),
                _ => return,
            };
            alerts.push(Alert {
                level,
                metric: metric.into(),
                value,
                threshold,
                message: format!("{metric} {value:.2}{unit} is above {threshold}{unit}"),
            });
        };
    if figures.requests > 0 {
        above(
            "p95_ms",
            figures.p95_ms,
            Some(thresholds.p95_warning_ms),
            Some(thresholds.p95_critical_ms),
            " ms",
        );
        above(
            "error_rate_percent",
            figures.error_rate_percent,
            Some(thresholds.error_rate_warning_percent),
            Some(thresholds.error_rate_critical_percent),
            "%",
        );
    }
    if let Some(usage) = figures.db_pool_max_usage_percent {
        above(
            "db_pool_usage_percent",
            usage,
            Some(thresholds.db_pool_warning_percent),
            None,
            "%",
        );
    }
    if figures.requests == 0 {
        alerts.push(Alert {
            level: Level::Critical,
            metric: "availability_percent".into(),
            value: 0.0,
            threshold: thresholds.availability_critical_percent,
            message: "no request reached the live service during the window: availability cannot be shown".into(),
        });
    } else if figures.availability_percent < thresholds.availability_critical_percent {
        alerts.push(Alert {
            level: Level::Critical,
            metric: "availability_percent".into(),
            value: figures.availability_percent,
            threshold: thresholds.availability_critical_percent,
            message: format!(
                "availability {:.3}% is below {}%",
                figures.availability_percent, thresholds.availability_critical_percent
            ),
        });
    }
    alerts
}

/// The database pool usage in percent from a Prometheus text exposition, if it has both
/// gauges.
pub fn pool_usage_percent(metrics: &str) -> Option<f64> {
    let gauge = |name: &str| {
        metrics.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?;
            // `name value` or `name{labels} value`; not a longer name with this prefix.
            let rest = if let Some(labelled) = rest.strip_prefix('{') {
                &labelled[labelled.find('}')? + 1..]
            } else {
                rest
            };
            if !rest.starts_with(' ') {
                return None;
            }
            rest.split_whitespace().next()?.parse::<f64>().ok()
        })
    };
    let in_use = gauge("db_pool_connections_in_use")?;
    let max = gauge("db_pool_connections_max")?;
    (max > 0.0).then(|| in_use * 100.0 / max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(p95_ms: f64, failures: u64, requests: u64) -> LiveFigures {
        #[allow(clippy::cast_precision_loss)]
        let error_rate = failures as f64 * 100.0 / requests.max(1) as f64;
        LiveFigures {
            requests,
            failures,
            p50_ms: 1.0,
            p95_ms,
            p99_ms: p95_ms,
            throughput_rps: 10.0,
            error_rate_percent: error_rate,
            availability_percent: 100.0 - error_rate,
            db_pool_max_usage_percent: None,
        }
    }

    fn levels(alerts: &[Alert]) -> Vec<(String, String)> {
        alerts
            .iter()
            .map(|alert| {
                let level = match alert.level {
                    Level::Warning => "warning",
                    Level::Critical => "critical",
                };
                (alert.metric.clone(), level.to_string())
            })
            .collect()
    }

    #[test]
    fn healthy_figures_raise_nothing() {
        assert!(evaluate(&figures(20.0, 0, 1000), &AlertThresholds::default()).is_empty());
    }

    #[test]
    fn seed_thresholds_pick_the_right_level() {
        let thresholds = AlertThresholds::default();
        assert_eq!(
            levels(&evaluate(&figures(600.0, 0, 1000), &thresholds)),
            [("p95_ms".to_string(), "warning".to_string())]
        );
        assert_eq!(
            levels(&evaluate(&figures(1200.0, 0, 1000), &thresholds)),
            [("p95_ms".to_string(), "critical".to_string())]
        );
        // 2% errors: error-rate warning, and availability 98% < 99.9% critical.
        assert_eq!(
            levels(&evaluate(&figures(10.0, 20, 1000), &thresholds)),
            [
                ("error_rate_percent".to_string(), "warning".to_string()),
                ("availability_percent".to_string(), "critical".to_string())
            ]
        );
        let mut busy = figures(10.0, 0, 1000);
        busy.db_pool_max_usage_percent = Some(87.5);
        assert_eq!(
            levels(&evaluate(&busy, &thresholds)),
            [("db_pool_usage_percent".to_string(), "warning".to_string())]
        );
    }

    #[test]
    fn a_window_without_traffic_cannot_show_availability() {
        let alerts = evaluate(&figures(0.0, 0, 0), &AlertThresholds::default());
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].message.contains("no request"));
    }

    #[test]
    fn pool_usage_is_read_from_prometheus_text() {
        let text = "# TYPE db_pool_connections_in_use gauge\ndb_pool_connections_in_use 6\ndb_pool_connections_in_use_total 99\ndb_pool_connections_max{pool=\"main\"} 8\n";
        assert_eq!(pool_usage_percent(text), Some(75.0));
        assert_eq!(pool_usage_percent("http_requests_total 3\n"), None);
    }
}
