//! A small Chrome DevTools Protocol client for the dashboard's browser tests: it launches
//! Chromium headless, speaks CDP as JSON over the browser's WebSocket, opens pages as flattened
//! sessions, and records what went wrong on a page (uncaught exceptions, `console.error`, error
//! log entries, Content-Security-Policy violations).
//!
//! Only the dozen commands the tests use, not a generated binding of the whole protocol: the
//! crates that have one (`chromiumoxide`, `headless_chrome`) compile a very large generated API
//! and pin a protocol revision that may lag Debian's Chromium (see ARCHITECTURE.md).

use std::collections::HashMap;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine as _;
use futures_util::SinkExt as _;
use futures_util::StreamExt as _;
use futures_util::stream::SplitSink;
use serde_json::Value;
use serde_json::json;
use tokio::io::AsyncBufReadExt as _;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::sync::oneshot;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// How long one CDP command may take (a loaded two-core machine starts Chromium slowly).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `Page::wait_for` waits for its condition.
pub const WAIT_MS: u64 = 30_000;

type Sink = SplitSink<WebSocketStream<MaybeTlsStream<TcpStream>>, Message>;
type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, Value>>>>>;
/// Who wants the events of a method in a session, as they arrive.
type Subscribers = Arc<Mutex<Vec<(String, String, mpsc::UnboundedSender<Value>)>>>;

/// The Chromium binary: `APIWRIGHT_CHROMIUM`, else `chromium` (or `chromium-browser`) on
/// `PATH`. Fails (never skips) when there is none, saying how to install it.
pub fn chromium_path() -> PathBuf {
    const INSTALL: &str = "the dashboard's browser tests need Chromium: install it with \
        `apt-get install -y chromium` (Debian), or set APIWRIGHT_CHROMIUM to its path";
    if let Some(path) = std::env::var_os("APIWRIGHT_CHROMIUM") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "APIWRIGHT_CHROMIUM={}: no such file; {INSTALL}",
            path.display()
        );
        return path;
    }
    let search = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&search) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("no `chromium` on PATH; {INSTALL}");
}

/// The CDP connection: commands by id, events into a log.
struct Connection {
    sink: tokio::sync::Mutex<Sink>,
    pending: Pending,
    events: Arc<Mutex<Vec<Value>>>,
    subscribers: Subscribers,
    next_id: AtomicU64,
}

impl Connection {
    async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.try_call(session, method, params)
            .await
            .unwrap_or_else(|error| panic!("{method} failed: {error}"))
    }

    /// The result, or the protocol's error object.
    async fn try_call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, sender);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.sink
            .lock()
            .await
            .send(Message::text(message.to_string()))
            .await
            .unwrap_or_else(|err| panic!("sending {method} to Chromium: {err}"));
        match tokio::time::timeout(COMMAND_TIMEOUT, receiver).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => panic!("{method}: Chromium closed the connection"),
            Err(_) => panic!("{method}: no answer from Chromium in {COMMAND_TIMEOUT:?}"),
        }
    }
}

/// A headless Chromium with its own profile, killed when dropped.
pub struct Browser {
    child: tokio::process::Child,
    connection: Arc<Connection>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium headless on a free DevTools port and connects to it.
    pub async fn launch() -> Browser {
        let path = chromium_path();
        let profile = tempfile::tempdir().unwrap();
        let mut child = tokio::process::Command::new(&path)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--mute-audio",
                "--hide-scrollbars",
                "--window-size=1280,900",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("starting {}: {err}", path.display()));

