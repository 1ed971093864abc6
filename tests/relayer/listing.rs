//! `GET /api/v2/challenges`: real challenge transactions (executed by the programs in the
//! test chain) are indexed into the relayer's database by the indexer's own pipeline, and
//! listed by filter and keyset page, visible by who asks: a key sees the challenges whose
//! `create` it built, an admin key all, a session its own wallet's.

use anchor_lang::prelude::Pubkey;
use axum::http::Method;
use challenge::state::Mode;
use serde_json::Value;
use solana_keypair::Keypair;
use solana_signer::Signer;
use veil_indexer::{PgStore, RunConfig};
use veil_relayer::{
    challenges::listing,
    platform::{auth::Scope, flags::Rollout},
};

use super::support::{code, keyless, session_sign_in, TestApp};
use crate::indexer::support::{all, run_to_end, to_updates, Recorder};

struct Listing {
    t: TestApp,
    rec: Recorder,
    store: PgStore,
    /// Transactions already indexed.
    indexed: usize,
}

impl Listing {
    async fn new() -> Self {
        let t = TestApp::with(|c| c.ff_challenges = Rollout::On).await;
        let store = PgStore::new(t.state.pool.clone(), "listing");
        Self {
            t,
            rec: Recorder::new(),
            store,
            indexed: 0,
        }
    }

    /// Indexes every transaction recorded since the last call, each in a later slot.
    async fn index(&mut self) {
        let updates = to_updates(&self.rec.executed, 1_000);
        let fresh = updates[self.indexed..].to_vec();
        self.indexed = updates.len();
        run_to_end(&self.store, all(&fresh), RunConfig::default()).await;
    }

    /// A challenge of `mode` by `creator` (the fixture's creator when `None`).
    fn create(&mut self, mode: Mode, open: bool, creator: Option<&Keypair>) -> Pubkey {
        let mut args = self.rec.f.args(mode);
        if open {
            args.counterparty = None;
        }
        let (address, result) = match creator {
            Some(creator) => self.rec.f.create_with_mint(creator, args, None),
            None => self.rec.f.create(args),
        };
        self.rec
            .executed
            .push(result.expect("create_challenge lands"));
        address
    }

    fn accept(&mut self, challenge: &Pubkey, by: &Keypair) {
        let result = self.rec.f.accept(challenge, by);
        self.rec.executed.push(result.expect("accept lands"));
    }

    async fn list(&self, query: &str, key: &veil_relayer::platform::auth::CreatedKey) -> Value {
        let (status, body) = self.t.get(&format!("/api/v2/challenges{query}"), key).await;
        assert_eq!(status, 200, "{query}: {body}");
        body
    }

    async fn addresses(
        &self,
        query: &str,
        key: &veil_relayer::platform::auth::CreatedKey,
    ) -> Vec<String> {
        addresses(&self.list(query, key).await)
    }

    async fn list_status(
        &self,
        query: &str,
        key: &veil_relayer::platform::auth::CreatedKey,
    ) -> (u16, Value) {
        let (status, body) = self.t.get(&format!("/api/v2/challenges{query}"), key).await;
        (status.as_u16(), body)
    }
}

fn addresses(page: &Value) -> Vec<String> {
    page["challenges"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["address"].as_str().unwrap().to_owned())
        .collect()
}

