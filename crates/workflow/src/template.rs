//! `{placeholder}` templates used in tasks, memory keys and gate commands.
//!
//! A placeholder is `{name}` where name is lowercase ASCII letters, digits, `_` or `-`.
//! Anything else in braces (JSON, shell `${VAR}` with uppercase names) is left alone, and
//! `{{` / `}}` produce literal braces.

use std::collections::BTreeMap;

/// A placeholder had no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown placeholder `{{{name}}}` in `{template}`")]
pub struct UnknownPlaceholder {
    /// The placeholder name.
    pub name: String,
    /// The template it appeared in.
    pub template: String,
}

/// Values for placeholders.
pub type Vars = BTreeMap<String, String>;

/// Names of the placeholders a template uses, in order of appearance.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    scan(template, |piece| {
        if let Piece::Placeholder(name) = piece {
            names.push(name);
        }
    });
    names
}

/// Fills every placeholder from `vars`; fails on the first placeholder without a value.
pub fn render(template: &str, vars: &Vars) -> Result<String, UnknownPlaceholder> {
    let mut out = String::with_capacity(template.len());
    let mut missing = None;
    scan(template, |piece| match piece {
        Piece::Text(text) => out.push_str(text),
        Piece::Placeholder(name) => match vars.get(name) {
            Some(value) => out.push_str(value),
            None => {
                if missing.is_none() {
                    missing = Some(name.to_string());
                }
            }
        },
    });
    match missing {
        Some(name) => Err(UnknownPlaceholder {
            name,
            template: template.to_string(),
        }),
        None => Ok(out),
    }
}

/// Fills the placeholders that have a value and replaces the others with `fill`.
pub fn render_lenient(template: &str, vars: &Vars, fill: &str) -> String {
    let mut out = String::with_capacity(template.len());
    scan(template, |piece| match piece {
        Piece::Text(text) => out.push_str(text),
        Piece::Placeholder(name) => out.push_str(vars.get(name).map_or(fill, String::as_str)),
    });
    out
}

enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-'
}

fn scan<'a>(template: &'a str, mut emit: impl FnMut(Piece<'a>)) {
    let bytes = template.as_bytes();
    let mut text_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                emit(Piece::Text(&template[text_start..i + 1]));
                i += 2;
                text_start = i;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                emit(Piece::Text(&template[text_start..i + 1]));
                i += 2;
                text_start = i;
            }
            b'{' => {
                let name_start = i + 1;
                let mut j = name_start;
                while j < bytes.len() && is_name_char(bytes[j]) {
                    j += 1;
                }
                let preceded_by_dollar = i > 0 && bytes[i - 1] == b'$';
                if j > name_start
                    && j < bytes.len()
                    && bytes[j] == b'}'
                    && bytes[name_start].is_ascii_lowercase()
                    && !preceded_by_dollar
                {
                    emit(Piece::Text(&template[text_start..i]));
                    emit(Piece::Placeholder(&template[name_start..j]));
                    i = j + 1;
                    text_start = i;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    if text_start < bytes.len() {
        emit(Piece::Text(&template[text_start..]));
    }
}

/// Turns an item name into a key segment: lowercase, runs of non-alphanumerics become `-`.
/// `POST /api/auth/register` becomes `post-api-auth-register`.
pub fn slug(item: &str) -> String {
    let mut out = String::with_capacity(item.len());
    for c in item.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn renders_known_placeholders_and_leaves_shell_and_json_alone() {
        let out = render(
            "echo ${HOME} {api_id} '{\"a\": 1}' {{literal}}",
            &vars(&[("api_id", "books")]),
        )
        .unwrap();
        assert_eq!(out, "echo ${HOME} books '{\"a\": 1}' {literal}");
    }

    #[test]
    fn reports_the_missing_placeholder() {
        let err = render("a/{missing}/b", &vars(&[])).unwrap_err();
        assert_eq!(err.name, "missing");
        assert_eq!(
            err.to_string(),
            "unknown placeholder `{missing}` in `a/{missing}/b`"
        );
    }

    #[test]
    fn lists_placeholders_in_order() {
        assert_eq!(
            placeholders("{a}/phase-{phase}/{item_slug}/${X}"),
            vec!["a", "phase", "item_slug"]
        );
    }

    #[test]
    fn slugs_endpoints() {
        assert_eq!(slug("POST /api/auth/register"), "post-api-auth-register");
        assert_eq!(slug("GET /books/{id}"), "get-books-id");
    }
}
