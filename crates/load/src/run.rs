//! Running a [`RunConfig`]: the closed-loop workers, the open-loop scheduler (also used for
//! spikes, as a list of phases) and assembling the [`Report`].

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::time::Duration;
use std::time::Instant;

use tokio::sync::Mutex;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::client::Connection;
use crate::config::Mode;
use crate::config::Plan;
use crate::config::RunConfig;
use crate::error::LoadError;
use crate::error::Result;
use crate::error::invalid;
use crate::report::PhaseReport;
use crate::report::Recorder;
use crate::report::Report;
use crate::rss::Sampler;

/// Runs the load described by `config` and reports what happened. Must be called inside a
/// tokio runtime; use a multi-threaded one so the schedule is not starved by response handling.
///
/// Failing requests are counted, not returned as errors; `Err` means the run could not be done
/// (invalid configuration, unreadable RSS of the given pid).
pub async fn run(config: &RunConfig) -> Result<Report> {
    let plan = Arc::new(Plan::new(&config.target)?);
    let phases = validate(config)?;
    let sampler = match &config.rss {
        Some(rss) => Some(Sampler::start(rss.pid, rss.interval).await?),
        None => None,
    };
    let mut report = match &config.mode {
        Mode::ClosedLoop {
            connections,
            duration,
        } => {
            let (recorder, elapsed) = closed_loop(&plan, config, *connections, *duration).await?;
            Report {
                mode: "closed_loop".into(),
                offered_rate_per_sec: None,
                stats: recorder.stats(elapsed),
                phases: vec![],
                rss: None,
            }
        }
        Mode::OpenLoop { rate_per_sec, .. }
        | Mode::Spike {
            base_rate: rate_per_sec,
            ..
        } => {
            let (recorders, elapsed) = open_loop(&plan, config, &phases).await?;
            let mut total = Recorder::new()?;
            let mut phase_reports = Vec::with_capacity(phases.len());
            for (phase, recorder) in phases.iter().zip(&recorders) {
                total.merge(recorder)?;
                phase_reports.push(PhaseReport {
                    name: phase.name.into(),
                    rate_per_sec: phase.rate_per_sec,
                    stats: recorder.stats(phase.duration),
                });
            }
            let spike = matches!(config.mode, Mode::Spike { .. });
            Report {
                mode: if spike { "spike" } else { "open_loop" }.into(),
                offered_rate_per_sec: if spike { None } else { Some(*rate_per_sec) },
                stats: total.stats(elapsed),
                phases: if spike { phase_reports } else { vec![] },
                rss: None,
            }
        }
    };
    if let Some(sampler) = sampler {
        report.rss = Some(sampler.finish().await?);
    }
    Ok(report)
}

/// One constant-rate window of an open-loop schedule.
#[derive(Debug)]
struct Phase {
    name: &'static str,
    rate_per_sec: f64,
    duration: Duration,
}

