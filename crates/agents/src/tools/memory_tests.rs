//! The memory tools with a fake `MemoryAccess` and fake deliverable checks.

use std::sync::Arc;

use serde_json::json;

use crate::services::BoundCheck;
use crate::tools::Staged;
use crate::tools::ToolBox;
use crate::tools::testing::FakeMemory;
use crate::tools::testing::RequiresField;
use crate::tools::testing::call;
use crate::tools::testing::config;
use crate::tools::testing::error;
use crate::tools::testing::ok;
use crate::tools::testing::write_target;

const NAMESPACE: &str = "api-development/x/phase-1/product-manager/";

fn memory_toolbox(workspace: &std::path::Path, memory: Option<Arc<FakeMemory>>) -> ToolBox {
    let mut config = config(workspace);
    config.memory = memory.map(|memory| memory as Arc<dyn crate::services::MemoryAccess>);
    config.writes = vec![
        write_target("prd", "api-development/x/phase-1/prd"),
        write_target("stories", "api-development/x/phase-1/stories"),
    ];
    config.namespace = Some(NAMESPACE.into());
    config.checks = vec![
        BoundCheck {
            deliverable: "prd".into(),
            check: Arc::new(RequiresField("title")),
        },
        BoundCheck {
            deliverable: "prd".into(),
            check: Arc::new(RequiresField("goals")),
        },
    ];
    ToolBox::new(config).unwrap()
}

#[test]
fn a_deliverable_is_stored_by_name_or_key_and_other_keys_under_the_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = memory_toolbox(dir.path(), None);
    assert_eq!(
        ok(call(
            &toolbox,
            "memory_store",
            json!({"key": "stories", "value": ["as a reader"]})
        )),
        "stored deliverable `stories` (key `api-development/x/phase-1/stories`)"
    );
    // By full key, and JSON text becomes JSON.
    assert_eq!(
        ok(call(
            &toolbox,
            "memory_store",
            json!({"key": "api-development/x/phase-1/prd", "value": " {\"title\": \"T\", \"goals\": [1]} "})
        )),
        "stored deliverable `prd` (key `api-development/x/phase-1/prd`)"
    );
    let note_key = format!("{NAMESPACE}notes/open-questions");
    assert_eq!(
        ok(call(
            &toolbox,
            "memory_store",
            json!({"key": note_key, "value": "plain text, not {json"})
        )),
        format!("stored `{note_key}`")
    );
    assert_eq!(
        ok(call(
            &toolbox,
            "memory_store",
            json!({"key": "stories", "value": "[\"as a writer\"]"})
        )),
        "replaced deliverable `stories` (key `api-development/x/phase-1/stories`)"
    );
    let mut expected = Staged::default();
    expected
        .deliverables
        .insert("prd".into(), json!({"title": "T", "goals": [1]}));
    expected
        .deliverables
        .insert("stories".into(), json!(["as a writer"]));
    expected
        .memory
        .insert(note_key, json!("plain text, not {json"));
    assert_eq!(toolbox.staged(), expected);
}

#[test]
fn other_keys_are_refused_with_the_allowed_ones_listed() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = memory_toolbox(dir.path(), None);
    for key in [
        "api-development/x/phase-1/architect/design",
        NAMESPACE,
        "prd2",
    ] {
        let message = error(call(
            &toolbox,
            "memory_store",
            json!({"key": key, "value": 1}),
        ));
        assert_eq!(
            message,
            format!(
                "key `{key}` may not be stored by this step: the deliverables are `prd` (key \
                 `api-development/x/phase-1/prd`), `stories` (key \
                 `api-development/x/phase-1/stories`); other keys must start with `{NAMESPACE}`"
            )
        );
    }
    let pattern = error(call(
        &toolbox,
        "memory_store",
        json!({"key": format!("{NAMESPACE}a/*"), "value": 1}),
    ));
    assert!(pattern.contains("reserve for patterns"), "{pattern}");
    assert_eq!(toolbox.staged(), Staged::default());

    let mut bare = config(dir.path());
    bare.writes = vec![];
    let bare = ToolBox::new(bare).unwrap();
    assert_eq!(
        error(call(&bare, "memory_store", json!({"key": "x", "value": 1}))),
        "key `x` may not be stored by this step: this step has no deliverables; no other keys \
         may be stored"
    );
}

