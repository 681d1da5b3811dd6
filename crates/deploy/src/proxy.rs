//! The weighted reverse proxy: an HTTP/1.1 keep-alive listener that forwards each request to
//! blue or green by smooth weighted round robin, over pooled keep-alive client connections, and
//! tags the response with `x-apiwright-backend`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;
use http::HeaderName;
use http::HeaderValue;
use http::Request;
use http::Response;
use http::StatusCode;
use http::Uri;
use http::header;
use http::uri::Authority;
use http::uri::Scheme;
use http_body_util::BodyExt;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::DeployError;
use crate::schedule::Schedule;
use crate::stats::BackendCounters;
use crate::stats::BackendStats;
use crate::stats::Outcome;

/// The response header naming the backend that answered.
pub const BACKEND_HEADER: &str = "x-apiwright-backend";

/// Headers that describe one hop, not the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// One of the two versions behind the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// `blue` or `green`; echoed in `x-apiwright-backend` and the statistics.
    pub name: String,
    /// `http://host:port`; any path in it is ignored.
    pub url: String,
}

/// Starts proxies; see [`Proxy::start`].
#[derive(Debug)]
pub struct Proxy;

/// A parsed backend, ready to build request URIs.
#[derive(Debug)]
struct Target {
    name: HeaderValue,
    scheme: Scheme,
    authority: Authority,
    counters: BackendCounters,
}

#[derive(Debug)]
struct Shared {
    targets: [Target; 2],
    schedule: Mutex<Schedule>,
    client: Client<HttpConnector, Incoming>,
}

/// A running proxy. Dropping it leaves the proxy running until the runtime ends; call
/// [`ProxyHandle::shutdown`] to stop it.
#[derive(Debug)]
pub struct ProxyHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    accept_task: JoinHandle<()>,
}

impl Proxy {
    /// Binds `listen` (port 0 picks a free port) and starts forwarding to `backends`
    /// (blue first, green second) with `weights` (blue, green).
    pub async fn start(
        listen: SocketAddr,
        backends: [Backend; 2],
        weights: (u32, u32),
    ) -> Result<ProxyHandle, DeployError> {
        if weights == (0, 0) {
            return Err(DeployError::ZeroWeights);
        }
        let [blue, green] = backends;
        let targets = [parse_target(blue)?, parse_target(green)?];
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| DeployError::Bind {
                address: listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| DeployError::Bind {
            address: listen,
            source,
        })?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let shared = Arc::new(Shared {
            targets,
            schedule: Mutex::new(Schedule::new(weights.0, weights.1)),
            client,
        });
        let (shutdown, shutdown_signal) = watch::channel(false);
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), shutdown_signal));
        tracing::info!(%local_addr, blue = weights.0, green = weights.1, "deploy proxy listening");
        Ok(ProxyHandle {
            local_addr,
            shared,
            shutdown,
            accept_task,
        })
    }
}

impl ProxyHandle {
    /// The bound address (useful when listening on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The current weights (blue, green).
    pub fn weights(&self) -> (u32, u32) {
        lock_schedule(&self.shared.schedule).weights()
    }

    /// New weights for the next request on; (0, 0) is refused.
    pub fn set_weights(&self, blue: u32, green: u32) -> Result<(), DeployError> {
        if (blue, green) == (0, 0) {
            return Err(DeployError::ZeroWeights);
        }
        lock_schedule(&self.shared.schedule).set(blue, green);
        tracing::info!(blue, green, "deploy proxy weights changed");
        Ok(())
    }

    /// Blue's and green's figures since the last [`ProxyHandle::reset_window`] (or the start).
    pub fn snapshot(&self) -> Vec<BackendStats> {
        self.shared
            .targets
            .iter()
            .map(|target| target.counters.snapshot())
            .collect()
    }

    /// Starts a new monitoring window: all counters and histograms go back to zero.
    pub fn reset_window(&self) {
        for target in &self.shared.targets {
            target.counters.reset();
        }
    }

    /// Stops accepting, lets in-flight requests finish and closes idle connections.
    pub async fn shutdown(self) {
        // Receivers gone means everything has already stopped.
        let _ = self.shutdown.send(true);
        if let Err(error) = self.accept_task.await {
            tracing::warn!(%error, "deploy proxy accept task ended abnormally");
        }
    }
}

fn lock_schedule(schedule: &Mutex<Schedule>) -> std::sync::MutexGuard<'_, Schedule> {
    schedule
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn parse_target(backend: Backend) -> Result<Target, DeployError> {
    let invalid = |reason: String| DeployError::BackendUrl {
        name: backend.name.clone(),
        url: backend.url.clone(),
        reason,
    };
    let uri: Uri = backend
        .url
        .parse()
        .map_err(|error: http::uri::InvalidUri| invalid(error.to_string()))?;
    let scheme = uri
        .scheme()
        .cloned()
        .ok_or_else(|| invalid("no scheme".to_owned()))?;
    if scheme != Scheme::HTTP {
        return Err(invalid("only http:// backends are supported".to_owned()));
    }
    let authority = uri
        .authority()
        .cloned()
        .ok_or_else(|| invalid("no host".to_owned()))?;
    let name = HeaderValue::from_str(&backend.name)
        .map_err(|_| invalid("the name is not a valid header value".to_owned()))?;
    Ok(Target {
        name,
        scheme,
        authority,
        counters: BackendCounters::new(backend.name),
    })
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown_signal: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "deploy proxy accept failed");
                    continue;
                }
            },
            _ = shutdown_signal.changed() => break,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let shared = Arc::clone(&shared);
        let mut connection_shutdown = shutdown_signal.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, std::convert::Infallible>(forward(&shared, request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = connection_shutdown.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.as_mut().await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, "deploy proxy connection ended with an error");
            }
        });
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

async fn forward(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let index = lock_schedule(&shared.schedule).pick();
    let target = &shared.targets[index];
    let started_at = Instant::now();
    let (outcome, mut response) = match send(shared, target, request).await {
        Ok(response) => (
            Outcome::Response {
                status: response.status().as_u16(),
            },
            response,
        ),
        Err(error) => {
            tracing::warn!(backend = ?target.name, %error, "backend unreachable");
            (Outcome::Transport, bad_gateway(&error))
        }
    };
    target.counters.record(outcome, started_at.elapsed());
    response
        .headers_mut()
        .insert(HeaderName::from_static(BACKEND_HEADER), target.name.clone());
    response
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn send(
    shared: &Shared,
    target: &Target,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let (mut parts, body) = request.into_parts();
    let mut uri_parts = http::uri::Parts::default();
    uri_parts.scheme = Some(target.scheme.clone());
    uri_parts.authority = Some(target.authority.clone());
    uri_parts.path_and_query = parts
        .uri
        .path_and_query()
        .cloned()
        .or_else(|| Some(http::uri::PathAndQuery::from_static("/")));
    parts.uri = Uri::from_parts(uri_parts)?;
    strip_hop_by_hop(&mut parts.headers);
    // The client sets Host from the backend URI.
    parts.headers.remove(header::HOST);
    let response = shared
        .client
        .request(Request::from_parts(parts, body))
        .await
        .map_err(|error| full_message(&error))?;
    let (mut parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove(header::CONTENT_LENGTH);
    Ok(Response::from_parts(parts, Full::new(body)))
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

fn full_message(error: &dyn std::error::Error) -> BoxError {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message.into()
}

fn bad_gateway(error: &BoxError) -> Response<Full<Bytes>> {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": "Bad Gateway",
        "status": 502,
        "detail": error.to_string(),
    });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}
