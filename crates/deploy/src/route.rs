//! Attributing a request to an OpenAPI-style route template (`GET /api/v1/books/{id}`), so the
//! statistics can say which endpoint of a new version misbehaves. Templates are split into
//! segments once at start; matching a request walks its path without allocating.

use http::Method;

use crate::error::DeployError;

/// The route of requests that match no configured [`Route`].
pub const UNMATCHED_ROUTE: &str = "(unmatched)";

/// One endpoint of the service behind the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// An HTTP method in any case (`get` as in OpenAPI, or `GET`); reported in upper case.
    pub method: String,
    /// A path template such as `/api/v1/books/{id}`: a `{param}` segment matches any one
    /// non-empty segment, every other segment matches itself exactly.
    pub template: String,
}

#[derive(Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

/// A [`Route`] ready for matching.
#[derive(Debug)]
pub(crate) struct CompiledRoute {
    pub(crate) method: Method,
    pub(crate) template: String,
    segments: Vec<Segment>,
}

impl CompiledRoute {
    pub(crate) fn new(route: &Route) -> Result<Self, DeployError> {
        let invalid_template = |reason: &str| DeployError::RouteTemplate {
            method: route.method.clone(),
            template: route.template.clone(),
            reason: reason.to_owned(),
        };
        let method =
            Method::from_bytes(route.method.to_ascii_uppercase().as_bytes()).map_err(|_| {
                DeployError::RouteMethod {
                    method: route.method.clone(),
                    template: route.template.clone(),
                }
            })?;
        let Some(path) = route.template.strip_prefix('/') else {
            return Err(invalid_template("expected a path starting with '/'"));
        };
        if path.contains(['?', '#']) {
            return Err(invalid_template(
                "expected a path only, found a query or fragment",
            ));
        }
        let mut segments = Vec::new();
        for segment in path.split('/') {
            let param = segment
                .strip_prefix('{')
                .and_then(|rest| rest.strip_suffix('}'))
                .filter(|name| !name.contains(['{', '}']));
            if let Some(name) = param {
                if name.is_empty() {
                    return Err(invalid_template(
                        "expected a named parameter such as {id}, found {}",
                    ));
                }
                segments.push(Segment::Param);
            } else if segment.contains(['{', '}']) {
                // `/files/{name}.{ext}` would silently never match; refusing it says so.
                return Err(invalid_template(
                    "expected each {param} to be a whole segment, found one inside a segment",
                ));
            } else {
                segments.push(Segment::Literal(segment.to_owned()));
            }
        }
        Ok(Self {
            method,
            template: route.template.clone(),
            segments,
        })
    }

    /// Whether `path` (without its query) fits the template segment by segment.
    fn matches(&self, path: &str) -> bool {
        let Some(path) = path.strip_prefix('/') else {
            return false;
        };
        let mut parts = path.split('/');
        for segment in &self.segments {
            let Some(part) = parts.next() else {
                return false;
            };
            let fits = match segment {
                Segment::Literal(literal) => part == literal,
                Segment::Param => !part.is_empty(),
            };
            if !fits {
                return false;
            }
        }
        parts.next().is_none()
    }
}

/// Which statistics bucket a request belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attribution {
    /// Index into the configured routes.
    Route(usize),
    /// No route matched; the method as sent.
    Unmatched(Method),
}

/// The first route whose method and path fit, in configuration order.
pub(crate) fn attribute(routes: &[CompiledRoute], method: &Method, path: &str) -> Attribution {
    routes
        .iter()
        .position(|route| route.method == method && route.matches(path))
        .map_or_else(
            || Attribution::Unmatched(method.clone()),
            Attribution::Route,
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(method: &str, template: &str) -> Result<CompiledRoute, DeployError> {
        CompiledRoute::new(&Route {
            method: method.into(),
            template: template.into(),
        })
    }

    #[test]
    fn params_match_one_non_empty_segment_and_literals_match_exactly() {
        let routes = [
            compile("get", "/api/v1/books/{id}").unwrap(),
            compile("GET", "/api/v1/books").unwrap(),
            compile("GET", "/").unwrap(),
        ];
        let get = Method::GET;
        let cases = [
            ("/api/v1/books/42", Attribution::Route(0)),
            ("/api/v1/books", Attribution::Route(1)),
            ("/", Attribution::Route(2)),
            ("/api/v1/books/", Attribution::Unmatched(Method::GET)),
            (
                "/api/v1/books/42/reviews",
                Attribution::Unmatched(Method::GET),
            ),
            ("/api/v1/Books/42", Attribution::Unmatched(Method::GET)),
            ("/api/v1", Attribution::Unmatched(Method::GET)),
            ("", Attribution::Unmatched(Method::GET)),
        ];
        for (path, expected) in cases {
            assert_eq!(attribute(&routes, &get, path), expected, "{path}");
        }
        assert_eq!(
            attribute(&routes, &Method::DELETE, "/api/v1/books/42"),
            Attribution::Unmatched(Method::DELETE)
        );
    }

    #[test]
    fn the_first_fitting_route_wins() {
        let routes = [
            compile("GET", "/books/{id}").unwrap(),
            compile("GET", "/books/latest").unwrap(),
        ];
        assert_eq!(
            attribute(&routes, &Method::GET, "/books/latest"),
            Attribution::Route(0)
        );
    }

    #[test]
    fn malformed_templates_and_methods_are_refused_with_the_reason() {
        for (method, template, expected) in [
            ("GET", "books", "starting with '/'"),
            ("GET", "/books?limit=1", "query"),
            ("GET", "/books/{}", "named parameter"),
            ("GET", "/files/{name}.{ext}", "whole segment"),
            ("GE T", "/books", "HTTP method"),
        ] {
            let error = compile(method, template).unwrap_err().to_string();
            assert!(error.contains(expected), "{template}: {error}");
        }
    }
}
