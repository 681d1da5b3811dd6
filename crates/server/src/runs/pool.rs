//! The bounded worker pool that executes runs started through the API.
//!
//! `workers` threads each drive one run at a time on a runtime of their own (an engine and
//! its agents stay on the thread that built them). Jobs wait in a queue of at most
//! `max_queued`; the queue is also kept in the store (`server_jobs`), so a server that stops —
//! or crashes — takes its queued and running jobs up again when it starts. Stopping a drive
//! (cancel, shutdown) goes through the engine's interrupt: running steps are dropped (their
//! agents killed) and stay `started` in the log, which a later drive redoes — the log is the
//! checkpoint.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Condvar;
use std::sync::Mutex;
use std::sync::MutexGuard;
use std::time::Duration;
use std::time::Instant;

use apiwright_engine::DriveOutcome;
use apiwright_engine::Engine;
use apiwright_store::JobState;
use tokio::sync::broadcast;
use tokio::sync::watch;

use crate::metrics::RunCounters;
use crate::runs::host::RunHost;

/// Why a drive is asked to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Someone cancelled the run: it ends as failed, naming them.
    Cancel { by: String, reason: String },
    /// The server stops: the run stays resumable and is taken up at the next start.
    Shutdown,
}

/// Where the pool holds a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holding {
    Queued,
    Running,
    No,
}

/// What [`RunPool::withdraw`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Withdrawn {
    /// A worker drives the run; it was asked to stop.
    Stopping,
    /// The run waited in the queue; it no longer does.
    Dequeued,
    /// The pool did not hold the run.
    NotHeld,
}

/// Why a job was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The queue is full.
    Full { max_queued: usize },
    /// The server is stopping.
    Stopping,
}

struct State {
    queue: VecDeque<String>,
    running: HashMap<String, watch::Sender<Option<Stop>>>,
    stopping: bool,
}

struct Shared {
    host: Arc<dyn RunHost>,
    state: Mutex<State>,
    wake: Condvar,
    feed: broadcast::Sender<String>,
    counters: Arc<RunCounters>,
    max_queued: usize,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A worker that panicked while holding the lock left the maps consistent (every
        // update is a single insert or remove).
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next run to drive, registered as running under the same lock (so a cancel never
    /// finds it in neither place); `None` once the pool stops.
    fn next(&self) -> Option<(String, watch::Receiver<Option<Stop>>)> {
        let mut state = self.state();
        loop {
            if state.stopping {
                return None;
            }
            if let Some(run_id) = state.queue.pop_front() {
                let (sender, receiver) = watch::channel(None);
                state.running.insert(run_id.clone(), sender);
                return Some((run_id, receiver));
            }
            state = self
                .wake
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    fn changed(&self, run_id: &str) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.feed.send(run_id.to_owned());
    }
}

/// The pool (see the module documentation).
pub(crate) struct RunPool {
    shared: Arc<Shared>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    workers: usize,
}

impl std::fmt::Debug for RunPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunPool")
            .field("workers", &self.workers)
            .field("max_queued", &self.shared.max_queued)
            .finish_non_exhaustive()
    }
}

impl RunPool {
    /// Starts `workers` threads (at least one).
    pub(crate) fn start(
        host: Arc<dyn RunHost>,
        workers: usize,
        max_queued: usize,
        feed: broadcast::Sender<String>,
        counters: Arc<RunCounters>,
    ) -> std::io::Result<RunPool> {
        let shared = Arc::new(Shared {
            host,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                running: HashMap::new(),
                stopping: false,
            }),
            wake: Condvar::new(),
            feed,
            counters,
            max_queued,
        });
        let workers = workers.max(1);
        let mut threads = Vec::with_capacity(workers);
        for index in 0..workers {
            let shared = Arc::clone(&shared);
            threads.push(
                std::thread::Builder::new()
                    .name(format!("run-worker-{index}"))
                    .spawn(move || work(&shared))?,
            );
        }
        Ok(RunPool {
            shared,
            threads: Mutex::new(threads),
            workers,
        })
    }

    /// Whether another job fits in the queue now.
    pub(crate) fn check_room(&self) -> Result<(), Refused> {
        let state = self.shared.state();
        if state.stopping {
            return Err(Refused::Stopping);
        }
        if state.queue.len() >= self.shared.max_queued {
            return Err(Refused::Full {
                max_queued: self.shared.max_queued,
            });
        }
        Ok(())
    }

    /// Queues run `run_id` (its job must already be `queued` in the store). `force` ignores
    /// the queue's bound (jobs taken up again at start).
    pub(crate) fn submit(&self, run_id: &str, force: bool) -> Result<(), Refused> {
        let mut state = self.shared.state();
        if state.stopping {
            return Err(Refused::Stopping);
        }
        if state.running.contains_key(run_id) || state.queue.iter().any(|id| id == run_id) {
            return Ok(());
        }
        if !force && state.queue.len() >= self.shared.max_queued {
            return Err(Refused::Full {
                max_queued: self.shared.max_queued,
            });
        }
        state.queue.push_back(run_id.to_owned());
        drop(state);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Where the pool holds `run_id`.
    pub(crate) fn holding(&self, run_id: &str) -> Holding {
        let state = self.shared.state();
        if state.running.contains_key(run_id) {
            Holding::Running
        } else if state.queue.iter().any(|id| id == run_id) {
            Holding::Queued
        } else {
            Holding::No
        }
    }

    /// Takes `run_id` back from the pool: out of the queue if it waits there, or asks its
    /// drive to `stop` if a worker has it — under the one lock a worker takes a job under, so
    /// a run is never in neither place while it moves from the queue to a worker.
    pub(crate) fn withdraw(&self, run_id: &str, stop: Stop) -> Withdrawn {
        let mut state = self.shared.state();
        if let Some(sender) = state.running.get(run_id) {
            sender.send_replace(Some(stop));
            return Withdrawn::Stopping;
        }
        let before = state.queue.len();
        state.queue.retain(|id| id != run_id);
        if state.queue.len() == before {
            Withdrawn::NotHeld
        } else {
            Withdrawn::Dequeued
        }
    }

    /// Runs queued and running now.
    pub(crate) fn load(&self) -> (usize, usize) {
        let state = self.shared.state();
        (state.queue.len(), state.running.len())
    }

    /// Stops taking jobs, interrupts every drive (their runs stay resumable) and waits up to
    /// `grace` for the workers to finish recording. Queued jobs stay queued in the store.
    pub(crate) fn shutdown(&self, grace: Duration) {
        {
            let mut state = self.shared.state();
            state.stopping = true;
            for sender in state.running.values() {
                sender.send_replace(Some(Stop::Shutdown));
            }
        }
        self.shared.wake.notify_all();
        let threads = std::mem::take(
            &mut *self
                .threads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let deadline = Instant::now() + grace;
        for thread in threads {
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if thread.is_finished() {
                if thread.join().is_err() {
                    tracing::error!("a run worker panicked");
                }
            } else {
                tracing::warn!(
                    grace_secs = grace.as_secs(),
                    "a run worker did not stop in time; its run resumes at the next start"
                );
            }
        }
    }
}

fn work(shared: &Shared) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(error = %err, "a run worker could not start its runtime");
            return;
        }
    };
    while let Some((run_id, stop)) = shared.next() {
        let span = tracing::info_span!("run", run_id = %run_id);
        let _entered = span.enter();
        let started = Instant::now();
        let ended = drive(shared, &runtime, &run_id, stop);
        tracing::info!(
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            ended = ?ended,
            "drive ended"
        );
        shared.state().running.remove(&run_id);
        shared.changed(&run_id);
    }
}

