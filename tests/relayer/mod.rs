//! The relayer over real PostgreSQL and Redis: auth, drand, minting, verification,
//! reconciliation and fallback.

mod auth;
mod chittyid;
mod ops;
mod reconcile;
mod drand;
pub mod support;
