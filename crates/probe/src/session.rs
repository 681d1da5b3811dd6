//! Credentials for probing, obtained through the service's own documented auth operations.
//!
//! Two fresh users are registered (when the service documents registration) because several
//! checks need a second principal: ownership (one user must not reach another's records) and
//! contract runs that must not disturb the first user's session. The admin is logged in only
//! when credentials are given; nothing here guesses passwords.

use http::Method;
use serde_json::Map;
use serde_json::Value;
use serde_json::json;

use crate::ProbeError;
use crate::Result;
use crate::exchange::Client;
use crate::exchange::Exchange;
use crate::exchange::Request;
use crate::openapi::Api;
use crate::openapi::Operation;
use crate::schema;

/// Where credentials come from.
#[derive(Debug, Clone, Default)]
pub struct AuthOptions {
    /// Admin email and password, logged in through the login operation.
    pub admin: Option<Login>,
    /// An admin access token to use as-is (wins over `admin`).
    pub admin_token: Option<String>,
    /// User access tokens to use instead of registering users.
    pub user_tokens: Vec<String>,
    /// Path of the registration operation, when it does not end in `/register`.
    pub register_path: Option<String>,
    /// Path of the login operation, when it does not end in `/login`.
    pub login_path: Option<String>,
    /// Path of the token refresh operation, when it does not end in `/refresh`.
    pub refresh_path: Option<String>,
    /// Path of the logout operation, when it does not end in `/logout`.
    pub logout_path: Option<String>,
}

/// An email and password.
#[derive(Clone)]
pub struct Login {
    /// The account email.
    pub email: String,
    /// The account password.
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("email", &self.email)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Someone the probes can act as.
#[derive(Clone)]
pub struct Principal {
    /// The account email; empty when the principal came from a given token.
    pub email: String,
    /// The password, when this run knows it (registered users, given admin credentials).
    pub password: Option<String>,
    /// The bearer token to send.
    pub access_token: String,
    /// The refresh token, when the service issued one.
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("email", &self.email)
            .field("access_token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// The auth operations a service documents (all POST).
#[derive(Debug, Clone, Default)]
pub struct AuthOperations {
    /// Creates an account.
    pub register: Option<Operation>,
    /// Exchanges email and password for tokens.
    pub login: Option<Operation>,
    /// Exchanges a refresh token for new tokens.
    pub refresh: Option<Operation>,
    /// Revokes tokens.
    pub logout: Option<Operation>,
}

impl AuthOperations {
    /// Finds the auth operations by override path, else by path suffix on POST operations.
    pub fn detect(api: &Api, options: &AuthOptions) -> AuthOperations {
        let find = |override_path: &Option<String>, suffix: &str| {
            api.operations
                .iter()
                .find(|o| {
                    o.method == Method::POST
                        && match override_path {
                            Some(path) => &o.path == path,
                            None => o.path.ends_with(suffix),
                        }
                })
                .cloned()
        };
        AuthOperations {
            register: find(&options.register_path, "/register"),
            login: find(&options.login_path, "/login"),
            refresh: find(&options.refresh_path, "/refresh"),
            logout: find(&options.logout_path, "/logout"),
        }
    }

    /// Whether `operation` is one of these.
    pub fn contains(&self, operation: &Operation) -> bool {
        [&self.register, &self.login, &self.refresh, &self.logout]
            .into_iter()
            .flatten()
            .any(|o| o.method == operation.method && o.path == operation.path)
    }
}

/// The principals a probe run acts as, and the auth traffic that produced them.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// Ordinary users: two registered ones, or the given tokens; empty when the service has no
    /// documented auth and no tokens were given (callers skip what needs users, saying so).
    pub users: Vec<Principal>,
    /// The admin, when credentials or a token were given.
    pub admin: Option<Principal>,
    /// The detected auth operations.
    pub operations: AuthOperations,
    /// Every auth request sent, as evidence.
    pub exchanges: Vec<Exchange>,
}

impl Session {
    /// Obtains credentials as described in the module docs.
    ///
    /// Fails with [`ProbeError::Auth`] when a documented registration or login does not yield
    /// a token, quoting the status and a body excerpt.
    pub async fn establish(client: &Client, api: &Api, options: &AuthOptions) -> Result<Session> {
        let operations = AuthOperations::detect(api, options);
        let mut session = Session {
            operations,
            ..Session::default()
        };
        if options.user_tokens.is_empty() {
            if let Some(register) = session.operations.register.clone() {
                let run = schema::nonce();
                for suffix in ["a", "b"] {
                    let login = Login {
                        email: format!("probe-{run}-{suffix}@example.test"),
                        password: strong_password(),
                    };
                    let user = session.register(client, api, &register, &login).await?;
                    session.users.push(user);
                }
            }
        } else {
            session.users = options
                .user_tokens
                .iter()
                .map(|token| Principal {
                    email: String::new(),
                    password: None,
                    access_token: token.clone(),
                    refresh_token: None,
                })
                .collect();
        }
        if let Some(token) = &options.admin_token {
            session.admin = Some(Principal {
                email: String::new(),
                password: None,
                access_token: token.clone(),
                refresh_token: None,
            });
        } else if let Some(admin) = &options.admin {
            session.admin = Some(session.login(client, api, admin).await?);
        }
        Ok(session)
    }

    /// The first user, if any.
    pub fn user(&self) -> Option<&Principal> {
        self.users.first()
    }

