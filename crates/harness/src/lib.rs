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

veil_svm_bridge::native_program!(RegistryProgram, registry::entry);
veil_svm_bridge::native_program!(ChallengeProgram, ::challenge::entry);
