//! `GET /api/v1/runs/{id}/events`: a run's event log as server-sent events, live.
//!
//! Each message is one event: `id` its sequence number, `event` its kind, `data` a JSON
//! object `{"seq", "kind", "at", "payload"}`. A client that reconnects with `Last-Event-ID`
//! (or `?after=SEQ`) gets what follows that event, so nothing is missed or repeated. The
//! stream ends with an `end` message once the run has completed or failed; a paused run keeps
//! it open (a decision resumes the run). Runs driven by this server wake the stream at once;
//! runs driven by another process (`apiwright run`) are polled every second.
//!
//! Browsers' `EventSource` cannot send headers, so this route also accepts the access token
//! (or API key) as `?access_token=`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::Path;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Sse;
use axum::response::sse::Event as SseEvent;
use axum::response::sse::KeepAlive;
use futures_util::Stream;
use serde::Deserialize;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;

use super::openapi;

use super::query::ApiQuery;
use crate::auth::StreamAuthorized;
use crate::auth::Viewer;
use crate::problem::ApiError;
use crate::runs::view::rfc3339;
use crate::state::AppState;

/// How often a stream looks for events written by another process.
const POLL: Duration = Duration::from_secs(1);

/// Where to start, and the credential for clients that cannot send headers.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventParams {
    /// Start after this event sequence number, 0 or more (as `Last-Event-ID`; the header
    /// wins).
    #[param(value_type = Option<u64>, minimum = 0)]
    after: Option<String>,
    /// An access token or API key, for clients that cannot send headers (a browser's
    /// `EventSource`); `Authorization` and `X-API-Key` win when present.
    #[allow(dead_code)]
    access_token: Option<String>,
}

#[derive(Debug, Serialize)]
struct EventData<'a> {
    seq: i64,
    kind: &'a str,
    at: String,
    payload: &'a serde_json::Value,
}

/// Follow a run's events
///
/// The run's event log as server-sent events, live: each message's `id` is the event's
/// sequence number, `event` its kind, `data` a JSON object `{"seq", "kind", "at",
/// "payload"}`. Reconnect with `Last-Event-ID` (or `?after=SEQ`) to get what follows that
/// event. The stream ends with an `end` message (its data the last sequence number) once the
/// run has completed or failed; a paused run keeps it open. Requires the viewer role; the
/// credential may also be sent as `?access_token=`.
#[utoipa::path(
    get,
    path = "/api/v1/runs/{id}/events",
    operation_id = "run_events",
    tag = "runs",
    params(
        ("id" = String, Path, description = "The run's id"),
        EventParams,
        ("Last-Event-ID" = Option<u64>, Header, nullable = false, minimum = 0, description = "Start after this event sequence number (wins over `after`)"),
    ),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The event stream (`text/event-stream`), open until the run ends or the client leaves", body = String, content_type = "text/event-stream"),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 422, response = openapi::Unprocessable),
        (status = 429, response = openapi::TooManyRequests),
        (status = 500, response = openapi::InternalError),
    ),
)]
pub(crate) async fn stream(
    State(state): State<AppState>,
    _: StreamAuthorized<Viewer>,
    Path(run_id): Path<String>,
    ApiQuery(params): ApiQuery<EventParams>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let after = start_after(&headers, params.after.as_deref())?;
    let id = run_id.clone();
    let exists = state
        .db()
        .call("reading a run", move |store| Ok(store.run(&id)?.is_some()))
        .await?;
    if !exists {
        return Err(ApiError::NotFound(format!("no run with id `{run_id}`")));
    }
    let (sender, receiver) = tokio::sync::mpsc::channel::<SseEvent>(64);
    tokio::spawn(follow(state, run_id, after, sender));
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|event| (Ok::<_, Infallible>(event), receiver))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn start_after(headers: &HeaderMap, query: Option<&str>) -> Result<i64, ApiError> {
    let (field, text) = match headers.get("last-event-id") {
        Some(value) => (
            "Last-Event-ID",
            value.to_str().map_err(|_| {
                ApiError::Unprocessable(
                    "Last-Event-ID: expected an event sequence number, found non-ASCII text"
                        .to_owned(),
                )
            })?,
        ),
        None => match query {
            Some(text) => ("after", text),
            None => return Ok(0),
        },
    };
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|seq| *seq >= 0)
        .ok_or_else(|| {
            ApiError::Unprocessable(format!(
                "{field}: expected an event sequence number (0 or more), found `{text}`"
            ))
        })
}

/// Sends the run's events after `after` until the run ends, the client leaves or the server
/// stops.
async fn follow(
    state: AppState,
    run_id: String,
    mut after: i64,
    sender: tokio::sync::mpsc::Sender<SseEvent>,
) {
    let mut feed = state.subscribe_runs();
    let mut stopping = state.stopping();
    loop {
        let id = run_id.clone();
        let read = state
            .db()
            .call("reading events", move |store| {
                // The status first: a run that finished before its events are read has all
                // of them in the log (the other order could end the stream one event short).
                let finished = store.run(&id)?.is_none_or(|run| {
                    matches!(
                        run.status,
                        apiwright_store::RunStatus::Completed | apiwright_store::RunStatus::Failed
                    )
                });
                let events = store.events(&id, after)?;
                Ok((events, finished))
            })
            .await;
        let Ok((events, finished)) = read else {
            return;
        };
        for record in &events {
            let data = EventData {
                seq: record.seq,
                kind: &record.kind,
                at: rfc3339(record.at),
                payload: &record.payload,
            };
            let Ok(message) = SseEvent::default()
                .id(record.seq.to_string())
                .event(&record.kind)
                .json_data(&data)
            else {
                return;
            };
            if sender.send(message).await.is_err() {
                return;
            }
            after = record.seq;
        }
        if finished {
            let _ = sender
                .send(SseEvent::default().event("end").data(after.to_string()))
                .await;
            return;
        }
        tokio::select! {
            () = wait_for(&mut feed, &run_id) => {}
            () = tokio::time::sleep(POLL) => {}
            _ = stopping.wait_for(|stopping| *stopping) => return,
            () = sender.closed() => return,
        }
    }
}

/// Completes when the feed names `run_id` (or lagged: then anything may have changed).
async fn wait_for(feed: &mut tokio::sync::broadcast::Receiver<String>, run_id: &str) {
    loop {
        match feed.recv().await {
            Ok(changed) if changed == run_id => return,
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => return,
            Err(RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_header_wins_over_the_query_and_bad_ids_name_their_field() {
        let mut headers = HeaderMap::new();
        assert_eq!(start_after(&headers, None).unwrap(), 0);
        assert_eq!(start_after(&headers, Some("7")).unwrap(), 7);
        headers.insert("last-event-id", HeaderValue::from_static("12"));
        assert_eq!(start_after(&headers, Some("7")).unwrap(), 12);
        headers.insert("last-event-id", HeaderValue::from_static("x"));
        let err = start_after(&headers, None).unwrap_err().to_string();
        assert!(err.starts_with("Last-Event-ID:"), "{err}");
        let err = start_after(&HeaderMap::new(), Some("-1"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("after:"), "{err}");
    }
}
