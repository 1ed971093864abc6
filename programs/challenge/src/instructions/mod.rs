//! One file per instruction: its args, accounts, `validate()` and handler.

pub mod admin_accept;
pub mod admin_propose;
pub mod bond_deposit;
pub mod challenge_accept;
pub mod challenge_cancel;
pub mod challenge_create;
pub mod challenge_expire;
pub mod challenge_settle;
pub mod config_initialize;
pub mod config_update;
pub mod dispute_resolve;
pub mod escrow;
pub mod intent_lock;
pub mod outcome_confirm;
pub mod verification_attest;

pub use admin_accept::*;
pub use admin_propose::*;
pub use bond_deposit::*;
pub use challenge_accept::*;
pub use challenge_cancel::*;
pub use challenge_create::*;
pub use challenge_expire::*;
pub use challenge_settle::*;
pub use config_initialize::*;
pub use config_update::*;
pub use dispute_resolve::*;
pub use escrow::*;
pub use intent_lock::*;
pub use outcome_confirm::*;
pub use verification_attest::*;