#[test]
fn a_failing_check_blocks_staging_and_names_each_failure() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = memory_toolbox(dir.path(), None);
    let message = error(call(
        &toolbox,
        "memory_store",
        json!({"key": "prd", "value": {"summary": "no title"}}),
    ));
    assert_eq!(
        message,
        "deliverable `prd` was not stored: it fails 2 check(s)\n- field `title` is present: \
         expected field `title`, found none\n- field `goals` is present: expected field \
         `goals`, found none"
    );
    let one = error(call(
        &toolbox,
        "memory_store",
        json!({"key": "prd", "value": {"title": "T"}}),
    ));
    assert!(one.contains("fails 1 check(s)"), "{one}");
    assert!(toolbox.staged().deliverables.is_empty());
    // Checks bound to `prd` do not apply to `stories`.
    ok(call(
        &toolbox,
        "memory_store",
        json!({"key": "stories", "value": {}}),
    ));
}

#[test]
fn retrieve_reads_staged_values_first_then_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let memory = FakeMemory::with(&[
        ("api-development/x/phase-1/prd", "{\"title\":\"old\"}"),
        ("api-development/x/phase-0/brief", "build a bookstore"),
    ]);
    let toolbox = memory_toolbox(dir.path(), Some(Arc::clone(&memory)));
    assert_eq!(
        ok(call(
            &toolbox,
            "memory_retrieve",
            json!({"key": "api-development/x/phase-0/brief"})
        )),
        "build a bookstore"
    );
    assert_eq!(
        ok(call(&toolbox, "memory_retrieve", json!({"key": "prd"}))),
        "{\"title\":\"old\"}",
        "a deliverable name reads its full key"
    );
    ok(call(
        &toolbox,
        "memory_store",
        json!({"key": "prd", "value": {"title": "new", "goals": []}}),
    ));
    assert_eq!(
        ok(call(&toolbox, "memory_retrieve", json!({"key": "prd"}))),
        "api-development/x/phase-1/prd (staged in this step):\n{\"goals\":[],\"title\":\"new\"}"
    );
    let missing = error(call(
        &toolbox,
        "memory_retrieve",
        json!({"key": "api-development/none"}),
    ));
    assert!(
        missing.starts_with("no memory entry at `api-development/none`"),
        "{missing}"
    );
    assert_eq!(
        *memory.calls.lock().unwrap(),
        vec![
            "get api-development/x/phase-0/brief",
            "get api-development/x/phase-1/prd",
            "get api-development/none",
        ]
    );
}

#[test]
fn a_key_with_a_star_queries_and_staged_values_shadow_stored_ones() {
    let dir = tempfile::tempdir().unwrap();
    let memory = FakeMemory::with(&[
        ("api-development/x/phase-1/prd", "old"),
        ("api-development/x/phase-1/glossary", "terms"),
        ("api-development/x/phase-2/design", "boxes"),
    ]);
    let toolbox = memory_toolbox(dir.path(), Some(Arc::clone(&memory)));
    ok(call(
        &toolbox,
        "memory_store",
        json!({"key": "prd", "value": {"title": "new", "goals": []}}),
    ));
    let found = ok(call(
        &toolbox,
        "memory_retrieve",
        json!({"key": "api-development/x/phase-1/*"}),
    ));
    assert_eq!(
        found,
        "## api-development/x/phase-1/prd\n{\"goals\":[],\"title\":\"new\"}\n\n## \
         api-development/x/phase-1/glossary\nterms"
    );
    assert_eq!(
        *memory.calls.lock().unwrap(),
        vec!["query api-development/x/phase-1/*"]
    );
    let none = error(call(&toolbox, "memory_retrieve", json!({"key": "other/*"})));
    assert_eq!(none, "no memory entries match `other/*`");
}

