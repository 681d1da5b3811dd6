//! Ad-hoc timings, printed, never asserted (machines differ). Run with
//! `cargo test -p apiwright-store --release --test it -- --ignored --nocapture timing`.

use std::time::Duration;
use std::time::Instant;

use apiwright_store::Commit;
use apiwright_store::NewEvent;
use apiwright_store::NewRun;
use apiwright_store::Store;
use apiwright_store::StoreOptions;
use serde_json::json;

use crate::open;
use crate::text;
use crate::write;

fn per_op(total: Duration, n: u32) -> String {
    format!("{:.1} µs", total.as_secs_f64() * 1e6 / f64::from(n))
}

#[test]
#[ignore = "prints timings; run explicitly"]
fn timing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");

    let start = Instant::now();
    drop(open(&path));
    println!(
        "first open (creates file, WAL, migration): {:?}",
        start.elapsed()
    );

    // A second connection stays open the whole time, as another process would be: closing the
    // last connection checkpoints the WAL, which is measured separately below.
    let keeper = open(&path);

    const N: u32 = 2000;
    let start = Instant::now();
    for _ in 0..N {
        drop(open(&path));
    }
    println!("open + drop (warm): {}", per_op(start.elapsed(), N));

    let start = Instant::now();
    for n in 0..N {
        let store = open(&path);
        store
            .memory_put(&write(&format!("hook/{}", n % 50), text("v"), "t"))
            .unwrap();
    }
    println!(
        "open + memory_put + drop (warm): {}",
        per_op(start.elapsed(), N)
    );

    let mut open_total = Duration::ZERO;
    let mut put_total = Duration::ZERO;
    for n in 0..N {
        let t0 = Instant::now();
        let store = open(&path);
        let t1 = Instant::now();
        store
            .memory_put(&write(&format!("hook/{}", n % 50), text("v"), "t"))
            .unwrap();
        put_total += t1.elapsed();
        open_total += t1 - t0;
    }
    println!(
        "  of which open: {}, first put on the new connection: {}",
        per_op(open_total, N),
        per_op(put_total, N)
    );

    let store = open(&path);
    let start = Instant::now();
    for n in 0..N {
        store
            .memory_put(&write(&format!("warm/{}", n % 50), text("v"), "t"))
            .unwrap();
    }
    println!(
        "memory_put on a warm connection: {}",
        per_op(start.elapsed(), N)
    );

    for durability in [
        apiwright_store::Durability::Normal,
        apiwright_store::Durability::Full,
    ] {
        let store = Store::open(
            &path,
            &StoreOptions {
                durability,
                ..StoreOptions::default()
            },
        )
        .unwrap();
        let run_id = format!("run-{durability:?}");
        let run = NewRun {
            id: run_id.clone(),
            workflow_name: "wf".into(),
            workflow_yaml: "name: wf".into(),
            params: json!({}),
            workspace: "/tmp".into(),
        };
        store.create_run(&run, &[]).unwrap();
        let n = if durability == apiwright_store::Durability::Normal {
            20_000
        } else {
            200
        };
        let start = Instant::now();
        for i in 0..n {
            let commit = Commit {
                events: vec![NewEvent {
                    kind: "step_finished".into(),
                    payload: json!({"step": i, "ok": true}),
                }],
                memory: vec![write(
                    &format!("wf/phase-1/agent-{}/result", i % 20),
                    text("done"),
                    "agent",
                )],
                status: None,
            };
            store.commit(&run_id, &commit).unwrap();
        }
        println!(
            "commit (1 event + 1 memory write), {durability:?}: {}",
            per_op(start.elapsed(), n)
        );
    }

    drop(keeper);
    drop(store);
    // The last connection to close checkpoints the WAL into the database.
    let start = Instant::now();
    for n in 0..500 {
        let store = open(&path);
        store
            .memory_put(&write(&format!("hook/{}", n % 50), text("v"), "t"))
            .unwrap();
    }
    println!(
        "open + memory_put + drop as the ONLY connection (checkpoint on close): {}",
        per_op(start.elapsed(), 500)
    );
}
