//! The ChittyID domain: minting (drand + VRF + group commit, with fallback), verification,
//! batches and their anchoring, reconciliation.

pub mod anchor;
pub mod batch;
pub mod drand;
pub mod drand_relay;
mod error;
pub mod evidence;
pub mod fallback_client;
pub mod handlers;
pub mod idempotency;
pub mod legacy;
pub mod mint;
pub mod reconcile;
pub mod store;
pub mod verify;

pub use anchor::ANCHORED_EVENT;
pub use mint::writer::MINTED_EVENT;
