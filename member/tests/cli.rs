//! The `veil-member` command itself: `identity` prints the library's commitment for a
//! solana-keygen keypair file, and bad input is a clear message and a failing exit, never a
//! panic.

use std::process::Command;

use solana_keypair::Keypair;
use veil_member::Identity;

fn veil_member(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_veil-member"))
        .args(args)
        .output()
        .expect("veil-member runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn identity_prints_the_commitment_and_bad_keypairs_are_refused() {
    let dir = std::env::temp_dir().join(format!("veil-member-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wallet = Keypair::new();
    let path = dir.join("wallet.json");
    std::fs::write(
        &path,
        serde_json::to_string(&wallet.to_bytes().to_vec()).unwrap(),
    )
    .unwrap();
    let (ok, stdout, stderr) = veil_member(&["identity", "--keypair", path.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let answer: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        answer["commitment"],
        hex::encode(Identity::from_wallet(&wallet).commitment())
    );
    assert_eq!(
        answer["wallet"],
        solana_signer::Signer::pubkey(&wallet).to_string()
    );

    std::fs::write(&path, "[1, 2, 3]").unwrap();
    let (ok, _, stderr) = veil_member(&["identity", "--keypair", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("is not a 64-byte keypair"), "{stderr}");
    let (ok, _, stderr) = veil_member(&["identity", "--keypair", "/nonexistent/wallet.json"]);
    assert!(!ok);
    assert!(stderr.contains("cannot read"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
