//! Fixed one-minute rate-limit windows: per signed-in user, and per client IP for anonymous
//! requests and for every `/api/v1/auth/` request (so login cannot be brute-forced by
//! presenting some valid token).

use std::collections::HashMap;
use std::net::IpAddr;
use std::net::Ipv4Addr;
use std::net::SocketAddr;
use std::sync::Mutex;

use axum::extract::ConnectInfo;
use axum::extract::Request;
use axum::extract::State;
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;

use crate::AppState;
use crate::Flaw;
use crate::auth::bearer_token;
use crate::error::ApiError;

const WINDOW_SECS: u64 = 60;
/// Past this many tracked keys, windows that have ended are dropped.
const PRUNE_ABOVE_KEYS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    index: u64,
    count: u32,
}

pub(crate) struct RateLimiter {
    per_user: u32,
    per_ip: u32,
    windows: Mutex<HashMap<Key, Window>>,
}

impl RateLimiter {
    pub(crate) fn new(per_user: u32, per_ip: u32) -> RateLimiter {
        RateLimiter {
            per_user,
            per_ip,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request; `Err(seconds until the window ends)` when over the limit.
    fn check(&self, key: Key, now_secs: u64) -> Result<(), u64> {
        let limit = match key {
            Key::User(_) => self.per_user,
            Key::Ip(_) => self.per_ip,
        };
        let index = now_secs / WINDOW_SECS;
        let mut windows = match self.windows.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if windows.len() > PRUNE_ABOVE_KEYS {
            windows.retain(|_, window| window.index == index);
        }
        let window = windows.entry(key).or_insert(Window { index, count: 0 });
        if window.index != index {
            *window = Window { index, count: 0 };
        }
        if window.count >= limit {
            return Err(WINDOW_SECS - now_secs % WINDOW_SECS);
        }
        window.count += 1;
        Ok(())
    }
}

/// The middleware: answers 429 with `Retry-After` once a key's window is used up.
pub(crate) async fn rate_limit(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if state.has(Flaw::NoRateLimit) {
        return next.run(request).await;
    }
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let (parts, body) = request.into_parts();
    let user = if parts.uri.path().starts_with("/api/v1/auth/") {
        None
    } else {
        bearer_token(&parts)
            .and_then(|token| state.tokens.verify(token))
            .map(|claims| claims.sub)
    };
    let key = user.map_or(Key::Ip(ip), Key::User);
    let now_secs = u64::try_from(crate::auth::unix_now()).unwrap_or_default();
    if let Err(retry_after_secs) = state.limiter.check(key, now_secs) {
        return ApiError::too_many_requests(retry_after_secs).into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_has_its_own_window_which_resets_each_minute() {
        let limiter = RateLimiter::new(2, 1);
        let alice = || Key::User("alice".to_owned());
        let ip = || Key::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(limiter.check(alice(), 600), Ok(()));
        assert_eq!(limiter.check(alice(), 610), Ok(()));
        assert_eq!(limiter.check(alice(), 615), Err(45));
        assert_eq!(limiter.check(ip(), 615), Ok(()));
        assert_eq!(limiter.check(ip(), 619), Err(41));
        assert_eq!(limiter.check(alice(), 660), Ok(()));
    }
}
