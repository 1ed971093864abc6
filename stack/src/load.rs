//! `veil-stack load`: the challenge API under an open-loop load, against the running stack
//! (issue 18; SPEC §9 wants p99 under 200 ms, our goal for reads is under 20 ms).
//!
//! **Open loop.** Request *i* is due at `start + i / rate` and leaves then, whether or not
//! earlier requests were answered, and its latency counts from when it was *due*, not from
//! when it left. When the server (or the generator itself) stalls, every request the stall
//! delayed carries the delay: the coordinated-omission correction that a closed-loop
//! generator such as `veil-loadgen` cannot make, because its clients stop sending while they
//! wait. Latencies go into HDR histograms (microseconds, 3 significant digits).
//!
//! **What is sent.** A mix of the challenge API's calls, each signed with its own nonce, with
//! a key made for the run (scope `challenges`, a quota above the rate) and revoked after it:
//! `get` reads a challenge (`GET /api/v2/challenges/{address}`, over the run's challenges in
//! turn), `list` lists them from the indexer's tables (`GET /api/v2/challenges?party=…`), and
//! `create` builds a new one's transaction (`POST /api/v2/challenges`). Each answer is checked
//! (the address read back, the page's length, a transaction), not only its status. Before the
//! run, `--challenges` Gatekeeper challenges are created on the chain through the relayer and
//! indexed. The yardstick, at the same rate in the same process: an axum hello-world.

use std::{
    collections::BTreeMap,
    future::Future,
    io::Write,
    str::FromStr,
    sync::Arc,
    time::{Duration, Instant},
};

use base64::Engine;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::Transaction;

use crate::{client::SignedClient, data::Session};

/// The challenge API's calls a run mixes, in the order of [`Mix`]'s weights.
pub const OPS: [&str; 3] = ["get", "list", "create"];

/// A request later than this behind its due time counts as sent late (the generator fell
/// behind; its latency still counts from the due time).
pub const LATE: Duration = Duration::from_millis(5);

/// Rows per `list` page.
const LIST_LIMIT: u64 = 20;

/// The share of each of [`OPS`] in percent; they add up to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix([u32; 3]);

impl Default for Mix {
    fn default() -> Self {
        Self([70, 20, 10])
    }
}

impl FromStr for Mix {
    type Err = String;

    /// `get=70,list=20,create=10`; a call left out gets 0.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut weights = [0u32; 3];
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not `call=percent`"))?;
            let index = OPS
                .iter()
                .position(|op| *op == name.trim())
                .ok_or_else(|| format!("`{name}` is not one of get, list, create"))?;
            weights[index] = weight
                .trim()
                .parse()
                .map_err(|_| format!("`{weight}` is not a whole percentage"))?;
        }
        if weights.iter().sum::<u32>() != 100 {
            return Err(format!(
                "the percentages add up to {}, not 100",
                weights.iter().sum::<u32>()
            ));
        }
        Ok(Self(weights))
    }
}

impl Mix {
    /// The call request `i` makes. Every 100 consecutive requests hold exactly each call's
    /// percentage, interleaved (53 is coprime to 100, so `i * 53 mod 100` visits every bucket
    /// once per hundred).
    pub fn op(&self, i: u64) -> usize {
        let bucket = (i % 100 * 53 % 100) as u32;
        let mut upper = 0;
        for (index, weight) in self.0.iter().enumerate() {
            upper += weight;
            if bucket < upper {
                return index;
            }
        }
        OPS.len() - 1
    }
}

/// When requests are due.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Requests per second.
    pub rate: u64,
    /// Sent first and not measured.
    pub warmup: Duration,
    /// Measured.
    pub measure: Duration,
    /// A request not answered this long after it was due is a failure (`timeout`).
    pub timeout: Duration,
}

impl Schedule {
    fn count(&self, span: Duration) -> u64 {
        (self.rate as f64 * span.as_secs_f64()).round() as u64
    }

