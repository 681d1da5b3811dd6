//! What to load and how ([`Target`], [`RequestSpec`], [`Mode`], [`RunConfig`]), and their
//! validation into a [`Plan`] of prepared requests in weighted order.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http::HeaderName;
use http::HeaderValue;
use http::Method;
use http::Uri;

use crate::error::Result;
use crate::error::invalid;

/// The service under load and the mix of requests to send to it.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://host[:port][/prefix]`; request paths are appended to it. TLS is not supported.
    pub base_url: String,
    /// A weighted mix, e.g. list 50, read 30, create 15, update 5. Requests are interleaved in
    /// proportion to `weight` (smooth weighted round robin), deterministically.
    pub requests: Vec<RequestSpec>,
}

/// One kind of request in the mix. An `Authorization` header is just a header.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub method: String,
    /// Path (and query) relative to the base URL, e.g. `/notes?limit=10`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Relative frequency; 0 means never sent.
    pub weight: u32,
}

/// How load is offered.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Constant arrival rate: request `k` is due at `k / rate_per_sec` and is launched then,
    /// whatever is still outstanding; its latency is measured from that intended time.
    OpenLoop {
        rate_per_sec: f64,
        duration: Duration,
    },
    /// Maximum throughput: `connections` workers, each with its own keep-alive connection,
    /// send back to back; latency is measured from the actual send.
    ClosedLoop {
        connections: usize,
        duration: Duration,
    },
    /// Open loop at `base_rate` for `base`, at `base_rate * factor` for `spike`, then at
    /// `base_rate` for `base` again; the report has one phase per window.
    Spike {
        base_rate: f64,
        factor: f64,
        base: Duration,
        spike: Duration,
    },
}

/// Sample the resident set size of a process during the run (endurance runs).
#[derive(Debug, Clone)]
pub struct RssConfig {
    /// The process whose `/proc/PID/status` `VmRSS` is read (Linux only).
    pub pid: u32,
    pub interval: Duration,
}

/// Everything a run needs. There is deliberately no `Default`: every limit is a choice.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub target: Target,
    pub mode: Mode,
    /// Connections (workers) that serve the open-loop schedule (open loop and spike).
    pub open_loop_connections: usize,
    /// Open loop and spike: most requests outstanding (queued for a connection or being sent) at
    /// once. A request due while this many are outstanding is not sent and is counted as
    /// `dropped` — delaying it instead would shift the schedule and hide the overload.
    pub max_in_flight: usize,
    /// A request without a complete response after this long counts as a transport error.
    pub request_timeout: Duration,
    pub rss: Option<RssConfig>,
}

/// Where requests go: host and port to connect to, and the `Host` header.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) authority: HeaderValue,
}

#[derive(Debug)]
pub(crate) struct PreparedRequest {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// A validated target: the endpoint, the prepared requests and the weighted order to send them in.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) endpoint: Endpoint,
    requests: Vec<PreparedRequest>,
    order: Vec<usize>,
}

/// Largest weight total (after dividing by the weights' gcd) of a request mix.
const MAX_WEIGHT_TOTAL: u64 = 100_000;

