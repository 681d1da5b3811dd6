//! The record of what the server saw: one [`Exchange`] per answered request, the contract
//! violations, and the optional JSON-lines exchange log.

use std::fs::File;
use std::io::Write;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::time::Instant;

use serde::Serialize;

use crate::request::Protocol;

/// One request and its answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exchange {
    /// 1-based over all requests the server received (the numbering faults use).
    pub index: usize,
    pub protocol: Protocol,
    /// The matched conversation; `None` for the responder, no script, or an unparsable request.
    pub conversation: Option<String>,
    /// 0-based: the number of assistant messages in the request's history.
    pub turn: usize,
    pub stream: bool,
    pub status: u16,
    /// Microseconds since the server started, from a monotonic clock.
    pub received_us: u64,
    /// When the last byte of the response was handed to the connection (or the client went
    /// away); 0 while the response is still being sent.
    pub answered_us: u64,
    pub model_delay_ms: u64,
}

/// One line of the exchange log.
#[derive(Serialize)]
struct LogLine<'a> {
    #[serde(flatten)]
    exchange: &'a Exchange,
    violations: &'a [String],
}

#[derive(Default)]
struct Journal {
    exchanges: Vec<Exchange>,
    violations: Vec<String>,
}

/// Shared by all request tasks of one server.
pub(crate) struct Record {
    started_at: Instant,
    journal: Mutex<Journal>,
    log: Option<Mutex<File>>,
}

impl Record {
    pub(crate) fn new(log: Option<File>) -> Record {
        Record {
            started_at: Instant::now(),
            journal: Mutex::new(Journal::default()),
            log: log.map(Mutex::new),
        }
    }

    pub(crate) fn now_us(&self) -> u64 {
        u64::try_from(self.started_at.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Records a request whose reply is about to be sent; `violations` are prefixed with the
    /// request's number.
    pub(crate) fn begin(&self, exchange: Exchange, violations: &[String]) {
        for violation in violations {
            tracing::warn!(request = exchange.index, "{violation}");
        }
        let mut journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        journal.violations.extend(
            violations
                .iter()
                .map(|violation| format!("request {}: {violation}", exchange.index)),
        );
        journal.exchanges.push(exchange);
    }

    /// A violation outside any exchange, such as a request to an unknown route.
    pub(crate) fn violation(&self, index: usize, violation: &str) {
        tracing::warn!(request = index, "{violation}");
        let mut journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        journal
            .violations
            .push(format!("request {index}: {violation}"));
    }

    /// Stamps `answered_us` on exchange `index` and appends it to the log.
    pub(crate) fn finish(&self, index: usize, violations: &[String]) {
        let answered_us = self.now_us();
        let exchange = {
            let mut journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(exchange) = journal
                .exchanges
                .iter_mut()
                .find(|exchange| exchange.index == index)
            else {
                return;
            };
            exchange.answered_us = answered_us;
            exchange.clone()
        };
        let Some(log) = &self.log else {
            return;
        };
        let line = LogLine {
            exchange: &exchange,
            violations,
        };
        let mut file = log.lock().unwrap_or_else(PoisonError::into_inner);
        let written = serde_json::to_writer(&mut *file, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.flush());
        if let Err(error) = written {
            tracing::warn!(%error, "cannot write the exchange log");
        }
    }

    pub(crate) fn exchanges(&self) -> Vec<Exchange> {
        let journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        let mut exchanges = journal.exchanges.clone();
        exchanges.sort_by_key(|exchange| exchange.index);
        exchanges
    }

    pub(crate) fn violations(&self) -> Vec<String> {
        let journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        journal.violations.clone()
    }
}
