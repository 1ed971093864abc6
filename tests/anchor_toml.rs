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