    /// Requests of the warm-up.
    pub fn warm(&self) -> u64 {
        self.count(self.warmup)
    }

    /// All requests, warm-up included.
    pub fn total(&self) -> u64 {
        self.warm() + self.count(self.measure)
    }
}

/// One call's measured requests.
#[derive(Debug)]
pub struct OpReport {
    /// Its name.
    pub name: &'static str,
    /// Latency of each answered, checked request, microseconds from its due time.
    pub latency: Histogram<u64>,
    /// Failed requests by what went wrong (`503 OVERLOADED`, `timeout`, …).
    pub failures: BTreeMap<String, u64>,
}

impl OpReport {
    /// Requests that failed.
    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }
}

/// What a run measured (the warm-up left out).
#[derive(Debug)]
pub struct Report {
    /// Per call, in the order the run named them.
    pub ops: Vec<OpReport>,
    /// Every answered, checked request.
    pub all: Histogram<u64>,
    /// Measured requests sent (all of them are answered or failed).
    pub sent: u64,
    /// Measured requests sent more than [`LATE`] behind their due time.
    pub late: u64,
    /// The most any measured request was sent behind its due time.
    pub max_lag: Duration,
    /// From the first measured request's due time to the last answer.
    pub elapsed: Duration,
}

impl Report {
    /// Requests that failed, over all calls.
    pub fn failed(&self) -> u64 {
        self.ops.iter().map(OpReport::failed).sum()
    }
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 10 min at 3 significant digits; the bounds are constants, so this cannot fail.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// A quantile of `h` in milliseconds (0 when empty).
pub fn ms(h: &Histogram<u64>, quantile: f64) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    h.value_at_quantile(quantile) as f64 / 1e3
}

struct Done {
    index: u64,
    op: usize,
    latency: Duration,
    result: Result<(), String>,
}

