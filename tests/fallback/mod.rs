//! The fallback minter (SPEC §5.5): issuance, status, export, durability, auth and every error
//! path, through `veil_fallback::app` (and once over a real port).

mod auth;
mod docs;
mod durability;
mod e2e;
mod records;
mod request;
mod status;
pub mod support;
