//! What a key may do.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// What a key may do. [`Scope::Admin`] implies every other scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Mint ChittyIDs (`chittyid:mint`).
    #[serde(rename = "chittyid:mint")]
    ChittyIdMint,
    /// Verify ChittyIDs (`chittyid:verify`).
    #[serde(rename = "chittyid:verify")]
    ChittyIdVerify,
    /// Register identities, prove and verify ownership (`registry`).
    #[serde(rename = "registry")]
    Registry,
    /// Run challenges and forward wallet-signed transactions (`challenges`).
    #[serde(rename = "challenges")]
    Challenges,
    /// Attest a challenge's party as the gatekeeper (`gatekeeper`): a failed check cancels the
    /// challenge, so only the gatekeeper's role may ask for one (a party's own session may ask
    /// for its own party, on its own sign-in).
    #[serde(rename = "gatekeeper")]
    Gatekeeper,
    /// Manage the key's own webhook endpoints and deliveries (`webhooks`).
    #[serde(rename = "webhooks")]
    Webhooks,
    /// Administer the relayer (`admin`); implies all scopes.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 7] = [
        Scope::ChittyIdMint,
        Scope::ChittyIdVerify,
        Scope::Registry,
        Scope::Challenges,
        Scope::Gatekeeper,
        Scope::Webhooks,
        Scope::Admin,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChittyIdMint => "chittyid:mint",
            Self::ChittyIdVerify => "chittyid:verify",
            Self::Registry => "registry",
            Self::Challenges => "challenges",
            Self::Gatekeeper => "gatekeeper",
            Self::Webhooks => "webhooks",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope name that is not one of [`Scope::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope `{0}` (known: chittyid:mint, chittyid:verify, registry, challenges, gatekeeper, webhooks, admin)")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}