/// Sends `schedule.total()` requests at `schedule.rate` per second, open loop, and measures
/// them. `send(i)` names the call request `i` makes (an index into `names`) and returns the
/// request, which checks its answer: `Err` says what was wrong. `send` runs on the
/// generator's own clock, so a `send` that blocks delays the requests behind it, and they
/// carry that delay. With `progress`, a line on stderr each second.
pub async fn open_loop<S, F>(
    schedule: Schedule,
    names: &[&'static str],
    mut send: S,
    progress: bool,
) -> Report
where
    S: FnMut(u64) -> (usize, F) + Send + 'static,
    F: Future<Output = Result<(), String>> + Send + 'static,
{
    let (total, warm) = (schedule.total(), schedule.warm());
    let interval = Duration::from_secs_f64(1.0 / schedule.rate.max(1) as f64);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Done>();
    let start = tokio::time::Instant::now();
    let timeout = schedule.timeout;
    let generator = tokio::spawn(async move {
        let (mut late, mut max_lag) = (0u64, Duration::ZERO);
        for index in 0..total {
            let due = start + interval.mul_f64(index as f64);
            tokio::time::sleep_until(due).await;
            let (op, request) = send(index);
            let lag = due.elapsed();
            if index >= warm {
                late += u64::from(lag > LATE);
                max_lag = max_lag.max(lag);
            }
            let tx = tx.clone();
            tokio::spawn(async move {
                let result = match tokio::time::timeout_at(due + timeout, request).await {
                    Ok(result) => result,
                    Err(_) => Err("timeout".to_owned()),
                };
                let _ = tx.send(Done {
                    index,
                    op,
                    latency: due.elapsed(),
                    result,
                });
            });
        }
        (late, max_lag)
    });

    let mut ops: Vec<OpReport> = names
        .iter()
        .map(|&name| OpReport {
            name,
            latency: histogram(),
            failures: BTreeMap::new(),
        })
        .collect();
    let mut all = histogram();
    let (mut answered, mut failed) = (0u64, 0u64);
    let mut tick = tokio::time::interval_at(start + Duration::from_secs(1), Duration::from_secs(1));
    let seconds = interval.mul_f64(total as f64).as_secs_f64().ceil();
    while answered < total {
        tokio::select! {
            done = rx.recv() => {
                // `None`: every sender is gone, so no answer is still coming (a request task
                // panicked); what was not answered is counted below.
                let Some(done) = done else { break };
                answered += 1;
                if done.index < warm {
                    continue;
                }
                let op = &mut ops[done.op.min(names.len() - 1)];
                match done.result {
                    Ok(()) => {
                        let micros = u64::try_from(done.latency.as_micros()).unwrap_or(u64::MAX).max(1);
                        op.latency.saturating_record(micros);
                        all.saturating_record(micros);
                    }
                    Err(reason) => {
                        failed += 1;
                        *op.failures.entry(reason).or_default() += 1;
                    }
                }
            }
            _ = tick.tick(), if progress => {
                eprint!(
                    "\r  {:>4.0}/{seconds:.0} s   answered {answered:>8}/{total}   failed {failed:>6}   p99 so far {:>8.2} ms ",
                    start.elapsed().as_secs_f64().min(seconds),
                    ms(&all, 0.99),
                );
                let _ = std::io::stderr().flush();
            }
        }
    }
    if progress {
        eprintln!();
    }
    let (late, max_lag) = generator.await.unwrap_or((0, Duration::ZERO));
    if answered < total {
        ops[0].failures.insert(
            "no answer (the request task ended)".into(),
            total - answered,
        );
    }
    Report {
        ops,
        all,
        sent: total - warm,
        late,
        max_lag,
        elapsed: start
            .elapsed()
            .saturating_sub(interval.mul_f64(warm as f64)),
    }
}

/// `veil-stack load` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Requests per second.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub rate: u64,
    /// Measured seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub seconds: u64,
    /// Warm-up seconds (sent, not measured).
    #[arg(long, default_value_t = 5)]
    pub warmup: u64,
    /// Challenges created on the chain before the run; `get` reads them in turn.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub challenges: u64,
    /// Percent of each call: `get=70,list=20,create=10`.
    #[arg(long, default_value = "get=70,list=20,create=10")]
    pub mix: Mix,
    /// Seconds after its due time at which a request counts as failed.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Skip the hello-world yardstick.
    #[arg(long)]
    pub no_reference: bool,
}

impl LoadArgs {
    /// The schedule of the measured run.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            rate: self.rate,
            warmup: Duration::from_secs(self.warmup),
            measure: Duration::from_secs(self.seconds),
            timeout: Duration::from_secs(self.timeout),
        }
    }
}

/// Why a load run could not start or finish its set-up.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The relayer did not answer.
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
    /// The relayer refused a set-up call.
    #[error("{call}: {status} {body}")]
    Refused {
        /// The call.
        call: String,
        /// Its status.
        status: u16,
        /// Its answer.
        body: Value,
    },
    /// The chain refused or did not answer.
    #[error("the chain: {0}")]
    Chain(String),
    /// The indexer did not list the run's challenges in time.
    #[error("the indexer listed {listed} of the {created} challenges within 60 s")]
    NotIndexed {
        /// Listed.
        listed: u64,
        /// Created.
        created: u64,
    },
    /// The hello-world yardstick could not listen.
    #[error("the yardstick cannot listen: {0}")]
    Listen(#[from] std::io::Error),
}

/// What `veil-stack load` measured.
#[derive(Debug)]
pub struct LoadReport {
    /// The challenge API.
    pub api: Report,
    /// The hello-world at the same rate, unless skipped.
    pub reference: Option<Report>,
    /// Requests each relayer route counted (`http_request_duration_seconds_count{route}`)
    /// from before the warm-up to after the last answer.
    pub server_counts: BTreeMap<String, u64>,
}

