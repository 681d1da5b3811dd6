//! `ModelClient`: validates a `ClientConfig` once, then runs `complete` calls, each a loop of
//! HTTP attempts (`http.rs`) with backoff (`retry.rs`) until an answer, a fatal error or the
//! retry budget is spent. The only place that turns attempt failures into `ModelError`s, and so
//! the place that redacts the API key from anything a server sent back.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::Url;
use reqwest::header::ACCEPT;
use reqwest::header::AUTHORIZATION;
use reqwest::header::HeaderMap;
use reqwest::header::HeaderName;
use reqwest::header::HeaderValue;

use crate::ChatRequest;
use crate::ChatResponse;
use crate::ClientConfig;
use crate::ModelError;
use crate::Protocol;
use crate::Result;
use crate::anthropic;
use crate::http::Exchange;
use crate::http::Failure;
use crate::openai;
use crate::retry;

/// A client for one model at one server. Cloning is cheap (the HTTP connection pool is
/// shared). `Debug` shows the configuration with the key as `***`.
#[derive(Clone)]
pub struct ModelClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    http: reqwest::Client,
    endpoint: String,
    /// The endpoint as errors and logs show it: without any user or password.
    display_url: String,
    headers: HeaderMap,
}

impl fmt::Debug for ModelClient {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ModelClient")
            .field("endpoint", &self.inner.display_url)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl ModelClient {
    /// Checks the configuration and builds the HTTP client; no request is sent.
    pub fn new(config: ClientConfig) -> Result<ModelClient> {
        let base_url = config.base_url.trim().trim_end_matches('/');
        let endpoint = match config.protocol {
            Protocol::OpenAi => openai::endpoint(base_url),
            Protocol::Anthropic => anthropic::endpoint(base_url),
        };
        let display_url = display_url(&endpoint)?;
        if config.model.trim().is_empty() {
            return Err(ModelError::Config(
                "expected a model name, found an empty one".to_owned(),
            ));
        }
        if config.max_output_tokens == 0 {
            return Err(ModelError::Config(
                "expected max_output_tokens above 0, found 0".to_owned(),
            ));
        }
        if config.request_timeout.is_zero() {
            return Err(ModelError::Config(
                "expected a request timeout above 0, found 0".to_owned(),
            ));
        }
        if let Some(temperature) = config.temperature
            && !temperature.is_finite()
        {
            return Err(ModelError::Config(format!(
                "expected a finite temperature, found {temperature}"
            )));
        }
        let headers = headers(&config)?;
        let http = reqwest::Client::builder().build().map_err(|error| {
            ModelError::Config(format!("cannot build the HTTP client: {error}"))
        })?;
        Ok(ModelClient {
            inner: Arc::new(Inner {
                config,
                http,
                endpoint,
                display_url,
                headers,
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Sends the conversation and returns the whole answer, retrying per the config's
    /// [`crate::RetryPolicy`]. Dropping the future aborts the request; nothing outlives it.
    #[tracing::instrument(
        skip_all,
        fields(protocol = ?self.inner.config.protocol, model = %self.inner.config.model)
    )]
    pub async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse> {
        let inner = &*self.inner;
        let config = &inner.config;
        let body = match config.protocol {
            Protocol::OpenAi => openai::request_body(config, request),
            Protocol::Anthropic => anthropic::request_body(config, request),
        };
        let body = Bytes::from(body.to_string());
        let exchange = Exchange {
            http: &inner.http,
            protocol: config.protocol,
            endpoint: &inner.endpoint,
            headers: &inner.headers,
            stream: config.stream,
            timeout: config.request_timeout,
        };
        let mut attempts: u32 = 0;
        loop {
            attempts = attempts.saturating_add(1);
            let failure = match exchange.run(body.clone()).await {
                Ok(mut response) => {
                    response.attempts = attempts;
                    return Ok(response);
                }
                Err(failure) => failure,
            };
            let (status, retry_hint, reason) = match &failure {
                Failure::Status {
                    status, retry_hint, ..
                } if retry::is_retryable_status(*status) => {
                    (Some(*status), *retry_hint, format!("HTTP {status}"))
                }
                Failure::Transport(message) => (None, None, inner.redact(message)),
                Failure::Status { .. } | Failure::Protocol(_) => {
                    return Err(inner.error(failure, attempts));
                }
            };
            let retry = attempts - 1;
            if retry >= config.retry.max_retries {
                return Err(inner.error(failure, attempts));
            }
            let delay = retry::delay_before_retry(&config.retry, retry, retry_hint);
            tracing::warn!(
                url = %inner.display_url,
                status,
                attempt = attempts,
                delay_ms = delay.as_millis() as u64,
                "model request failed ({reason}), retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

impl Inner {
    fn error(&self, failure: Failure, attempts: u32) -> ModelError {
        let url = self.display_url.clone();
        match failure {
            Failure::Status { status, body, .. } if status == 401 || status == 403 => {
                ModelError::Auth {
                    status,
                    url,
                    body: self.redact(&body),
                }
            }
            Failure::Status { status, body, .. } => ModelError::Status {
                status,
                url,
                body: self.redact(&body),
                attempts,
            },
            Failure::Transport(message) => ModelError::Transport {
                url,
                message: self.redact(&message),
                attempts,
            },
            Failure::Protocol(message) => ModelError::Protocol {
                url,
                message: self.redact(&message),
            },
        }
    }

    /// `text` with every occurrence of the API key replaced by `***`: some servers quote the
    /// key they rejected.
    fn redact(&self, text: &str) -> String {
        match &self.config.api_key {
            Some(key) if !key.expose().is_empty() => text.replace(key.expose(), "***"),
            _ => text.to_owned(),
        }
    }
}

fn display_url(endpoint: &str) -> Result<String> {
    let shown = crate::types::without_credentials(endpoint);
    let url = Url::parse(endpoint).map_err(|error| {
        ModelError::Config(format!(
            "expected an absolute http(s) base URL, found {shown:?} ({error})"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ModelError::Config(format!(
            "expected an http or https base URL with a host, found {shown:?}"
        )));
    }
    // Credentials in the URL stay in the request but never reach an error or a log line.
    Ok(shown)
}

fn headers(config: &ClientConfig) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let accept = if config.stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    headers.insert(ACCEPT, HeaderValue::from_static(accept));
    let key_header = |value: String| {
        let mut value = HeaderValue::from_str(&value).map_err(|_invalid| {
            ModelError::Config(
                "expected an API key of visible ASCII characters, found other characters"
                    .to_owned(),
            )
        })?;
        value.set_sensitive(true);
        Ok::<HeaderValue, ModelError>(value)
    };
    match config.protocol {
        Protocol::OpenAi => {
            if let Some(key) = &config.api_key {
                headers.insert(
                    AUTHORIZATION,
                    key_header(format!("Bearer {}", key.expose()))?,
                );
            }
        }
        Protocol::Anthropic => {
            if let Some(key) = &config.api_key {
                headers.insert(
                    HeaderName::from_static("x-api-key"),
                    key_header(key.expose().to_owned())?,
                );
            }
            headers.insert(
                HeaderName::from_static("anthropic-version"),
                HeaderValue::from_static(anthropic::API_VERSION),
            );
        }
    }
    Ok(headers)
}