    /// Registers `login`, then logs in unless registration already returned a token.
    async fn register(
        &mut self,
        client: &Client,
        api: &Api,
        register: &Operation,
        login: &Login,
    ) -> Result<Principal> {
        let body = credentials_body(api, register, login);
        let exchange = client
            .send(Request::json(Method::POST, register.path.clone(), &body))
            .await;
        let ok = exchange.status().is_some_and(|s| (200..300).contains(&s));
        let tokens = exchange.json().and_then(read_tokens);
        let summary = exchange.summary();
        self.record(exchange, login, tokens.as_ref());
        if !ok {
            return Err(ProbeError::Auth {
                operation: register.label(),
                expected: "a 2xx answer to a fresh registration".to_string(),
                found: summary,
            });
        }
        match (tokens, &self.operations.login) {
            (_, Some(_)) => self.login(client, api, login).await,
            (Some((access_token, refresh_token)), None) => Ok(Principal {
                email: login.email.clone(),
                password: Some(login.password.clone()),
                access_token,
                refresh_token,
            }),
            (None, None) => Err(ProbeError::Auth {
                operation: register.label(),
                expected: "a token in the registration answer (no login operation is documented)"
                    .to_string(),
                found: summary,
            }),
        }
    }

    /// Keeps an auth exchange as evidence, without the password and tokens it carried: reports
    /// are stored and shared, and a given admin password or live token must not be in them.
    fn record(
        &mut self,
        mut exchange: Exchange,
        login: &Login,
        tokens: Option<&(String, Option<String>)>,
    ) {
        exchange.redact(&login.password);
        if let Some((access_token, refresh_token)) = tokens {
            exchange.redact(access_token);
            if let Some(refresh_token) = refresh_token {
                exchange.redact(refresh_token);
            }
        }
        self.exchanges.push(exchange);
    }

    /// Logs in through the login operation and reads the tokens.
    pub async fn login(&mut self, client: &Client, api: &Api, login: &Login) -> Result<Principal> {
        let Some(operation) = self.operations.login.clone() else {
            return Err(ProbeError::Auth {
                operation: "login".to_string(),
                expected: "a documented POST operation whose path ends in /login".to_string(),
                found: "none in the document".to_string(),
            });
        };
        let body = credentials_body(api, &operation, login);
        let exchange = client
            .send(Request::json(Method::POST, operation.path.clone(), &body))
            .await;
        let tokens = exchange
            .status()
            .filter(|s| (200..300).contains(s))
            .and(exchange.json())
            .and_then(read_tokens);
        let summary = exchange.summary();
        self.record(exchange, login, tokens.as_ref());
        match tokens {
            Some((access_token, refresh_token)) => Ok(Principal {
                email: login.email.clone(),
                password: Some(login.password.clone()),
                access_token,
                refresh_token,
            }),
            None => Err(ProbeError::Auth {
                operation: operation.label(),
                expected: format!("a 2xx answer with an access token for {}", login.email),
                found: summary,
            }),
        }
    }
}

/// A body for a register or login operation: a schema sample with the email and password
/// properties replaced (so required extras such as `name` are still sent).
fn credentials_body(api: &Api, operation: &Operation, login: &Login) -> Value {
    let mut body = match &operation.body {
        Some(body) => schema::sample(api, &body.schema, &schema::Hints::new()),
        None => Value::Object(Map::new()),
    };
    let Some(object) = body.as_object_mut() else {
        return json!({"email": login.email, "password": login.password});
    };
    let mut has_email = false;
    let mut has_password = false;
    for (name, value) in object.iter_mut() {
        let lower = name.to_ascii_lowercase();
        if lower.contains("email") || lower == "username" || lower == "login" {
            *value = json!(login.email);
            has_email = true;
        } else if lower.contains("password") {
            *value = json!(login.password);
            has_password = true;
        }
    }
    if !has_email {
        object.insert("email".to_string(), json!(login.email));
    }
    if !has_password {
        object.insert("password".to_string(), json!(login.password));
    }
    body
}

/// Reads `(access, refresh)` tokens from an auth answer: top level, or one object level down
/// (`{"tokens": {...}}`, `{"data": {...}}`).
pub fn read_tokens(body: &Value) -> Option<(String, Option<String>)> {
    let read = |object: &Value| {
        let access = ["access_token", "accessToken", "token"]
            .iter()
            .find_map(|k| object.get(*k).and_then(Value::as_str))?;
        let refresh = ["refresh_token", "refreshToken"]
            .iter()
            .find_map(|k| object.get(*k).and_then(Value::as_str))
            .map(str::to_string);
        Some((access.to_string(), refresh))
    };
    read(body).or_else(|| body.as_object()?.values().find_map(read))
}

/// 24 random alphanumerics plus every character class a password policy may demand.
fn strong_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = String::from("Pr0b!");
    let mut bits = schema::random_u64();
    for index in 0..24 {
        if index % 10 == 9 {
            bits = schema::random_u64();
        }
        let position = usize::try_from(bits % ALPHABET.len() as u64).unwrap_or(0);
        out.push(char::from(ALPHABET[position]));
        bits /= ALPHABET.len() as u64;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_at_top_level_and_nested() {
        assert_eq!(
            read_tokens(&json!({"accessToken": "a", "refreshToken": "r"})),
            Some(("a".to_string(), Some("r".to_string())))
        );
        assert_eq!(
            read_tokens(&json!({"data": {"token": "t"}})),
            Some(("t".to_string(), None))
        );
        assert_eq!(read_tokens(&json!({"detail": "no"})), None);
    }

    #[test]
    fn passwords_are_long_and_distinct() {
        let first = strong_password();
        assert!(first.len() >= 24);
        assert_ne!(first, strong_password());
    }
}
