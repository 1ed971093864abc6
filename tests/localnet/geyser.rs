//! The localnet's Yellowstone gRPC endpoint, read by the indexer's own gRPC source: a replay
//! from the chain's first block and the live stream after it yield exactly the rows the RPC backfill of the same
//! chain yields, at the same positions.

use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use tokio_util::sync::CancellationToken;
use veil_client::registry as ix;
use veil_harness::scalar;
use veil_indexer::{
    grpc::{GrpcConfig, GrpcSource},
    run, Counters, Cursor, PgStore, RunConfig,
};
use veil_localnet::{Localnet, LocalnetConfig};

use super::{backfill, send, SOL, TRACK};
use crate::relayer::support::TestDb;

/// An `indexer_events` row: signature, instruction, event, slot, transaction index, kind.
pub(crate) type EventRow = (String, i32, i32, i64, i64, String);

/// Every `indexer_events` row, in chain order.
pub(crate) async fn events(pool: &sqlx::PgPool) -> Vec<EventRow> {
    sqlx::query_as(
        "SELECT signature, ix_index, event_index, slot, tx_index, kind FROM indexer_events
         ORDER BY slot, tx_index, ix_index, event_index",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localnet_yellowstone_stream_replays_and_streams_the_rows_the_rpc_backfill_finds() {
    let admin = Keypair::new();
    let net = Localnet::start(LocalnetConfig {
        slot_time: Duration::from_millis(50),
        airdrop: vec![admin.pubkey()],
        airdrop_lamports: 10 * SOL,
        grpc_port: Some(0),
        ..LocalnetConfig::default()
    })
    .expect("localnet starts");
    let rpc =
        RpcClient::new_with_commitment(net.rpc_url().to_owned(), CommitmentConfig::confirmed());
    // Before anyone subscribes: found again by the replay from the first block.
    let init = ix::initialize(
        &admin.pubkey(),
        &admin.pubkey(),
        &Pubkey::new_unique(),
        None,
    );
    send(&rpc, &admin, &[init], &[]).await.expect("initialize");
    send(
        &rpc,
        &admin,
        &[ix::create_track(
            &admin.pubkey(),
            TRACK,
            20,
            0,
            veil_harness::builder::FRESHNESS_SLOTS,
        )],
        &[],
    )
    .await
    .expect("create_track");

    let streamed = TestDb::new().await;
    let store = PgStore::new(streamed.pool.clone(), "localnet-grpc");
    let cancel = CancellationToken::new();
    let grpc = GrpcConfig::new(net.grpc_url().expect("a gRPC endpoint"));
    // The chain's first block: the stream starts right before it (an earlier start would be a
    // gap of slots that never had blocks).
    let first = rpc.get_first_available_block().await.expect("first block");
    let from_genesis = Cursor {
        slot: first.saturating_sub(1),
        index_in_slot: u32::MAX,
        signature: None,
    };
    let pipeline = tokio::spawn({
        let cancel = cancel.clone();
        async move {
            let mut source = GrpcSource::spawn(grpc, Some(from_genesis));
            run(
                &mut source,
                &store,
                &Counters::default(),
                &cancel,
                RunConfig::default(),
            )
            .await
        }
    });
    // While the stream is live: three roots, a refused one in between (no row).
    for i in 1..=3u64 {
        let publish = ix::publish_root(&admin.pubkey(), TRACK, scalar(900 + i), i, 0);
        send(&rpc, &admin, &[publish], &[])
            .await
            .expect("publish_root");
        let stale = ix::publish_root(&admin.pubkey(), TRACK, scalar(950 + i), 0, 0);
        send(&rpc, &admin, &[stale], &[])
            .await
            .expect_err("a decreasing leaf count is refused");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while events(&streamed.pool).await.len() < 5 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            events(&streamed.pool).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cancel.cancel();
    pipeline
        .await
        .unwrap()
        .expect("the gRPC pipeline ends cleanly");

    let backfilled = TestDb::new().await;
    backfill(&rpc, &backfilled.pool).await;
    let want = events(&backfilled.pool).await;
    let kinds: Vec<&str> = want.iter().map(|r| r.5.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "RegistryInitialized",
            "TrackCreated",
            "MerkleRootUpdated",
            "MerkleRootUpdated",
            "MerkleRootUpdated"
        ]
    );
    assert_eq!(events(&streamed.pool).await, want);
}
