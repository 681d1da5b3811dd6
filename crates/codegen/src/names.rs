//! Names in the generated code: Rust type names and identifiers, SQL identifiers, and the
//! small amount of rustfmt's layout rules the generator needs to emit `cargo fmt`-clean code.

/// Rust keywords that need a raw identifier (`r#type`) as field names.
const RUST_KEYWORDS: [&str; 47] = [
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
    "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while",
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
    "virtual", "yield", "try",
];

/// Keywords that cannot even be raw identifiers.
const RUST_RESERVED: [&str; 4] = ["self", "super", "crate", "gen"];

/// SQLite keywords, quoted when used as a column or table name.
const SQL_KEYWORDS: [&str; 70] = [
    "abort",
    "action",
    "add",
    "all",
    "alter",
    "and",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "check",
    "collate",
    "column",
    "commit",
    "constraint",
    "create",
    "cross",
    "current",
    "default",
    "delete",
    "desc",
    "distinct",
    "drop",
    "else",
    "end",
    "escape",
    "except",
    "exists",
    "filter",
    "foreign",
    "from",
    "full",
    "group",
    "having",
    "if",
    "in",
    "index",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "join",
    "key",
    "left",
    "like",
    "limit",
    "match",
    "natural",
    "not",
    "null",
    "of",
    "offset",
    "on",
    "or",
    "order",
    "outer",
    "primary",
    "references",
    "right",
    "rowid",
    "select",
    "set",
    "table",
    "then",
    "to",
    "union",
    "unique",
    "values",
];

/// `order_item` → `OrderItem`.
pub(crate) fn pascal(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect()
}

/// `order_item` → `order item`.
pub(crate) fn words(name: &str) -> String {
    name.replace('_', " ")
}

/// `published_at` → `Published at`.
pub(crate) fn sentence(name: &str) -> String {
    let words = words(name);
    let mut chars = words.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// A field name as a Rust identifier; the second value is set when serde must rename it.
pub(crate) fn rust_field(name: &str) -> (String, bool) {
    if RUST_RESERVED.contains(&name) {
        (format!("{name}_"), true)
    } else if RUST_KEYWORDS.contains(&name) {
        (format!("r#{name}"), false)
    } else {
        (name.to_owned(), false)
    }
}

/// `books` → `BOOKS`, for constant names.
pub(crate) fn constant(name: &str) -> String {
    name.to_uppercase()
}

/// A table or column name in SQL, quoted only when it is a keyword.
pub(crate) fn sql_ident(name: &str) -> String {
    if SQL_KEYWORDS.contains(&name) {
        format!("\"{name}\"")
    } else {
        name.to_owned()
    }
}

/// A string as an SQL literal.
pub(crate) fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A string as a Rust string literal (raw when that reads better).
pub(crate) fn rust_string(text: &str) -> String {
    let needs_escape = text.contains('\\') || text.contains('"');
    if needs_escape && !text.contains("\"#") {
        format!("r#\"{text}\"#")
    } else {
        format!("{text:?}")
    }
}

/// A string as a Rust raw string literal, for regular expressions.
pub(crate) fn rust_raw_string(text: &str) -> String {
    let mut hashes = String::new();
    while text.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{text}\"{hashes}")
}

/// Width rustfmt allows on a line.
pub(crate) const MAX_WIDTH: usize = 100;
/// rustfmt's `fn_call_width`.
const FN_CALL_WIDTH: usize = 60;
/// rustfmt's `chain_width`.
const CHAIN_WIDTH: usize = 60;
/// rustfmt's `array_width`.
const ARRAY_WIDTH: usize = 60;
/// rustfmt's `short_array_element_width_threshold`.
const SHORT_ELEMENT: usize = 10;

