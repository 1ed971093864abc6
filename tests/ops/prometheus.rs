//! `ops/prometheus` and `ops/grafana` against `promtool` and the services' live `/metrics`.

use std::{
    collections::BTreeSet,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::Arc,
};

use axum::{body::Body, http::Request, Router};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use veil_indexer::{
    api::{self, ApiState},
    metrics::IndexerMetrics,
};

use crate::{
    fallback::support::TestFallback,
    relayer::support::{ensure_services, TestApp, TestDb},
};

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `promtool`, installed by `scripts/services.sh` when missing.
fn promtool() -> PathBuf {
    let found = |dir: &str| {
        let path = Path::new(dir).join("promtool");
        path.exists().then_some(path)
    };
    let search = || {
        std::env::var("PATH")
            .unwrap_or_default()
            .split(':')
            .find_map(found)
    };
    if let Some(path) = search() {
        return path;
    }
    ensure_services();
    search().expect("promtool (Debian's prometheus package; scripts/services.sh installs it)")
}

/// Runs `promtool args…` (with `stdin` piped in when given); its output. Fails the test on a
/// non-zero exit.
fn run(args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(promtool())
        .args(args)
        .current_dir(root().join("ops/prometheus"))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The alert names of `ops/prometheus/alerts.yml`.
fn alerts() -> Vec<String> {
    read("ops/prometheus/alerts.yml")
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- alert: "))
        .map(|name| name.trim().to_owned())
        .collect()
}

#[test]
fn the_alert_rules_pass_their_unit_tests_and_each_has_a_test_and_a_runbook() {
    let checked = run(&["check", "rules", "alerts.yml"], None);
    assert!(checked.contains("SUCCESS"), "{checked}");
    let tested = run(&["test", "rules", "alerts.test.yml"], None);
    assert!(tested.contains("SUCCESS"), "{tested}");
    run(&["check", "config", "prometheus.yml"], None);

    let names = alerts();
    assert!(names.len() >= 14, "{names:?}");
    let tests = read("ops/prometheus/alerts.test.yml");
    let runbook = read("docs/operations.md");
    for name in &names {
        assert!(
            tests.contains(&format!("alertname: {name}\n")),
            "{name} has no promtool unit test"
        );
        assert!(
            runbook.contains(&format!("### {name}\n")),
            "{name} has no runbook entry in docs/operations.md"
        );
        let anchor = format!("docs/operations.md#{}", name.to_lowercase());
        assert!(
            read("ops/prometheus/alerts.yml").contains(&anchor),
            "{name} does not link {anchor}"
        );
    }
    // Each threshold the original deployments set has its alert.
    for wanted in [
        "VeilRelayerDown",
        "VeilFallbackUsageHigh",
        "VeilReconciliationFailing",
        "VeilDrandSlow",
        "VeilCircuitBreakerOpen",
        "VeilErrorRateHigh",
        "VeilHealthCheckFailing",
        "VeilLatencyHigh",
        "VeilIndexerLagging",
        "VeilWebhookFailures",
    ] {
        assert!(names.iter().any(|n| n == wanted), "missing {wanted}");
    }
}

async fn scrape(app: Router) -> String {
    let response = app
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

/// A scrape of each service after some traffic: the relayer, the indexer's API and the
/// fallback minter.
async fn live_scrapes() -> (String, String, String, TestApp, TestDb) {
    let relayer = TestApp::new().await;
    let (status, _) = relayer.mint(&"33".repeat(32), "01").await;
    assert_eq!(status, 201);
    let _ = relayer
        .router
        .clone()
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await;
    let relayer_text = scrape(relayer.router.clone()).await;

    let db = TestDb::new().await;
    let indexer = api::app(ApiState::new(
        db.pool.clone(),
        Arc::new(IndexerMetrics::new()),
    ));
    let _ = indexer
        .clone()
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await;
    let indexer_text = scrape(indexer).await;

    let fallback = TestFallback::new();
    let _ = fallback
        .app()
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await;
    let fallback_text = scrape(fallback.app()).await;
    (relayer_text, indexer_text, fallback_text, relayer, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_services_metrics_are_clean_under_promtool_check_metrics() {
    let (relayer, indexer, fallback, _t, _db) = live_scrapes().await;
    for (service, text) in [
        ("relayer", &relayer),
        ("indexer", &indexer),
        ("fallback", &fallback),
    ] {
        assert!(text.contains("# TYPE"), "{service}: {text}");
        let lint = run(&["check", "metrics"], Some(text));
        assert!(
            lint.trim().is_empty(),
            "{service}: promtool check metrics:\n{lint}"
        );
    }
}

/// Metric names a PromQL text names: identifiers with one of our prefixes, and the names in
/// `__name__=~"a|b"` matchers.
fn metric_names(promql: &str) -> BTreeSet<String> {
    const PREFIXES: [&str; 11] = [
        "chittyid_",
        "drand_",
        "circuit_breaker_",
        "http_",
        "relayer_",
        "indexer_",
        "webhook_",
        "fallback_",
        "prover_",
        "proof_",
        "tx_",
    ];
    let mut names = BTreeSet::new();
    let mut word = String::new();
    for c in promql.chars().chain([' ']) {
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
            continue;
        }
        if PREFIXES.iter().any(|p| word.starts_with(p)) && !word.ends_with('_') {
            names.insert(std::mem::take(&mut word));
        }
        word.clear();
    }
    names
}

/// The PromQL of a rule file's `expr:` fields (inline, or a `|` block of deeper lines).
fn expressions(rules: &str) -> String {
    let mut out = String::new();
    let mut block: Option<usize> = None;
    for line in rules.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(depth) = block {
            if line.trim().is_empty() || indent > depth {
                out.push_str(line);
                out.push('\n');
                continue;
            }
            block = None;
        }
        if let Some(expr) = line.trim_start().strip_prefix("expr:") {
            if expr.trim() == "|" {
                block = Some(indent);
            } else {
                out.push_str(expr);
                out.push('\n');
            }
        }
    }
    out
}

/// Whether `name` is exported in `scrape` (a histogram's `_bucket`, `_sum` and `_count`
/// included).
fn exported(scrape: &str, name: &str) -> bool {
    let base = ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name);
    scrape
        .lines()
        .any(|line| line.starts_with(&format!("# TYPE {base} ")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_the_alerts_query_metrics_the_services_export() {
    let (relayer, indexer, fallback, _t, _db) = live_scrapes().await;
    let all = format!("{relayer}\n{indexer}\n{fallback}");

    // Every alert names exported metrics.
    let named = metric_names(&expressions(&read("ops/prometheus/alerts.yml")));
    assert!(named.len() >= 12, "{named:?}");
    for name in &named {
        assert!(
            exported(&all, name),
            "alerts.yml names {name}, which no service exports"
        );
    }

    // The dashboard: every panel's queries parse (as recording rules under promtool) and
    // name exported metrics; every panel has a unique id and a place on the grid.
    let dashboard: Value = serde_json::from_str(&read("ops/grafana/veil-services.json")).unwrap();
    assert_eq!(dashboard["uid"], "chitty-veil-services");
    assert!(dashboard["schemaVersion"].as_u64().unwrap() >= 36);
    let panels = dashboard["panels"].as_array().unwrap();
    let mut ids = BTreeSet::new();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    let mut queries = 0;
    for panel in panels {
        assert!(ids.insert(panel["id"].as_u64().unwrap()), "duplicate id");
        for key in ["h", "w", "x", "y"] {
            assert!(panel["gridPos"][key].is_u64(), "{panel}");
        }
        assert!(
            panel["gridPos"]["x"].as_u64().unwrap() + panel["gridPos"]["w"].as_u64().unwrap() <= 24
        );
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{panel}");
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for name in metric_names(expr) {
                assert!(
                    exported(&all, &name),
                    "panel {:?} queries {name}, which no service exports",
                    panel["title"]
                );
            }
            // Grafana's variables, as Grafana would substitute them.
            let expr = expr
                .replace("$__rate_interval", "5m")
                .replace("$instance", ".*");
            queries += 1;
            rules.push_str(&format!(
                "      - record: dashboard:query_{queries}\n        expr: {}\n",
                serde_json::to_string(&expr).unwrap()
            ));
        }
    }
    assert!(queries >= 25, "{queries}");
    let dir = std::env::temp_dir().join(format!("veil-dashboard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("dashboard-rules.yml");
    std::fs::write(&file, rules).unwrap();
    let checked = run(&["check", "rules", file.to_str().unwrap()], None);
    assert!(
        checked.contains(&format!("SUCCESS: {queries} rules found")),
        "{checked}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
