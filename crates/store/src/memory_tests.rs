use super::*;
use serde_json::json;

fn tags(who: &str) -> Tags {
    Tags::from([("who".to_owned(), who.to_owned())])
}

fn put(store: &Store, key: &str, value: Value) -> MemoryEntry {
    store
        .memory_put(&MemoryWrite {
            key: key.to_owned(),
            value,
            tags: tags("test"),
        })
        .unwrap()
}

#[test]
fn text_guess() {
    assert_eq!(
        Value::from_text_guess(r#"{"a": 1}"#),
        Value::Json(json!({"a": 1}))
    );
    assert_eq!(Value::from_text_guess("[1, 2]"), Value::Json(json!([1, 2])));
    assert_eq!(
        Value::from_text_guess(r#""quoted""#),
        Value::Json(json!("quoted"))
    );
    assert_eq!(Value::from_text_guess(" 42 "), Value::Json(json!(42)));
    assert_eq!(Value::from_text_guess("-1.5"), Value::Json(json!(-1.5)));
    assert_eq!(Value::from_text_guess("true"), Value::Json(json!(true)));
    assert_eq!(Value::from_text_guess("null"), Value::Json(json!(null)));
    assert_eq!(
        Value::from_text_guess("hello world"),
        Value::Text("hello world".into())
    );
    assert_eq!(
        Value::from_text_guess("{not json"),
        Value::Text("{not json".into())
    );
    assert_eq!(Value::from_text_guess(""), Value::Text(String::new()));
    assert_eq!(Value::from_text_guess("007"), Value::Text("007".into()));
    // Would lose digits as a float.
    assert_eq!(
        Value::from_text_guess("123456789012345678901234567890"),
        Value::Text("123456789012345678901234567890".into())
    );
    assert_eq!(
        Value::from_text_guess("18446744073709551615"),
        Value::Json(json!(u64::MAX))
    );
}

#[test]
fn to_text_is_compact_json_or_text() {
    assert_eq!(
        Value::Json(json!({"a": [1, 2], "b": "x"})).to_text(),
        r#"{"a":[1,2],"b":"x"}"#
    );
    assert_eq!(Value::Json(json!("s")).to_text(), r#""s""#);
    assert_eq!(Value::Text("plain {".into()).to_text(), "plain {");
}

#[test]
fn key_validation() {
    for good in [
        "a",
        "a/b",
        "api-development/books/phase-1/pm/requirements",
        "ünï/cödé",
        "a b/c.d",
    ] {
        validate_key(good).unwrap();
    }
    let long = "x".repeat(1025);
    for bad in [
        "",
        "/a",
        "a/",
        "a//b",
        "a/*",
        "a*b",
        "a\u{7}b",
        "a\nb",
        long.as_str(),
    ] {
        match validate_key(bad) {
            Err(StoreError::InvalidKey { key, expected }) => {
                assert_eq!(key, bad);
                assert!(expected.contains("segments"), "{expected}");
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    validate_key(&"x".repeat(1024)).unwrap();
}

#[test]
fn put_get_roundtrip_and_versions() {
    let store = Store::open_in_memory().unwrap();
    assert_eq!(store.memory_get("a/b").unwrap(), None);
    let first = put(&store, "a/b", Value::Json(json!({"x": 1})));
    assert_eq!(first.version, 1);
    let second = put(&store, "a/b", Value::Text("two".into()));
    assert_eq!(second.version, 2);
    let got = store.memory_get("a/b").unwrap().unwrap();
    assert_eq!(got, second);
    assert_eq!(got.tags, tags("test"));
}

#[test]
fn invalid_keys_are_rejected_everywhere() {
    let store = Store::open_in_memory().unwrap();
    let write = MemoryWrite {
        key: "a//b".into(),
        value: Value::Text("x".into()),
        tags: Tags::new(),
    };
    assert!(matches!(
        store.memory_put(&write),
        Err(StoreError::InvalidKey { .. })
    ));
    assert!(matches!(
        store.memory_get("a/*"),
        Err(StoreError::InvalidKey { .. })
    ));
    assert!(matches!(
        store.memory_delete("", &Tags::new()),
        Err(StoreError::InvalidKey { .. })
    ));
    assert!(matches!(
        store.memory_history("/x"),
        Err(StoreError::InvalidKey { .. })
    ));
}

#[test]
fn delete_then_put_continues_counting() {
    let store = Store::open_in_memory().unwrap();
    put(&store, "k", Value::Text("1".into()));
    put(&store, "k", Value::Text("2".into()));
    assert!(store.memory_delete("k", &tags("deleter")).unwrap());
    assert!(!store.memory_delete("k", &tags("deleter")).unwrap());
    assert_eq!(store.memory_get("k").unwrap(), None);
    let again = put(&store, "k", Value::Text("3".into()));
    assert_eq!(again.version, 3);

    let history = store.memory_history("k").unwrap();
    let summary: Vec<(i64, HistoryOp, Option<Value>)> = history
        .iter()
        .map(|h| (h.version, h.op, h.value.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, HistoryOp::Put, Some(Value::Text("1".into()))),
            (2, HistoryOp::Put, Some(Value::Text("2".into()))),
            (2, HistoryOp::Delete, None),
            (3, HistoryOp::Put, Some(Value::Text("3".into()))),
        ]
    );
    assert_eq!(history[2].tags, tags("deleter"));
    assert!(history.iter().all(|h| h.key == "k"));
}

#[test]
fn match_uses_pattern_semantics() {
    let store = Store::open_in_memory().unwrap();
    for key in [
        "a", "a/z", "a/b/c", "a/x/c", "a/b/d", "a/b/c/d", "a/m/n/z", "ab/c", "q/x", "x", "a%/_x",
    ] {
        put(&store, key, Value::Text(key.into()));
    }
    let keys = |pattern: &str| -> Vec<String> {
        let pattern = KeyPattern::parse(pattern).unwrap();
        store
            .memory_match(&pattern)
            .unwrap()
            .into_iter()
            .map(|e| e.key)
            .collect()
    };
    assert_eq!(keys("a/*/c"), ["a/b/c", "a/x/c"]);
    assert_eq!(
        keys("a/**"),
        ["a", "a/b/c", "a/b/c/d", "a/b/d", "a/m/n/z", "a/x/c", "a/z"]
    );
    assert_eq!(keys("**/x"), ["q/x", "x"]);
    assert_eq!(keys("a/**/z"), ["a/m/n/z", "a/z"]);
    assert_eq!(keys("a/b/c"), ["a/b/c"]);
    assert_eq!(keys("a%/*"), ["a%/_x"]);
    assert_eq!(keys("nothing/**"), Vec::<String>::new());
}

#[test]
fn list_respects_segment_boundaries() {
    let store = Store::open_in_memory().unwrap();
    for key in ["a/b", "a/b/c", "a/b/c/d", "a/bc", "a/b-x", "a/b0", "b"] {
        put(&store, key, Value::Text(key.into()));
    }
    let keys = |prefix: Option<&str>| -> Vec<String> {
        store
            .memory_list(prefix)
            .unwrap()
            .into_iter()
            .map(|e| e.key)
            .collect()
    };
    assert_eq!(keys(Some("a/b")), ["a/b", "a/b/c", "a/b/c/d"]);
    assert_eq!(keys(Some("a/b/")), ["a/b", "a/b/c", "a/b/c/d"]);
    assert_eq!(
        keys(Some("a")),
        ["a/b", "a/b-x", "a/b/c", "a/b/c/d", "a/b0", "a/bc"]
    );
    assert_eq!(keys(None).len(), 7);
    assert_eq!(keys(Some("")).len(), 7);
    assert_eq!(keys(Some("zzz")), Vec::<String>::new());
}

#[test]
fn search_is_case_insensitive_on_key_and_value() {
    let store = Store::open_in_memory().unwrap();
    put(
        &store,
        "proj/Auth/design",
        Value::Text("uses JWT tokens".into()),
    );
    put(
        &store,
        "proj/db/schema",
        Value::Json(json!({"table": "Users", "pk": "id"})),
    );
    put(&store, "proj/notes", Value::Text("100% done_now".into()));
    let keys = |text: &str, limit: usize| -> Vec<String> {
        store
            .memory_search(text, limit)
            .unwrap()
            .into_iter()
            .map(|e| e.key)
            .collect()
    };
    assert_eq!(keys("auth", 10), ["proj/Auth/design"]);
    assert_eq!(keys("jwt", 10), ["proj/Auth/design"]);
    assert_eq!(keys("USERS", 10), ["proj/db/schema"]);
    assert_eq!(keys("%", 10), ["proj/notes"]);
    assert_eq!(keys("_", 10), ["proj/notes"]);
    assert_eq!(
        keys("proj", 10),
        ["proj/Auth/design", "proj/db/schema", "proj/notes"]
    );
    assert_eq!(keys("proj", 2), ["proj/Auth/design", "proj/db/schema"]);
    assert_eq!(keys("proj", 0), Vec::<String>::new());
    assert_eq!(keys("absent", 10), Vec::<String>::new());
}

#[test]
fn corrupt_rows_are_errors_not_panics() {
    let store = Store::open_in_memory().unwrap();
    store
        .conn
        .execute_batch(
            "INSERT INTO memory VALUES ('bad/json', '{oops', 'json', '{}', 1, 0);
             INSERT INTO memory VALUES ('bad/tags', 'x', 'text', 'nope', 1, 0);
             INSERT INTO memory VALUES ('bad/version', 'x', 'text', '{}', 'one', 0);",
        )
        .unwrap();
    for key in ["bad/json", "bad/tags", "bad/version"] {
        let err = store.memory_get(key).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{key}: {err}");
    }
    assert!(matches!(
        store.memory_list(None),
        Err(StoreError::Corrupt { .. })
    ));
}
