//! The weighted reverse proxy: an HTTP/1.1 keep-alive listener that forwards each request to
//! the backend in the blue or green slot by smooth weighted round robin, over pooled keep-alive
//! client connections, with a per-request timeout, `x-forwarded-for`/`x-forwarded-proto`, and
//! the response tagged with `x-apiwright-backend`.

use std::net::IpAddr;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::MutexGuard;
use std::time::Duration;
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

use crate::config::Backend;
use crate::config::ProxyConfig;
use crate::config::Slot;
use crate::error::DeployError;
use crate::route::CompiledRoute;
use crate::route::attribute;
use crate::schedule::Schedule;
use crate::stats::BackendCounters;
use crate::stats::BackendStats;
use crate::stats::EndpointStats;
use crate::stats::Outcome;

/// The response header naming the backend that answered.
pub const BACKEND_HEADER: &str = "x-apiwright-backend";

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

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

/// Starts proxies; see [`Proxy::start`].
#[derive(Debug)]
pub struct Proxy;

/// A parsed backend, ready to build request URIs, with its statistics: replacing the backend of
/// a slot replaces this whole value, so the slot's statistics start again with it.
#[derive(Debug)]
struct Target {
    name: HeaderValue,
    scheme: Scheme,
    authority: Authority,
    counters: BackendCounters,
}

/// What the per-request pick needs, under one lock.
#[derive(Debug)]
struct Routing {
    schedule: Schedule,
    targets: [Arc<Target>; 2],
}

#[derive(Debug)]
struct Shared {
    routing: Mutex<Routing>,
    routes: Vec<CompiledRoute>,
    backend_timeout: Duration,
    client: Client<HttpConnector, Incoming>,
}

impl Shared {
    fn routing(&self) -> MutexGuard<'_, Routing> {
        self.routing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current targets, cloned out so the lock is not held while their stats are read.
    fn targets(&self) -> [Arc<Target>; 2] {
        self.routing().targets.clone()
    }
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
    /// Binds `config.listen` and starts forwarding. Everything in `config` is checked before
    /// binding, so a refused configuration leaves nothing running.
    pub async fn start(config: ProxyConfig) -> Result<ProxyHandle, DeployError> {
        let ProxyConfig {
            listen,
            backends,
            weights,
            routes,
            backend_timeout,
        } = config;
        if weights == (0, 0) {
            return Err(DeployError::ZeroWeights);
        }
        if backend_timeout.is_zero() {
            return Err(DeployError::ZeroTimeout {
                timeout: backend_timeout,
            });
        }
        let routes = routes
            .iter()
            .map(CompiledRoute::new)
            .collect::<Result<Vec<_>, _>>()?;
        let [blue, green] = backends;
        let targets = [
            Arc::new(parse_target(blue, routes.len())?),
            Arc::new(parse_target(green, routes.len())?),
        ];
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
            routing: Mutex::new(Routing {
                schedule: Schedule::new(weights.0, weights.1),
                targets,
            }),
            routes,
            backend_timeout,
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
        self.shared.routing().schedule.weights()
    }

    /// New weights for the next request on; (0, 0) is refused.
    pub fn set_weights(&self, blue: u32, green: u32) -> Result<(), DeployError> {
        if (blue, green) == (0, 0) {
            return Err(DeployError::ZeroWeights);
        }
        self.shared.routing().schedule.set(blue, green);
        tracing::info!(blue, green, "deploy proxy weights changed");
        Ok(())
    }

    /// Puts `backend` in `slot` for the next request on, keeping the listener, the client
    /// connections and the weights. Requests already sent to the old backend finish there, but
    /// their figures are dropped: the slot's statistics start again with the new backend.
    pub fn replace_backend(&self, slot: Slot, backend: Backend) -> Result<(), DeployError> {
        let target = Arc::new(parse_target(backend, self.shared.routes.len())?);
        let previous = std::mem::replace(
            &mut self.shared.routing().targets[slot.index()],
            Arc::clone(&target),
        );
        tracing::info!(
            ?slot,
            previous = ?previous.name,
            backend = ?target.name,
            "deploy proxy backend replaced"
        );
        Ok(())
    }

    /// Blue's and green's figures (in slot order) since the last [`ProxyHandle::reset_window`],
    /// the start, or the slot's last [`ProxyHandle::replace_backend`].
    pub fn snapshot(&self) -> Vec<BackendStats> {
        self.shared
            .targets()
            .iter()
            .map(|target| target.counters.snapshot())
            .collect()
    }

