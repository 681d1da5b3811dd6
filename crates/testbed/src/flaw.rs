//! The deliberate flaws a testbed process can carry, one at a time.
//!
//! Each flaw is a negative control for one evidence gate: the gate must fail on a service
//! started with it and pass on the clean service.

use std::fmt;
use std::str::FromStr;

/// One deliberate defect, chosen at start with `--flaw NAME` or `TESTBED_FLAW`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flaw {
    /// `GET`/`PATCH`/`DELETE /api/v1/notes/{id}` skip the ownership check (OWASP API1).
    Idor,
    /// `GET` and `DELETE /api/v1/notes/{id}` need no token, although the document says they do.
    MissingAuth,
    /// Registration stores a `role` from the body and notes accept an `owner_id`.
    MassAssignment,
    /// The rate limiter is off.
    NoRateLimit,
    /// The `q` search parameter is concatenated into the SQL statement.
    InjectableSearch,
    /// Error bodies carry the underlying error text, a source location and the SQL statement.
    VerboseError,
    /// An extra, undocumented and unauthenticated `GET /api/v1/debug` dumps config and users.
    UndocumentedRoute,
    /// `GET /api/v1/notes` waits 300 ms before answering.
    SlowEndpoint,
    /// Notes are served with `pinned` as a string and without `updated_at`.
    SchemaViolation,
    /// `GET /health` answers 503 (a bad release that never becomes healthy); the rest works.
    Unhealthy,
    /// `GET /api/v1/notes/{id}` answers 500 from its 11th request on, once past auth and the
    /// id check: a bad release with one endpoint that breaks under traffic (a smoke test's
    /// few reads pass); the rest works.
    ServerError,
}

impl Flaw {
    /// Every flaw, in the order the README lists them.
    pub const ALL: [Flaw; 11] = [
        Flaw::Idor,
        Flaw::MissingAuth,
        Flaw::MassAssignment,
        Flaw::NoRateLimit,
        Flaw::InjectableSearch,
        Flaw::VerboseError,
        Flaw::UndocumentedRoute,
        Flaw::SlowEndpoint,
        Flaw::SchemaViolation,
        Flaw::Unhealthy,
        Flaw::ServerError,
    ];

    /// The name used on the command line and in `TESTBED_FLAW`.
    pub fn name(self) -> &'static str {
        match self {
            Flaw::Idor => "idor",
            Flaw::MissingAuth => "missing-auth",
            Flaw::MassAssignment => "mass-assignment",
            Flaw::NoRateLimit => "no-rate-limit",
            Flaw::InjectableSearch => "injectable-search",
            Flaw::VerboseError => "verbose-error",
            Flaw::UndocumentedRoute => "undocumented-route",
            Flaw::SlowEndpoint => "slow-endpoint",
            Flaw::SchemaViolation => "schema-violation",
            Flaw::Unhealthy => "unhealthy",
            Flaw::ServerError => "server-error",
        }
    }
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A flaw name that is not one of [`Flaw::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown flaw `{name}`; valid flaws: {}", valid_names())]
pub struct UnknownFlaw {
    /// The name that was given.
    pub name: String,
}

fn valid_names() -> String {
    Flaw::ALL.map(Flaw::name).join(", ")
}

impl FromStr for Flaw {
    type Err = UnknownFlaw;

    fn from_str(name: &str) -> Result<Flaw, UnknownFlaw> {
        Flaw::ALL
            .into_iter()
            .find(|flaw| flaw.name() == name)
            .ok_or_else(|| UnknownFlaw {
                name: name.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flaw_round_trips_through_its_name() {
        for flaw in Flaw::ALL {
            assert_eq!(flaw.to_string().parse::<Flaw>(), Ok(flaw));
        }
    }

    #[test]
    fn an_unknown_name_lists_the_valid_ones() {
        let error = "nope".parse::<Flaw>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown flaw `nope`; valid flaws: idor, missing-auth, mass-assignment, \
             no-rate-limit, injectable-search, verbose-error, undocumented-route, \
             slow-endpoint, schema-violation, unhealthy, server-error"
        );
    }
}
