//! The built-in load generator: drives HTTP/1.1 load against a running service and measures it.
//!
//! Owns: sending a weighted mix of requests ([`Target`]) in one of three [`Mode`]s — open loop
//! (constant arrival rate, latency measured from each request's *intended* send time, which
//! corrects coordinated omission), closed loop (N keep-alive connections back to back, maximum
//! throughput) and spike (open loop at a base rate, `factor`× for a window, base again, with
//! per-phase numbers) — plus optional RSS sampling of a process (endurance runs), and the
//! resulting [`Report`].
//!
//! Must not: decide pass/fail policy beyond comparing a report with SLA numbers it is given
//! ([`Report::check`]); know anything about workflows, gates, runs or memory. Wiring a load run
//! into a gate belongs to `apiwright-gates`.
//!
//! ```no_run
//! # async fn example() -> Result<(), apiwright_load::LoadError> {
//! use std::time::Duration;
//! use apiwright_load::{Mode, RequestSpec, RunConfig, Slas, Target, run};
//!
//! let get = |path: &str, weight| RequestSpec {
//!     method: "GET".into(),
//!     path: path.into(),
//!     headers: vec![("authorization".into(), "Bearer token".into())],
//!     body: None,
//!     weight,
//! };
//! let config = RunConfig {
//!     target: Target {
//!         base_url: "http://127.0.0.1:8080".into(),
//!         requests: vec![get("/notes", 50), get("/notes/1", 30)],
//!     },
//!     mode: Mode::OpenLoop { rate_per_sec: 200.0, duration: Duration::from_secs(10) },
//!     open_loop_connections: 32,
//!     max_in_flight: 256,
//!     request_timeout: Duration::from_secs(5),
//!     rss: None,
//! };
//! let report = run(&config).await?;
//! let slas = Slas { p95_ms: Some(100.0), rps: Some(200.0), error_rate_percent: Some(1.0), memory_mb: None };
//! for violation in report.check(&slas) {
//!     eprintln!("{violation}");
//! }
//! # Ok(())
//! # }
//! ```
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod client;
mod config;
mod error;
mod report;
mod rss;
mod run;

pub use config::Mode;
pub use config::RequestSpec;
pub use config::RssConfig;
pub use config::RunConfig;
pub use config::Target;
pub use error::LoadError;
pub use error::Result;
pub use report::Latency;
pub use report::PhaseReport;
pub use report::Report;
pub use report::SlaMetric;
pub use report::SlaViolation;
pub use report::Slas;
pub use report::Stats;
pub use rss::RssSample;
pub use rss::RssSeries;
pub use rss::read_rss_kb;
pub use run::run;
