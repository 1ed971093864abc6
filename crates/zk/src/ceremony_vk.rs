//! The production ceremony's verifying key, read at build time from the module file that
//! `VEIL_CEREMONY_VK` names (see `build.rs` and docs/ceremony.md). Without one, this module
//! is a compile error: only the `dev-keys` feature compiles in the development key.

include!(concat!(env!("OUT_DIR"), "/ceremony_vk.rs"));
