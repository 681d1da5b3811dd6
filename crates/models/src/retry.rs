//! When to retry and how long to wait: which statuses are worth another attempt, the
//! exponential backoff with jitter, and the server's own `Retry-After` / `retry-after-ms` hints.
//! Pure functions; the loop that sleeps lives in `http.rs`.

use std::hash::BuildHasher;
use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::RetryPolicy;

/// Statuses that mean "try again": rate limited, or the server (or a proxy in front of it)
/// failed or is overloaded (529 is Anthropic's "overloaded").
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504 | 529)
}

/// The delay the server asked for, from `retry-after-ms` (milliseconds, preferred because it
/// is finer) or `Retry-After` (whole or fractional seconds; HTTP dates are ignored).
pub(crate) fn server_hint(headers: &HeaderMap) -> Option<Duration> {
    let header_number = |name: &str| -> Option<f64> {
        let number: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
        (number.is_finite() && number >= 0.0).then_some(number)
    };
    if let Some(milliseconds) = header_number("retry-after-ms") {
        return Some(Duration::from_secs_f64(milliseconds.min(1e12) / 1000.0));
    }
    header_number("retry-after").map(|seconds| Duration::from_secs_f64(seconds.min(1e9)))
}

/// How long to wait before retry number `retry` (0 for the first retry): the server's hint if it
/// gave one, otherwise `base_delay · 2^retry` scaled by a random factor in [0.5, 1.0); capped at
/// `max_delay` either way.
pub(crate) fn delay_before_retry(
    policy: &RetryPolicy,
    retry: u32,
    server_hint: Option<Duration>,
) -> Duration {
    if let Some(hint) = server_hint {
        return hint.min(policy.max_delay);
    }
    let exponential = policy
        .base_delay
        .saturating_mul(2u32.saturating_pow(retry.min(31)));
    let jittered = exponential.as_secs_f64() * (0.5 + 0.5 * random_unit());
    Duration::try_from_secs_f64(jittered)
        .unwrap_or(policy.max_delay)
        .min(policy.max_delay)
}

/// A random number in [0, 1) from the standard library's per-process random hash keys; good
/// enough to keep clients that failed together from retrying together.
fn random_unit() -> f64 {
    let bits = std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for retry in 0..4 {
            let full = Duration::from_millis(100 * 2u64.pow(retry)).min(Duration::from_secs(1));
            let delay = delay_before_retry(&policy(), retry, None);
            assert!(
                delay >= full / 2 && delay <= full,
                "retry {retry}: {delay:?}"
            );
        }
        assert!(delay_before_retry(&policy(), 40, None) <= Duration::from_secs(1));
        assert!(delay_before_retry(&policy(), u32::MAX, None) <= Duration::from_secs(1));
        let unbounded = RetryPolicy {
            max_retries: u32::MAX,
            base_delay: Duration::MAX,
            max_delay: Duration::MAX,
        };
        assert!(delay_before_retry(&unbounded, u32::MAX, None) > Duration::ZERO);
    }

    #[test]
    fn server_hints_win_but_are_capped() {
        let hint = server_hint(&headers(&[("retry-after", "0")]));
        assert_eq!(hint, Some(Duration::ZERO));
        assert_eq!(delay_before_retry(&policy(), 3, hint), Duration::ZERO);

        let hint = server_hint(&headers(&[("retry-after", "120")]));
        assert_eq!(
            delay_before_retry(&policy(), 0, hint),
            Duration::from_secs(1)
        );

        let hint = server_hint(&headers(&[("retry-after", "2"), ("retry-after-ms", "250")]));
        assert_eq!(hint, Some(Duration::from_millis(250)));
    }

    #[test]
    fn unusable_hints_are_ignored() {
        for value in ["Wed, 21 Oct 2015 07:28:00 GMT", "-1", "NaN", "inf", ""] {
            let mut map = HeaderMap::new();
            map.insert("retry-after", HeaderValue::from_static(value));
            assert_eq!(server_hint(&map), None, "{value}");
        }
        let hint = server_hint(&headers(&[("retry-after", "1e300")]));
        assert!(hint.is_some());
    }

    #[test]
    fn retryable_statuses() {
        let retryable: Vec<u16> = (100..600).filter(|s| is_retryable_status(*s)).collect();
        assert_eq!(retryable, vec![429, 500, 502, 503, 504, 529]);
    }
}
