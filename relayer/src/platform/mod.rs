//! The platform layer: what every domain stands on, knowing none of them.

pub mod auth;
pub mod breaker;
pub mod chain;
pub mod clock;
pub mod config;
pub mod error;
pub mod http;
pub mod metrics;
pub mod secrets;
