//! A local drand relay serving **real recorded quicknet beacons**, for tests, the load
//! benchmark and offline demos: nothing here reaches the internet.
//!
//! [`RecordedRelay::router`] speaks drand's HTTP API (`GET /{chain_hash}/info`,
//! `/{chain_hash}/public/latest`, `/{chain_hash}/public/{round}`, and the same without the chain
//! prefix) over the beacons in `data/drand/quicknet.json`, each of which verifies under the
//! pinned quicknet key. "Latest" is the newest recorded round, so a client meant to accept it
//! runs on a clock pinned to [`latest_recorded`]'s round time.
//!
//! A [`RelayControl`] switches the relay's behaviour at runtime ([`RelayMode`]: down, slow,
//! tampered, another chain) and counts the requests that reached it. [`RecordedRelay::spawn`]
//! serves it on `127.0.0.1:0`; in [`RelayMode::Down`] the listener is closed (connections are
//! refused) and it is re-opened on the same port when the relay comes back.

use std::{
    collections::BTreeMap,
    io,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, LazyLock,
    },
    time::Duration,
};

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::Value;
use tokio::{
    net::{TcpListener, TcpSocket},
    sync::watch,
    task::JoinHandle,
};
use veil_drand::{Beacon, ChainInfo};

/// The recording: provenance, the chain's `/info`, another chain's `/info`, and the beacons.
const RECORDING: &str = include_str!("../../data/drand/quicknet.json");

#[derive(Deserialize)]
struct Recording {
    info: Value,
    other_chain_info: Value,
    beacons: Vec<Beacon>,
}

struct Recorded {
    /// The quicknet `/info` document, verbatim.
    info: Value,
    /// Another network's `/info`, served by [`RelayMode::WrongChainInfo`].
    other_chain_info: Value,
    chain_hash: String,
    beacons: BTreeMap<u64, Beacon>,
}

static RECORDED: LazyLock<Recorded> = LazyLock::new(|| {
    let recording: Recording =
        serde_json::from_str(RECORDING).expect("data/drand/quicknet.json is valid");
    let info: ChainInfo =
        serde_json::from_value(recording.info.clone()).expect("recorded /info is a ChainInfo");
    assert!(
        !recording.beacons.is_empty(),
        "the recording holds at least one beacon"
    );
    Recorded {
        info: recording.info,
        other_chain_info: recording.other_chain_info,
        chain_hash: info.hash,
        beacons: recording
            .beacons
            .into_iter()
            .map(|b| (b.round, b))
            .collect(),
    }
});

/// Every recorded beacon, oldest round first.
pub fn recorded() -> Vec<Beacon> {
    RECORDED.beacons.values().cloned().collect()
}

/// The newest recorded beacon: what the relay serves as "latest".
pub fn latest_recorded() -> Beacon {
    RECORDED
        .beacons
        .values()
        .next_back()
        .cloned()
        .expect("the recording holds at least one beacon")
}

/// The recorded chain's `/info`.
pub fn recorded_chain_info() -> ChainInfo {
    serde_json::from_value(RECORDED.info.clone()).expect("recorded /info is a ChainInfo")
}

/// How the relay behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RelayMode {
    /// Serves the recording faithfully.
    #[default]
    Normal,
    /// Unreachable: a spawned relay closes its listener (connection refused); a bare router
    /// answers 503.
    Down,
    /// Up, but answers every request with 503.
    Unavailable,
    /// Answers faithfully after this delay.
    Slow(Duration),
    /// Serves beacons with one signature byte flipped.
    TamperSignature,
    /// Serves another network's `/info` (the League of Entropy mainnet chain).
    WrongChainInfo,
}

/// Runtime control of a relay: its mode and the requests that reached it.
#[derive(Debug)]
pub struct RelayControl {
    mode: Mutex<RelayMode>,
    down: watch::Sender<bool>,
    info_requests: AtomicU64,
    latest_requests: AtomicU64,
    round_requests: AtomicU64,
}

impl Default for RelayControl {
    fn default() -> Self {
        Self {
            mode: Mutex::new(RelayMode::Normal),
            down: watch::Sender::new(false),
            info_requests: AtomicU64::new(0),
            latest_requests: AtomicU64::new(0),
            round_requests: AtomicU64::new(0),
        }
    }
}

impl RelayControl {
    /// A control in [`RelayMode::Normal`] with zeroed counters.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The current mode.
    pub fn mode(&self) -> RelayMode {
        *self.mode.lock()
    }

    /// Switches mode now (a spawned relay closes or re-opens its listener shortly after; use
    /// [`RelayHandle::set_mode`] to wait for that).
    pub fn set_mode(&self, mode: RelayMode) {
        *self.mode.lock() = mode;
        self.down.send_replace(mode == RelayMode::Down);
    }