/// How a drive ended, for the job.
#[derive(Debug)]
enum Ended {
    /// Finished, paused or cancelled: the job is done.
    Done,
    /// Interrupted by the server's shutdown: the job stays for the next start.
    Left,
    /// Could not drive: the job is done with an error.
    Error(String),
}

fn drive(
    shared: &Shared,
    runtime: &tokio::runtime::Runtime,
    run_id: &str,
    mut stop: watch::Receiver<Option<Stop>>,
) -> Ended {
    let mut engine = match shared.host.engine() {
        Ok(engine) => engine,
        Err(err) => return Ended::Error(err.to_string()),
    };
    let ended = drive_with(shared, runtime, &mut engine, run_id, &mut stop);
    let ended = match ended {
        Ok(ended) => ended,
        Err(message) => Ended::Error(message),
    };
    let (state, error) = match &ended {
        Ended::Done => (JobState::Done, None),
        Ended::Left => (JobState::Running, None),
        Ended::Error(message) => (JobState::Done, Some(message.as_str())),
    };
    if let Err(err) = engine.store().set_job_state(run_id, state, error) {
        tracing::error!(error = %err, "could not record the end of a drive");
    }
    if !matches!(ended, Ended::Left) {
        shared.host.after_drive(&engine, run_id);
    }
    ended
}

fn drive_with(
    shared: &Shared,
    runtime: &tokio::runtime::Runtime,
    engine: &mut Engine,
    run_id: &str,
    stop: &mut watch::Receiver<Option<Stop>>,
) -> Result<Ended, String> {
    let text = |err: &dyn std::fmt::Display| err.to_string();
    engine
        .store()
        .set_job_state(run_id, JobState::Running, None)
        .map_err(|err| text(&err))?;
    shared.changed(run_id);
    let (workflow, _) = engine.load(run_id).map_err(|err| text(&err))?;
    // A run keeps the provider it was started with (as `apiwright run --resume` does).
    let provider = engine
        .store()
        .run(run_id)
        .map_err(|err| text(&err))?
        .and_then(|run| {
            run.params
                .get("agents")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        });
    let agents = shared
        .host
        .agents(&workflow, provider.as_deref())
        .map_err(|err| text(&err))?;
    let feed = shared.feed.clone();
    let counters = Arc::clone(&shared.counters);
    let observed = run_id.to_owned();
    engine.set_observer(move |event| {
        counters.observe(event);
        let _ = feed.send(observed.clone());
    });
    let mut interrupted = stop.clone();
    let interrupt = async move {
        // An error means the pool dropped the sender: nobody can stop us any more.
        if interrupted.wait_for(Option::is_some).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let outcome = runtime.block_on(engine.drive(run_id, &agents, interrupt));
    let requested = stop.borrow().clone();
    match (outcome, requested) {
        (Ok(DriveOutcome::Interrupted), Some(Stop::Cancel { by, reason })) => {
            engine
                .cancel(run_id, &by, &reason)
                .map_err(|err| text(&err))?;
            engine
                .store()
                .cancel_job(run_id, &by, &reason)
                .map_err(|err| text(&err))?;
            Ok(Ended::Done)
        }
        (Ok(DriveOutcome::Interrupted), _) => Ok(Ended::Left),
        (Ok(_), _) => Ok(Ended::Done),
        (Err(err), _) => Err(err.to_string()),
    }
}
