//! Recognising internals in response bodies: stack traces, source locations, database error
//! messages, SQL text, server file system paths.

use std::sync::LazyLock;

use regex::Regex;

/// One kind of internal detail a body can leak.
pub(crate) struct Marker {
    /// Short name used in findings.
    pub name: &'static str,
    regex: Regex,
    /// Whether the marker reveals the database (evidence of an injectable query).
    pub database: bool,
}

static MARKERS: LazyLock<Vec<Marker>> = LazyLock::new(|| {
    let table: &[(&str, &str, bool)] = &[
        ("rust panic", r"panicked at", false),
        ("Rust source location", r"\b[\w/.-]+\.rs:\d+", false),
        (
            "Python traceback",
            r"Traceback \(most recent call last\)",
            false,
        ),
        ("exception name", r"\b[A-Z]\w*Exception\b", false),
        ("stack frame", r"\bat [\w.$<>]+\([\w.]*(?::\d+)?\)", false),
        ("SQLSTATE code", r"SQLSTATE", true),
        ("SQLite error", r"(?i)sqlite", true),
        ("SQL syntax error", r"(?i)\bsyntax error\b", true),
        ("SQL text", r"(?i)\bSELECT\s.{1,200}?\sFROM\s", true),
        ("Oracle error", r"\bORA-\d{5}\b", true),
        (
            "PostgreSQL error",
            r"(?i)\bpg_query\b|relation \S+ does not exist",
            true,
        ),
        (
            "MySQL error",
            r"(?i)you have an error in your sql syntax",
            true,
        ),
        (
            "server file path",
            r"(?:^|[\s:'\x22(\[])/(?:home|root|usr/src|src|app/src|var/www)/",
            false,
        ),
    ];
    table
        .iter()
        .filter_map(|(name, pattern, database)| {
            Regex::new(pattern).ok().map(|regex| Marker {
                name,
                regex,
                database: *database,
            })
        })
        .collect()
});

/// The markers found in `body`, ignoring any text the request itself sent (`echoed`), which a
/// service may legitimately repeat in a validation message.
pub(crate) fn find(body: &str, echoed: &[&str]) -> Vec<&'static Marker> {
    let mut cleaned = body.to_string();
    for sent in echoed.iter().filter(|sent| !sent.is_empty()) {
        cleaned = cleaned.replace(sent, " ");
    }
    MARKERS
        .iter()
        .filter(|marker| marker.regex.is_match(&cleaned))
        .collect()
}

/// Names of the markers, for a finding's detail.
pub(crate) fn names(markers: &[&Marker]) -> String {
    markers
        .iter()
        .map(|marker| marker.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(body: &str) -> Vec<&'static str> {
        find(body, &[]).iter().map(|marker| marker.name).collect()
    }

    #[test]
    fn recognises_internals() {
        assert_eq!(
            names_in("thread 'tokio' panicked at src/db.rs:42:5"),
            ["rust panic", "Rust source location"]
        );
        assert_eq!(
            names_in("Traceback (most recent call last):"),
            ["Python traceback"]
        );
        assert_eq!(
            names_in("java.lang.NullPointerException\n at com.x.Foo.bar(Foo.java:12)"),
            ["exception name", "stack frame"]
        );
        assert_eq!(
            names_in(r#"{"error":"near \"OR\": syntax error"}"#),
            ["SQL syntax error"]
        );
        assert_eq!(
            names_in("SqliteFailure(Error { code: 1 })"),
            ["SQLite error"]
        );
        assert_eq!(
            names_in("SELECT id FROM notes WHERE title = 'x'"),
            ["SQL text"]
        );
        assert_eq!(names_in("ERROR: SQLSTATE[42000]"), ["SQLSTATE code"]);
        assert_eq!(
            names_in("ORA-00933: SQL command not properly ended"),
            ["Oracle error"]
        );
        assert_eq!(names_in("open /home/app/config.toml"), ["server file path"]);
    }

    #[test]
    fn ordinary_errors_and_echoed_input_are_clean() {
        for body in [
            r#"{"error":{"code":"not_found","message":"No book with this id."}}"#,
            r#"{"error":"Failed to parse the request body as JSON: expected value at line 1 column 2"}"#,
            r#"{"error":"invalid page size","path":"/api/v1/books"}"#,
        ] {
            assert!(names_in(body).is_empty(), "{body}");
        }
        let body = r#"{"error":"bad id `1; SELECT x FROM y--`"}"#;
        assert!(find(body, &["1; SELECT x FROM y--"]).is_empty());
    }
}