        // Chromium prints its DevTools address on stderr; the rest of stderr is kept (the last
        // lines) for failure messages, and drained so the browser never blocks on the pipe.
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let address = tokio::time::timeout(COMMAND_TIMEOUT, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(address) = line.trim().strip_prefix("DevTools listening on ") {
                    return Some(address.to_owned());
                }
                push_tail(&stderr_tail, line);
            }
            None
        })
        .await;
        let address = match address {
            Ok(Some(address)) => address,
            Ok(None) | Err(_) => panic!(
                "{} did not print its DevTools address; stderr:\n{}",
                path.display(),
                tail_text(&stderr_tail)
            ),
        };
        let tail = Arc::clone(&stderr_tail);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                push_tail(&tail, line);
            }
        });

        let (socket, _) = tokio_tungstenite::connect_async(address.as_str())
            .await
            .unwrap_or_else(|err| panic!("connecting to Chromium at {address}: {err}"));
        let (sink, mut stream) = socket.split();
        let pending: Pending = Arc::default();
        let events: Arc<Mutex<Vec<Value>>> = Arc::default();
        let subscribers: Subscribers = Arc::default();
        let (reader_pending, reader_events, reader_subscribers) = (
            Arc::clone(&pending),
            Arc::clone(&events),
            Arc::clone(&subscribers),
        );
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                match value.get("id").and_then(Value::as_u64) {
                    Some(id) => {
                        if let Some(sender) = reader_pending.lock().unwrap().remove(&id) {
                            let answer = match value.get("error") {
                                Some(error) => Err(error.clone()),
                                None => Ok(value.get("result").cloned().unwrap_or(Value::Null)),
                            };
                            let _ = sender.send(answer);
                        }
                    }
                    None => {
                        for (session, method, sender) in reader_subscribers.lock().unwrap().iter() {
                            if value["sessionId"] == session.as_str()
                                && value["method"] == method.as_str()
                            {
                                let _ = sender.send(value["params"].clone());
                            }
                        }
                        reader_events.lock().unwrap().push(value);
                    }
                }
            }
            // Dropping the senders tells every waiting command that the browser is gone.
            reader_pending.lock().unwrap().clear();
        });
        Browser {
            child,
            connection: Arc::new(Connection {
                sink: tokio::sync::Mutex::new(sink),
                pending,
                events,
                subscribers,
                next_id: AtomicU64::new(1),
            }),
            stderr_tail,
            _profile: profile,
        }
    }

    /// A new tab of `width`×`height` CSS pixels, watched for errors and CSP violations.
    pub async fn new_page(&self, width: u32, height: u32) -> Page {
        let created = self
            .connection
            .call(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = self
            .connection
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": created["targetId"], "flatten": true}),
            )
            .await;
        let page = Page {
            connection: Arc::clone(&self.connection),
            session: attached["sessionId"].as_str().unwrap().to_owned(),
        };
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            page.call(domain, json!({})).await;
        }
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;
        // Runs before the page's own scripts in every document of this tab.
        page.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": "window.__cspViolations = [];\
                document.addEventListener('securitypolicyviolation', (event) => \
                window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI));"}),
        )
        .await;
        page
    }

    /// The last lines Chromium wrote on stderr (for failure messages).
    pub fn stderr_tail(&self) -> String {
        tail_text(&self.stderr_tail)
    }

    /// Closes the browser and waits for it to exit (killing it if it does not within 10 s).
    pub async fn close(mut self) {
        let connection = Arc::clone(&self.connection);
        // The browser may close the socket before it answers.
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::spawn(async move { connection.call(None, "Browser.close", json!({})).await }),
        )
        .await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// The errors of an evaluation cut short by a navigation.
fn is_navigation(error: &Value) -> bool {
    let message = error["message"].as_str().unwrap_or_default();
    [
        "navigated or closed",
        "context was destroyed",
        "Cannot find context",
    ]
    .iter()
    .any(|known| message.contains(known))
}

fn push_tail(tail: &Mutex<VecDeque<String>>, line: String) {
    let mut tail = tail.lock().unwrap();
    if tail.len() == 40 {
        tail.pop_front();
    }
    tail.push_back(line);
}

fn tail_text(tail: &Mutex<VecDeque<String>>) -> String {
    tail.lock()
        .unwrap()
        .iter()
        .cloned()
        .collect::<Vec<_>>()
        .join("\n")
}

