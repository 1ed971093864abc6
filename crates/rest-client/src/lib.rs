//! A client of the Chitty Veil relayer's REST API (`docs/clients.md`).
//!
//! - **Two ways in.** An API key signs every request (`X-Timestamp`, `X-Nonce`, `X-Signature`,
//!   [`veil_signing`]); a person's wallet signs in once and the client carries the session
//!   token, refreshing it before it lapses ([`Client::sign_in`]).
//! - **Retries only where they are safe.** Reads, and mints under an `Idempotency-Key` (the
//!   client makes one per [`Client::mint`] and keeps it across retries, so a retried mint yields
//!   one ID). Each retry is signed afresh (a nonce works once). Delays double with jitter
//!   ([`veil_retry`]); `429` waits its `Retry-After`.
//! - **A breaker with a health probe** ([`breaker`]): after consecutive failures the client
//!   stops calling, and the next call after the pause first asks `GET /health`.
//! - **A verify cache:** [`Client::verify`] answers a repeated ID from memory for a while.
//! - **Fail-over:** with a fallback minter configured, a mint the relayer cannot take (down,
//!   breaker open, 5xx) goes to the fallback and comes back provisional.
//!
//! ```no_run
//! # async fn demo() -> Result<(), veil_rest_client::ClientError> {
//! use veil_rest_client::{Client, MintRequest};
//! let client = Client::builder("http://127.0.0.1:8080")
//!     .api_key("cvk_…", "…64 hex…")
//!     .build()?;
//! let minted = client.mint(&MintRequest::content_hash("CHI", "I", "2cf2…")).await?;
//! let verified = client.verify(&minted.id).await?;
//! # Ok(()) }
//! ```

pub mod breaker;
mod client;
mod error;
mod types;

pub use client::{Client, ClientBuilder, Response};
pub use error::ClientError;
/// The HTTP method of [`Client::call`].
pub use reqwest::Method;
pub use types::{ChallengeQuery, MintRequest, Minted, Session};
