//! Resident set size sampling of a process from `/proc/PID/status` (`VmRSS`), Linux only.

use std::time::Duration;
use std::time::Instant;

use serde::Deserialize;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::error::LoadError;
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RssSample {
    /// Milliseconds since sampling started.
    pub at_ms: u64,
    pub rss_kb: u64,
}

/// The RSS series of a run: one sample before the load, one per interval, one after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RssSeries {
    pub pid: u32,
    pub interval_ms: u64,
    pub samples: Vec<RssSample>,
    pub first_kb: u64,
    pub max_kb: u64,
    pub last_kb: u64,
    /// `last_kb - first_kb` (negative when the process shrank).
    pub growth_kb: i64,
    /// Why sampling stopped before the run ended (e.g. the process exited), if it did.
    pub stopped_early: Option<String>,
}

/// The current `VmRSS` of `pid` in kB (a read of a small procfs file; it does not block).
pub fn read_rss_kb(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let error = |reason: String| LoadError::Rss {
        pid,
        path: path.clone(),
        reason,
    };
    let status = std::fs::read_to_string(&path).map_err(|io_error| error(io_error.to_string()))?;
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .ok_or_else(|| error("no VmRSS line (a kernel thread or zombie?)".into()))?;
    let kb = line.trim().trim_end_matches("kB").trim();
    kb.parse()
        .map_err(|_| error(format!("VmRSS value {:?}", line.trim())))
}

/// A running sampler; [`Sampler::finish`] takes the last sample and returns the series.
#[derive(Debug)]
pub(crate) struct Sampler {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<RssSeries>,
}

impl Sampler {
    /// Fails if the process cannot be read now; later read failures end sampling early.
    pub(crate) async fn start(pid: u32, interval: Duration) -> Result<Sampler> {
        let started = Instant::now();
        let first = read_rss_kb(pid)?;
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut samples = vec![RssSample {
                at_ms: 0,
                rss_kb: first,
            }];
            let mut stopped_early = None;
            let mut ticker =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            let mut running = true;
            while running {
                running = tokio::select! {
                    _ = ticker.tick() => true,
                    _ = &mut stopped => false,
                };
                match read_rss_kb(pid) {
                    Ok(rss_kb) => samples.push(RssSample {
                        at_ms: elapsed_ms(started),
                        rss_kb,
                    }),
                    Err(error) => {
                        stopped_early = Some(error.to_string());
                        break;
                    }
                }
            }
            summarize(pid, interval, samples, stopped_early)
        });
        Ok(Sampler { stop, task })
    }

    pub(crate) async fn finish(self) -> Result<RssSeries> {
        // The task may already have ended early; then nobody listens, which is fine.
        let _ = self.stop.send(());
        self.task
            .await
            .map_err(|error| LoadError::WorkerFailed(format!("rss sampler: {error}")))
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn summarize(
    pid: u32,
    interval: Duration,
    samples: Vec<RssSample>,
    stopped_early: Option<String>,
) -> RssSeries {
    let first_kb = samples.first().map_or(0, |sample| sample.rss_kb);
    let last_kb = samples.last().map_or(0, |sample| sample.rss_kb);
    let max_kb = samples
        .iter()
        .map(|sample| sample.rss_kb)
        .max()
        .unwrap_or(0);
    RssSeries {
        pid,
        interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
        samples,
        first_kb,
        max_kb,
        last_kb,
        growth_kb: last_kb as i64 - first_kb as i64,
        stopped_early,
    }
}
