//! Replacing a slot's backend while the proxy keeps serving.

use std::sync::Arc;

use apiwright_deploy::Backend;
use apiwright_deploy::Slot;
use tokio::sync::mpsc;
use tokio::sync::watch;

use crate::Answer;
use crate::call;
use crate::client;
use crate::start_backend;
use crate::start_proxy;
use crate::start_stoppable_backend;
use crate::stats;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_green_under_load_fails_no_request_and_moves_traffic_to_the_new_backend() {
    const SENDERS: usize = 4;
    let (old_green_url, stop_old_green, old_green_task) = start_stoppable_backend().await;
    let proxy = Arc::new(start_proxy(start_backend("blue").await, old_green_url, (0, 1)).await);
    let (answers, mut answered) = mpsc::unbounded_channel::<(usize, Answer)>();
    let (stop, stopped) = watch::channel(false);
    let mut senders = Vec::new();
    for sender in 0..SENDERS {
        let (proxy, answers, stopped) = (proxy.clone(), answers.clone(), stopped.clone());
        senders.push(tokio::spawn(async move {
            let client = client();
            while !*stopped.borrow() {
                let answer = call(&client, &proxy, "GET", "/", "").await;
                if answers.send((sender, answer)).is_err() {
                    break;
                }
            }
        }));
    }
    drop(answers);
    let mut failures = Vec::new();
    let mut check = |answer: &Answer| {
        if answer.status != 200 {
            failures.push((answer.status, answer.body.clone()));
        }
    };
    for _ in 0..50 {
        let (_, answer) = answered.recv().await.unwrap();
        check(&answer);
        assert_eq!(answer.backend, "green");
    }

    proxy
        .replace_backend(
            Slot::Green,
            Backend {
                name: "green-2".into(),
                url: start_backend("green-2").await,
            },
        )
        .unwrap();
    // Each sender waits for its answer before sending again, so once every sender has had one
    // answer from the new backend, nothing is in flight to the old one.
    let mut switched = [false; SENDERS];
    while !switched.iter().all(|&done| done) {
        let (sender, answer) = answered.recv().await.unwrap();
        check(&answer);
        if answer.backend == "green-2" {
            assert_eq!(answer.body, r#"{"version":"green-2"}"#);
            switched[sender] = true;
        } else {
            assert!(
                !switched[sender],
                "sender {sender} went back to the old backend"
            );
        }
    }
    // The old backend going away after the swap must not fail anything either.
    stop_old_green.send(()).unwrap();
    old_green_task.await.unwrap();
    for _ in 0..100 {
        let (_, answer) = answered.recv().await.unwrap();
        check(&answer);
        assert_eq!(answer.backend, "green-2");
    }
    stop.send(true).unwrap();
    for sender in senders {
        sender.await.unwrap();
    }
    while let Some((_, answer)) = answered.recv().await {
        check(&answer);
    }
    assert_eq!(failures, Vec::new());
    let snapshot = proxy.snapshot();
    assert_eq!(snapshot[1].name, "green-2");
    assert!(snapshot[1].requests >= 100, "{:?}", snapshot[1]);
    assert_eq!(
        (snapshot[1].transport_errors, snapshot[1].server_errors),
        (0, 0)
    );
    Arc::try_unwrap(proxy).unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_a_backend_resets_only_its_slot_and_keeps_the_weights() {
    let proxy = start_proxy(
        start_backend("blue").await,
        start_backend("green").await,
        (1, 1),
    )
    .await;
    let client = client();
    for _ in 0..4 {
        call(&client, &proxy, "GET", "/boom", "").await;
    }
    proxy
        .replace_backend(
            Slot::Blue,
            Backend {
                name: "blue-2".into(),
                url: start_backend("blue-2").await,
            },
        )
        .unwrap();
    let snapshot = proxy.snapshot();
    let blue = stats(&snapshot, "blue-2");
    assert_eq!(
        (
            blue.requests,
            blue.server_errors,
            blue.first_failure_unix_ms,
            blue.max_us
        ),
        (0, 0, None, 0)
    );
    let green = stats(&snapshot, "green");
    assert_eq!((green.requests, green.server_errors), (2, 2));
    assert!(
        proxy
            .endpoints()
            .iter()
            .all(|endpoint| endpoint.backend == "green")
    );
    assert_eq!(proxy.weights(), (1, 1));
    let backends: Vec<String> = [
        call(&client, &proxy, "GET", "/", "").await,
        call(&client, &proxy, "GET", "/", "").await,
    ]
    .into_iter()
    .map(|answer| answer.backend)
    .collect();
    assert!(backends.contains(&"blue-2".to_owned()), "{backends:?}");

    let refused = proxy.replace_backend(
        Slot::Green,
        Backend {
            name: "green-2".into(),
            url: "https://127.0.0.1:1".into(),
        },
    );
    let error = refused.unwrap_err().to_string();
    assert!(error.contains("expected an http:// backend"), "{error}");
    assert_eq!(stats(&proxy.snapshot(), "green").requests, 3);
    proxy.shutdown().await;
}
