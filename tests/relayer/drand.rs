//! The drand client against [`RecordedRelay`]s on 127.0.0.1 serving real recorded quicknet
//! beacons: verification, the per-round cache, single-flight refreshes, failover, circuit
//! breakers, timeouts, chain pinning, staleness and metrics. Nothing reaches the internet.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use veil_drand::{Beacon, BeaconError, ChainConfig};
use veil_relayer::{
    chittyid::drand::{DrandClient, DrandConfig, DrandError, RelayFailure, RelayFailureKind},
    chittyid::drand_relay::{latest_recorded, recorded, RecordedRelay, RelayHandle, RelayMode},
    platform::breaker::{BreakerConfig, BreakerOpen, BreakerState, ManualTicker},
    platform::clock::{Clock, OffsetClock},
    platform::metrics::Metrics,
};

const OPEN_FOR: Duration = Duration::from_secs(10);
const MAX_AGE: Duration = Duration::from_secs(30);

/// A clock that only moves when told to, so round boundaries are exact.
struct FrozenClock(AtomicU64);

impl FrozenClock {
    fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for FrozenClock {
    fn now_unix(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn chain() -> ChainConfig {
    ChainConfig::quicknet()
}

/// Publication time of the newest recorded round (what the relays serve as latest).
fn latest_round_time() -> u64 {
    chain().round_time(latest_recorded().round).unwrap()
}

struct Setup {
    client: Arc<DrandClient>,
    clock: Arc<FrozenClock>,
    ticker: Arc<ManualTicker>,
    metrics: Metrics,
}

fn config(relays: &[&RelayHandle], timeout: Duration) -> DrandConfig {
    DrandConfig {
        urls: relays.iter().map(|r| r.url()).collect(),
        timeout,
        max_age: MAX_AGE,
        breaker: BreakerConfig {
            failure_threshold: 2,
            open_for: OPEN_FOR,
        },
        chain: chain(),
    }
}

/// A client over `relays`, at the newest recorded round's time, breakers on manual time.
fn setup_with_timeout(relays: &[&RelayHandle], timeout: Duration) -> Setup {
    let clock = Arc::new(FrozenClock(AtomicU64::new(latest_round_time())));
    let ticker = Arc::new(ManualTicker::new());
    let metrics = Metrics::new();
    let client = DrandClient::with_ticker(
        config(relays, timeout),
        clock.clone(),
        ticker.clone(),
        metrics.clone(),
    )
    .unwrap();
    Setup {
        client: Arc::new(client),
        clock,
        ticker,
        metrics,
    }
}

fn setup(relays: &[&RelayHandle]) -> Setup {
    setup_with_timeout(relays, Duration::from_secs(2))
}

async fn relay() -> RelayHandle {
    RecordedRelay::spawn().await.unwrap().1
}

fn failure(relay: &RelayHandle, kind: RelayFailureKind) -> RelayFailure {
    RelayFailure {
        url: relay.url(),
        kind,
    }
}

fn tamper(beacon: &Beacon) -> Beacon {
    let mut signature = hex::decode(&beacon.signature).unwrap();
    signature[10] ^= 1;
    Beacon {
        signature: hex::encode(signature),
        ..beacon.clone()
    }
}

#[test]
fn drand_recorded_rounds_verify_and_tampered_ones_are_refused() {
    let chain = chain();
    let beacons = recorded();
    assert_eq!(
        beacons.iter().map(|b| b.round).collect::<Vec<_>>(),
        [123, 1000, 12040883, 32281667, 32285085, 32285086]
    );
    for beacon in &beacons {
        let verified = chain.verify(beacon).unwrap();
        assert_eq!(verified.round, beacon.round);
        assert_eq!(hex::encode(verified.randomness), beacon.randomness);
        assert_eq!(
            chain.verify(&tamper(beacon)),
            Err(BeaconError::InvalidSignature(beacon.round))
        );
    }
    // Round 32281667's randomness is the value drand published.
    assert_eq!(
        beacons[3].randomness,
        "4fd2fc55983dbfa3f446d8a0bd56f16cc8c5e76afd1ec154b60d477cbabed13b"
    );
    let mut lying = latest_recorded();
    lying.randomness = "00".repeat(32);
    assert_eq!(chain.verify(&lying), Err(BeaconError::RandomnessMismatch));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drand_latest_serves_the_newest_recorded_round_with_the_clock_pinned() {
    let relay = relay().await;
    let metrics = Metrics::new();
    let clock = Arc::new(OffsetClock::starting_at(latest_round_time()));
    let client =
        DrandClient::new(config(&[&relay], Duration::from_secs(2)), clock, metrics).unwrap();

    let beacon = client.latest().await.unwrap();
    let expected = latest_recorded();
    assert_eq!(beacon.round, expected.round);
    assert_eq!(hex::encode(beacon.randomness), expected.randomness);
    assert_eq!(hex::encode(&beacon.signature), expected.signature);

    let health = client.health();
    assert!(health.available);
    assert_eq!(health.cached_round, Some(expected.round));
    assert!(health.relays[0].chain_checked);
    assert_eq!(health.relays[0].breaker, BreakerState::Closed);
    assert_eq!(health.relays[0].last_error, None);
    assert_eq!(relay.control().info_requests(), 1);
    assert_eq!(relay.control().latest_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drand_latest_is_cached_until_the_next_round() {
    let relay = relay().await;
    let s = setup(&[&relay]);
    for _ in 0..1_000 {
        assert_eq!(
            s.client.latest().await.unwrap().round,
            latest_recorded().round
        );
    }
    assert_eq!(relay.control().latest_requests(), 1);
    // Still within the round (period 3 s).
    s.clock.advance(2);
    s.client.latest().await.unwrap();
    assert_eq!(relay.control().latest_requests(), 1);
    // The next round is due: one new fetch, then cached again.
    s.clock.advance(1);
    s.client.latest().await.unwrap();
    s.client.latest().await.unwrap();
    assert_eq!(relay.control().latest_requests(), 2);
    // The chain's /info is checked once per relay, not per fetch.
    assert_eq!(relay.control().info_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drand_refresh_is_single_flight_under_concurrent_callers() {
    let relay = relay().await;
    // Slow enough that every caller arrives while the one fetch is in flight.
    relay
        .set_mode(RelayMode::Slow(Duration::from_millis(200)))
        .await;
    let s = setup(&[&relay]);
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let client = s.client.clone();
            tokio::spawn(async move { client.latest().await })
        })
        .collect();
    for caller in callers {
        assert_eq!(
            caller.await.unwrap().unwrap().round,
            latest_recorded().round
        );
    }
    assert_eq!(relay.control().info_requests(), 1);
    assert_eq!(relay.control().latest_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drand_waiters_share_a_failed_refresh() {
    let relay = relay().await;
    relay
        .set_mode(RelayMode::Slow(Duration::from_secs(5)))
        .await;
    let s = setup_with_timeout(&[&relay], Duration::from_millis(200));
    let started = Instant::now();
    let callers: Vec<_> = (0..20)
        .map(|_| {
            let client = s.client.clone();
            tokio::spawn(async move { client.latest().await })
        })
        .collect();
    let expected = DrandError::AllRelaysFailed {
        attempts: vec![failure(&relay, RelayFailureKind::Timeout)],
    };
    for caller in callers {
        assert_eq!(caller.await.unwrap(), Err(expected.clone()));
    }
    // One timed-out request, not twenty in a row.
    assert_eq!(relay.control().requests(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drand_fails_over_when_the_first_relay_is_down_and_uses_it_again_once_back() {
    let (first, second) = (relay().await, relay().await);
    first.set_mode(RelayMode::Down).await;
    let s = setup(&[&first, &second]);

    assert_eq!(
        s.client.latest().await.unwrap().round,
        latest_recorded().round
    );
    assert_eq!(second.control().latest_requests(), 1);
    let health = s.client.health();
    assert_eq!(health.relays[0].last_error, Some(RelayFailureKind::Connect));
    assert_eq!(health.relays[0].breaker, BreakerState::Closed);
    assert_eq!(health.relays[1].last_error, None);

    // The second consecutive failure (threshold 2) opens the first relay's breaker.
    s.clock.advance(3);
    s.client.latest().await.unwrap();
    assert_eq!(second.control().latest_requests(), 2);
    assert_eq!(s.client.health().relays[0].breaker, BreakerState::Open);

    // Back up (re-bound on the same port) and past open_for: the probe goes to it and closes it.
    first.set_mode(RelayMode::Normal).await;
    s.ticker.advance(OPEN_FOR);
    s.clock.advance(3);
    s.client.latest().await.unwrap();
    assert_eq!(first.control().latest_requests(), 1);
    assert_eq!(second.control().latest_requests(), 2);
    let health = s.client.health();
    assert_eq!(health.relays[0].breaker, BreakerState::Closed);
    assert_eq!(health.relays[0].last_error, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drand_open_breaker_skips_the_relay_then_half_opens_and_closes_on_success() {
    let (first, second) = (relay().await, relay().await);
    first.set_mode(RelayMode::Unavailable).await;
    let s = setup(&[&first, &second]);

    for _ in 0..2 {
        s.client.latest().await.unwrap();
        s.clock.advance(3);
    }
    assert_eq!(s.client.health().relays[0].breaker, BreakerState::Open);
    // Each failed attempt stopped at the relay's /info (503).
    assert_eq!(first.control().requests(), 2);

    // OPEN: the relay is skipped without a request.
    s.client.latest().await.unwrap();
    assert_eq!(first.control().requests(), 2);
    assert_eq!(
        s.client.health().relays[0].last_error,
        Some(RelayFailureKind::BreakerOpen(BreakerOpen {
            state: BreakerState::Open,
            retry_after: OPEN_FOR,
        }))
    );

    // After open_for it is HALF_OPEN; the relay recovered, so the probe closes the breaker.
    first.set_mode(RelayMode::Normal).await;
    s.ticker.advance(OPEN_FOR);
    assert_eq!(s.client.health().relays[0].breaker, BreakerState::HalfOpen);
    s.clock.advance(3);
    s.client.latest().await.unwrap();
    assert_eq!(first.control().latest_requests(), 1);
    assert_eq!(second.control().latest_requests(), 3);
    assert_eq!(s.client.health().relays[0].breaker, BreakerState::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drand_probe_failure_reopens_the_breaker() {
    let (first, second) = (relay().await, relay().await);
    first.set_mode(RelayMode::Unavailable).await;
    let s = setup(&[&first, &second]);
    for _ in 0..2 {
        s.client.latest().await.unwrap();
        s.clock.advance(3);
    }
    s.ticker.advance(OPEN_FOR);
    s.client.latest().await.unwrap();
    // The probe reached the relay, failed, and re-opened the breaker for a full period.
    assert_eq!(first.control().requests(), 3);
    assert_eq!(s.client.health().relays[0].breaker, BreakerState::Open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drand_slow_relay_times_out_and_fails_over() {
    let (first, second) = (relay().await, relay().await);
    first
        .set_mode(RelayMode::Slow(Duration::from_secs(3)))
        .await;
    let s = setup_with_timeout(&[&first, &second], Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(
        s.client.latest().await.unwrap().round,
        latest_recorded().round
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        s.client.health().relays[0].last_error,
        Some(RelayFailureKind::Timeout)
    );
    assert_eq!(second.control().latest_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drand_relay_of_another_chain_is_refused() {
    let (first, second) = (relay().await, relay().await);
    first.set_mode(RelayMode::WrongChainInfo).await;

    let alone = setup(&[&first]);
    assert_eq!(
        alone.client.latest().await,
        Err(DrandError::AllRelaysFailed {
            attempts: vec![failure(
                &first,
                RelayFailureKind::WrongChain(BeaconError::ChainMismatch("hash"))
            )],
        })
    );
    // None of its beacons was asked for.
    assert_eq!(first.control().latest_requests(), 0);
    assert!(!alone.client.health().relays[0].chain_checked);

    let with_backup = setup(&[&first, &second]);
    assert_eq!(
        with_backup.client.latest().await.unwrap().round,
        latest_recorded().round
    );
    assert_eq!(first.control().latest_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drand_tampered_beacon_is_refused() {
    let relay = relay().await;
    relay.set_mode(RelayMode::TamperSignature).await;
    let s = setup(&[&relay]);
    assert_eq!(
        s.client.latest().await,
        Err(DrandError::AllRelaysFailed {
            attempts: vec![failure(
                &relay,
                RelayFailureKind::InvalidBeacon(BeaconError::InvalidSignature(
                    latest_recorded().round
                ))
            )],
        })
    );
    assert!(!s.client.health().available);
    assert_eq!(s.client.health().cached_round, None);
    assert_eq!(
        s.client.round(123).await,
        Err(DrandError::AllRelaysFailed {
            attempts: vec![failure(
                &relay,
                RelayFailureKind::InvalidBeacon(BeaconError::InvalidSignature(123))
            )],
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drand_stale_latest_is_refused() {
    let relay = relay().await;
    let s = setup(&[&relay]);
    let latest = latest_recorded().round;
    s.client.latest().await.unwrap();

    // 60 s later the relay still serves the same round: older than max_age (30 s).
    s.clock.advance(60);
    assert_eq!(
        s.client.latest().await,
        Err(DrandError::AllRelaysFailed {
            attempts: vec![failure(
                &relay,
                RelayFailureKind::Stale {
                    round: latest,
                    age_secs: 60
                }
            )],
        })
    );
    let health = s.client.health();
    assert!(!health.available);
    assert_eq!(health.cached_round, Some(latest));
    assert!(s.metrics.render().contains("drand_beacon_available 0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drand_all_relays_down_lists_every_relay() {
    let (first, second) = (relay().await, relay().await);
    first.set_mode(RelayMode::Down).await;
    second.set_mode(RelayMode::Unavailable).await;
    let s = setup(&[&first, &second]);
    assert_eq!(
        s.client.latest().await,
        Err(DrandError::AllRelaysFailed {
            attempts: vec![
                failure(&first, RelayFailureKind::Connect),
                failure(&second, RelayFailureKind::Http(503)),
            ],
        })
    );
    assert!(!s.client.health().available);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drand_round_fetches_and_verifies_recorded_rounds() {
    let relay = relay().await;
    let s = setup(&[&relay]);
    for beacon in recorded() {
        let verified = s.client.round(beacon.round).await.unwrap();
        assert_eq!(verified, chain().verify(&beacon).unwrap());
    }
    // A round the relay does not have is a 404, which does not count against the relay.
    assert_eq!(
        s.client.round(2).await,
        Err(DrandError::AllRelaysFailed {
            attempts: vec![failure(&relay, RelayFailureKind::Http(404))],
        })
    );
    assert_eq!(s.client.health().relays[0].breaker, BreakerState::Closed);
    assert_eq!(s.client.round(0).await, Err(DrandError::RoundZero));
    assert_eq!(relay.control().info_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drand_metrics_report_availability_and_breaker_states() {
    let (first, second) = (relay().await, relay().await);
    first.set_mode(RelayMode::Down).await;
    let s = setup(&[&first, &second]);
    let gauge = |relay: &RelayHandle, value: i64| {
        format!(
            "circuit_breaker_state{{dependency=\"drand:{}\"}} {value}",
            relay.url()
        )
    };
    let rendered = s.metrics.render();
    assert!(rendered.contains("drand_beacon_available 0"));
    assert!(rendered.contains(&gauge(&first, 0)));

    for _ in 0..2 {
        s.client.latest().await.unwrap();
        s.clock.advance(3);
    }
    let rendered = s.metrics.render();
    assert!(rendered.contains("drand_beacon_available 1"), "{rendered}");
    assert!(rendered.contains(&gauge(&first, 2)), "{rendered}");
    assert!(rendered.contains(&gauge(&second, 0)), "{rendered}");

    s.ticker.advance(OPEN_FOR);
    assert_eq!(s.client.health().relays[0].breaker, BreakerState::HalfOpen);
    assert!(s.metrics.render().contains(&gauge(&first, 1)));

    second.set_mode(RelayMode::Down).await;
    s.client.latest().await.unwrap_err();
    let rendered = s.metrics.render();
    assert!(rendered.contains("drand_beacon_available 0"), "{rendered}");
    assert!(rendered.contains(&gauge(&first, 2)), "{rendered}");

    // `/health` serialises breaker states by name.
    let health = serde_json::to_value(s.client.health()).unwrap();
    assert_eq!(health["relays"][0]["breaker"], "OPEN");
    assert_eq!(health["relays"][0]["last_error"]["kind"], "connect");
}
