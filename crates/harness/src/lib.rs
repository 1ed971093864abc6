//! The in-process chain: litesvm with our host-compiled programs registered as builtins through
//! [`veil_svm_bridge`], the bundled SPL Token / Associated Token programs, funded wallets, and
//! typed assertions on failures.
//!
//! ```ignore
//! let mut t = TestBuilder::new().build();
//! t.create_track(TRACK, 20, 0).unwrap();
//! let r = t.publish_root(&t.registrar.insecure_clone(), TRACK, root, 1);
//! ```

pub mod assert;
pub mod builder;
pub mod chain;
pub mod challenge;
pub mod token;

pub use builder::{RegistryFixture, TestBuilder};
pub use chain::{Executed, Failed, InvokedInstruction, TestChain, TxResult};
pub use challenge::{Balances, ChallengeFixture};
pub use solana_keypair::Keypair;
pub use solana_signer::Signer;

/// A canonical BN254 scalar (big-endian) whose low 8 bytes are `n`: roots, track ids and
/// batch roots for tests, demos and benches.
pub fn scalar(n: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[24..].copy_from_slice(&n.to_be_bytes());
    out
}

veil_svm_bridge::native_program!(RegistryProgram, registry::entry);
veil_svm_bridge::native_program!(ChallengeProgram, ::challenge::entry);