/// One tab (a flattened CDP session).
#[derive(Clone)]
pub struct Page {
    connection: Arc<Connection>,
    session: String,
}

impl Page {
    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.connection
            .call(Some(&self.session), method, params)
            .await
    }

    /// Pauses this tab's requests whose URL matches one of `patterns` (CDP wildcards) and
    /// yields them (`Fetch.requestPaused` parameters); answer each with `fulfill`.
    pub async fn intercept(&self, patterns: &[&str]) -> mpsc::UnboundedReceiver<Value> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.connection.subscribers.lock().unwrap().push((
            self.session.clone(),
            "Fetch.requestPaused".to_owned(),
            sender,
        ));
        let patterns: Vec<Value> = patterns
            .iter()
            .map(|pattern| json!({"urlPattern": pattern, "requestStage": "Request"}))
            .collect();
        self.call("Fetch.enable", json!({"patterns": patterns}))
            .await;
        receiver
    }

    /// Answers a paused request.
    pub async fn fulfill(
        &self,
        request_id: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) {
        let headers: Vec<Value> = headers
            .iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect();
        self.call(
            "Fetch.fulfillRequest",
            json!({
                "requestId": request_id,
                "responseCode": status,
                "responseHeaders": headers,
                "body": base64::engine::general_purpose::STANDARD.encode(body),
            }),
        )
        .await;
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its JSON value;
    /// panics with the page's exception if it throws.
    pub async fn eval(&self, expression: &str) -> Value {
        let params = json!({"expression": expression, "returnByValue": true, "awaitPromise": true});
        // A navigation destroys the document an evaluation runs in; evaluate again in the new
        // one (bounded: a page that keeps navigating fails the test).
        let mut result = Value::Null;
        for _ in 0..50 {
            match self
                .connection
                .try_call(Some(&self.session), "Runtime.evaluate", params.clone())
                .await
            {
                Ok(answer) => {
                    result = answer;
                    break;
                }
                Err(error) if is_navigation(&error) => continue,
                Err(error) => panic!("evaluating `{expression}` failed: {error}"),
            }
        }
        if let Some(details) = result.get("exceptionDetails") {
            let message = details["exception"]["description"]
                .as_str()
                .or_else(|| details["text"].as_str())
                .unwrap_or("an exception");
            panic!("evaluating `{expression}` threw: {message}");
        }
        result["result"]
            .get("value")
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Waits until `condition` (a JavaScript expression) is truthy in the page, and returns its
    /// value. The page polls it itself, so nothing here sleeps.
    pub async fn wait_for(&self, condition: &str) -> Value {
        let script = format!(
            "(async () => {{\
               const end = Date.now() + {WAIT_MS};\
               for (;;) {{\
                 let value = null;\
                 try {{ value = ({condition}); }} catch (_) {{ value = null; }}\
                 if (value) return value;\
                 if (Date.now() > end) throw new Error('timed out after {WAIT_MS} ms waiting for: ' + {quoted}\
                   + '\\nthe page shows: ' + (document.body ? document.body.innerText.slice(0, 600) : ''));\
                 await new Promise((resolve) => setTimeout(resolve, 25));\
               }}\
             }})()",
            quoted = json!(condition),
        );
        self.eval(&script).await
    }

    /// Navigates and waits for the dashboard's script to have started.
    pub async fn goto(&self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
        self.wait_for(&format!(
            "location.href.startsWith({}) && document.readyState === 'complete' \
             && document.body && document.body.dataset.ready === 'true'",
            json!(url)
        ))
        .await;
    }

    /// A JavaScript expression for the visible element with `data-testid` = `testid`.
    pub fn visible(testid: &str) -> String {
        format!(
            "[...document.querySelectorAll('[data-testid={}]')]\
             .find((node) => node.getClientRects().length > 0)",
            json!(testid)
        )
    }

    /// Waits for the element to be visible, then clicks it.
    pub async fn click(&self, testid: &str) {
        let element = Page::visible(testid);
        self.wait_for(&element).await;
        self.eval(&format!("({element}).click(), true")).await;
    }

    /// Types `text` into the (visible) input as the keyboard would, replacing its value.
    pub async fn fill(&self, testid: &str, text: &str) {
        let element = Page::visible(testid);
        self.wait_for(&element).await;
        self.eval(&format!(
            "(() => {{ const node = {element}; node.focus(); node.select(); return true; }})()"
        ))
        .await;
        if text.is_empty() {
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": "keyDown", "key": "Backspace", "code": "Backspace", "windowsVirtualKeyCode": 8}),
            )
            .await;
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": "keyUp", "key": "Backspace", "code": "Backspace", "windowsVirtualKeyCode": 8}),
            )
            .await;
        } else {
            self.call("Input.insertText", json!({"text": text})).await;
        }
    }

    /// Chooses `value` in a `<select>` (or sets a checkbox with `"true"`/`"false"`), firing
    /// `change` as a person would.
    pub async fn choose(&self, testid: &str, value: &str) {
        let element = Page::visible(testid);
        self.wait_for(&element).await;
        self.eval(&format!(
            "(() => {{ const node = {element};\
               if (node.type === 'checkbox') node.checked = {value} === 'true';\
               else node.value = {value};\
               node.dispatchEvent(new Event('change', {{bubbles: true}})); return true; }})()",
            value = json!(value)
        ))
        .await;
    }

    /// The text of the visible element, once it is visible.
    pub async fn text(&self, testid: &str) -> String {
        let element = Page::visible(testid);
        let value = self
            .wait_for(&format!("(({element}) || null) && ({element}).textContent"))
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// Writes a PNG of the viewport to `target/screenshots/{name}.png` (in the workspace) and
    /// returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// What went wrong in this tab so far: uncaught exceptions, `console.error` calls, error
    /// log entries (except failed requests: `source` = `network`, see `failed_requests`) and
    /// CSP violations.
    pub async fn errors(&self) -> Vec<String> {
        let mut errors: Vec<String> = self
            .events()
            .iter()
            .filter_map(|event| match event["method"].as_str()? {
                "Runtime.exceptionThrown" => {
                    let details = &event["params"]["exceptionDetails"];
                    let text = details["exception"]["description"]
                        .as_str()
                        .or_else(|| details["text"].as_str())
                        .unwrap_or("exception");
                    Some(format!("exception: {text}"))
                }
                "Runtime.consoleAPICalled"
                    if matches!(event["params"]["type"].as_str(), Some("error" | "assert")) =>
                {
                    Some(format!("console.error: {}", event["params"]["args"]))
                }
                "Log.entryAdded"
                    if event["params"]["entry"]["level"] == "error"
                        && event["params"]["entry"]["source"] != "network" =>
                {
                    Some(format!("log: {}", event["params"]["entry"]))
                }
                _ => None,
            })
            .collect();
        let violations = self.eval("(window.__cspViolations || []).slice()").await;
        for violation in violations.as_array().into_iter().flatten() {
            errors.push(format!("CSP violation: {violation}"));
        }
        errors
    }

    /// The URLs of requests that failed or answered with an error status (the browser logs
    /// them as `network` errors), e.g. an API route that does not exist yet.
    pub fn failed_requests(&self) -> Vec<String> {
        self.events()
            .iter()
            .filter(|event| {
                event["method"] == "Log.entryAdded"
                    && event["params"]["entry"]["source"] == "network"
            })
            .map(|event| {
                let entry = &event["params"]["entry"];
                format!(
                    "{} ({})",
                    entry["url"].as_str().unwrap_or_default(),
                    entry["text"].as_str().unwrap_or_default()
                )
            })
            .collect()
    }

    fn events(&self) -> Vec<Value> {
        self.connection
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|event| event["sessionId"] == self.session.as_str())
            .cloned()
            .collect()
    }
}
