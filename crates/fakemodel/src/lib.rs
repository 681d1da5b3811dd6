//! A scripted fake language model: a real HTTP server on 127.0.0.1 that speaks the OpenAI
//! chat-completions protocol (`POST /v1/chat/completions`) and the Anthropic messages protocol
//! (`POST /v1/messages`), streaming and not, and replays scripted turns, tool calls included.
//!
//! Owns: both protocols as written from their JSON (`serde_json::Value`, see `openai.rs` and
//! `anthropic.rs`), the [`Script`] format, stateless turn selection (the turn answered is the
//! number of assistant messages in the request's history, so a retried request gets the same
//! turn), deterministic tool-call ids, injected [`Fault`]s, the contract checks a client must
//! pass ([`FakeModel::violations`]) and the timed [`Exchange`] log that lets benchmarks measure
//! client-side overhead between turns.
//!
//! Must not: depend on any other apiwright crate — a client bug must not be mirrored by a
//! shared type; panic on any input; listen anywhere but 127.0.0.1; or keep conversation state
//! between requests (scripts select turns from the request alone).
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use apiwright_fakemodel::{Conversation, FakeModel, Script, Turn};
//! let script = Script {
//!     conversations: vec![Conversation {
//!         name: "hello".to_owned(),
//!         matches: vec!["say hello".to_owned()],
//!         turns: vec![Turn { text: Some("hello".to_owned()), ..Turn::default() }],
//!     }],
//!     ..Script::default()
//! };
//! let model = FakeModel::start(script).await?;
//! let base_url = model.openai_base_url(); // point the client here
//! # let _ = base_url;
//! assert!(model.violations().is_empty());
//! model.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod anthropic;
mod checks;
mod exchange;
mod openai;
mod request;
mod respond;
mod script;
mod server;
mod sse;

use std::net::Ipv4Addr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use exchange::Exchange;
pub use request::ParsedMessage;
pub use request::ParsedRequest;
pub use request::Protocol;
pub use script::Conversation;
pub use script::Fault;
pub use script::Responder;
pub use script::Script;
pub use script::ScriptError;
pub use script::ScriptedCall;
pub use script::ScriptedUsage;
pub use script::Turn;

use crate::exchange::Record;
use crate::server::Shared;

/// How long [`FakeModel::shutdown`] waits for in-flight responses before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Where and how to serve, for callers that need more than [`FakeModel::start`].
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// 0 picks a free port.
    pub port: u16,
    /// Appends one JSON line per exchange (the [`Exchange`] plus its `violations`) as each
    /// response completes; the file is truncated at start.
    pub log: Option<PathBuf>,
}

/// A running fake model; dropping it also stops the server (without waiting).
pub struct FakeModel {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeModel {
    /// Binds 127.0.0.1 on a free port and serves on a tokio task.
    pub async fn start(script: Script) -> std::io::Result<FakeModel> {
        FakeModel::start_with(script, ServeConfig { port: 0, log: None }).await
    }

    pub async fn start_with(script: Script, config: ServeConfig) -> std::io::Result<FakeModel> {
        let log = config.log.map(std::fs::File::create).transpose()?;
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let addr = listener.local_addr()?;
        // Streamed answers are many small writes: without TCP_NODELAY the last one waits for
        // the client's delayed ACK (about 40 ms), which would be charged to the client.
        let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
            let _ = stream.set_nodelay(true);
        });
        let shared = Arc::new(Shared::new(script, Record::new(log)));
        let app = server::router(Arc::clone(&shared));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
                // A dropped sender stops the server too.
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                tracing::warn!(%error, "fake model server stopped");
            }
        });
        Ok(FakeModel {
            addr,
            shared,
            stop,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v1`: OpenAI clients append `/chat/completions`.
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:PORT`: Anthropic clients append `/v1/messages`.
    pub fn anthropic_base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far to a known route, in arrival order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared.record.exchanges()
    }

    /// Every protocol or contract violation so far, each prefixed with `request N: `.
    pub fn violations(&self) -> Vec<String> {
        self.shared.record.violations()
    }

    /// Stops accepting connections, lets in-flight responses finish (for a few seconds at
    /// most) and returns when the server task has ended.
    pub async fn shutdown(self) {
        let FakeModel { stop, mut task, .. } = self;
        let _ = stop.send(());
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}