/// Checks the numbers of `config` and returns the open-loop phases (none for closed loop).
fn validate(config: &RunConfig) -> Result<Vec<Phase>> {
    let positive_rate = |field: &str, rate: f64| {
        if rate.is_finite() && rate > 0.0 {
            Ok(())
        } else {
            Err(invalid(field, "a finite number above 0", rate.to_string()))
        }
    };
    let nonzero = |field: &str, duration: Duration| {
        if duration.is_zero() {
            Err(invalid(field, "a duration above 0", "0"))
        } else {
            Ok(())
        }
    };
    if config.request_timeout.is_zero() {
        return Err(invalid("request_timeout", "a duration above 0", "0"));
    }
    if let Some(rss) = &config.rss {
        nonzero("rss.interval", rss.interval)?;
    }
    let phases = match &config.mode {
        Mode::ClosedLoop {
            connections,
            duration,
        } => {
            if *connections == 0 {
                return Err(invalid("mode.connections", "at least 1", "0"));
            }
            nonzero("mode.duration", *duration)?;
            return Ok(vec![]);
        }
        Mode::OpenLoop {
            rate_per_sec,
            duration,
        } => {
            positive_rate("mode.rate_per_sec", *rate_per_sec)?;
            nonzero("mode.duration", *duration)?;
            vec![Phase {
                name: "steady",
                rate_per_sec: *rate_per_sec,
                duration: *duration,
            }]
        }
        Mode::Spike {
            base_rate,
            factor,
            base,
            spike,
        } => {
            positive_rate("mode.base_rate", *base_rate)?;
            positive_rate("mode.factor", *factor)?;
            positive_rate("mode.base_rate * mode.factor", base_rate * factor)?;
            nonzero("mode.base", *base)?;
            nonzero("mode.spike", *spike)?;
            vec![
                Phase {
                    name: "base",
                    rate_per_sec: *base_rate,
                    duration: *base,
                },
                Phase {
                    name: "spike",
                    rate_per_sec: base_rate * factor,
                    duration: *spike,
                },
                Phase {
                    name: "recovery",
                    rate_per_sec: *base_rate,
                    duration: *base,
                },
            ]
        }
    };
    if config.open_loop_connections == 0 {
        return Err(invalid("open_loop_connections", "at least 1", "0"));
    }
    if config.max_in_flight == 0 {
        return Err(invalid("max_in_flight", "at least 1", "0"));
    }
    Ok(phases)
}

/// `connections` workers sending back to back until `duration` has passed; a request in flight
/// at the deadline is completed and counted. Returns the merged counts and the time from the
/// start to the last completion.
async fn closed_loop(
    plan: &Arc<Plan>,
    config: &RunConfig,
    connections: usize,
    duration: Duration,
) -> Result<(Recorder, Duration)> {
    let start = Instant::now();
    let deadline = start + duration;
    let next_request = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..connections {
        let plan = Arc::clone(plan);
        let next_request = Arc::clone(&next_request);
        let timeout = config.request_timeout;
        let mut recorder = Recorder::new()?;
        workers.spawn(async move {
            let mut connection = Connection::default();
            let mut last_completion = start;
            while Instant::now() < deadline {
                let request = plan.pick(next_request.fetch_add(1, Ordering::Relaxed));
                let sent_at = Instant::now();
                let outcome = connection.send(&plan.endpoint, request, timeout).await;
                last_completion = Instant::now();
                recorder.record(outcome, last_completion - sent_at);
            }
            (recorder, last_completion)
        });
    }
    let mut total = Recorder::new()?;
    let mut end = start;
    while let Some(joined) = workers.join_next().await {
        let (recorder, last_completion) =
            joined.map_err(|error| LoadError::WorkerFailed(error.to_string()))?;
        total.merge(&recorder)?;
        end = end.max(last_completion);
    }
    Ok((total, end - start))
}

/// A request due at `intended` (an instant on the schedule), in phase `phase`.
#[derive(Debug)]
struct Job {
    intended: Instant,
    phase: usize,
    sequence: u64,
}

