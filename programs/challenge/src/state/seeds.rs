//! PDA seed prefixes, shared with the client crate.

/// `[CONFIG_SEED]`: the singleton [`crate::state::Config`].
pub const CONFIG_SEED: &[u8] = b"config";

/// `[CHALLENGE_SEED, creator, nonce (u64 LE)]`: one [`crate::state::Challenge`].
pub const CHALLENGE_SEED: &[u8] = b"challenge";

/// `[VAULT_SEED, challenge]`: the bond vault, an SPL token account owned by the challenge PDA.
pub const VAULT_SEED: &[u8] = b"vault";
