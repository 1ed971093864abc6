//! `Anchor.toml` stays valid for a user with the real toolchain: its program ids are the ids
//! compiled into the programs and the committed localnet keypairs, its members exist and build
//! as `cdylib`, and `anchor test` runs our Rust suite.

use std::{fs, path::Path};

use anchor_lang::prelude::Pubkey;
use solana_keypair::{Keypair, Signer};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
}

fn anchor_toml() -> toml::Table {
    let text = fs::read_to_string(root().join("Anchor.toml")).expect("Anchor.toml exists");
    text.parse().expect("Anchor.toml is valid TOML")
}

/// The programs this workspace deploys, with the ids compiled into them.
const PROGRAMS: &[(&str, Pubkey)] = &[("registry", registry::ID), ("challenge", challenge::ID)];

#[test]
fn program_ids_match_declare_id_and_the_committed_keypairs() {
    let config = anchor_toml();
    let localnet = config["programs"]["localnet"]
        .as_table()
        .expect("[programs.localnet]");
    assert_eq!(
        localnet.len(),
        PROGRAMS.len(),
        "every program is listed once"
    );
    for (name, id) in PROGRAMS {
        assert_eq!(
            localnet[*name].as_str(),
            Some(id.to_string().as_str()),
            "{name}"
        );
        let path = root().join(format!("keys/localnet/{name}-keypair.json"));
        let bytes: Vec<u8> =
            serde_json_like_bytes(&fs::read_to_string(&path).expect("keypair file exists"));
        let keypair = Keypair::try_from(bytes.as_slice()).expect("a valid ed25519 keypair");
        assert_eq!(keypair.pubkey(), *id, "{name} keypair matches declare_id!");
    }
}

#[test]
fn workspace_members_are_cdylib_programs_and_anchor_test_runs_our_suite() {
    let config = anchor_toml();
    let members = config["workspace"]["members"]
        .as_array()
        .expect("[workspace] members");
    assert_eq!(members.len(), PROGRAMS.len());
    for member in members {
        let dir = root().join(member.as_str().expect("a path"));
        let manifest: toml::Table = fs::read_to_string(dir.join("Cargo.toml"))
            .expect("member has a Cargo.toml")
            .parse()
            .expect("valid manifest");
        let crate_types = manifest["lib"]["crate-type"]
            .as_array()
            .expect("crate-type");
        assert!(crate_types.iter().any(|t| t.as_str() == Some("cdylib")));
        assert!(manifest["features"].get("no-entrypoint").is_some());
        assert!(manifest["features"].get("idl-build").is_some());
    }
    let test = config["scripts"]["test"].as_str().expect("[scripts] test");
    assert!(
        test.starts_with("cargo test"),
        "anchor test runs the Rust suite: {test}"
    );
    assert!(config["provider"].get("cluster").is_some());
    assert!(config["provider"].get("wallet").is_some());
}

/// Parses the `[1,2,3,...]` JSON array of a Solana CLI keypair file.
fn serde_json_like_bytes(text: &str) -> Vec<u8> {
    text.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|n| n.trim().parse().expect("a byte"))
        .collect()
}

/// The `[discriminator, name]` pairs of the IDL's `section` (`events`, `accounts`).
fn idl_entries(program: &str, section: &str) -> Vec<(String, Vec<u8>)> {
    let text = fs::read_to_string(root().join("idl").join(format!("{program}.json")))
        .expect("idl/<program>.json exists (scripts/idl.sh write)");
    let idl: serde_json::Value = serde_json::from_str(&text).expect("the IDL is JSON");
    idl[section]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|entry| {
            let name = entry["name"].as_str().expect("a name").to_owned();
            let disc = entry["discriminator"]
                .as_array()
                .expect("a discriminator")
                .iter()
                .map(|b| u8::try_from(b.as_u64().expect("a byte")).expect("a byte"))
                .collect();
            (name, disc)
        })
        .collect()
}

/// The checked-in IDL (`idl/`, built by Anchor's IDL builder; `.ci/run` fails when it is
/// stale) names the compiled program ids, and its events are exactly the programs' event
/// types with their compiled discriminators, which is what a TypeScript client decodes by.
#[test]
fn the_idl_carries_the_compiled_ids_and_every_event_discriminator() {
    use anchor_lang::Discriminator;
    for (name, id) in PROGRAMS {
        let text = fs::read_to_string(root().join("idl").join(format!("{name}.json"))).unwrap();
        let idl: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(idl["address"], id.to_string(), "{name}");
        assert_eq!(idl["metadata"]["name"], *name);
    }
    macro_rules! events {
        ($($t:ty),+ $(,)?) => {{
            let mut v: Vec<(String, Vec<u8>)> = vec![$((
                stringify!($t).rsplit("::").next().unwrap().trim().to_owned(),
                <$t>::DISCRIMINATOR.to_vec(),
            )),+];
            v.sort();
            v
        }};
    }
    let mut registry = idl_entries("registry", "events");
    registry.sort();
    assert_eq!(
        registry,
        events!(
            registry::events::RegistryInitialized,
            registry::events::AdminProposed,
            registry::events::AdminAccepted,
            registry::events::RegistrarSet,
            registry::events::PauseSet,
            registry::events::TrackCreated,
            registry::events::MerkleRootUpdated,
            registry::events::IdBatchAnchored,
            registry::events::OwnershipVerified,
        )
    );
    let mut challenge = idl_entries("challenge", "events");
    challenge.sort();
    assert_eq!(
        challenge,
        events!(
            challenge::events::StatusChanged,
            challenge::events::ChallengeCreated,
            challenge::events::CounterpartySet,
            challenge::events::VerificationAttested,
            challenge::events::BondDeposited,
            challenge::events::OutcomeConfirmed,
            challenge::events::AttestationCreated,
            challenge::events::BondsReleased,
            challenge::events::SurplusSwept,
            challenge::events::ChallengeAdminProposed,
            challenge::events::ChallengeAdminAccepted,
        )
    );
    // The accounts a client decodes: the challenge and its config.
    let accounts = idl_entries("challenge", "accounts");
    let challenge_account = accounts.iter().find(|(n, _)| n == "Challenge").unwrap();
    assert_eq!(
        challenge_account.1,
        <challenge::state::Challenge as Discriminator>::DISCRIMINATOR.to_vec()
    );
}
