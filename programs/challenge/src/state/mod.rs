//! Accounts owned by the challenge program, each with the invariant it keeps.

pub mod challenge;
pub mod config;
pub mod payout;
pub mod seeds;

pub use challenge::*;
pub use config::*;
pub use payout::*;
pub use seeds::*;
