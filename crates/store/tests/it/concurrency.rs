use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::Barrier;

use apiwright_store::HistoryOp;
use apiwright_store::Value;
use pretty_assertions::assert_eq;

use crate::open;
use crate::write;

const THREADS: usize = 16;
const WRITES: usize = 50;

/// 16 threads, each with its own connection on one fresh file (so they also race to create
/// the schema): 8 write their own key, 8 the same key, 50 times each.
#[test]
fn no_lost_writes_between_connections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|thread| {
            let path = path.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let store = open(&path);
                let key = if thread < THREADS / 2 {
                    format!("own/{thread}")
                } else {
                    "shared/key".to_owned()
                };
                for n in 0..WRITES {
                    let value = Value::Text(format!("{thread}-{n}"));
                    store
                        .memory_put(&write(&key, value, &format!("thread-{thread}")))
                        .unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }

    let store = open(&path);
    for thread in 0..THREADS / 2 {
        let key = format!("own/{thread}");
        let entry = store.memory_get(&key).unwrap().unwrap();
        assert_eq!(entry.version, WRITES as i64);
        assert_eq!(entry.value, Value::Text(format!("{thread}-{}", WRITES - 1)));
        let versions: Vec<i64> = store
            .memory_history(&key)
            .unwrap()
            .iter()
            .map(|h| h.version)
            .collect();
        assert_eq!(versions, (1..=WRITES as i64).collect::<Vec<_>>());
    }

    let history = store.memory_history("shared/key").unwrap();
    let total = (THREADS / 2 * WRITES) as i64;
    assert_eq!(history.len() as i64, total);
    assert!(history.iter().all(|h| h.op == HistoryOp::Put));
    // Oldest first, so versions are exactly 1..=400 in order: no gap, no duplicate.
    let versions: Vec<i64> = history.iter().map(|h| h.version).collect();
    assert_eq!(versions, (1..=total).collect::<Vec<_>>());
    // Every single write is there.
    let values: BTreeSet<String> = history
        .iter()
        .map(|h| match &h.value {
            Some(Value::Text(text)) => text.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    let expected: BTreeSet<String> = (THREADS / 2..THREADS)
        .flat_map(|t| (0..WRITES).map(move |n| format!("{t}-{n}")))
        .collect();
    assert_eq!(values, expected);
    // Each thread's own writes are in its order.
    for thread in THREADS / 2..THREADS {
        let own: Vec<String> = history
            .iter()
            .filter(|h| h.tags["who"] == format!("thread-{thread}"))
            .filter_map(|h| h.value.as_ref().map(Value::to_text))
            .collect();
        assert_eq!(
            own,
            (0..WRITES)
                .map(|n| format!("{thread}-{n}"))
                .collect::<Vec<_>>()
        );
    }
    assert_eq!(
        store.memory_get("shared/key").unwrap().unwrap().version,
        total
    );
}