#[test]
fn search_combines_staged_and_stored_matches() {
    let dir = tempfile::tempdir().unwrap();
    let memory = FakeMemory::with(&[
        ("api-development/x/phase-0/brief", "a bookstore API"),
        ("api-development/x/phase-0/other", "unrelated"),
    ]);
    let toolbox = memory_toolbox(dir.path(), Some(Arc::clone(&memory)));
    ok(call(
        &toolbox,
        "memory_store",
        json!({"key": format!("{NAMESPACE}note"), "value": "bookstore pricing"}),
    ));
    let found = ok(call(
        &toolbox,
        "memory_search",
        json!({"query": "bookstore"}),
    ));
    assert_eq!(
        found,
        format!(
            "## {NAMESPACE}note\nbookstore pricing\n\n## api-development/x/phase-0/brief\na \
             bookstore API"
        )
    );
    let limited = ok(call(
        &toolbox,
        "memory_search",
        json!({"query": "bookstore", "limit": 1}),
    ));
    assert_eq!(limited, format!("## {NAMESPACE}note\nbookstore pricing"));
    assert_eq!(
        *memory.calls.lock().unwrap(),
        vec!["search bookstore 10", "search bookstore 1"]
    );
    assert_eq!(
        ok(call(&toolbox, "memory_search", json!({"query": "zebra"}))),
        "no memory entries contain `zebra`"
    );
    assert!(
        error(call(
            &toolbox,
            "memory_search",
            json!({"query": "x", "limit": 0})
        ))
        .contains("`limit` must be at least 1")
    );
}

#[test]
fn without_memory_access_reads_say_so_but_staged_values_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let toolbox = memory_toolbox(dir.path(), None);
    assert_eq!(
        error(call(&toolbox, "memory_retrieve", json!({"key": "a/b"}))),
        "memory is not available in this run"
    );
    assert_eq!(
        error(call(&toolbox, "memory_retrieve", json!({"key": "a/*"}))),
        "memory is not available in this run"
    );
    ok(call(
        &toolbox,
        "memory_store",
        json!({"key": "stories", "value": ["s1"]}),
    ));
    assert!(ok(call(&toolbox, "memory_retrieve", json!({"key": "stories"}))).ends_with("[\"s1\"]"));
    let searched = ok(call(&toolbox, "memory_search", json!({"query": "s1"})));
    assert!(searched.starts_with("## api-development/x/phase-1/stories\n[\"s1\"]"));
    assert!(searched.contains("memory is not available"), "{searched}");
}

#[test]
fn store_failures_reach_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let memory = Arc::new(FakeMemory {
        fail: true,
        ..FakeMemory::default()
    });
    let toolbox = memory_toolbox(dir.path(), Some(memory));
    assert_eq!(
        error(call(&toolbox, "memory_retrieve", json!({"key": "a/b"}))),
        "cannot read memory at `a/b`: database is locked"
    );
    assert_eq!(
        error(call(&toolbox, "memory_search", json!({"query": "a"}))),
        "cannot search memory: database is locked"
    );
}

#[test]
fn long_values_are_capped_by_the_output_limit() {
    let dir = tempfile::tempdir().unwrap();
    let long = "v".repeat(50_000);
    let memory = FakeMemory::with(&[("k/long", long.as_str())]);
    let toolbox = memory_toolbox(dir.path(), Some(memory));
    let value = ok(call(&toolbox, "memory_retrieve", json!({"key": "k/long"})));
    assert!(value.len() <= 30_000);
    assert!(value.contains("bytes cut"));
    let searched = ok(call(&toolbox, "memory_search", json!({"query": "k/"})));
    assert!(searched.contains("[use memory_retrieve for the whole value]"));
    assert!(searched.len() < 1200);
}
