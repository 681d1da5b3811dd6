//! A testbed served on 127.0.0.1:0 in its own runtime, and a blocking HTTP client for it.
//!
//! Every answer of a clean server is checked against the embedded document on the way, as a
//! strict contract checker would: its status must be documented for the operation, its content
//! type must be the documented one, and its body must validate against the documented schema
//! (formats included).

use apiwright_testbed::Config;
use serde_json::Value;
use serde_json::json;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestServer {
    pub base_url: String,
    agent: ureq::Agent,
    document: Option<Value>,
    _server: apiwright_testbed::Background,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }
}

pub enum Body {
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

impl TestServer {
    pub fn start(config: Config) -> TestServer {
        let checked = config.flaw.is_none();
        let server = apiwright_testbed::Background::start(config).unwrap();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        TestServer {
            base_url: server.url.clone(),
            agent,
            document: checked
                .then(|| serde_json::from_str(apiwright_testbed::OPENAPI_DOCUMENT).unwrap()),
            _server: server,
        }
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Body>,
    ) -> Reply {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base_url));
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let result = match body {
            None => self.agent.run(builder.body(()).unwrap()),
            Some(Body::Json(value)) => self.agent.run(
                builder
                    .header("content-type", "application/json")
                    .body(value.to_string().into_bytes())
                    .unwrap(),
            ),
            Some(Body::Raw(content_type, bytes)) => self.agent.run(
                builder
                    .header("content-type", content_type)
                    .body(bytes)
                    .unwrap(),
            ),
        };
        let response = result.unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.into_body().read_to_string().unwrap();
        let reply = Reply {
            status,
            headers,
            text,
        };
        if let Some(document) = &self.document {
            check_documented(document, method, path, &reply);
        }
        reply
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request("GET", path, token, None)
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request("POST", path, token, Some(Body::Json(body)))
    }

    pub fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request("PATCH", path, token, Some(Body::Json(body)))
    }

    pub fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.request("DELETE", path, token, None)
    }

    /// Registers `email` and returns the created user.
    pub fn register(&self, email: &str) -> Value {
        let reply = self.post(
            "/api/v1/auth/register",
            None,
            json!({ "email": email, "password": PASSWORD }),
        );
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()
    }

    /// Logs in and returns the token pair.
    pub fn login(&self, email: &str) -> Value {
        let reply = self.post(
            "/api/v1/auth/login",
            None,
            json!({ "email": email, "password": PASSWORD }),
        );
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json()
    }

    /// Registers `email`, logs in and returns the access token.
    pub fn sign_up(&self, email: &str) -> String {
        self.register(email);
        access_token(&self.login(email))
    }

    /// Creates a note as the owner of `token` and returns it.
    pub fn create_note(&self, token: &str, title: &str) -> Value {
        let reply = self.post(
            "/api/v1/notes",
            Some(token),
            json!({ "title": title, "body": format!("body of {title}") }),
        );
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()
    }
}

pub fn access_token(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// The document's path template for a concrete request path.
fn template(path: &str) -> String {
    let path = path.split('?').next().unwrap();
    match path.strip_prefix("/api/v1/notes/") {
        Some(_) => "/api/v1/notes/{id}".to_owned(),
        None => path.to_owned(),
    }
}

fn check_documented(document: &Value, method: &str, path: &str, reply: &Reply) {
    let template = template(path);
    let Some(operation) = document["paths"][&template].get(method.to_ascii_lowercase()) else {
        // Not an operation of the service (an unknown path or method): nothing to hold it to.
        return;
    };
    let status = reply.status.to_string();
    assert!(
        operation["responses"].get(&status).is_some(),
        "{method} {template} answered {status}, which the document does not list: {}",
        reply.text
    );
    let content_type = reply.header("content-type").unwrap_or_default();
    if reply.status >= 400 {
        assert_eq!(content_type, "application/problem+json", "{}", reply.text);
    } else if reply.status != 204 {
        assert_eq!(content_type, "application/json", "{}", reply.text);
    }
    let content = &operation["responses"][&status]["content"];
    if reply.status == 204 {
        assert!(
            content.is_null() && reply.text.is_empty(),
            "{method} {template}: 204 with a body"
        );
        return;
    }
    let schema = &content[content_type]["schema"];
    assert!(
        !schema.is_null(),
        "{method} {template} {status}: {content_type} is not documented"
    );
    let violations = schema_violations(document, schema, &reply.json());
    assert!(
        violations.is_empty(),
        "{method} {template} {status} breaks its schema: {violations:?}\n{}",
        reply.text
    );
}

/// Where `instance` breaks `schema`, a schema of `document` (its `$ref`s resolve there).
pub fn schema_violations(document: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    let root = json!({ "allOf": [schema], "components": document["components"] });
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap();
    validator
        .iter_errors(instance)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}
