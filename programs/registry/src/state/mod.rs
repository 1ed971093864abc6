//! Accounts owned by the registry, each with the invariant it keeps.

pub mod config;
pub mod id_batch;
pub mod nullifier;
pub mod seeds;
pub mod track;

pub use config::*;
pub use id_batch::*;
pub use nullifier::*;
pub use seeds::*;
pub use track::*;
