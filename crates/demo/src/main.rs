//! Drives the programs on the in-process chain and prints what happened: each transaction, the
//! events it emitted (decoded from inner instructions) and the typed errors of rejected ones.
//!
//! 1. the registry: a track, roots, a ChittyID batch, pause;
//! 2. a private proof of ownership: members' identities, the tree, a Groth16 proof made with
//!    the development keys and verified on-chain; a replay and a front-run are refused;
//! 3. a Fire challenge: bonds escrowed, outcome confirmed, the loser slashed.
//!
//! Run with `cargo run --bin veil-demo`.

use std::time::Instant;

use challenge::state::{Mode, Outcome, Party};
use registry::state::{DEFAULT_TREE_DEPTH, ROOT_HISTORY_SIZE};
use veil_circuits::{identity, keys, OwnershipWitness, Prover, DEFAULT_DEPTH};
use veil_client::{
    decode::RegistryEvent,
    errors::{RegistryFailure, RegistryInstructionKind},
    registry::verify_ownership_args,
};
use veil_core::namespace;
use veil_harness::{
    assert::{describe, registry_failure},
    scalar, Balances, ChallengeFixture, Signer, TestBuilder, TxResult,
};
use veil_merkle::Tree;
use veil_poseidon::{to_be_bytes, Fr};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
        RegistryEvent::OwnershipVerified(e) => format!(
            "OwnershipVerified track=…{} nullifier=…{} signal=…{} (no wallet in the event)",
            hex(&e.track_id[28..]),
            hex(&e.nullifier[28..]),
            hex(&e.signal_hash[28..])
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

/// How a failed `verify_ownership` reads to a client: a spent nullifier is an idempotent
/// conflict (`RegistryFailure::NullifierAlreadyUsed`), everything else its program error.
fn describe_verify(failed: &veil_harness::Failed) -> String {
    match registry_failure(failed, RegistryInstructionKind::VerifyOwnership) {
        RegistryFailure::NullifierAlreadyUsed => {
            "NullifierAlreadyUsed: this nullifier was already spent (an idempotent conflict)".into()
        }
        _ => describe(failed),
    }
}

/// Prints one step and returns whether it landed.
fn report(step: &str, result: &TxResult) -> bool {
    report_with(step, result, describe)
}

/// Prints one step, describing a failure with `describe`, and returns whether it landed.
fn report_with(
    step: &str,
    result: &TxResult,
    describe: fn(&veil_harness::Failed) -> String,
) -> bool {
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
        "\nprivate proof of token ownership (depth-{DEFAULT_DEPTH} Groth16, development keys):"
    );
    let keygen = Instant::now();
    let pk = keys::generate(DEFAULT_DEPTH, keys::DEV_SEED).expect("development keys");
    let prover = Prover::new(pk, DEFAULT_DEPTH).expect("prover");
    println!(
        "  prover ready in {:.0} ms ({} constraints)",
        keygen.elapsed().as_secs_f64() * 1e3,
        prover.num_constraints()
    );
    let zk_track = veil_zk::track_id_for(&[0x5a; 32]);
    let track_field = veil_poseidon::from_be_bytes(&zk_track).expect("canonical track id");
    // Each member's secret comes from their wallet's signature over the identity message.
    let members: Vec<(Fr, Fr)> = (0..3u8)
        .map(|i| {
            (
                identity::secret_from_signature(&[i + 1; 64]),
                Fr::from(100 + u64::from(i)),
            )
        })
        .collect();
    let leaves = members
        .iter()
        .map(|(s, token)| identity::leaf(&identity::commitment(s), token, &track_field))
        .collect();
    let tree = Tree::from_leaves(DEFAULT_DEPTH, leaves).expect("tree");
    step(
        "create_track (depth 20) for the token's holders",
        t.create_track(zk_track, DEFAULT_DEPTH as u8, 0),
    );
    step(
        "publish_root of 3 registered members",
        t.publish_root(zk_track, to_be_bytes(&tree.root()), tree.len()),
    );
    let recipient = t.wallet();
    let signal = veil_zk::signal_hash(b"claim-access", &recipient.pubkey().to_bytes());
    let (secret, token) = members[1];
    let witness = OwnershipWitness::from_bytes(
        secret,
        token,
        &zk_track,
        &[0; 32],
        &signal,
        tree.proof(1).expect("member path"),
    )
    .expect("canonical inputs");
    let proving = Instant::now();
    let (proof, inputs) = prover.prove(&witness).expect("prove");
    println!(
        "  member #1 proved membership in {:.0} ms without revealing which leaf is theirs",
        proving.elapsed().as_secs_f64() * 1e3
    );
    let relayer = t.wallet();
    let args = verify_ownership_args(&proof, &inputs);
    // A front-runner copies the proof from the mempool and re-targets it at itself first.
    let attacker = t.wallet();
    let mut front_run = args.clone();
    front_run.signal_hash = veil_zk::signal_hash(b"claim-access", &attacker.pubkey().to_bytes());
    let attempts = [
        (
            "verify_ownership front-run for another recipient",
            t.verify_ownership_as(&attacker, front_run),
        ),
        (
            "verify_ownership (proof checked on-chain, nullifier spent)",
            t.verify_ownership_as(&relayer, args.clone()),
        ),
        (
            "verify_ownership replayed",
            t.verify_ownership_as(&relayer, args),
        ),
    ];
    for (name, result) in attempts {
        sent += 1;
        landed += u32::from(report_with(name, &result, describe_verify));
    }

    println!("\nFire challenge (100-token honesty bonds, winner 70% + remainder, treasury 20%):");
    let mut f = ChallengeFixture::new();
    let c = f.created(Mode::Fire);
    let show = |label: &str, b: Balances| {
        println!(
            "  {label:<38} creator {:>6.1}  counterparty {:>6.1}  treasury {:>5.1}  vault {}",
            b.creator as f64 / 1e6,
            b.counterparty as f64 / 1e6,
            b.treasury as f64 / 1e6,
            b.vault
                .map_or("closed".to_string(), |v| format!("{:.1}", v as f64 / 1e6))
        )
    };
    show("created", f.balances(&c));
    let (creator, counterparty) = (f.creator.insecure_clone(), f.counterparty.insecure_clone());
    let steps: [(&str, TxResult); 8] = [
        ("accept", f.accept(&c, &counterparty)),
        (
            "attest creator (gatekeeper)",
            f.attest(&c, Party::Creator, true),
        ),
        (
            "attest counterparty (gatekeeper)",
            f.attest(&c, Party::Counterparty, true),
        ),
        ("deposit creator bond", f.deposit(&c, Party::Creator)),
        (
            "deposit counterparty bond",
            f.deposit(&c, Party::Counterparty),
        ),
        ("lock_intent", f.lock(&c, &creator)),
        (
            "confirm CreatorWins (creator)",
            f.confirm(&c, &creator, Outcome::CreatorWins),
        ),
        (
            "confirm CreatorWins (counterparty)",
            f.confirm(&c, &counterparty, Outcome::CreatorWins),
        ),
    ];
    for (name, result) in steps {
        sent += 1;
        match &result {
            Ok(_) => landed += 1,
            Err(failed) => println!("  FAIL {name} -> {}", describe(failed)),
        }
    }
    show("both bonds escrowed, outcome agreed", f.balances(&c));
    let settled = f.settle(&c);
    sent += 1;
    landed += u32::from(settled.is_ok());
    show("settled (loser slashed)", f.balances(&c));

    println!(
        "\n{sent} transactions sent, {landed} landed, {} rejected with typed errors, in {:.1} s",
        sent - landed,
        started.elapsed().as_secs_f64()
    );
}
