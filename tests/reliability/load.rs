//! The open-loop load generator (`veil_stack::load`, `veil-stack load`) and the bounded form of
//! the challenge-API load run. The full run (1,000 requests/s for 60 s) is a benchmark, with
//! its figures in `docs/reliability.md`; nothing here asserts a latency bound.

use std::{collections::BTreeMap, time::Duration};

use veil_stack::load::{self, open_loop, LoadArgs, Mix, Schedule, OPS};

use crate::localnet::stack::InProcess;

fn schedule(rate: u64, seconds: u64) -> Schedule {
    Schedule {
        rate,
        warmup: Duration::ZERO,
        measure: Duration::from_secs(seconds),
        timeout: Duration::from_secs(10),
    }
}

/// The coordinated-omission correction: when the generator itself is held up, the requests
/// that fell due meanwhile leave late, and each carries its wait from its due time. A
/// generator that timed requests from when they left would report them as instant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_charges_a_stall_to_every_request_that_fell_due_during_it() {
    let report = open_loop(
        schedule(1_000, 1),
        &["instant"],
        |i| {
            if i == 200 {
                // The generator's own thread stops for 200 ms: requests 200 to ~399 fall due.
                std::thread::sleep(Duration::from_millis(200));
            }
            (0, async { Ok(()) })
        },
        false,
    )
    .await;
    assert_eq!(report.sent, 1_000);
    assert_eq!(report.failed(), 0);
    assert_eq!(report.all.len(), 1_000);
    assert_eq!(report.ops[0].latency.len(), 1_000);
    // Request j (200 ≤ j < 400) left at ≥ 400 ms and was due at j ms.
    assert!(report.late >= 190, "late {}", report.late);
    assert!(
        report.max_lag >= Duration::from_millis(200),
        "{:?}",
        report.max_lag
    );
    let over_99ms = report.all.count_between(99_000, u64::MAX);
    assert!(over_99ms >= 100, "{over_99ms} requests at ≥ 99 ms");
    assert!(
        load::ms(&report.all, 0.99) >= 150.0,
        "p99 {}",
        load::ms(&report.all, 0.99)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_counts_failures_by_reason_and_times_out_what_never_answers() {
    let report = open_loop(
        Schedule {
            timeout: Duration::from_millis(300),
            ..schedule(500, 1)
        },
        &["a", "b"],
        |i| {
            let op = (i % 2) as usize;
            (op, async move {
                match i % 10 {
                    0 => Err("503 OVERLOADED".to_owned()),
                    1 => std::future::pending().await,
                    _ => Ok(()),
                }
            })
        },
        false,
    )
    .await;
    assert_eq!(report.sent, 500);
    // i % 10 == 0 is even (op a), i % 10 == 1 is odd (op b).
    assert_eq!(
        report.ops[0].failures,
        BTreeMap::from([("503 OVERLOADED".to_owned(), 50)])
    );
    assert_eq!(
        report.ops[1].failures,
        BTreeMap::from([("timeout".to_owned(), 50)])
    );
    assert_eq!(report.ops[0].latency.len(), 200);
    assert_eq!(report.ops[1].latency.len(), 200);
    assert_eq!(report.failed(), 100);
}

#[test]
fn a_mix_holds_its_shares_in_every_hundred_requests_and_refuses_bad_ones() {
    let mix = Mix::default();
    for window in [0u64, 100, 12_300] {
        let mut counts = [0; 3];
        for i in window..window + 100 {
            counts[mix.op(i)] += 1;
        }
        assert_eq!(counts, [70, 20, 10], "requests {window}..+100");
    }
    // Interleaved, not in runs: the first ten hold more than one call.
    assert!((0..10).map(|i| mix.op(i)).any(|op| op != 0));
    let only_reads: Mix = "get=50, list=50".parse().unwrap();
    assert_eq!((0..100).filter(|&i| only_reads.op(i) == 2).count(), 0);
    assert_eq!(
        "get=70,list=20".parse::<Mix>().unwrap_err(),
        "the percentages add up to 90, not 100"
    );
    assert_eq!(
        "get=70,delete=30".parse::<Mix>().unwrap_err(),
        "`delete` is not one of get, list, create"
    );
    assert_eq!(
        "get".parse::<Mix>().unwrap_err(),
        "`get` is not `call=percent`"
    );
}

/// The bounded form of `veil-stack load`: the running stack's challenge API at 200 requests/s
/// for 4 s. Every request answered and checked, each call's share exact, and the relayer
/// counted exactly what was sent; the run's key is revoked afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_on_the_running_stack_answers_every_challenge_call_and_the_relayer_counts_them() {
    let stack = InProcess::start(
        "load-test",
        InProcess::args("load_test"),
        Duration::from_secs(60),
    )
    .await;
    let args = LoadArgs {
        rate: 200,
        seconds: 4,
        warmup: 1,
        challenges: 20,
        mix: Mix::default(),
        timeout: 10,
        no_reference: false,
    };
    let report = load::challenge_api(&stack.session, &args, false)
        .await
        .expect("the load run");
    load::print(&args, &report);
    let api = &report.api;
    let failures: Vec<_> = api.ops.iter().map(|op| (op.name, &op.failures)).collect();
    assert_eq!(api.failed(), 0, "{failures:?}");
    assert_eq!(api.sent, 800);
    assert_eq!(api.all.len(), 800);
    let answered: Vec<(&str, u64)> = api
        .ops
        .iter()
        .map(|op| (op.name, op.latency.len()))
        .collect();
    assert_eq!(
        answered,
        vec![(OPS[0], 560), (OPS[1], 160), (OPS[2], 80)],
        "70/20/10 of 800"
    );
    // Warm-up (200) and measured (800): 700 reads by address; 200 lists and 100 builds share
    // the collection's route.
    assert_eq!(
        report.server_counts.get("/api/v2/challenges/{address}"),
        Some(&700),
        "{:?}",
        report.server_counts
    );
    assert_eq!(
        report.server_counts.get("/api/v2/challenges"),
        Some(&300),
        "{:?}",
        report.server_counts
    );
    let reference = report.reference.as_ref().expect("the yardstick ran");
    assert_eq!((reference.sent, reference.failed()), (800, 0));

    let admin = veil_stack::client::SignedClient::new(
        &stack.session.relayer_url,
        &stack.session.api_key,
        &stack.session.signing_secret,
    );
    let (status, keys) = admin
        .call("GET", "/admin/keys?include_revoked=true", None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{keys}");
    let run_keys: Vec<_> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["label"] == "veil-stack load")
        .collect();
    assert_eq!(run_keys.len(), 1, "{keys}");
    assert_eq!(run_keys[0]["scopes"], serde_json::json!(["challenges"]));
    assert!(run_keys[0]["revoked_at"].is_string(), "{keys}");
    stack.stop().await;
}
