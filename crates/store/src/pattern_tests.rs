use super::*;

fn pat(text: &str) -> KeyPattern {
    KeyPattern::parse(text).unwrap()
}

#[test]
fn single_star_is_exactly_one_segment() {
    let p = pat("a/*/c");
    assert!(p.matches("a/b/c"));
    assert!(p.matches("a/xyz/c"));
    assert!(!p.matches("a/c"));
    assert!(!p.matches("a/b/b/c"));
    assert!(!p.matches("a/b/c/d"));
    assert!(!p.matches("x/b/c"));
    assert!(pat("*").matches("a"));
    assert!(!pat("*").matches("a/b"));
}

#[test]
fn double_star_is_zero_or_more_segments() {
    let p = pat("a/**");
    assert!(p.matches("a"));
    assert!(p.matches("a/b"));
    assert!(p.matches("a/b/c/d"));
    assert!(!p.matches("ab"));
    assert!(!p.matches("b/a"));

    let p = pat("**/x");
    assert!(p.matches("x"));
    assert!(p.matches("a/x"));
    assert!(p.matches("a/b/x"));
    assert!(!p.matches("a/x/y"));
    assert!(!p.matches("ax"));

    let p = pat("a/**/z");
    assert!(p.matches("a/z"));
    assert!(p.matches("a/b/z"));
    assert!(p.matches("a/b/c/z"));
    assert!(p.matches("a/z/z"));
    assert!(!p.matches("a/z/y"));
    assert!(!p.matches("a"));

    assert!(pat("**").matches("anything/at/all"));
}

#[test]
fn mixed_wildcards_backtrack() {
    let p = pat("a/**/b/*/c");
    assert!(p.matches("a/b/x/c"));
    assert!(p.matches("a/b/b/x/c"));
    assert!(p.matches("a/q/b/r/b/x/c"));
    assert!(!p.matches("a/b/c"));
    let p = pat("**/*/**");
    assert!(p.matches("a"));
    assert!(p.matches("a/b/c"));
    let p = pat("a/**/**/b");
    assert!(p.matches("a/b"));
    assert!(p.matches("a/x/y/b"));
}

#[test]
fn literal_patterns() {
    let p = pat("a/b/c");
    assert!(p.is_literal());
    assert_eq!(p.literal_prefix(), "a/b/c");
    assert!(p.matches("a/b/c"));
    assert!(!p.matches("a/b"));
    assert!(!p.matches("a/b/c/d"));
    assert!(!pat("a/*").is_literal());
    assert!(!pat("**").is_literal());
}

#[test]
fn literal_prefix_stops_at_first_wildcard() {
    assert_eq!(pat("a/b/*/c").literal_prefix(), "a/b");
    assert_eq!(pat("a/**").literal_prefix(), "a");
    assert_eq!(pat("**/x").literal_prefix(), "");
    assert_eq!(pat("*").literal_prefix(), "");
    assert_eq!(pat("api/books/**/z").literal_prefix(), "api/books");
    assert_eq!(pat("a/**/z").as_str(), "a/**/z");
}

#[test]
fn invalid_patterns() {
    for bad in [
        "", "ab*", "a/b*/c", "a/***", "*a", "a//b", "/a", "a/", "a\nb",
    ] {
        let err = KeyPattern::parse(bad).unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidPattern { .. }),
            "{bad:?}: {err}"
        );
    }
}
