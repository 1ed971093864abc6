//! Fuzz targets (issue 18): each is a function of arbitrary bytes that must never panic and
//! whose invariants are asserted, so a panic is a bug found.
//!
//! Two runners drive the same functions:
//! - `CARGO_PROFILE_RELEASE_LTO=false cargo +nightly fuzz run -a -s none --features libfuzzer
//!   <target>` (libFuzzer, coverage-guided): the binaries in `fuzz_targets/`, seeded from
//!   `corpus/<target>/` (`docs/reliability.md` has the full run: 1,000,000 inputs per target,
//!   0 crashes);
//! - the test suite (`fuzz::` in the integration tests), on stable: every corpus file, then a
//!   bounded number of mutations of them, so CI runs each target on every change.
//!
//! | target | what it exercises |
//! |---|---|
//! | [`chittyid`] | the ChittyID parser and formatter (`VV-R-NNN-SSSSSSSS-T-YYMM-C-X`) |
//! | [`provisional_record`] | the fallback minter's provisional record as the relayer decodes and verifies it |
//! | [`signature_headers`] | the HMAC request-signing headers (`X-Timestamp`, `X-Nonce`, `X-Signature`) and the API key shape |
//! | [`relayer_bodies`] | every JSON request body of the relayer through its real extractor |
//! | [`forwarded_transaction`] | `POST /api/v2/transactions`: the bincode transaction decoder and its program allow-list |
//! | [`siws_message`] | the gatekeeper's Sign-In With Solana / EIP-4361 message parser |
//! | [`indexer_events`] | the indexer's event-CPI decoder over a transaction's inner instructions, and the transaction logs' failing-program parser |
//! | [`program_instructions`] | the instruction data of both programs through the client's decoders |

use axum::{
    body::Body,
    extract::FromRequest,
    http::{header, Method, Request},
    response::IntoResponse,
};
use serde::de::DeserializeOwned;

/// The names of the targets, as in `fuzz_targets/` and `corpus/`.
pub const TARGETS: [&str; 8] = [
    "chittyid",
    "provisional_record",
    "signature_headers",
    "relayer_bodies",
    "forwarded_transaction",
    "siws_message",
    "indexer_events",
    "program_instructions",
];

/// Runs target `name` on `data`.
///
/// # Panics
/// When `name` is not one of [`TARGETS`], and when the target finds a bug.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "chittyid" => chittyid(data),
        "provisional_record" => provisional_record(data),
        "signature_headers" => signature_headers(data),
        "relayer_bodies" => relayer_bodies(data),
        "forwarded_transaction" => forwarded_transaction(data),
        "siws_message" => siws_message(data),
        "indexer_events" => indexer_events(data),
        "program_instructions" => program_instructions(data),
        other => panic!("no fuzz target {other}"),
    }
}