async fn must(
    client: &SignedClient,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, LoadError> {
    let (status, value) = client.call(method, path, body).await?;
    if !(200..300).contains(&status) {
        return Err(LoadError::Refused {
            call: format!("{method} {path}"),
            status,
            body: value,
        });
    }
    Ok(value)
}

/// `http_request_duration_seconds_count{route}` of every route of the relayer at `base`.
async fn route_counts(base: &str) -> Result<BTreeMap<String, u64>, LoadError> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| crate::client::ClientError::Unreachable(e.to_string()))?
        .text()
        .await
        .map_err(|e| crate::client::ClientError::Unreachable(e.to_string()))?;
    Ok(text
        .lines()
        .filter_map(|line| line.strip_prefix("http_request_duration_seconds_count{route=\""))
        .filter_map(|rest| {
            let (route, value) = rest.split_once("\"}")?;
            Some((route.to_owned(), value.trim().parse().ok()?))
        })
        .collect())
}

/// A challenge build, signed by `creator` and forwarded through the relayer; its address.
async fn create_on_chain(
    client: &SignedClient,
    creator: &Keypair,
    counterparty: &str,
    nonce: u64,
) -> Result<String, LoadError> {
    let built = must(
        client,
        "POST",
        "/api/v2/challenges",
        Some(&json!({
            "creator": creator.pubkey().to_string(), "mode": "gatekeeper",
            "counterparty": counterparty, "terms": "veil-stack load", "nonce": nonce,
        })),
    )
    .await?;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut tx: Transaction = engine
        .decode(built["transaction"].as_str().unwrap_or_default())
        .ok()
        .and_then(|bytes| bincode::deserialize(&bytes).ok())
        .ok_or_else(|| LoadError::Chain("the relayer's transaction does not decode".into()))?;
    let blockhash = tx.message.recent_blockhash;
    tx.try_sign(&[creator], blockhash)
        .map_err(|e| LoadError::Chain(format!("the creator cannot sign: {e}")))?;
    let encoded = engine.encode(bincode::serialize(&tx).unwrap_or_default());
    must(
        client,
        "POST",
        "/api/v2/transactions",
        Some(&json!({ "transaction": encoded })),
    )
    .await?;
    Ok(built["challenge"].as_str().unwrap_or_default().to_owned())
}

