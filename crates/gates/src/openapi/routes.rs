//! Served routes: what they are, how paths of different frameworks compare, and the
//! `METHOD /path` lines a routes command prints.

/// The HTTP methods an OpenAPI path item can document, upper-case.
pub(crate) const METHODS: [&str; 8] = [
    "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE",
];

/// A route method that serves every method (axum's `any`).
pub(crate) const ANY: &str = "ANY";

/// One route the service serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServedRoute {
    /// Upper-case method, or [`ANY`].
    pub method: String,
    /// The path in OpenAPI form (`/books/{id}`).
    pub path: String,
    /// Where it was found: `src/routes.rs:40`, or `line 3` of a command's output.
    pub at: String,
}

/// Whether a path segment is a parameter written in one of the ways frameworks write them:
/// `{id}` (OpenAPI, axum 0.8), `{*rest}` (axum 0.8 wildcard), `:id` and `*rest` (axum 0.7),
/// `<id>` or `<int:id>` (Flask).
fn parameter_name(segment: &str) -> Option<&str> {
    if let Some(inner) = segment
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
    {
        return Some(inner.strip_prefix('*').unwrap_or(inner));
    }
    if let Some(inner) = segment
        .strip_prefix('<')
        .and_then(|rest| rest.strip_suffix('>'))
    {
        return Some(inner.rsplit(':').next().unwrap_or(inner));
    }
    segment
        .strip_prefix(':')
        .or_else(|| segment.strip_prefix('*'))
        .filter(|name| !name.is_empty())
}

/// The path with every parameter written the OpenAPI way: `/books/:id` → `/books/{id}`.
pub(crate) fn openapi_form(path: &str) -> String {
    path.split('/')
        .map(|segment| match parameter_name(segment) {
            Some(name) => format!("{{{name}}}"),
            None => segment.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The shape of a path: every parameter replaced by `{}`, so `/books/{id}`,
/// `/books/{book_id}` and `/books/:id` compare equal. Parameters inside a segment
/// (`/files/{name}.json`, OpenAPI only) become `{}` too.
pub(crate) fn shape(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if parameter_name(segment).is_some() {
                return "{}".to_string();
            }
            let mut out = String::new();
            let mut rest = segment;
            while let Some(open) = rest.find('{') {
                let Some(close) = rest[open..].find('}') else {
                    break;
                };
                out.push_str(&rest[..open]);
                out.push_str("{}");
                rest = &rest[open + close + 1..];
            }
            out.push_str(rest);
            out
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The names of the `{parameters}` of an OpenAPI path template, in order.
pub(crate) fn template_parameters(path: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        names.push(&rest[open + 1..open + close]);
        rest = &rest[open + close + 1..];
    }
    names
}

/// Reads the output of a routes command: one `METHOD /path` per line; blank lines and lines
/// starting with `#` are skipped. Returns the routes and one problem per line that does not
/// parse.
pub(crate) fn parse_route_lines<'a>(
    lines: impl IntoIterator<Item = &'a str>,
) -> (Vec<ServedRoute>, Vec<String>) {
    let mut routes = Vec::new();
    let mut problems = Vec::new();
    for (index, line) in lines.into_iter().enumerate() {
        let number = index + 1;
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = text.split_whitespace().collect();
        let parsed = match fields.as_slice() {
            [method, path] => {
                let method = method.to_ascii_uppercase();
                if !METHODS.contains(&method.as_str()) {
                    Err(format!("`{}` is not an HTTP method", fields[0]))
                } else if !path.starts_with('/') {
                    Err(format!("`{path}` does not start with `/`"))
                } else {
                    Ok(ServedRoute {
                        method,
                        path: openapi_form(path),
                        at: format!("line {number}"),
                    })
                }
            }
            _ => Err(format!(
                "{} field{} instead of 2",
                fields.len(),
                if fields.len() == 1 { "" } else { "s" }
            )),
        };
        match parsed {
            Ok(route) => routes.push(route),
            Err(why) => problems.push(format!(
                "line {number} of the routes command's output: expected `METHOD /path` (e.g. `GET /books/{{id}}`), found `{}` ({why})",
                shorten(text, 120)
            )),
        }
    }
    (routes, problems)
}

/// `text` cut to at most `max` characters, with `…` when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_every_framework_share_one_shape() {
        for path in [
            "/books/{id}",
            "/books/{book_id}",
            "/books/:id",
            "/books/<int:id>",
        ] {
            assert_eq!(shape(path), "/books/{}", "{path}");
        }
        assert_eq!(shape("/files/{*rest}"), "/files/{}");
        assert_eq!(shape("/files/*rest"), "/files/{}");
        assert_eq!(shape("/files/{name}.json"), "/files/{}.json");
        assert_eq!(shape("/books"), "/books");
        assert_ne!(shape("/books/"), shape("/books"));
        assert_eq!(
            openapi_form("/books/:id/reviews/*rest"),
            "/books/{id}/reviews/{rest}"
        );
        assert_eq!(openapi_form("/files/{*path}"), "/files/{path}");
        assert_eq!(openapi_form("/users/<int:user_id>"), "/users/{user_id}");
        assert_eq!(
            template_parameters("/a/{x}/b/{y}.json"),
            ["x", "y"],
            "parameters in order"
        );
    }

    #[test]
    fn route_lines_parse_and_bad_lines_are_reported_with_their_number() {
        let output = "GET /books\n\n# comment\npost /books/:id\nGET\nFETCH /x\nGET books\n";
        let (routes, problems) = parse_route_lines(output.lines());
        assert_eq!(
            routes,
            [
                ServedRoute {
                    method: "GET".into(),
                    path: "/books".into(),
                    at: "line 1".into()
                },
                ServedRoute {
                    method: "POST".into(),
                    path: "/books/{id}".into(),
                    at: "line 4".into()
                },
            ]
        );
        assert_eq!(
            problems,
            [
                "line 5 of the routes command's output: expected `METHOD /path` (e.g. `GET /books/{id}`), found `GET` (1 field instead of 2)",
                "line 6 of the routes command's output: expected `METHOD /path` (e.g. `GET /books/{id}`), found `FETCH /x` (`FETCH` is not an HTTP method)",
                "line 7 of the routes command's output: expected `METHOD /path` (e.g. `GET /books/{id}`), found `GET books` (`books` does not start with `/`)",
            ]
        );
    }
}
