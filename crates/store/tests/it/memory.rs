use apiwright_store::HistoryOp;
use apiwright_store::KeyPattern;
use apiwright_store::StoreError;
use apiwright_store::Tags;
use apiwright_store::Value;
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::temp_store;
use crate::text;
use crate::write;

#[test]
fn put_get_history_delete_and_version_continuation() {
    let (_dir, store) = temp_store();
    let v1 = store
        .memory_put(&write("p/a", Value::Json(json!({"n": 1})), "alice"))
        .unwrap();
    let v2 = store
        .memory_put(&write("p/a", text("second"), "bob"))
        .unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));

    let got = store.memory_get("p/a").unwrap().unwrap();
    assert_eq!(got.value, text("second"));
    assert_eq!(got.tags["who"], "bob");
    assert_eq!(got.version, 2);

    let why = Tags::from([("why".to_owned(), "cleanup".to_owned())]);
    assert!(store.memory_delete("p/a", &why).unwrap());
    assert_eq!(store.memory_get("p/a").unwrap(), None);
    assert!(!store.memory_delete("p/a", &why).unwrap());

    let v3 = store
        .memory_put(&write("p/a", Value::from_text_guess("[1,2]"), "carol"))
        .unwrap();
    assert_eq!(v3.version, 3);
    assert_eq!(v3.value, Value::Json(json!([1, 2])));

    let history = store.memory_history("p/a").unwrap();
    let ops: Vec<(HistoryOp, i64)> = history.iter().map(|h| (h.op, h.version)).collect();
    assert_eq!(
        ops,
        [
            (HistoryOp::Put, 1),
            (HistoryOp::Put, 2),
            (HistoryOp::Delete, 2),
            (HistoryOp::Put, 3)
        ]
    );
    assert_eq!(history[0].value, Some(Value::Json(json!({"n": 1}))));
    assert_eq!(history[2].value, None);
    assert_eq!(history[2].tags, why);
    assert!(history.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(store.memory_history("never/written").unwrap().is_empty());
}

#[test]
fn invalid_keys_are_explained() {
    let (_dir, store) = temp_store();
    let err = store
        .memory_put(&write("a//b", text("x"), "t"))
        .unwrap_err();
    match &err {
        StoreError::InvalidKey { key, expected } => {
            assert_eq!(key, "a//b");
            assert!(expected.contains("empty segment"), "{expected}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("invalid memory key `a//b`: expected "),
        "{err}"
    );
}

#[test]
fn pattern_semantics() {
    let (_dir, store) = temp_store();
    let keys = [
        "a", "a/z", "a/b/c", "a/x/c", "a/b/c/d", "a/m/n/z", "ab/c", "ab/z", "q/x", "q/r/x", "x",
        "x/y",
    ];
    for key in keys {
        store.memory_put(&write(key, text(key), "t")).unwrap();
    }
    let matching = |pattern: &str| -> Vec<String> {
        let pattern = KeyPattern::parse(pattern).unwrap();
        store
            .memory_match(&pattern)
            .unwrap()
            .into_iter()
            .map(|e| e.key)
            .collect()
    };
    assert_eq!(matching("a/*/c"), ["a/b/c", "a/x/c"]);
    assert_eq!(
        matching("a/**"),
        ["a", "a/b/c", "a/b/c/d", "a/m/n/z", "a/x/c", "a/z"]
    );
    assert_eq!(matching("**/x"), ["q/r/x", "q/x", "x"]);
    assert_eq!(matching("a/**/z"), ["a/m/n/z", "a/z"]);
    assert_eq!(matching("*/z"), ["a/z", "ab/z"]);
    assert_eq!(
        matching("**"),
        keys.iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(matching("x/y"), ["x/y"]);
    assert!(matches!(
        KeyPattern::parse("a/b*"),
        Err(StoreError::InvalidPattern { .. })
    ));
}

#[test]
fn search_key_and_value_case_insensitively() {
    let (_dir, store) = temp_store();
    store
        .memory_put(&write("books/API/design", text("REST endpoints"), "t"))
        .unwrap();
    store
        .memory_put(&write(
            "books/db",
            Value::Json(json!({"Engine": "sqlite"})),
            "t",
        ))
        .unwrap();
    store
        .memory_put(&write("other", text("50%_off"), "t"))
        .unwrap();
    let found = |needle: &str, limit: usize| -> Vec<String> {
        store
            .memory_search(needle, limit)
            .unwrap()
            .into_iter()
            .map(|e| e.key)
            .collect()
    };
    assert_eq!(found("api", 10), ["books/API/design"]);
    assert_eq!(found("endpoints", 10), ["books/API/design"]);
    assert_eq!(found("SQLITE", 10), ["books/db"]);
    assert_eq!(found("engine", 10), ["books/db"]);
    assert_eq!(found("%_", 10), ["other"]);
    assert_eq!(found("o", 10), ["books/API/design", "books/db", "other"]);
    assert_eq!(found("o", 1), ["books/API/design"]);
}

#[test]
fn list_prefix_stops_at_segment_boundary() {
    let (_dir, store) = temp_store();
    for key in ["a/b", "a/b/c", "a/bc", "a/b.c", "a/b_/x", "a/c"] {
        store.memory_put(&write(key, text(key), "t")).unwrap();
    }
    let listed = |prefix: Option<&str>| -> Vec<String> {
        store
            .memory_list(prefix)
            .unwrap()
            .into_iter()
            .map(|e| e.key)
            .collect()
    };
    assert_eq!(listed(Some("a/b")), ["a/b", "a/b/c"]);
    assert_eq!(listed(Some("a/b_")), ["a/b_/x"]);
    assert_eq!(listed(Some("a")).len(), 6);
    assert_eq!(
        listed(None),
        ["a/b", "a/b.c", "a/b/c", "a/b_/x", "a/bc", "a/c"]
    );
}
