//! SIGKILL the indexer process at random points while the chain emits events: afterwards its
//! rows equal the chain's events exactly (an independent RPC backfill of the same chain into
//! another database), none missing, none twice.
//!
//! `VEIL_CRASH_INDEXER_KILLS` sets the kills (default 8), `VEIL_CRASH_SEED` the random points.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use anchor_lang::prelude::Pubkey;
use rand::{rngs::StdRng, Rng, SeedableRng};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use veil_client::registry as ix;
use veil_harness::scalar;
use veil_localnet::{Localnet, LocalnetConfig};

use super::{child::IndexerChild, env_u64};
use crate::{
    localnet::{backfill, geyser::events, send, SOL, TRACK},
    relayer::support::TestDb,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_indexer_killed_at_random_points_ends_with_exactly_the_chains_events() {
    let kills = env_u64("VEIL_CRASH_INDEXER_KILLS", 8);
    let mut rng = StdRng::seed_from_u64(env_u64("VEIL_CRASH_SEED", 7));
    let admin = Keypair::new();
    let net = Localnet::start(LocalnetConfig {
        slot_time: Duration::from_millis(50),
        airdrop: vec![admin.pubkey()],
        airdrop_lamports: 10 * SOL,
        grpc_port: Some(0),
        ..LocalnetConfig::default()
    })
    .expect("localnet starts");
    let rpc = Arc::new(RpcClient::new_with_commitment(
        net.rpc_url().to_owned(),
        CommitmentConfig::confirmed(),
    ));
    let init = ix::initialize(
        &admin.pubkey(),
        &admin.pubkey(),
        &Pubkey::new_unique(),
        None,
    );
    send(&rpc, &admin, &[init], &[]).await.expect("initialize");
    let track = ix::create_track(
        &admin.pubkey(),
        TRACK,
        20,
        0,
        veil_harness::builder::FRESHNESS_SLOTS,
    );
    send(&rpc, &admin, &[track], &[])
        .await
        .expect("create_track");

    // The chain emits a root every transaction until the kills are over.
    let stop = Arc::new(AtomicBool::new(false));
    let published = Arc::new(AtomicU64::new(0));
    let admin = Arc::new(admin);
    let emitter = tokio::spawn({
        let (rpc, admin, stop, published) =
            (rpc.clone(), admin.clone(), stop.clone(), published.clone());
        async move {
            let mut leaves = 0u64;
            while !stop.load(Ordering::SeqCst) {
                leaves += 1;
                let publish =
                    ix::publish_root(&admin.pubkey(), TRACK, scalar(1_000 + leaves), leaves, 0);
                send(&rpc, &admin, &[publish], &[])
                    .await
                    .expect("publish_root");
                published.fetch_add(1, Ordering::SeqCst);
            }
        }
    });

    let db = TestDb::new().await;
    let child = IndexerChild {
        database_url: db.url.clone(),
        rpc_url: net.rpc_url().to_owned(),
        grpc_url: net.grpc_url().expect("a gRPC endpoint").to_owned(),
    };
    // What each killed process had committed.
    let mut at_kills = Vec::new();
    for _ in 0..kills {
        let mut running = child.spawn();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(200..1_500))).await;
        running.kill();
        at_kills.push(events(&db.pool).await);
    }
    stop.store(true, Ordering::SeqCst);
    emitter.await.unwrap();
    let published = published.load(Ordering::SeqCst);

    // Once more, until it has caught up with the (now quiet) chain.
    let _running = child.spawn();
    let want = {
        let backfilled = TestDb::new().await;
        backfill(&rpc, &backfilled.pool).await;
        events(&backfilled.pool).await
    };
    let roots = want.iter().filter(|r| r.5 == "MerkleRootUpdated").count() as u64;
    assert_eq!(roots, published, "the backfill finds every root published");
    // At every kill the committed rows were exactly the chain's first events (the cursor and
    // the rows commit together), and the killed processes did index: the rows grew.
    for rows in &at_kills {
        assert_eq!(
            rows[..],
            want[..rows.len()],
            "rows at a kill are not a prefix of the chain's"
        );
    }
    let counts: Vec<usize> = at_kills.iter().map(Vec::len).collect();
    assert!(
        counts.last().copied().unwrap_or(0) > counts.first().copied().unwrap_or(0),
        "the killed indexers committed nothing between kills: {counts:?}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let got = events(&db.pool).await;
        if got == want {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "after {kills} kills the indexer has {} rows, the chain {} events",
            got.len(),
            want.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "indexer kill -9: {kills} kills, {published} roots published meanwhile, rows at the kills \
         {counts:?}, rows equal the chain's {} events",
        want.len()
    );
}
