//! Token-bucket rate limits in memory: one bucket per client IP (a middleware in front of
//! every route but the health checks) and one per principal (counted when the `Principal`
//! extractor authenticates). Over the limit is 429 with `Retry-After`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::ConnectInfo;
use axum::extract::Request;
use axum::extract::State;
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;

use crate::problem::ApiError;
use crate::state::AppState;

/// Past this many buckets, full ones (clients idle for a minute) are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// Whose requests share a bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Bucket {
    Ip(IpAddr),
    User(String),
    ApiKey(String),
}

#[derive(Debug, Clone, Copy)]
struct Tokens {
    available: f64,
    updated: Instant,
}

pub(crate) struct RateLimiter {
    scope: &'static str,
    per_minute: u32,
    buckets: Mutex<HashMap<Bucket, Tokens>>,
}

impl RateLimiter {
    /// `per_minute` requests per minute per bucket, in bursts of up to `per_minute`; 0 is
    /// unlimited. `scope` names the bucket kind in the 429 detail.
    pub(crate) fn new(scope: &'static str, per_minute: u32) -> RateLimiter {
        RateLimiter {
            scope,
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `bucket`, or 429.
    pub(crate) fn check(&self, bucket: Bucket) -> Result<(), ApiError> {
        self.take(bucket, Instant::now())
            .map_err(|retry_after_secs| ApiError::RateLimited {
                scope: self.scope,
                per_minute: self.per_minute,
                retry_after_secs,
            })
    }

    /// One token at `now`, or `Err(seconds until one is available)`.
    fn take(&self, bucket: Bucket, now: Instant) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let refilled = |tokens: &Tokens| {
            let elapsed = now.saturating_duration_since(tokens.updated).as_secs_f64();
            (tokens.available + elapsed * per_second).min(capacity)
        };
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, tokens| refilled(tokens) < capacity);
        }
        let tokens = buckets.entry(bucket).or_insert(Tokens {
            available: capacity,
            updated: now,
        });
        let available = refilled(tokens);
        tokens.updated = now;
        if available >= 1.0 {
            tokens.available = available - 1.0;
            Ok(())
        } else {
            tokens.available = available;
            let wait = ((1.0 - available) / per_second).ceil();
            // `wait` is at most 60 (one token at a rate of at least one per minute).
            Err(if wait >= 1.0 { wait as u64 } else { 1 })
        }
    }
}

/// The per-IP limit, for requests that came through a listener (tests may route without one).
pub(crate) async fn per_ip(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path == "/healthz" || path == "/readyz" {
        return next.run(request).await;
    }
    if let Some(ConnectInfo(address)) = request.extensions().get::<ConnectInfo<SocketAddr>>()
        && let Err(err) = state.ip_limiter().check(Bucket::Ip(address.ip()))
    {
        return err.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bucket_allows_a_burst_then_refills_at_the_rate() {
        let limiter = RateLimiter::new("IP", 60);
        let start = Instant::now();
        let ip = || Bucket::Ip(IpAddr::from([127, 0, 0, 1]));
        for _ in 0..60 {
            assert_eq!(limiter.take(ip(), start), Ok(()));
        }
        assert_eq!(limiter.take(ip(), start), Err(1));
        assert_eq!(
            limiter.take(Bucket::User("u".into()), start),
            Ok(()),
            "buckets are separate"
        );
        assert_eq!(
            limiter.take(ip(), start + Duration::from_millis(500)),
            Err(1)
        );
        assert_eq!(
            limiter.take(ip(), start + Duration::from_millis(1_100)),
            Ok(())
        );
    }

    #[test]
    fn retry_after_counts_the_seconds_to_the_next_token_and_zero_is_unlimited() {
        let limiter = RateLimiter::new("principal", 2);
        let start = Instant::now();
        let user = || Bucket::User("u".into());
        assert_eq!(limiter.take(user(), start), Ok(()));
        assert_eq!(limiter.take(user(), start), Ok(()));
        assert_eq!(limiter.take(user(), start), Err(30));
        let unlimited = RateLimiter::new("IP", 0);
        for _ in 0..1_000 {
            assert_eq!(unlimited.take(user(), start), Ok(()));
        }
    }
}
