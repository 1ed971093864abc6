//! Drives the registry on the in-process chain and prints what happened: each transaction, the
//! events it emitted (decoded from inner instructions) and the typed errors of rejected ones.
//!
//! Run with `cargo run --bin veil-demo`.

use std::time::Instant;

use registry::state::{DEFAULT_TREE_DEPTH, ROOT_HISTORY_SIZE};
use veil_client::decode::RegistryEvent;
use veil_core::namespace;
use veil_harness::{assert::describe, Signer, TestBuilder, TxResult};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn scalar(n: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[24..].copy_from_slice(&n.to_be_bytes());
    out
}

fn show_event(event: &RegistryEvent) -> String {
    match event {
        RegistryEvent::RegistryInitialized(e) => {
            format!(
                "RegistryInitialized admin={} registrar={}",
                e.admin, e.registrar
            )
        }
        RegistryEvent::TrackCreated(e) => format!(
            "TrackCreated track=…{} depth={} epoch_seconds={}",
            hex(&e.track_id[28..]),
            e.depth,
            e.epoch_seconds
        ),
        RegistryEvent::MerkleRootUpdated(e) => format!(
            "MerkleRootUpdated root=…{} leaves={} root_index={} slot={}",
            hex(&e.root[28..]),
            e.leaf_count,
            e.root_index,
            e.slot
        ),
        RegistryEvent::IdBatchAnchored(e) => format!(
            "IdBatchAnchored namespace={} seq={}..{} root=…{} slot={}",
            namespace::as_str(&e.namespace).unwrap_or("?"),
            e.first_seq,
            e.first_seq.saturating_add(u64::from(e.count)),
            hex(&e.batch_root[28..]),
            e.slot
        ),
        other => format!("{other:?}"),
    }
}

/// Prints one step and returns whether it landed.
fn report(step: &str, result: &TxResult) -> bool {
    match result {
        Ok(executed) => {
            println!("  ok   {step}  sig={}…", &executed.signature[..16]);
            match executed.registry_events() {
                Ok(events) => {
                    for event in &events {
                        println!("         event {}", show_event(event));
                    }
                }
                Err(e) => println!("         (undecodable event: {e})"),
            }
            true
        }
        Err(failed) => {
            println!("  FAIL {step}  -> {}", describe(failed));
            false
        }
    }
}

fn main() {
    println!("Chitty Veil registry demo on the in-process chain (litesvm + native bridge)");
    println!("Indented lines are ours; unindented ones are the programs' own msg! output, which");
    println!("a host build prints to stdout instead of the transaction log (docs/harness.md).\n");
    let started = Instant::now();
    let mut t = TestBuilder::new().uninitialized().build();
    println!("registry program  {}", veil_client::registry::PROGRAM_ID);
    println!("admin             {}", t.admin.pubkey());
    println!("registrar         {}\n", t.registrar.pubkey());

    let mut sent = 0u32;
    let mut landed = 0u32;
    let mut step = |name: &str, result: TxResult| {
        sent += 1;
        landed += u32::from(report(name, &result));
    };

    let admin = t.admin.insecure_clone();
    step("initialize", t.initialize(&admin));

    let track = scalar(0x7ac4);
    step(
        "create_track (depth 20, once per track)",
        t.create_track(track, DEFAULT_TREE_DEPTH, 0),
    );

    for (i, leaves) in [(1u64, 3u64), (2, 10), (3, 25)] {
        t.chain.warp_to_slot(100 * i);
        step(
            &format!("publish_root #{i} ({leaves} leaves)"),
            t.publish_root(track, scalar(0xabc0 + i), leaves),
        );
    }

    println!("\nrejections (each must fail with its typed error):");
    step(
        "publish_root with a decreasing leaf count",
        t.publish_root(track, scalar(0xdead), 24),
    );
    step(
        "publish_root repeating the latest root",
        t.publish_root(track, scalar(0xabc3), 25),
    );
    let intruder = t.wallet();
    step(
        "publish_root signed by a stranger",
        t.publish_root_as(&intruder, track, scalar(0xbeef), 30),
    );

    println!("\nChittyID batch anchoring:");
    let registrar = t.registrar.insecure_clone();
    let chi = namespace::encode("CHI").expect("valid namespace");
    step(
        "anchor_id_batch CHI 0..1000",
        t.anchor_id_batch_as(&registrar, chi, scalar(0x1d5), 0, 1_000),
    );
    step(
        "anchor_id_batch CHI 0..1000 again",
        t.anchor_id_batch_as(&registrar, chi, scalar(0x1d6), 0, 1_000),
    );

    println!("\npause:");
    step("pause", t.pause());
    step(
        "publish_root while paused",
        t.publish_root(track, scalar(0xabc4), 26),
    );
    step("unpause", t.unpause_as(&admin));
    step(
        "publish_root after unpause",
        t.publish_root(track, scalar(0xabc4), 26),
    );

    let state = t.track(&track).expect("track exists");
    let batch = t.id_batch(&chi, 0).expect("batch recorded");
    println!("\nfinal state:");
    println!(
        "  track: {} leaves, {} roots published (ring holds the last {ROOT_HISTORY_SIZE}), latest root …{}",
        state.leaf_count,
        state.root_count,
        hex(&state.latest_root().expect("a root").root[28..])
    );
    println!(
        "  id batch CHI/0: {} IDs, root …{}, anchored in slot {}",
        batch.count,
        hex(&batch.batch_root[28..]),
        batch.slot
    );
    println!(
        "\n{sent} transactions sent, {landed} landed, {} rejected with typed errors, in {:.1} ms",
        sent - landed,
        started.elapsed().as_secs_f64() * 1e3
    );
}