    /// Every endpoint of either backend that saw a request in the current window, sorted by
    /// backend, route and method.
    pub fn endpoints(&self) -> Vec<EndpointStats> {
        let mut endpoints = Vec::new();
        for target in self.shared.targets() {
            target
                .counters
                .endpoints(&self.shared.routes, &mut endpoints);
        }
        endpoints.sort_by(|a, b| {
            (&a.backend, &a.route, &a.method).cmp(&(&b.backend, &b.route, &b.method))
        });
        endpoints
    }

    /// Starts a new monitoring window: all counters and histograms go back to zero.
    pub fn reset_window(&self) {
        for target in self.shared.targets() {
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

fn parse_target(backend: Backend, route_count: usize) -> Result<Target, DeployError> {
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
        .ok_or_else(|| invalid("expected http://host:port, found no scheme".to_owned()))?;
    if scheme != Scheme::HTTP {
        return Err(invalid(format!(
            "expected an http:// backend, found {scheme}://"
        )));
    }
    let authority = uri
        .authority()
        .cloned()
        .ok_or_else(|| invalid("expected http://host:port, found no host".to_owned()))?;
    let name = HeaderValue::from_str(&backend.name).map_err(|_| {
        invalid("expected a name that is a valid header value, found control characters".to_owned())
    })?;
    Ok(Target {
        name,
        scheme,
        authority,
        counters: BackendCounters::new(backend.name, route_count),
    })
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown_signal: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
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
        // Formatted once per connection, not per request.
        let client_ip = client_ip_header(peer.ip());
        let mut connection_shutdown = shutdown_signal.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let shared = Arc::clone(&shared);
                let client_ip = client_ip.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(forward(&shared, request, &client_ip).await)
                }
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

fn client_ip_header(ip: IpAddr) -> HeaderValue {
    HeaderValue::from_str(&ip.to_string()).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

async fn forward(
    shared: &Shared,
    request: Request<Incoming>,
    client_ip: &HeaderValue,
) -> Response<Full<Bytes>> {
    let target = {
        let mut routing = shared.routing();
        let index = routing.schedule.pick();
        Arc::clone(&routing.targets[index])
    };
    let attribution = attribute(&shared.routes, request.method(), request.uri().path());
    let started_at = Instant::now();
    let sent = tokio::time::timeout(
        shared.backend_timeout,
        send(shared, &target, request, client_ip),
    )
    .await;
    let (outcome, mut response) = match sent {
        Ok(Ok(response)) => (
            Outcome::Response {
                status: response.status().as_u16(),
            },
            response,
        ),
        Ok(Err(error)) => {
            tracing::warn!(backend = ?target.name, %error, "backend unreachable");
            (
                Outcome::Transport,
                problem(StatusCode::BAD_GATEWAY, &error.to_string()),
            )
        }
        Err(_elapsed) => {
            let timeout = shared.backend_timeout;
            tracing::warn!(backend = ?target.name, ?timeout, "backend timed out");
            (
                Outcome::Transport,
                problem(
                    StatusCode::GATEWAY_TIMEOUT,
                    &format!("the backend did not answer within {timeout:?}"),
                ),
            )
        }
    };
    target
        .counters
        .record(&attribution, outcome, started_at.elapsed());
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
    client_ip: &HeaderValue,
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
    append_forwarded_for(&mut parts.headers, client_ip);
    // This proxy only listens on plain HTTP, whatever an earlier hop claimed.
    parts
        .headers
        .insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
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

/// Adds the client's address to the chain earlier proxies started, as one header line.
fn append_forwarded_for(headers: &mut HeaderMap, client_ip: &HeaderValue) {
    if !headers.contains_key(&X_FORWARDED_FOR) {
        headers.insert(X_FORWARDED_FOR, client_ip.clone());
        return;
    }
    let mut chain = Vec::new();
    for value in headers.get_all(&X_FORWARDED_FOR) {
        chain.extend_from_slice(value.as_bytes());
        chain.extend_from_slice(b", ");
    }
    chain.extend_from_slice(client_ip.as_bytes());
    // Joining valid header values with ", " keeps them valid; the fallback is never!-style.
    let value = HeaderValue::from_bytes(&chain).unwrap_or_else(|_| client_ip.clone());
    headers.insert(X_FORWARDED_FOR, value);
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

/// An RFC 9457 problem answer for a failure of the proxy itself.
fn problem(status: StatusCode, detail: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}
