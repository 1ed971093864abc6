//! The pipeline end to end: rows equal the emitted events, replays and restarts change
//! nothing, dead slots are rolled back, undecodable data is counted and dead-lettered.

use std::{collections::BTreeMap, time::Duration};

use anchor_lang::event::EVENT_IX_TAG_LE;
use rand::{rngs::StdRng, Rng, SeedableRng};
use tokio_util::sync::CancellationToken;
use veil_indexer::{
    decode, run, Batch, ChannelSource, Counters, Cursor, InnerIx, Persist, PgStore, RunConfig,
    SlotStatus, TxUpdate, Update,
};
use veil_poseidon::to_be_bytes;
use veil_zk::signal_hash;

use super::support::{
    after, all, assert_rows, expected, kinds, rows, run_to_end, slots, snapshot, table_counts,
    to_updates, Recorder, NAMESPACE, TRACK,
};
use crate::{relayer::support::TestDb, zk::ZkTrack};

const NAME: &str = "test";

fn small_batches() -> RunConfig {
    RunConfig {
        max_batch_txs: 7,
        ..RunConfig::default()
    }
}

fn counter(c: &std::sync::atomic::AtomicU64) -> u64 {
    Counters::get(c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_rows_equal_the_emitted_events_in_every_table() {
    let mut rec = Recorder::new();
    rec.registry(20, 5).challenges(3);
    let mut txs = rec.updates();
    // Two verifications with real proofs, on a chain of their own, in the slots that follow.
    let z = tokio::task::spawn_blocking(|| {
        let mut z = ZkTrack::new(2, 0);
        let relayer = z.t.wallet();
        let mut executed = Vec::new();
        for member in 0..2 {
            let args = z.prove(
                member,
                [0; 32],
                signal_hash(b"indexer", &[member as u8; 32]),
            );
            executed.push(
                z.t.verify_ownership_as(&relayer, args)
                    .expect("a valid proof verifies"),
            );
        }
        (executed, z.track_id, to_be_bytes(&z.tree.root()))
    })
    .await
    .expect("prove");
    let (verified, zk_track, zk_root) = z;
    let next_slot = txs.last().expect("recorded").slot + 1;
    txs.extend(to_updates(&verified, next_slot));

    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);
    let counters = run_to_end(&store, all(&txs), small_batches()).await;

    let want = expected(&txs);
    assert_rows(&rows(&db.pool).await, &want);
    assert_eq!(counter(&counters.events), want.len() as u64);
    assert_eq!(counter(&counters.transactions), txs.len() as u64);
    assert_eq!(counter(&counters.undecodable), 0);
    let per_kind = kinds(&want);
    assert_eq!(per_kind["MerkleRootUpdated"], 20);
    assert_eq!(per_kind["OwnershipVerified"], 2);
    assert_eq!(per_kind["ChallengeCreated"], 3);

    // Typed tables: one row per event of their kind, with the event's fields.
    let counts = table_counts(&db.pool).await;
    assert_eq!(counts["indexer_events"], want.len() as i64);
    assert_eq!(counts["indexer_tracks"], 1);
    assert_eq!(counts["indexer_merkle_roots"], 20);
    assert_eq!(counts["indexer_verifications"], 2);
    assert_eq!(counts["indexer_id_batches"], 5);
    assert_eq!(counts["indexer_challenges"], 3);
    assert_eq!(
        counts["indexer_challenge_status"],
        per_kind["StatusChanged"] as i64
    );
    assert_eq!(counts["indexer_bond_releases"], 3);

    let roots: Vec<(Vec<u8>, Vec<u8>, i64, i64)> = sqlx::query_as(
        "SELECT track_id, root, leaf_count, root_index FROM indexer_merkle_roots \
         WHERE track_id = $1 ORDER BY root_index",
    )
    .bind(TRACK.as_slice())
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let want_roots: Vec<_> = (0..20u64)
        .map(|i| {
            (
                TRACK.to_vec(),
                veil_harness::scalar(10_000 + i).to_vec(),
                i as i64 + 1,
                i as i64,
            )
        })
        .collect();
    assert_eq!(roots, want_roots);

    let verifications: Vec<(Vec<u8>, Vec<u8>, Option<i64>)> = sqlx::query_as(
        "SELECT track_id, scope, block_time FROM indexer_verifications ORDER BY slot",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(verifications.len(), 2);
    assert!(verifications
        .iter()
        .all(|(t, s, bt)| t == &zk_track && s == &[0u8; 32] && bt.is_some()));
    // The zk chain published this root, the verifications were checked against it.
    let root: Vec<u8> = sqlx::query_scalar("SELECT DISTINCT root FROM indexer_verifications")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(root, zk_root);
    // No column of any verification holds a wallet: the table has none.
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_name = 'indexer_verifications' ORDER BY ordinal_position",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        columns,
        [
            "signature",
            "ix_index",
            "event_index",
            "slot",
            "tx_index",
            "block_time",
            "track_id",
            "scope",
            "nullifier",
            "root",
            "signal_hash"
        ]
    );

    let batches: Vec<(Vec<u8>, i64, i64)> = sqlx::query_as(
        "SELECT namespace, first_seq, id_count FROM indexer_id_batches ORDER BY first_seq",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let want_batches: Vec<_> = (0..5i64)
        .map(|i| (NAMESPACE.to_vec(), i * 100, 100))
        .collect();
    assert_eq!(batches, want_batches);

    // Each challenge's history runs from creation to completion; the view shows the last.
    let current: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM indexer_challenge_current GROUP BY status")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(current, [("Completed".to_owned(), 3)]);
    let first: Vec<(Option<String>, String)> = sqlx::query_as(
        "SELECT DISTINCT ON (challenge) from_status, to_status FROM indexer_challenge_status \
         ORDER BY challenge, slot, tx_index, ix_index, event_index",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        first
            .iter()
            .all(|(from, to)| from.is_none() && to == "AwaitingCounterparty"),
        "{first:?}"
    );
    let modes: Vec<String> = sqlx::query_scalar("SELECT mode FROM indexer_challenges")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(modes, ["Fire", "Fire", "Fire"]);
    // Payouts conserve the two bonds; the loser was slashed.
    let releases: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT to_creator::int8, to_counterparty::int8, to_treasury::int8, slashed::int8 \
         FROM indexer_bond_releases",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for (a, b, c, slashed) in releases {
        assert_eq!(a + b + c, 2 * veil_harness::challenge::BOND as i64);
        assert!(slashed > 0);
    }

    // The JSON payload names the fields as the program does.
    let text: String = sqlx::query_scalar(
        "SELECT payload::text FROM indexer_events \
         WHERE kind = 'MerkleRootUpdated' ORDER BY slot LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let payload: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(payload["track_id"], hex::encode(TRACK));
    assert_eq!(payload["root_index"], 0);
    assert_eq!(payload["leaf_count"], 1);

    // The cursor stands on the last transaction.
    let last = txs.last().unwrap();
    assert_eq!(
        store.cursor().await.unwrap(),
        Some(Cursor {
            slot: last.slot,
            index_in_slot: last.index_in_slot,
            signature: Some(last.signature.clone()),
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_duplicate_deliveries_change_nothing() {
    let mut rec = Recorder::new();
    rec.registry(10, 3).challenges(2);
    let txs = rec.updates();
    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);

    run_to_end(&store, all(&txs), small_batches()).await;
    let once = rows(&db.pool).await;
    let counts = table_counts(&db.pool).await;
    let cursor = store.cursor().await.unwrap();
    assert_eq!(once, expected(&txs));

    // Every transaction twice in a row, then the whole stream again, in one batch and in many.
    let doubled: Vec<Update> = txs
        .iter()
        .flat_map(|t| [Update::Tx(t.clone()), Update::Tx(t.clone())])
        .collect();
    run_to_end(&store, doubled, small_batches()).await;
    run_to_end(
        &store,
        all(&txs),
        RunConfig {
            max_batch_txs: 10_000,
            writers: 1,
        },
    )
    .await;
    run_to_end(
        &store,
        all(&txs),
        RunConfig {
            max_batch_txs: 1,
            writers: 3,
        },
    )
    .await;

    assert_rows(&rows(&db.pool).await, &once);
    assert_eq!(table_counts(&db.pool).await, counts);
    assert_eq!(store.cursor().await.unwrap(), cursor);
}

/// A batch of `txs`, decoded, with the position of its last transaction.
fn batch_of(txs: &[TxUpdate]) -> Batch {
    let counters = Counters::default();
    let last = txs.last().expect("a transaction");
    Batch {
        events: txs.iter().flat_map(|t| decode(t, &counters)).collect(),
        cursor: Some(Cursor {
            slot: last.slot,
            index_in_slot: last.index_in_slot,
            signature: Some(last.signature.clone()),
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_chained_write_moves_the_cursor_only_past_a_committed_predecessor() {
    let mut rec = Recorder::new();
    rec.registry(12, 2).challenges(1);
    let txs = rec.updates();
    let (a, b, c) = (&txs[..6], &txs[6..12], &txs[12..]);
    let (a, b, c) = (batch_of(a), batch_of(b), batch_of(c));
    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);

    // B commits first: its rows land, the cursor does not move past A's uncommitted rows.
    assert!(!store.write_after(&b, a.cursor.as_ref()).await.unwrap());
    assert_eq!(store.cursor().await.unwrap(), None);
    assert_rows(&rows(&db.pool).await, &expected(&txs[6..12]));
    // A commits (unchained: forward from nothing); B again now moves it.
    assert!(store.write_after(&a, None).await.unwrap());
    assert_eq!(store.cursor().await.unwrap(), a.cursor);
    assert!(store.write_after(&b, a.cursor.as_ref()).await.unwrap());
    assert_eq!(store.cursor().await.unwrap(), b.cursor);
    // A write the cursor is already past is covered, and moves nothing back.
    assert!(store.write_after(&a, None).await.unwrap());
    assert_eq!(store.cursor().await.unwrap(), b.cursor);

    // C while B's cursor move is still uncommitted in another transaction: C waits for that
    // commit, then re-checks and moves.
    store.rollback_slot(txs[6].slot).await.unwrap();
    let rewound = store.cursor().await.unwrap().expect("rewound cursor");
    assert!(rewound.is_before(txs[6].slot, 0));
    let b_at = b.cursor.clone().unwrap();
    let mut open = db.pool.begin().await.unwrap();
    sqlx::query(
        "UPDATE indexer_cursor SET slot = $1, index_in_slot = $2, signature = $3 WHERE name = $4",
    )
    .bind(b_at.slot as i64)
    .bind(i64::from(b_at.index_in_slot))
    .bind(b_at.signature.as_deref())
    .bind(NAME)
    .execute(&mut *open)
    .await
    .unwrap();
    let writer = {
        let (store, c, after) = (store.clone(), c.clone(), b_at.clone());
        tokio::spawn(async move { store.write_after(&c, Some(&after)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !writer.is_finished(),
        "C must wait for the predecessor's commit"
    );
    open.commit().await.unwrap();
    assert!(writer.await.unwrap().unwrap());
    assert_eq!(store.cursor().await.unwrap(), c.cursor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_restart_at_random_points_loses_and_duplicates_nothing() {
    let mut rec = Recorder::new();
    rec.registry(700, 100).challenges(20);
    let txs = rec.updates();
    let want = expected(&txs);
    assert!(want.len() >= 1_000, "{} events", want.len());
    let last = txs.last().unwrap();
    let end = Cursor {
        slot: last.slot,
        index_in_slot: last.index_in_slot,
        signature: Some(last.signature.clone()),
    };

    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);
    let seed: u64 = rand::random();
    eprintln!("restart seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut mid_stream = 0;
    for _ in 0..20 {
        // Restart from the committed cursor, as a fresh process would.
        let cursor = store.cursor().await.unwrap();
        let rest = after(&txs, cursor.as_ref());
        let (sender, mut source) = ChannelSource::channel(64);
        let feeder = tokio::spawn(async move {
            for update in rest {
                if sender.send(update).await.is_err() {
                    break;
                }
            }
        });
        let config = RunConfig {
            max_batch_txs: rng.gen_range(1..48),
            writers: rng.gen_range(1..=3),
        };
        let pipeline_store = store.clone();
        let pipeline = tokio::spawn(async move {
            let counters = Counters::default();
            run(
                &mut source,
                &pipeline_store,
                &counters,
                &CancellationToken::new(),
                config,
            )
            .await
        });
        // Kill it wherever it is: between batches, mid-transaction, mid-commit.
        tokio::time::sleep(Duration::from_micros(rng.gen_range(0..6_000))).await;
        pipeline.abort();
        feeder.abort();
        let _ = pipeline.await;
        let _ = feeder.await;
        // A commit sent just before the kill may land after it: read one snapshot.
        let (at, got) = snapshot(&db.pool, NAME).await;
        if at.as_ref() != Some(&end) {
            mid_stream += 1;
        }
        // Every event up to the cursor is committed; past it, only batches that were in
        // flight beside it may be, and only as emitted.
        let covered: Vec<TxUpdate> = txs
            .iter()
            .filter(|t| {
                at.as_ref()
                    .is_some_and(|c| !c.is_before(t.slot, t.index_in_slot))
            })
            .cloned()
            .collect();
        let covered = expected(&covered);
        let missing: Vec<_> = covered.keys().filter(|k| !got.contains_key(k)).collect();
        assert!(
            missing.is_empty(),
            "behind the cursor but not committed: {missing:?}"
        );
        for (key, row) in &got {
            assert_eq!(
                want.get(key),
                Some(row),
                "a committed row that was not emitted"
            );
        }
    }
    assert!(
        mid_stream >= 10,
        "only {mid_stream} kills landed mid-stream"
    );

    let cursor = store.cursor().await.unwrap();
    run_to_end(&store, after(&txs, cursor.as_ref()), RunConfig::default()).await;
    assert_rows(&rows(&db.pool).await, &want);
    assert_eq!(store.cursor().await.unwrap(), Some(end));
}

/// A recorded history, one of its slots to declare dead, and the transactions outside it.
fn history_with_a_dead_slot() -> (Vec<TxUpdate>, u64, Vec<TxUpdate>) {
    let mut rec = Recorder::new();
    rec.registry(12, 3).challenges(2);
    let txs = rec.updates();
    let dead = *slots(&txs).iter().nth(4).unwrap();
    let alive = txs.iter().filter(|t| t.slot != dead).cloned().collect();
    (txs, dead, alive)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_dead_slot_removes_its_rows_and_rewinds_the_cursor() {
    let (txs, dead, alive) = history_with_a_dead_slot();
    assert!(expected(&alive).len() < expected(&txs).len());

    // 1. Dead in the stream, after the slot that follows it: its rows are gone, the rest stay.
    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);
    let mut updates = Vec::new();
    for t in &txs {
        updates.push(Update::Tx(t.clone()));
        if t.slot == dead + 1 && t.index_in_slot == 0 {
            updates.push(Update::Slot(SlotStatus::Dead(dead)));
        }
    }
    let counters = run_to_end(&store, updates, small_batches()).await;
    assert_eq!(counter(&counters.dead_slots), 1);
    assert_rows(&rows(&db.pool).await, &expected(&alive));
    let counts = table_counts(&db.pool).await;
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM indexer_events WHERE slot = $1) \
              + (SELECT count(*) FROM indexer_merkle_roots WHERE slot = $1)",
    )
    .bind(dead as i64)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(left, 0);
    assert_eq!(counts["indexer_events"], expected(&alive).len() as i64);

    // 2. Dead after the cursor passed it: removed, and the cursor goes back before the slot,
    //    so that a source resuming from it delivers the slot again.
    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);
    run_to_end(&store, all(&txs), small_batches()).await;
    assert_rows(&rows(&db.pool).await, &expected(&txs));
    let removed = store.rollback_slot(dead).await.unwrap();
    assert_eq!(
        removed as usize,
        expected(&txs).len() - expected(&alive).len()
    );
    assert_rows(&rows(&db.pool).await, &expected(&alive));
    let rewound = store.cursor().await.unwrap().unwrap();
    assert_eq!(rewound, Cursor::end_of_slot(dead - 1));
    run_to_end(&store, after(&txs, Some(&rewound)), small_batches()).await;
    assert_rows(&rows(&db.pool).await, &expected(&txs));

    // 3. A dead slot beyond the cursor leaves the cursor alone.
    let before = store.cursor().await.unwrap();
    store.rollback_slot(dead + 10_000).await.unwrap();
    assert_eq!(store.cursor().await.unwrap(), before);
    assert_rows(&rows(&db.pool).await, &expected(&txs));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_undecodable_data_is_dead_lettered_and_does_not_stop_the_pipeline() {
    let mut rec = Recorder::new();
    rec.registry(6, 2).challenges(1);
    let mut txs = rec.updates();
    let template = txs[1].clone(); // a publish_root: one event in instruction 0.
    let last_slot = txs.last().unwrap().slot;

    // An event CPI of the registry with a body that does not decode, ahead of a real event in
    // the same instruction; and a challenge event CPI with an unknown discriminator.
    let mut garbled = template.clone();
    garbled.slot = last_slot + 1;
    garbled.index_in_slot = 0;
    garbled.signature = "1111111111111111111111111111111111111111111111111111111111111111".into();
    let mut bad = EVENT_IX_TAG_LE.to_vec();
    bad.extend_from_slice(&[0xff; 5]);
    garbled.inner[0].insert(
        0,
        InnerIx {
            program_id: veil_client::registry::PROGRAM_ID,
            data: bad,
        },
    );
    let mut unknown = EVENT_IX_TAG_LE.to_vec();
    unknown.extend_from_slice(&[0xee; 40]);
    garbled.inner[0].push(InnerIx {
        program_id: veil_client::challenge::PROGRAM_ID,
        data: unknown,
    });
    // A failed transaction carrying a real event's bytes: skipped.
    let mut failed = template.clone();
    failed.slot = last_slot + 1;
    failed.index_in_slot = 1;
    failed.signature = "2222222222222222222222222222222222222222222222222222222222222222".into();
    failed.failed = true;
    // Data of our programs without the event tag, and of another program with it: not events.
    let mut other = template.clone();
    other.slot = last_slot + 2;
    other.index_in_slot = 0;
    other.signature = "3333333333333333333333333333333333333333333333333333333333333333".into();
    other.inner = vec![vec![
        InnerIx {
            program_id: veil_client::registry::PROGRAM_ID,
            data: vec![1, 2, 3],
        },
        InnerIx {
            program_id: anchor_lang::solana_program::system_program::ID,
            data: template.inner[0][0].data.clone(),
        },
    ]];
    // Garbage first, the real stream after it.
    let mut stream = vec![garbled.clone(), failed.clone(), other.clone()];
    stream.append(&mut txs);

    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);
    let counters = run_to_end(&store, all(&stream), small_batches()).await;

    assert_eq!(counter(&counters.undecodable), 2);
    assert_eq!(counter(&counters.failed_skipped), 1);
    let got = rows(&db.pool).await;
    assert_eq!(got, expected(&stream));
    // The real event behind the garbled one keeps its place: event index 1, not 0.
    let garbled_rows: BTreeMap<_, _> = got
        .iter()
        .filter(|((sig, _, _), _)| sig == &garbled.signature)
        .collect();
    assert_eq!(garbled_rows.len(), 1);
    let ((_, ix, ev), (_, kind)) = garbled_rows.into_iter().next().unwrap();
    assert_eq!((*ix, *ev, kind.as_str()), (0, 1, "MerkleRootUpdated"));
    assert!(!got.keys().any(|(sig, _, _)| sig == &failed.signature));
    assert!(!got.keys().any(|(sig, _, _)| sig == &other.signature));

    // Both undecodable events are kept whole in the dead-letter table, with their keys, their
    // bytes after the event tag and the reason (audit finding 8).
    let dead: Vec<(String, i32, i32, String, Vec<u8>, String)> = sqlx::query_as(
        "SELECT signature, ix_index, event_index, program, raw, reason FROM indexer_dead_letters \
         ORDER BY event_index",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert_eq!(
        (
            &dead[0].0,
            dead[0].1,
            dead[0].2,
            dead[0].3.as_str(),
            &dead[0].4
        ),
        (&garbled.signature, 0, 0, "registry", &vec![0xff; 5])
    );
    assert!(dead[0].5.starts_with("undecodable:"), "{}", dead[0].5);
    assert_eq!(
        (
            &dead[1].0,
            dead[1].1,
            dead[1].2,
            dead[1].3.as_str(),
            &dead[1].4
        ),
        (&garbled.signature, 0, 2, "challenge", &vec![0xee; 40])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_cancellation_stops_a_waiting_pipeline_after_writing_its_batch() {
    let mut rec = Recorder::new();
    rec.registry(4, 1);
    let txs = rec.updates();
    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);
    let (sender, mut source) = ChannelSource::channel(16);
    for t in &txs {
        sender.send(Update::Tx(t.clone())).await.unwrap();
    }
    let cancel = CancellationToken::new();
    let pipeline = {
        let (store, cancel) = (store.clone(), cancel.clone());
        tokio::spawn(async move {
            let counters = Counters::default();
            run(
                &mut source,
                &store,
                &counters,
                &cancel,
                RunConfig::default(),
            )
            .await
        })
    };
    // The source stays open; the pipeline writes what it has and waits.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while rows(&db.pool).await != expected(&txs) {
        assert!(tokio::time::Instant::now() < deadline, "rows never landed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), pipeline)
        .await
        .expect("stops on cancel")
        .expect("joins")
        .expect("no error");
    drop(sender);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_pool_timeouts_are_retried_not_fatal() {
    // Audit finding 9: every database error was fatal, a pool timeout included.
    let mut rec = Recorder::new();
    rec.registry(8, 2).challenges(1);
    let txs = rec.updates();
    let db = TestDb::new().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_millis(200))
        .connect(&db.url)
        .await
        .unwrap();
    // Every connection of the store's pool is taken for a second.
    let held = (pool.acquire().await.unwrap(), pool.acquire().await.unwrap());
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        drop(held);
    });
    let store = PgStore::new(pool, NAME);
    let counters = run_to_end(&store, all(&txs), small_batches()).await;
    release.await.unwrap();
    assert!(
        Counters::get(&store.retries()) > 0,
        "the writes never waited for a connection"
    );
    assert_rows(&rows(&db.pool).await, &expected(&txs));
    assert_eq!(counter(&counters.events), expected(&txs).len() as u64);
}

/// A source over a fixed chain history that can replay: after a rewind it delivers again every
/// transaction after the cursor, except those of slots it has reported dead (the surviving fork
/// no longer has them), and never reports a dead slot twice.
struct Replaying {
    updates: Vec<Update>,
    next: usize,
    dead: std::collections::HashSet<u64>,
    rewinds: Vec<Cursor>,
}

impl veil_indexer::Source for Replaying {
    async fn next(&mut self) -> Result<Option<Update>, veil_indexer::SourceError> {
        while let Some(update) = self.updates.get(self.next).cloned() {
            self.next += 1;
            match &update {
                Update::Tx(tx) if self.dead.contains(&tx.slot) => continue,
                Update::Slot(SlotStatus::Dead(slot)) if !self.dead.insert(*slot) => continue,
                _ => return Ok(Some(update)),
            }
        }
        Ok(None)
    }

    async fn rewind(&mut self, from: &Cursor) {
        self.rewinds.push(from.clone());
        self.next = self
            .updates
            .iter()
            .position(|u| matches!(u, Update::Tx(t) if from.is_before(t.slot, t.index_in_slot)))
            .unwrap_or(self.updates.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_dead_slot_rewinds_the_source_and_finality_is_recorded() {
    // Audit finding 12: after a rollback the cursor moved on without reading again, and
    // nothing recorded which rows are final.
    let (txs, dead, alive) = history_with_a_dead_slot();
    let last = txs.last().unwrap().clone();
    // The dead slot is reported two slots after it; a finalized slot comes at the end.
    let mut updates = Vec::new();
    for t in &txs {
        updates.push(Update::Tx(t.clone()));
        if t.slot == dead + 2 && t.index_in_slot == 0 {
            updates.push(Update::Slot(SlotStatus::Dead(dead)));
        }
    }
    updates.push(Update::Slot(SlotStatus::Finalized(dead + 1)));
    updates.push(Update::Slot(SlotStatus::Finalized(dead - 1)));

    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), NAME);
    let mut source = Replaying {
        updates,
        next: 0,
        dead: Default::default(),
        rewinds: Vec::new(),
    };
    let counters = Counters::default();
    run(
        &mut source,
        &store,
        &counters,
        &CancellationToken::new(),
        small_batches(),
    )
    .await
    .expect("pipeline runs");
    // Read again from the rewound cursor, exactly once.
    assert_eq!(source.rewinds, vec![Cursor::end_of_slot(dead - 1)]);
    assert_eq!(counter(&counters.dead_slots), 1);
    assert_rows(&rows(&db.pool).await, &expected(&alive));
    let cursor = store.cursor().await.unwrap().unwrap();
    assert_eq!(
        (cursor.slot, cursor.index_in_slot),
        (last.slot, last.index_in_slot)
    );
    // The finality watermark only moves forward.
    let finalized: i64 =
        sqlx::query_scalar("SELECT finalized_slot FROM indexer_finality WHERE name = $1")
            .bind(NAME)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(finalized as u64, dead + 1);
}

/// Every chain event type an endpoint may subscribe to (the relayer's catalogue).
const CHAIN_TYPES: &str = "{challenge.created,challenge.draft,challenge.awaiting_counterparty,\
    challenge.accepted,challenge.intent_locked,challenge.disputed,challenge.completed,\
    challenge.cancelled,challenge.expired,challenge.slashed,challenge.refunded,ownership.verified}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_chain_events_reach_the_outbox_once_and_a_dead_slot_undoes_them() {
    let mut rec = Recorder::new();
    rec.registry(2, 1).challenges(2);
    let txs = rec.updates();

    // Without a subscriber nothing is recorded.
    let quiet = TestDb::new().await;
    run_to_end(
        &PgStore::new(quiet.pool.clone(), NAME),
        all(&txs),
        small_batches(),
    )
    .await;
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox_events")
        .fetch_one(&quiet.pool)
        .await
        .unwrap();
    assert_eq!(none, 0);

    let db = TestDb::new().await;
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, api_key_id, url, event_types)
         VALUES (gen_random_uuid(), 'k', 'https://example.com/hook', $1::text[])",
    )
    .bind(CHAIN_TYPES)
    .execute(&db.pool)
    .await
    .unwrap();
    let store = PgStore::new(db.pool.clone(), NAME);
    run_to_end(&store, all(&txs), small_batches()).await;

    // One event per status change, creation and bond release, with its transaction and slot.
    let pairs = |sql: &'static str| {
        let pool = db.pool.clone();
        async move {
            let mut v: Vec<(String, String, i64)> =
                sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            v.sort();
            v
        }
    };
    let events =
        pairs("SELECT type, signature, slot FROM outbox_events WHERE type LIKE 'challenge.%'")
            .await;
    let rows = pairs(
        "SELECT 'challenge.created', signature, slot FROM indexer_challenges
         UNION ALL
         SELECT 'challenge.' || CASE to_status
                  WHEN 'AwaitingCounterparty' THEN 'awaiting_counterparty'
                  WHEN 'IntentLocked' THEN 'intent_locked' ELSE lower(to_status) END,
                signature, slot FROM indexer_challenge_status
         UNION ALL
         SELECT CASE WHEN slashed > 0 THEN 'challenge.slashed' ELSE 'challenge.refunded' END,
                signature, slot FROM indexer_bond_releases",
    )
    .await;
    assert!(rows.len() >= 6, "{rows:?}");
    assert_eq!(events, rows);
    assert!(events.iter().any(|(t, _, _)| t == "challenge.slashed"));
    // Subjects and addresses are base58, as the API shows them.
    let (subject, data, challenge): (String, String, Vec<u8>) = sqlx::query_as(
        "SELECT o.subject, o.data::text, c.challenge FROM outbox_events o
         JOIN indexer_challenges c ON c.signature = o.signature
         WHERE o.type = 'challenge.created' LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let address = anchor_lang::prelude::Pubkey::try_from(challenge.as_slice())
        .unwrap()
        .to_string();
    assert_eq!(subject, address);
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(data["challenge"], address);

    // Replaying the stream records nothing twice.
    let before = events.len();
    let again = PgStore::new(db.pool.clone(), "replay");
    run_to_end(&again, all(&txs), small_batches()).await;
    let after_replay =
        pairs("SELECT type, signature, slot FROM outbox_events WHERE type LIKE 'challenge.%'")
            .await;
    assert_eq!(after_replay.len(), before);

    // A dead slot undoes each of its events, same subject, same transaction.
    let dead: i64 = sqlx::query_scalar("SELECT min(slot) FROM indexer_challenge_status")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let mut in_dead: Vec<(String, String, i64)> = events
        .iter()
        .filter(|(_, _, slot)| *slot == dead)
        .map(|(t, s, slot)| (format!("{t}.undone"), s.clone(), *slot))
        .collect();
    in_dead.sort();
    assert!(!in_dead.is_empty());
    store.rollback_slot(dead as u64).await.unwrap();
    let undone =
        pairs("SELECT type, signature, slot FROM outbox_events WHERE type LIKE '%.undone'").await;
    assert_eq!(undone, in_dead);
}