/// The run's challenges: `n` Gatekeeper challenges of a new, airdropped creator, 25 in
/// flight; then waits until the indexer lists them.
async fn set_up(
    client: &SignedClient,
    session: &Session,
    n: u64,
    progress: bool,
) -> Result<(Keypair, Vec<String>), LoadError> {
    let creator = Keypair::new();
    let counterparty = Keypair::new().pubkey().to_string();
    let rpc =
        RpcClient::new_with_commitment(session.rpc_url.clone(), CommitmentConfig::confirmed());
    let chain = |e: Box<dyn std::error::Error>| LoadError::Chain(e.to_string());
    let airdrop = rpc
        .request_airdrop(&creator.pubkey(), 100_000_000_000)
        .await
        .map_err(|e| chain(e.into()))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !rpc
        .confirm_transaction(&airdrop)
        .await
        .map_err(|e| chain(e.into()))?
    {
        if Instant::now() > deadline {
            return Err(LoadError::Chain("the airdrop did not land in 30 s".into()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut addresses = Vec::with_capacity(n as usize);
    for chunk in (0..n).collect::<Vec<_>>().chunks(25) {
        let created = futures::future::join_all(
            chunk
                .iter()
                .map(|&nonce| create_on_chain(client, &creator, &counterparty, nonce)),
        )
        .await;
        for address in created {
            addresses.push(address?);
        }
        if progress {
            eprint!(
                "\r  created {}/{n} challenges on the chain",
                addresses.len()
            );
        }
    }
    if progress {
        eprintln!();
    }
    let path = format!(
        "/api/v2/challenges?party={}&limit={}",
        creator.pubkey(),
        n.min(200)
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page = must(client, "GET", &path, None).await?;
        let listed = page["challenges"].as_array().map_or(0, Vec::len) as u64;
        if listed == n.min(200) {
            break;
        }
        if Instant::now() > deadline {
            return Err(LoadError::NotIndexed { listed, created: n });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok((creator, addresses))
}

/// The outcome of one signed call: `Ok` when it answered `200` and `check` holds.
async fn checked(
    client: SignedClient,
    method: &'static str,
    path: String,
    body: Option<Value>,
    check: impl FnOnce(&Value) -> bool,
) -> Result<(), String> {
    match client.call(method, &path, body.as_ref()).await {
        Ok((200, value)) if check(&value) => Ok(()),
        Ok((200, _)) => Err("200 with a wrong answer".into()),
        Ok((status, value)) => Err(format!(
            "{status} {}",
            value["error"]["code"].as_str().unwrap_or("(no code)")
        )),
        Err(error) => Err(format!("no answer: {error}")),
    }
}

/// The yardstick: an axum hello-world served on 127.0.0.1 (until the process ends), loaded
/// on `schedule` like the API under test.
pub async fn hello_world(schedule: Schedule, progress: bool) -> Result<Report, LoadError> {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "Hello, World!" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}/");
    let plain = reqwest::Client::new();
    Ok(open_loop(
        schedule,
        &["hello"],
        move |_| {
            let (plain, url) = (plain.clone(), url.clone());
            (0, async move {
                match plain.get(&url).send().await {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => Err(r.status().to_string()),
                    Err(e) => Err(format!("no answer: {e}")),
                }
            })
        },
        progress,
    )
    .await)
}

/// Runs the challenge API load against the stack of `session`: a key for the run, the
/// challenges, the yardstick, then the measured run. The key is revoked afterwards, also
/// when the run fails.
pub async fn challenge_api(
    session: &Session,
    args: &LoadArgs,
    progress: bool,
) -> Result<LoadReport, LoadError> {
    let admin = SignedClient::new(
        &session.relayer_url,
        &session.api_key,
        &session.signing_secret,
    );
    let key = must(
        &admin,
        "POST",
        "/admin/keys",
        Some(&json!({
            "label": "veil-stack load", "scopes": ["challenges"],
            // Above the rate, so the run measures the API and not the key's quota.
            "rate_per_sec": args.rate.saturating_mul(2).min(u64::from(u32::MAX)),
            "burst": args.rate.max(100).min(u64::from(u32::MAX)),
        })),
    )
    .await?;
    let client = SignedClient::new(
        &session.relayer_url,
        key["api_key"].as_str().unwrap_or_default(),
        key["signing_secret"].as_str().unwrap_or_default(),
    );
    let run = measured(session, args, &client, progress).await;
    let revoked = must(
        &admin,
        "DELETE",
        &format!("/admin/keys/{}", key["key_id"].as_str().unwrap_or_default()),
        None,
    )
    .await;
    let report = run?;
    revoked?;
    Ok(report)
}

async fn measured(
    session: &Session,
    args: &LoadArgs,
    client: &SignedClient,
    progress: bool,
) -> Result<LoadReport, LoadError> {
    let (creator, addresses) = set_up(client, session, args.challenges, progress).await?;
    let schedule = args.schedule();
    let reference = if args.no_reference {
        None
    } else {
        if progress {
            eprintln!("yardstick: an axum hello-world at {} requests/s", args.rate);
        }
        Some(hello_world(schedule, progress).await?)
    };

    let before = route_counts(&session.relayer_url).await?;
    if progress {
        eprintln!(
            "the challenge API at {} requests/s ({} s warm-up, {} s measured)",
            args.rate, args.warmup, args.seconds
        );
    }
    let addresses = Arc::new(addresses);
    let party = creator.pubkey().to_string();
    let counterparty = Keypair::new().pubkey().to_string();
    let page = LIST_LIMIT.min(args.challenges) as usize;
    let (client, mix) = (client.clone(), args.mix);
    let api = open_loop(
        schedule,
        &OPS,
        move |i| {
            let op = mix.op(i);
            let client = client.clone();
            let request: std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>> =
                match op {
                    0 => {
                        let address = addresses[(i as usize) % addresses.len()].clone();
                        let path = format!("/api/v2/challenges/{address}");
                        Box::pin(checked(client, "GET", path, None, move |v| {
                            v["address"] == address.as_str()
                        }))
                    }
                    1 => {
                        let path = format!("/api/v2/challenges?party={party}&limit={LIST_LIMIT}");
                        Box::pin(checked(client, "GET", path, None, move |v| {
                            v["challenges"].as_array().map(Vec::len) == Some(page)
                        }))
                    }
                    _ => {
                        let body = json!({
                            "creator": party, "mode": "gatekeeper", "counterparty": counterparty,
                            "terms": "veil-stack load", "nonce": 1_000_000_000u64 + i,
                        });
                        Box::pin(checked(
                            client,
                            "POST",
                            "/api/v2/challenges".into(),
                            Some(body),
                            |v| {
                                v["challenge"].is_string()
                                    && v["transaction"].as_str().is_some_and(|t| !t.is_empty())
                            },
                        ))
                    }
                };
            (op, request)
        },
        progress,
    )
    .await;
    let after = route_counts(&session.relayer_url).await?;
    let server_counts = after
        .into_iter()
        .filter(|(route, _)| route.starts_with("/api/v2/challenges"))
        .map(|(route, n)| {
            let was = before.get(&route).copied().unwrap_or(0);
            (route, n.saturating_sub(was))
        })
        .collect();
    Ok(LoadReport {
        api,
        reference,
        server_counts,
    })
}

/// The report as `veil-stack load` prints it.
pub fn print(args: &LoadArgs, report: &LoadReport) {
    println!(
        "the challenge API, {} requests/s open loop for {} s after {} s of warm-up; {} challenges; mix {}",
        args.rate,
        args.seconds,
        args.warmup,
        args.challenges,
        OPS.iter()
            .zip(args.mix.0)
            .map(|(op, w)| format!("{op}={w}"))
            .collect::<Vec<_>>()
            .join(","),
    );
    println!("latency from each request's due time (coordinated omission corrected):");
    println!(
        "  {:<24} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "", "sent", "failed", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "p99 ÷ ref"
    );
    let reference = report.reference.as_ref().map(|r| ms(&r.all, 0.99));
    let row = |name: &str, sent: u64, failed: u64, h: &Histogram<u64>| {
        println!(
            "  {name:<24} {sent:>8} {failed:>7} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>11}",
            ms(h, 0.5),
            ms(h, 0.9),
            ms(h, 0.99),
            ms(h, 0.999),
            ms(h, 1.0),
            reference
                .filter(|r| *r > 0.0)
                .map_or("-".into(), |r| format!("{:.2}", ms(h, 0.99) / r)),
        );
    };
    let api = &report.api;
    for op in &api.ops {
        row(
            op.name,
            op.latency.len() + op.failed(),
            op.failed(),
            &op.latency,
        );
    }
    row("all calls", api.sent, api.failed(), &api.all);
    if let Some(r) = &report.reference {
        row("ref: axum hello-world", r.sent, r.failed(), &r.all);
    }
    println!(
        "  achieved {:.0} requests/s; {} sent more than {} ms late (most: {:.2} ms)",
        api.sent as f64 / api.elapsed.as_secs_f64().max(1e-9),
        api.late,
        LATE.as_millis(),
        api.max_lag.as_secs_f64() * 1e3,
    );
    for op in &api.ops {
        for (reason, n) in &op.failures {
            println!("  {} failed {n}×: {reason}", op.name);
        }
    }
    let counts: Vec<String> = report
        .server_counts
        .iter()
        .map(|(route, n)| format!("{route} {n}"))
        .collect();
    println!(
        "  the relayer counted (warm-up included): {}",
        counts.join(", ")
    );
}