impl Plan {
    pub(crate) fn new(target: &Target) -> Result<Self> {
        let base_uri: Uri = target.base_url.parse().map_err(|_| {
            invalid(
                "target.base_url",
                "an http:// URL such as http://127.0.0.1:8080",
                format!("{:?}", target.base_url),
            )
        })?;
        if base_uri.scheme_str() != Some("http") {
            return Err(invalid(
                "target.base_url",
                "the http scheme (TLS is not supported)",
                format!("{:?}", target.base_url),
            ));
        }
        let (Some(host), Some(authority)) = (base_uri.host(), base_uri.authority()) else {
            return Err(invalid(
                "target.base_url",
                "a URL with a host",
                format!("{:?}", target.base_url),
            ));
        };
        let endpoint = Endpoint {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: base_uri.port_u16().unwrap_or(80),
            authority: HeaderValue::from_str(authority.as_str()).map_err(|_| {
                invalid(
                    "target.base_url",
                    "a valid host",
                    format!("{:?}", authority.as_str()),
                )
            })?,
        };
        let prefix = base_uri.path().trim_end_matches('/');

        if target.requests.is_empty() {
            return Err(invalid("target.requests", "at least one request", "none"));
        }
        let mut requests = Vec::with_capacity(target.requests.len());
        for (index, spec) in target.requests.iter().enumerate() {
            let at = |field: &str| format!("target.requests[{index}].{field}");
            let method = Method::from_bytes(spec.method.as_bytes()).map_err(|_| {
                invalid(
                    at("method"),
                    "an HTTP method such as GET",
                    format!("{:?}", spec.method),
                )
            })?;
            let separator = if spec.path.starts_with('/') { "" } else { "/" };
            let full_path = format!("{prefix}{separator}{}", spec.path);
            let uri: Uri = full_path.parse().map_err(|_| {
                invalid(
                    at("path"),
                    "a URL path such as /notes?limit=10",
                    format!("{:?}", spec.path),
                )
            })?;
            let mut headers = HeaderMap::new();
            for (name, value) in &spec.headers {
                let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    invalid(at("headers"), "a valid header name", format!("{name:?}"))
                })?;
                let header_value = HeaderValue::from_str(value).map_err(|_| {
                    invalid(
                        at("headers"),
                        format!("a valid value for header {name}"),
                        "control characters or non-visible bytes",
                    )
                })?;
                headers.append(header_name, header_value);
            }
            if !headers.contains_key(http::header::HOST) {
                headers.insert(http::header::HOST, endpoint.authority.clone());
            }
            let body = Bytes::from(spec.body.clone().unwrap_or_default());
            requests.push(PreparedRequest {
                method,
                uri,
                headers,
                body,
            });
        }

        let weights: Vec<u32> = target.requests.iter().map(|spec| spec.weight).collect();
        let order = weighted_order(&weights)?;
        Ok(Plan {
            endpoint,
            requests,
            order,
        })
    }

    /// The `k`-th request of the run.
    pub(crate) fn pick(&self, k: u64) -> &PreparedRequest {
        // `order` is non-empty and its entries index `requests` (checked in `new`).
        let position = (k % self.order.len() as u64) as usize;
        &self.requests[self.order[position]]
    }
}

/// Smooth weighted round robin over the weights divided by their gcd: each index appears
/// `weight / gcd` times, spread out rather than in blocks.
fn weighted_order(weights: &[u32]) -> Result<Vec<usize>> {
    let divisor = weights
        .iter()
        .fold(0u64, |acc, &weight| gcd(acc, u64::from(weight)));
    if divisor == 0 {
        return Err(invalid(
            "target.requests[*].weight",
            "at least one weight above 0",
            "all weights 0",
        ));
    }
    let reduced: Vec<i64> = weights
        .iter()
        .map(|&weight| (u64::from(weight) / divisor) as i64)
        .collect();
    let total: i64 = reduced.iter().sum();
    if total as u64 > MAX_WEIGHT_TOTAL {
        return Err(invalid(
            "target.requests[*].weight",
            format!("weights whose total divided by their gcd is at most {MAX_WEIGHT_TOTAL}"),
            format!("{total} (weights {weights:?})"),
        ));
    }
    let mut current = vec![0i64; reduced.len()];
    let mut order = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let mut best = 0;
        for index in 0..reduced.len() {
            current[index] += reduced[index];
            if current[index] > current[best] {
                best = index;
            }
        }
        current[best] -= total;
        order.push(best);
    }
    Ok(order)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_order_interleaves_in_proportion() {
        let order = weighted_order(&[50, 30, 15, 5]).unwrap();
        assert_eq!(order.len(), 20);
        let count = |index| order.iter().filter(|&&entry| entry == index).count();
        assert_eq!((count(0), count(1), count(2), count(3)), (10, 6, 3, 1));
        // Interleaved: the heaviest request never runs more than twice in a row here.
        assert!(
            order
                .windows(3)
                .all(|window| !(window[0] == 0 && window[1] == 0 && window[2] == 0))
        );
    }

    #[test]
    fn invalid_inputs_are_errors_not_panics() {
        assert!(weighted_order(&[0, 0]).is_err());
        let spec = |method: &str, path: &str| RequestSpec {
            method: method.into(),
            path: path.into(),
            headers: vec![],
            body: None,
            weight: 1,
        };
        for (base_url, request) in [
            ("https://example.com", spec("GET", "/")),
            ("not a url", spec("GET", "/")),
            ("http://127.0.0.1:1", spec("GE T", "/")),
            ("http://127.0.0.1:1", spec("GET", "/a b")),
        ] {
            let error = Plan::new(&Target {
                base_url: base_url.into(),
                requests: vec![request],
            })
            .unwrap_err();
            assert!(error.to_string().contains("expected"), "{error}");
        }
    }
}