/// Splits `data` at the first `0xff` bytes into at most `n` fields (the last takes the rest).
fn fields(data: &[u8], n: usize) -> Vec<&[u8]> {
    data.splitn(n, |b| *b == 0xff).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The ChittyID grammar: a parsed ID formats back to the same text, and its check character
/// is the one the ID's fields give.
pub fn chittyid(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = text.parse::<veil_chittyid::ChittyId>() {
        assert_eq!(id.to_string(), text, "parse then format changes the text");
        let again: veil_chittyid::ChittyId = id.to_string().parse().expect("reparses");
        assert_eq!(again, id);
        assert!(id.month() >= 1 && id.month() <= 12, "month {}", id.month());
    }
}

/// A provisional record from the fallback minter, as `POST /api/v2/chittyid/reconcile`
/// imports it: decoded from JSON, then verified against a pinned key (which must refuse
/// anything not signed by it) and its hex fields decoded.
pub fn provisional_record(data: &[u8]) {
    use veil_chittyid::provisional::ProvisionalRecord;
    let Ok(record) = serde_json::from_slice::<ProvisionalRecord>(data) else {
        return;
    };
    let pinned = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key();
    let verified = record.verify(&pinned);
    let _ = record.content_hash_bytes();
    let _ = record.request_nonce_bytes();
    if let Ok(id) = verified {
        // Only the pinned key's own signature verifies: the fuzzer cannot forge one.
        assert_eq!(
            record.public_key,
            hex::encode(pinned.to_bytes()),
            "a record verified under the pinned key without being signed by it: {id}"
        );
    }
    // Serialization round-trips.
    let again: ProvisionalRecord =
        serde_json::from_str(&serde_json::to_string(&record).expect("serializes")).unwrap();
    assert_eq!(again, record);
}

/// The request-signing headers and the API key's shape: parsing never panics; a timestamp
/// that parses prints back to the same text; a request signed with the headers verifies and
/// any other signature text does not.
pub fn signature_headers(data: &[u8]) {
    use veil_signing::{
        is_valid_nonce, parse_timestamp, sign_request, verify_signature, SigningSecret,
    };
    let parts = fields(data, 5);
    let get = |i: usize| parts.get(i).copied().unwrap_or_default();
    let (timestamp, nonce, signature, key, body) = (
        text(get(0)),
        text(get(1)),
        text(get(2)),
        text(get(3)),
        get(4),
    );
    if let Some(parsed) = parse_timestamp(&timestamp) {
        assert_eq!(parsed.to_string(), timestamp, "a timestamp is canonical");
    }
    let _ = veil_relayer::platform::auth::api_keys::presented_key_id(&key);
    let secret = SigningSecret::from_bytes([9u8; 32]);
    let path = "/api/v2/chittyid/mint";
    let presented = verify_signature(
        &secret,
        "POST",
        path,
        1_750_000_000,
        &nonce,
        body,
        &signature,
    );
    let genuine = sign_request("POST", path, body, &secret, 1_750_000_000, &nonce);
    assert!(verify_signature(
        &secret,
        "POST",
        path,
        1_750_000_000,
        &nonce,
        body,
        &genuine.signature
    ));
    if presented {
        assert!(
            signature.eq_ignore_ascii_case(&genuine.signature),
            "a signature other than the HMAC verified: {signature}"
        );
    }
    if is_valid_nonce(&nonce) {
        assert!((16..=128).contains(&nonce.len()));
    }
}

/// Runs the relayer's JSON extractor for `T` on `body`: it answers a value or a 4xx, never a
/// 5xx or a panic.
fn extract<T: DeserializeOwned>(body: &[u8]) {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
        .expect("a request");
    let extracted = futures::executor::block_on(
        veil_relayer::platform::http::ApiJson::<T>::from_request(request, &()),
    );
    if let Err(refused) = extracted {
        let status = refused.into_response().status();
        assert!(status.is_client_error(), "a bad body answered {status}");
    }
}

/// Every JSON request body of the relayer, chosen by the first byte, through `ApiJson`, the
/// extractor every handler uses (`POST /api/v2/chittyid/reconcile` reads its optional body
/// with `serde_json` directly, as here).
pub fn relayer_bodies(data: &[u8]) {
    use veil_relayer::{
        challenges::handlers as challenges,
        chittyid::handlers as chittyid,
        gatekeeper,
        platform::{auth::handlers as keys, flags},
        registry::handlers as registry,
        signin::handlers as signin,
        webhooks::handlers as webhooks,
    };
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % BODIES {
        0 => extract::<chittyid::MintBody>(body),
        1 => {
            let _ = serde_json::from_slice::<chittyid::ReconcileBody>(body);
        }
        2 => extract::<registry::RegisterBody>(body),
        3 => extract::<registry::PublishBody>(body),
        4 => extract::<registry::ProveBody>(body),
        5 => extract::<registry::ProofBody>(body),
        6 => extract::<challenges::CreateBody>(body),
        7 => extract::<challenges::AcceptBody>(body),
        8 => extract::<challenges::PartyBody>(body),
        9 => extract::<challenges::ConfirmBody>(body),
        10 => extract::<challenges::ResolveBody>(body),
        11 => extract::<challenges::AttestBody>(body),
        12 => extract::<challenges::ForwardBody>(body),
        13 => extract::<gatekeeper::wire::ChallengeBody>(body),
        14 => extract::<gatekeeper::wire::VerifyBody>(body),
        15 => extract::<gatekeeper::handlers::FundsBody>(body),
        16 => extract::<signin::RefreshBody>(body),
        17 => extract::<webhooks::CreateBody>(body),
        18 => extract::<webhooks::UpdateBody>(body),
        19 => extract::<webhooks::ReplaySinceBody>(body),
        20 => extract::<keys::CreateKeyBody>(body),
        _ => extract::<flags::FlagChanges>(body),
    }
}

/// How many request body types [`relayer_bodies`] covers (the schemas of the relayer's
/// OpenAPI request bodies; a test keeps the two equal).
pub const BODIES: u8 = 22;

/// The schema names of the request bodies [`relayer_bodies`] covers, in its order.
pub const BODY_SCHEMAS: [&str; BODIES as usize] = [
    "MintBody",
    "ReconcileBody",
    "RegisterBody",
    "PublishBody",
    "ProveBody",
    "ProofBody",
    "ChallengeCreateBody",
    "AcceptBody",
    "PartyBody",
    "ConfirmBody",
    "ResolveBody",
    "AttestBody",
    "ForwardBody",
    "ChallengeBody",
    "VerifyBody",
    "FundsCheckBody",
    "RefreshBody",
    "EndpointCreateBody",
    "UpdateBody",
    "ReplaySinceBody",
    "CreateKeyBody",
    "FlagChanges",
];

/// A transaction handed to `POST /api/v2/transactions`: decoding and checking never panic,
/// and what passes calls only the allowed programs.
pub fn forwarded_transaction(data: &[u8]) {
    use veil_relayer::challenges::{forwardable, FORWARDABLE_PROGRAMS};
    if let Ok(tx) = forwardable(data) {
        let keys = tx.message.static_account_keys();
        for ix in tx.message.instructions() {
            let program = keys[usize::from(ix.program_id_index)];
            assert!(FORWARDABLE_PROGRAMS.contains(&program));
        }
    }
}

/// A sign-in message: parsing never panics, and a parsed message prints back to text that
/// parses to the same message.
pub fn siws_message(data: &[u8]) {
    use veil_relayer::gatekeeper::message::{ChainId, SignIn};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = ChainId::parse(text);
    if let Ok(message) = SignIn::parse(text) {
        let printed = message.to_text();
        let again = SignIn::parse(&printed).expect("a printed message parses");
        assert_eq!(again, message);
    }
}

/// The indexer's decoder over a transaction built from the bytes (inner instructions of our
/// two programs and others, with event-CPI tags), and the log parser that names a failed
/// transaction's program: never a panic, and every decoded event is counted once.
///
/// (The indexer reads events from event CPIs, not from `Program data:` log lines, so the log
/// parser fuzzed is the one that exists: the relayer's reading of a failed transaction's
/// logs.)
pub fn indexer_events(data: &[u8]) {
    use anchor_lang::{event::EVENT_IX_TAG_LE, prelude::Pubkey};
    use veil_indexer::{decode, Counters, InnerIx, ProgramEvent, TxUpdate};
    let programs = [
        veil_client::registry::PROGRAM_ID,
        veil_client::challenge::PROGRAM_ID,
        Pubkey::new_from_array([3; 32]),
    ];
    // Records of `control ‖ len ‖ len bytes`: the control byte picks the program (`% 3`),
    // whether Anchor's event tag comes first (`0x80`) and whether the next record starts the
    // next top-level instruction (`0x40`).
    let mut inner: Vec<Vec<InnerIx>> = vec![Vec::new()];
    let mut rest = data;
    while let [control, len, tail @ ..] = rest {
        let take = usize::from(*len).min(tail.len());
        let mut bytes = Vec::new();
        if control & 0x80 != 0 {
            bytes.extend_from_slice(EVENT_IX_TAG_LE);
        }
        bytes.extend_from_slice(&tail[..take]);
        inner.last_mut().expect("one at least").push(InnerIx {
            program_id: programs[usize::from(control % 3)],
            data: bytes,
        });
        if control & 0x40 != 0 {
            inner.push(Vec::new());
        }
        rest = &tail[take..];
    }
    let tx = TxUpdate {
        slot: 1,
        signature: "fuzz".into(),
        block_time: None,
        index_in_slot: 0,
        inner,
        failed: false,
    };
    let counters = Counters::default();
    let events = decode(&tx, &counters);
    let decoded = events
        .iter()
        .filter(|e| !matches!(e.event, ProgramEvent::Undecodable(_)))
        .count();
    assert_eq!(Counters::get(&counters.events), decoded as u64);
    for event in &events {
        let _ = event.event.to_json();
    }
    // The same bytes as transaction logs.
    let logs: Vec<String> = data
        .split(|b| *b == b'\n')
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect();
    if let Some(program) = veil_relayer::platform::chain::failure::failing_program(&logs) {
        let named = program.to_string();
        assert!(logs.iter().any(|line| line.contains(&named)));
    }
}

/// Instruction data of both programs through the client's decoders: never a panic, and what
/// decodes encodes back to the bytes it was read from.
pub fn program_instructions(data: &[u8]) {
    use veil_client::decode::{ChallengeInstruction, RegistryInstruction};
    if let Ok(ix) = RegistryInstruction::decode(data) {
        let again = ix.data();
        assert!(
            data.starts_with(&again),
            "registry {} re-encodes differently",
            ix.name()
        );
    }
    if let Ok(ix) = ChallengeInstruction::decode(data) {
        let again = ix.data();
        assert!(
            data.starts_with(&again),
            "challenge {} re-encodes differently",
            ix.name()
        );
    }
}