fn strings(keys: &[Pubkey]) -> Vec<String> {
    keys.iter().map(Pubkey::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_filter_narrows_the_list_and_rows_carry_what_was_indexed() {
    let mut l = Listing::new().await;
    let admin = TestApp::create_key(&l.t.state, &[Scope::Admin], 1_000).await;
    let counterparty = l.rec.f.counterparty.insecure_clone();
    let stranger = l.rec.f.t.wallet();
    // Oldest first: a named Gatekeeper challenge never accepted; an open one a stranger
    // accepted; a Solo draft; a Fire challenge taken to completion.
    let named = l.create(Mode::Gatekeeper, false, None);
    let open = l.create(Mode::Gatekeeper, true, None);
    l.accept(&open, &stranger);
    let solo = l.create(Mode::Solo, false, None);
    l.rec.challenges(1);
    l.index().await;
    let page = l.list("", &admin).await;
    let all = addresses(&page);
    assert_eq!(all.len(), 4, "{page}");
    let fire = all[0].clone();
    assert_eq!(&all[1..], strings(&[solo, open, named]).as_slice());
    assert!(page["next_cursor"].is_null(), "{page}");
    assert!(page["indexed_slot"].as_u64().unwrap() >= 1_000, "{page}");

    // The rows: what the events said, in the API's words.
    let row = |address: &str| {
        page["challenges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == address)
            .unwrap()
            .clone()
    };
    let f = &l.rec.f;
    let fire_row = row(&fire);
    assert_eq!(fire_row["mode"], "fire");
    assert_eq!(fire_row["status"], "completed");
    assert_eq!(fire_row["creator"], f.creator.pubkey().to_string());
    assert_eq!(
        fire_row["counterparty"],
        f.counterparty.pubkey().to_string()
    );
    assert_eq!(fire_row["counterparty_accepted"], true);
    assert_eq!(fire_row["bond_mint"], f.mint.to_string());
    assert_eq!(
        fire_row["bond_amount"],
        veil_harness::challenge::BOND.to_string()
    );
    assert_eq!(fire_row["terms_hash"], hex::encode([0x7e; 32]));
    assert!(
        fire_row["status_slot"].as_u64() > fire_row["created_slot"].as_u64(),
        "{fire_row}"
    );
    let named_row = row(&named.to_string());
    assert_eq!(named_row["status"], "awaiting_counterparty");
    assert_eq!(named_row["counterparty"], counterparty.pubkey().to_string());
    assert_eq!(named_row["counterparty_accepted"], false);
    assert_eq!(named_row["bond_mint"], Value::Null);
    assert_eq!(named_row["bond_amount"], "0");
    let open_row = row(&open.to_string());
    assert_eq!(open_row["status"], "accepted");
    assert_eq!(open_row["counterparty"], stranger.pubkey().to_string());
    assert_eq!(open_row["counterparty_accepted"], true);
    let solo_row = row(&solo.to_string());
    assert_eq!(
        (
            &solo_row["mode"],
            &solo_row["status"],
            &solo_row["counterparty"]
        ),
        (&"solo".into(), &"draft".into(), &Value::Null)
    );

    // Each filter.
    let by = |q: &'static str| l.addresses(q, &admin);
    assert_eq!(by("?mode=gatekeeper").await, strings(&[open, named]));
    assert_eq!(by("?mode=fire").await, vec![fire.clone()]);
    assert_eq!(by("?status=draft").await, strings(&[solo]));
    assert_eq!(by("?status=completed").await, vec![fire.clone()]);
    assert_eq!(
        by("?status=awaiting_counterparty&mode=gatekeeper").await,
        strings(&[named])
    );
    assert!(by("?status=disputed").await.is_empty());
    // A party: as creator, as named counterparty (accepted or not), as the one who took an
    // open challenge.
    let q = format!("?party={}", counterparty.pubkey());
    assert_eq!(
        addresses(&l.list(&q, &admin).await),
        vec![fire.clone(), named.to_string()]
    );
    let q = format!("?party={}", stranger.pubkey());
    assert_eq!(addresses(&l.list(&q, &admin).await), strings(&[open]));
    let q = format!("?party={}", l.rec.f.creator.pubkey());
    assert_eq!(addresses(&l.list(&q, &admin).await).len(), 4);
    let q = format!("?party={}&status=accepted", stranger.pubkey());
    assert_eq!(addresses(&l.list(&q, &admin).await), strings(&[open]));
    let q = format!("?party={}", Pubkey::new_unique());
    assert!(addresses(&l.list(&q, &admin).await).is_empty());

    // Bad queries: typed, naming the parameter.
    for (query, field) in [
        ("?mode=duel", "mode"),
        ("?status=won", "status"),
        ("?party=nope", "party"),
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?cursor=bm90LWEtY3Vyc29y", "cursor"),
    ] {
        let (status, body) = l.list_status(query, &admin).await;
        assert_eq!(
            (status, code(&body)),
            (400, "INVALID_QUERY"),
            "{query}: {body}"
        );
        assert_eq!(body["error"]["details"]["field"], field, "{query}: {body}");
    }
    for query in ["?limit=ten", "?colour=red"] {
        let (status, body) = l.list_status(query, &admin).await;
        assert_eq!(
            (status, code(&body)),
            (400, "INVALID_QUERY"),
            "{query}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_walk_every_challenge_once_while_new_ones_arrive() {
    let mut l = Listing::new().await;
    let admin = TestApp::create_key(&l.t.state, &[Scope::Admin], 1_000).await;
    let first: Vec<Pubkey> = (0..7)
        .map(|_| l.create(Mode::Gatekeeper, true, None))
        .collect();
    l.index().await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=3&cursor={c}"),
            None => "?limit=3".to_owned(),
        };
        let page = l.list(&query, &admin).await;
        let got = addresses(&page);
        assert!(got.len() <= 3, "{page}");
        seen.extend(got);
        pages += 1;
        // New challenges land between pages: they belong ahead of the first page.
        if pages == 1 {
            for _ in 0..4 {
                l.create(Mode::Gatekeeper, true, None);
            }
            l.index().await;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut want = strings(&first);
    want.reverse();
    assert_eq!(seen, want, "each challenge of the walk once, newest first");
    assert_eq!(pages, 3);
    // A new walk starts with the newcomers.
    let page = l.list("?limit=20", &admin).await;
    assert_eq!(addresses(&page).len(), 11);
    assert_eq!(&addresses(&page)[4..], want.as_slice());
    // Exactly a page's worth: the last full page has no next cursor.
    let page = l.list("?limit=11", &admin).await;
    assert!(page["next_cursor"].is_null(), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_sees_what_it_created_and_a_session_what_its_wallet_is_party_to() {
    let mut l = Listing::new().await;
    let pool = l.t.state.pool.clone();
    let (a, b) = (
        TestApp::create_key(&l.t.state, &[Scope::Challenges], 1_000).await,
        TestApp::create_key(&l.t.state, &[Scope::Challenges], 1_000).await,
    );
    let other = l.rec.f.t.wallet();
    let mine = l.create(Mode::Gatekeeper, false, None);
    let theirs = l.create(Mode::Solo, false, Some(&other));
    l.index().await;
    // What `POST /api/v2/challenges` records when a key builds a create (it needs a chain,
    // which this test has not: the localnet test goes through it).
    listing::record_origin(&pool, &mine, &a.key_id)
        .await
        .unwrap();
    listing::record_origin(&pool, &theirs, &b.key_id)
        .await
        .unwrap();
    // A built create that never landed is never listed.
    listing::record_origin(&pool, &Pubkey::new_unique(), &a.key_id)
        .await
        .unwrap();
    assert_eq!(addresses(&l.list("", &a).await), strings(&[mine]));
    assert_eq!(addresses(&l.list("", &b).await), strings(&[theirs]));
    // `party` narrows within what the key sees; it does not widen it.
    let q = format!("?party={}", other.pubkey());
    assert!(addresses(&l.list(&q, &a).await).is_empty());

    // Sessions: the creator's wallet and the named counterparty's each list `mine`; the other
    // wallet lists `theirs`; naming someone else's wallet is refused.
    let sign = |kp: &Keypair| {
        let kp = kp.insecure_clone();
        move |m: &str| kp.sign_message(m.as_bytes()).to_string()
    };
    let creator = l.rec.f.creator.insecure_clone();
    let counterparty = l.rec.f.counterparty.insecure_clone();
    for (wallet, want) in [
        (&creator, vec![mine]),
        (&counterparty, vec![mine]),
        (&other, vec![theirs]),
    ] {
        let address = wallet.pubkey().to_string();
        let (session, _) = session_sign_in(&l.t, "solana:localnet", &address, sign(wallet)).await;
        let token = session["token"].as_str().unwrap();
        let (status, page) =
            keyless(&l.t, Method::GET, "/api/v2/challenges", None, Some(token)).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(addresses(&page), strings(&want), "{address}");
        let own = format!("/api/v2/challenges?party={address}&mode=solo");
        let (status, page) = keyless(&l.t, Method::GET, &own, None, Some(token)).await;
        assert_eq!(status, 200, "{page}");
        let solo: Vec<Pubkey> = want.iter().copied().filter(|c| *c == theirs).collect();
        assert_eq!(addresses(&page), strings(&solo), "{address}");
        let elsewhere = format!("/api/v2/challenges?party={}", Pubkey::new_unique());
        let (status, refused) = keyless(&l.t, Method::GET, &elsewhere, None, Some(token)).await;
        assert_eq!(
            (status, code(&refused)),
            (403, "AUTH_SESSION_WALLET_MISMATCH"),
            "{refused}"
        );
    }
    // No key, no session: no list.
    let (status, refused) = keyless(&l.t, Method::GET, "/api/v2/challenges", None, None).await;
    assert_eq!(
        (status, code(&refused)),
        (401, "AUTH_MISSING_API_KEY"),
        "{refused}"
    );
}
