//! One keep-alive HTTP/1.1 connection per worker (hyper's `http1::handshake` over a tokio
//! `TcpStream`), reconnecting after a failure, and the outcome of one request.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::BodyExt;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::config::Endpoint;
use crate::config::PreparedRequest;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What became of one request.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A complete response (body read to the end) with this status.
    Response(u16),
    /// No complete response: connect failure, reset, protocol error or timeout.
    Transport(String),
}

#[derive(Debug, Default)]
pub(crate) struct Connection {
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    pub(crate) async fn send(
        &mut self,
        endpoint: &Endpoint,
        request: &PreparedRequest,
        timeout: Duration,
    ) -> Outcome {
        match tokio::time::timeout(timeout, self.send_within(endpoint, request)).await {
            Ok(Ok(status)) => Outcome::Response(status),
            Ok(Err(error)) => {
                self.sender = None;
                let mut message = error.to_string();
                let mut source = error.source();
                while let Some(cause) = source {
                    message.push_str(": ");
                    message.push_str(&cause.to_string());
                    source = cause.source();
                }
                Outcome::Transport(message)
            }
            Err(_) => {
                // The connection may still carry the late response: never reuse it.
                self.sender = None;
                Outcome::Transport(format!(
                    "no complete response within {} ms",
                    timeout.as_millis()
                ))
            }
        }
    }

    async fn send_within(
        &mut self,
        endpoint: &Endpoint,
        request: &PreparedRequest,
    ) -> Result<u16, BoxError> {
        let sender = self.ready_sender(endpoint).await?;
        let mut http_request = Request::builder()
            .method(request.method.clone())
            .uri(request.uri.clone())
            .body(Full::new(request.body.clone()))?;
        *http_request.headers_mut() = request.headers.clone();
        let response = sender.send_request(http_request).await?;
        let status = response.status().as_u16();
        response.into_body().collect().await?;
        Ok(status)
    }

    /// The kept-alive connection if it is still usable, else a new one.
    async fn ready_sender(
        &mut self,
        endpoint: &Endpoint,
    ) -> Result<&mut SendRequest<Full<Bytes>>, BoxError> {
        let reusable = match self.sender.as_mut() {
            Some(sender) if !sender.is_closed() => sender.ready().await.is_ok(),
            Some(_) | None => false,
        };
        if !reusable {
            self.sender = None;
            let stream = TcpStream::connect((endpoint.host.as_str(), endpoint.port)).await?;
            stream.set_nodelay(true)?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            // The connection task ends when the sender is dropped or the peer closes; its error,
            // if any, surfaces on the next send.
            tokio::spawn(connection);
            sender.ready().await?;
            self.sender = Some(sender);
        }
        self.sender
            .as_mut()
            .ok_or_else(|| BoxError::from("connection vanished after connecting"))
    }
}
