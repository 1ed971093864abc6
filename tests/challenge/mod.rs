//! Challenge tests: full lifecycles per mode, then one module per instruction for its failure
//! paths, then the token-conservation property test.

mod accept;
mod attest_verification;
mod cancel;
mod config;
mod confirm_outcome;
mod conservation;
mod create_challenge;
mod deposit_bond;
mod expire;
mod lock_intent;
mod modes;
mod resolve;
mod settle;