    /// `/info` requests that reached the relay.
    pub fn info_requests(&self) -> u64 {
        self.info_requests.load(Ordering::SeqCst)
    }

    /// `/public/latest` requests that reached the relay.
    pub fn latest_requests(&self) -> u64 {
        self.latest_requests.load(Ordering::SeqCst)
    }

    /// `/public/{round}` requests that reached the relay.
    pub fn round_requests(&self) -> u64 {
        self.round_requests.load(Ordering::SeqCst)
    }

    /// Every request that reached the relay.
    pub fn requests(&self) -> u64 {
        self.info_requests() + self.latest_requests() + self.round_requests()
    }

    /// Zeroes the counters.
    pub fn reset_counters(&self) {
        for counter in [
            &self.info_requests,
            &self.latest_requests,
            &self.round_requests,
        ] {
            counter.store(0, Ordering::SeqCst);
        }
    }

    /// Counts the request, applies the mode's delay, and answers 503 when unavailable.
    async fn admit(&self, counter: &AtomicU64) -> Result<RelayMode, Response> {
        counter.fetch_add(1, Ordering::SeqCst);
        let mode = self.mode();
        match mode {
            RelayMode::Down | RelayMode::Unavailable => {
                Err(StatusCode::SERVICE_UNAVAILABLE.into_response())
            }
            RelayMode::Slow(delay) => {
                tokio::time::sleep(delay).await;
                Ok(mode)
            }
            _ => Ok(mode),
        }
    }
}

/// The recorded relay's HTTP surface and server.
#[derive(Debug, Clone, Copy)]
pub struct RecordedRelay;

impl RecordedRelay {
    /// drand's HTTP API over the recording, behaving as `control` says.
    pub fn router(control: Arc<RelayControl>) -> Router {
        Router::new()
            .route("/info", get(info))
            .route("/public/latest", get(latest))
            .route("/public/{round}", get(round))
            .route("/{chain}/info", get(chain_info))
            .route("/{chain}/public/latest", get(chain_latest))
            .route("/{chain}/public/{round}", get(chain_round))
            .with_state(control)
    }

    /// Serves a fresh relay (in [`RelayMode::Normal`]) on `127.0.0.1:0`; it stops when the
    /// handle is dropped.
    pub async fn spawn() -> io::Result<(SocketAddr, RelayHandle)> {
        let listener = bind("127.0.0.1:0".parse().expect("literal address"))?;
        let addr = listener.local_addr()?;
        let control = RelayControl::new();
        let (listening_tx, listening) = watch::channel(true);
        let task = tokio::spawn(supervise(
            listener,
            addr,
            Self::router(control.clone()),
            control.down.subscribe(),
            listening_tx,
        ));
        let handle = RelayHandle {
            addr,
            control,
            listening,
            task,
        };
        Ok((addr, handle))
    }
}

/// A spawned relay; dropping it stops the server.
#[derive(Debug)]
pub struct RelayHandle {
    addr: SocketAddr,
    control: Arc<RelayControl>,
    listening: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl RelayHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, a drand client's relay base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The relay's control.
    pub fn control(&self) -> &Arc<RelayControl> {
        &self.control
    }

    /// Switches mode and waits until the listener is closed ([`RelayMode::Down`]) or accepting
    /// (any other mode).
    pub async fn set_mode(&self, mode: RelayMode) {
        self.control.set_mode(mode);
        let want_listening = mode != RelayMode::Down;
        let mut listening = self.listening.clone();
        // Only fails if the server task ended, i.e. the handle is being dropped.
        let _ = listening.wait_for(|l| *l == want_listening).await;
    }
}

impl Drop for RelayHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A listener with `SO_REUSEADDR`, so a relay brought back up can re-bind its port.
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Serves until the relay goes down, closes the listener and its connections, waits until it
/// comes back, re-binds, and so on.
async fn supervise(
    first: TcpListener,
    addr: SocketAddr,
    router: Router,
    mut down: watch::Receiver<bool>,
    listening: watch::Sender<bool>,
) {
    let mut next = Some(first);
    loop {
        let listener = match next.take() {
            Some(listener) => listener,
            None => {
                if down.wait_for(|d| !*d).await.is_err() {
                    return;
                }
                match bind(addr) {
                    Ok(listener) => listener,
                    Err(error) => {
                        tracing::warn!(%addr, %error, "recorded drand relay cannot re-bind; retrying");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                }
            }
        };
        listening.send_replace(true);
        let mut stop = down.clone();
        let served = axum::serve(listener, router.clone())
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|d| *d).await;
            })
            .await;
        if let Err(error) = served {
            tracing::warn!(%addr, %error, "recorded drand relay stopped");
        }
        listening.send_replace(false);
        if down.has_changed().is_err() {
            return;
        }
    }
}

fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

fn serve_info(mode: RelayMode) -> Response {
    let info = if mode == RelayMode::WrongChainInfo {
        &RECORDED.other_chain_info
    } else {
        &RECORDED.info
    };
    Json(info.clone()).into_response()
}

fn serve_beacon(mode: RelayMode, beacon: Option<&Beacon>) -> Response {
    let Some(beacon) = beacon else {
        return not_found();
    };
    let mut beacon = beacon.clone();
    if mode == RelayMode::TamperSignature {
        let mut signature = hex::decode(&beacon.signature).expect("recorded signatures are hex");
        signature[10] ^= 1;
        beacon.signature = hex::encode(signature);
    }
    Json(beacon).into_response()
}

fn recorded_round(round: &str) -> Option<&'static Beacon> {
    RECORDED.beacons.get(&round.parse::<u64>().ok()?)
}

async fn info(State(control): State<Arc<RelayControl>>) -> Response {
    match control.admit(&control.info_requests).await {
        Ok(mode) => serve_info(mode),
        Err(refused) => refused,
    }
}

async fn latest(State(control): State<Arc<RelayControl>>) -> Response {
    match control.admit(&control.latest_requests).await {
        Ok(mode) => serve_beacon(mode, RECORDED.beacons.values().next_back()),
        Err(refused) => refused,
    }
}

async fn round(State(control): State<Arc<RelayControl>>, Path(round): Path<String>) -> Response {
    match control.admit(&control.round_requests).await {
        Ok(mode) => serve_beacon(mode, recorded_round(&round)),
        Err(refused) => refused,
    }
}

async fn chain_info(control: State<Arc<RelayControl>>, Path(chain): Path<String>) -> Response {
    // Only the recorded chain is served.
    if chain != RECORDED.chain_hash {
        return not_found();
    }
    info(control).await
}

async fn chain_latest(control: State<Arc<RelayControl>>, Path(chain): Path<String>) -> Response {
    if chain != RECORDED.chain_hash {
        return not_found();
    }
    latest(control).await
}

async fn chain_round(
    control: State<Arc<RelayControl>>,
    Path((chain, round_number)): Path<(String, String)>,
) -> Response {
    if chain != RECORDED.chain_hash {
        return not_found();
    }
    round(control, Path(round_number)).await
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    use veil_drand::ChainConfig;

    use super::*;

    #[test]
    fn every_recorded_beacon_verifies_under_the_pinned_key() {
        let chain = ChainConfig::quicknet();
        assert_eq!(chain.check_info(&recorded_chain_info()), Ok(()));
        let beacons = recorded();
        assert!(beacons.len() >= 2);
        for beacon in &beacons {
            chain.verify(beacon).unwrap();
        }
        assert_eq!(latest_recorded(), *beacons.last().unwrap());
    }

    async fn get(control: &Arc<RelayControl>, path: &str) -> (StatusCode, Value) {
        let response = RecordedRelay::router(control.clone())
            .oneshot(axum::http::Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    #[tokio::test]
    async fn relay_serves_info_latest_and_rounds_with_and_without_the_chain() {
        let control = RelayControl::new();
        let hash = ChainConfig::quicknet().chain_hash;
        let latest = latest_recorded();
        for prefix in [String::new(), format!("/{hash}")] {
            let (status, body) = get(&control, &format!("{prefix}/info")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body["hash"], hash);
            let (status, body) = get(&control, &format!("{prefix}/public/latest")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body["round"], latest.round);
            let (status, body) = get(&control, &format!("{prefix}/public/123")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body["round"], 123);
            let (status, _) = get(&control, &format!("{prefix}/public/124")).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        let (status, _) = get(&control, "/00ff/public/latest").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(control.info_requests(), 2);
        assert_eq!(control.latest_requests(), 2);
        assert_eq!(control.round_requests(), 4);
        assert_eq!(control.requests(), 8);
    }

    #[tokio::test]
    async fn relay_modes_change_answers() {
        let control = RelayControl::new();
        control.set_mode(RelayMode::Unavailable);
        assert_eq!(
            get(&control, "/public/latest").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        control.set_mode(RelayMode::WrongChainInfo);
        let (_, info) = get(&control, "/info").await;
        let info: ChainInfo = serde_json::from_value(info).unwrap();
        assert!(ChainConfig::quicknet().check_info(&info).is_err());
        control.set_mode(RelayMode::TamperSignature);
        let (_, beacon) = get(&control, "/public/latest").await;
        let beacon: Beacon = serde_json::from_value(beacon).unwrap();
        assert_ne!(beacon.signature, latest_recorded().signature);
        assert!(ChainConfig::quicknet().verify(&beacon).is_err());
        control.reset_counters();
        assert_eq!(control.requests(), 0);
    }
}
