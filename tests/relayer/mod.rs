//! The relayer over real PostgreSQL and Redis: auth, drand, minting, verification,
//! reconciliation and fallback.

mod admission;
mod auth;
mod chittyid;
mod drand;
mod edge;
mod flags;
mod gatekeeper;
mod idempotency;
mod keys;
mod legacy;
mod listing;
mod metadata;
mod onepassword;
mod ops;
pub(crate) mod reconcile;
mod sessions;
pub mod support;
mod test_dbs;