/// Sends on schedule: request `k` of a phase is due at the phase's start plus `k / rate`. The
/// scheduler hands due requests to `open_loop_connections` workers through a queue and never
/// waits for them; latency runs from the due time, so time spent queued behind a slow response
/// counts (coordinated-omission correction). Returns one recorder per phase and the time from
/// the start to the last completion.
async fn open_loop(
    plan: &Arc<Plan>,
    config: &RunConfig,
    phases: &[Phase],
) -> Result<(Vec<Recorder>, Duration)> {
    let (sender, receiver) = mpsc::unbounded_channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..config.open_loop_connections {
        let plan = Arc::clone(plan);
        let receiver = Arc::clone(&receiver);
        let in_flight = Arc::clone(&in_flight);
        let timeout = config.request_timeout;
        let mut recorders = phases
            .iter()
            .map(|_| Recorder::new())
            .collect::<Result<Vec<_>>>()?;
        workers.spawn(async move {
            let mut connection = Connection::default();
            let mut last_completion = None;
            loop {
                let job = receiver.lock().await.recv().await;
                let Some(job) = job else { break };
                let outcome = connection
                    .send(&plan.endpoint, plan.pick(job.sequence), timeout)
                    .await;
                let completed_at = Instant::now();
                in_flight.fetch_sub(1, Ordering::AcqRel);
                // Phases come from the scheduler below, so `job.phase` indexes `recorders`.
                if let Some(recorder) = recorders.get_mut(job.phase) {
                    recorder.record(
                        outcome,
                        completed_at.saturating_duration_since(job.intended),
                    );
                }
                last_completion = Some(completed_at);
            }
            (recorders, last_completion)
        });
    }

    // The schedule runs on its own thread: tokio's timer rounds every sleep up to the next
    // millisecond, which would add up to 1 ms of the generator's own lateness to every
    // corrected latency; `std::thread::sleep` wakes within tens of microseconds.
    let windows: Vec<(f64, Duration)> = phases
        .iter()
        .map(|phase| (phase.rate_per_sec, phase.duration))
        .collect();
    let max_in_flight = config.max_in_flight;
    let scheduler_in_flight = Arc::clone(&in_flight);
    let dropped = tokio::task::spawn_blocking(move || {
        schedule(
            &windows,
            start,
            &scheduler_in_flight,
            max_in_flight,
            &sender,
        )
    })
    .await
    .map_err(|error| LoadError::WorkerFailed(format!("scheduler: {error}")))?;
    let phase_start = start + phases.iter().map(|phase| phase.duration).sum::<Duration>();

    let mut totals = phases
        .iter()
        .map(|_| Recorder::new())
        .collect::<Result<Vec<_>>>()?;
    for (total, count) in totals.iter_mut().zip(&dropped) {
        for _ in 0..*count {
            total.record_dropped();
        }
    }
    let mut end = None;
    while let Some(joined) = workers.join_next().await {
        let (recorders, last_completion) =
            joined.map_err(|error| LoadError::WorkerFailed(error.to_string()))?;
        for (total, recorder) in totals.iter_mut().zip(&recorders) {
            total.merge(recorder)?;
        }
        end = end.max(last_completion);
    }
    let elapsed = end.map_or(phase_start - start, |end| end - start);
    Ok((totals, elapsed))
}

/// Hands each due request to the workers at its intended time, or counts it as dropped when
/// `max_in_flight` are outstanding. Returns the dropped count per window. The sender is dropped
/// by the caller's closure when this returns, which lets the workers finish.
fn schedule(
    windows: &[(f64, Duration)],
    start: Instant,
    in_flight: &AtomicUsize,
    max_in_flight: usize,
    sender: &mpsc::UnboundedSender<Job>,
) -> Vec<u64> {
    let mut dropped = vec![0u64; windows.len()];
    let mut sequence = 0u64;
    let mut window_start = start;
    for (phase, &(rate_per_sec, duration)) in windows.iter().enumerate() {
        for k in 0u64.. {
            let offset = match Duration::try_from_secs_f64(k as f64 / rate_per_sec) {
                Ok(offset) if offset < duration => offset,
                Ok(_) | Err(_) => break,
            };
            let intended = window_start + offset;
            let now = Instant::now();
            if intended > now {
                std::thread::sleep(intended - now);
            }
            if in_flight.load(Ordering::Acquire) >= max_in_flight {
                dropped[phase] += 1;
                continue;
            }
            in_flight.fetch_add(1, Ordering::AcqRel);
            if sender
                .send(Job {
                    intended,
                    phase,
                    sequence,
                })
                .is_err()
            {
                // Every worker is gone: only possible if they panicked, which join reports.
                return dropped;
            }
            sequence += 1;
        }
        window_start += duration;
    }
    dropped
}
