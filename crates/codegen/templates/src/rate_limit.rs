//! In-memory fixed-window rate limiting: at most `limit` requests per key (a user or an IP) in
//! each window; the caller answers 429 with `Retry-After` set to the seconds left.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Request counters per key.
#[derive(Debug)]
pub struct RateLimiter {
    window: Duration,
    /// Above this many keys, expired windows are dropped.
    max_keys: usize,
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

impl RateLimiter {
    /// A limiter with windows of `window`.
    pub fn new(window: Duration, max_keys: usize) -> Self {
        Self {
            window,
            max_keys,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// One-minute windows, as the spec's limits are per minute.
    pub fn per_minute() -> Self {
        Self::new(Duration::from_secs(60), 100_000)
    }

    /// Counts a request of `key`; `Err(seconds)` until the window ends when `limit` is reached.
    pub fn check(&self, key: &str, limit: u32) -> Result<(), u64> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= self.max_keys {
            windows.retain(|_, window| now.duration_since(window.started) < self.window);
        }
        let window = windows.entry(key.to_owned()).or_insert(Window {
            started: now,
            count: 0,
        });
        if now.duration_since(window.started) >= self.window {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        if window.count >= limit {
            let left = self
                .window
                .saturating_sub(now.duration_since(window.started));
            return Err(left.as_secs() + 1);
        }
        window.count += 1;
        Ok(())
    }
}