/// An array literal `[a, b, c]` of already-rendered `items`, laid out as rustfmt does when it
/// follows `prefix` (which starts at column `indent`) and is followed by `suffix`.
pub(crate) fn array(indent: usize, prefix: &str, items: &[String], suffix: &str) -> String {
    let pad = " ".repeat(indent);
    let one_line = format!("[{}]", items.join(", "));
    if !one_line.contains('\n')
        && one_line.len() - 2 <= ARRAY_WIDTH
        && indent + prefix.len() + one_line.len() + suffix.len() <= MAX_WIDTH
    {
        return format!("{pad}{prefix}{one_line}{suffix}");
    }
    // An assignment whose value fits on the next line is broken after `=`.
    if let Some((left, right)) = prefix.rsplit_once("= ")
        && !one_line.contains('\n')
        && one_line.len() - 2 <= ARRAY_WIDTH
        && indent + 4 + right.len() + one_line.len() + suffix.len() <= MAX_WIDTH
    {
        return format!("{pad}{left}=\n{pad}    {right}{one_line}{suffix}");
    }
    let inner = " ".repeat(indent + 4);
    let mut out = format!("{pad}{prefix}[\n");
    if items.iter().all(|item| item.len() <= SHORT_ELEMENT) {
        // Short items are packed several to a line.
        let mut line = String::new();
        for item in items {
            let piece = format!("{item},");
            if !line.is_empty() && inner.len() + line.len() + 1 + piece.len() > MAX_WIDTH {
                out.push_str(&format!("{inner}{line}\n"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&piece);
        }
        out.push_str(&format!("{inner}{line}\n"));
    } else {
        for item in items {
            out.push_str(&format!("{inner}{item},\n"));
        }
    }
    out.push_str(&format!("{pad}]{suffix}"));
    out
}

/// A tuple `(a, b)` as an element of a vertical array whose elements start at column
/// `indent`: on one line when rustfmt keeps it so, else one part per line.
pub(crate) fn tuple(indent: usize, parts: &[String]) -> String {
    let inline = parts.join(", ");
    if inline.len() <= FN_CALL_WIDTH && indent + inline.len() + 3 <= MAX_WIDTH {
        return format!("({inline})");
    }
    let inner = " ".repeat(indent + 4);
    let mut out = String::from("(\n");
    for part in parts {
        out.push_str(&format!("{inner}{part},\n"));
    }
    out.push_str(&" ".repeat(indent));
    out.push(')');
    out
}

/// `prefix value;` on one line, or broken after `=` as rustfmt does when it does not fit (and
/// the value alone does).
pub(crate) fn assignment(indent: usize, prefix: &str, value: &str, suffix: &str) -> String {
    let pad = " ".repeat(indent);
    let fits_next_line = indent + 4 + value.len() + suffix.len() <= MAX_WIDTH;
    if indent + prefix.len() + 1 + value.len() + suffix.len() <= MAX_WIDTH || !fits_next_line {
        format!("{pad}{prefix} {value}{suffix}")
    } else {
        format!("{pad}{prefix}\n{pad}    {value}{suffix}")
    }
}

/// `prefix` followed by a method chain (`a.b().c`), on one line when rustfmt keeps it so, else
/// one element per line.
pub(crate) fn chain(indent: usize, prefix: &str, elements: &[&str], suffix: &str) -> String {
    let pad = " ".repeat(indent);
    let inline = elements.join(".");
    if inline.len() <= CHAIN_WIDTH
        && indent + prefix.len() + inline.len() + suffix.len() <= MAX_WIDTH
    {
        return format!("{pad}{prefix}{inline}{suffix}");
    }
    let mut out = format!(
        "{pad}{prefix}{}",
        elements.first().copied().unwrap_or_default()
    );
    for element in elements.iter().skip(1) {
        out.push_str(&format!("\n{pad}    .{element}"));
    }
    out.push_str(suffix);
    out
}

/// Wraps `text` into lines of at most `width` characters after `prefix` (such as `//! `).
pub(crate) fn wrap(prefix: &str, text: &str, width: usize) -> String {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && prefix.len() + line.len() + 1 + word.len() > width {
                lines.push(format!("{prefix}{line}"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if line.is_empty() {
            lines.push(prefix.trim_end().to_owned());
        } else {
            lines.push(format!("{prefix}{line}"));
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_names() {
        assert_eq!(pascal("order_item"), "OrderItem");
        assert_eq!(pascal("book"), "Book");
        assert_eq!(sentence("published_at"), "Published at");
        assert_eq!(rust_field("type"), ("r#type".to_owned(), false));
        assert_eq!(rust_field("self"), ("self_".to_owned(), true));
        assert_eq!(rust_field("title"), ("title".to_owned(), false));
        assert_eq!(sql_ident("order"), "\"order\"");
        assert_eq!(sql_ident("title"), "title");
        assert_eq!(sql_string("it's"), "'it''s'");
        assert_eq!(rust_raw_string("a\"#b"), "r##\"a\"#b\"##");
        assert_eq!(rust_string("plain"), "\"plain\"");
    }

    #[test]
    fn wraps_text() {
        assert_eq!(wrap("//! ", "a b c", 8), "//! a b\n//! c");
        assert_eq!(wrap("//! ", "a\n\nb", 100), "//! a\n//!\n//! b");
    }
}
