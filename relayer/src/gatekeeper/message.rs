//! The sign-in messages a wallet signs, one text format with two headers:
//!
//! - **Sign-In With Solana**, as wallet-standard's `solana:signIn` (Phantom's SIWS) builds it
//!   from a `SolanaSignInInput`;
//! - **Sign In With Ethereum**, EIP-4361.
//!
//! ```text
//! {domain} wants you to sign in with your {Solana|Ethereum} account:
//! {address}
//!
//! {statement}
//!
//! URI: {uri}
//! Version: 1
//! Chain ID: {chain id}
//! Nonce: {nonce}
//! Issued At: {RFC 3339}
//! Expiration Time: {RFC 3339}
//! ```
//!
//! Solana chain ids are wallet-standard's (`mainnet`, `devnet`, `testnet`, `localnet`: the
//! reference of the CAIP-2 id `solana:<name>`); EVM chain ids are EIP-155 numbers (`eip155:<n>`).
//! [`SignIn::to_text`] writes the text the relayer issues; [`SignIn::parse`] reads one back so
//! that a mismatch can be named field by field before the bytes are compared.

/// Which family a sign-in belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Ed25519 over the message bytes.
    Solana,
    /// EIP-191 `personal_sign`.
    Evm,
}

impl Family {
    fn account_word(self) -> &'static str {
        match self {
            Family::Solana => "Solana",
            Family::Evm => "Ethereum",
        }
    }

    /// `solana` or `eip155`.
    pub fn namespace(self) -> &'static str {
        match self {
            Family::Solana => "solana",
            Family::Evm => "eip155",
        }
    }
}

/// A CAIP-2 chain id, `solana:<name>` or `eip155:<number>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainId {
    /// The family.
    pub family: Family,
    /// The reference: a Solana cluster name, or the EIP-155 number in decimal.
    pub reference: String,
}

impl ChainId {
    /// Parses `solana:mainnet` or `eip155:31337`.
    pub fn parse(text: &str) -> Option<Self> {
        let (namespace, reference) = text.split_once(':')?;
        let family = match namespace {
            "solana" => Family::Solana,
            "eip155" => Family::Evm,
            _ => return None,
        };
        let valid = match family {
            Family::Solana => {
                !reference.is_empty()
                    && reference.len() <= 32
                    && reference
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }
            Family::Evm => {
                reference.parse::<u64>().is_ok_and(|n| n > 0) && !reference.starts_with('0')
            }
        };
        valid.then(|| Self {
            family,
            reference: reference.to_owned(),
        })
    }
}

impl std::fmt::Display for ChainId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.family.namespace(), self.reference)
    }
}

/// One sign-in message's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// Solana or EVM.
    pub family: Family,
    /// The relying party's domain (`RELAYER_GATEKEEPER_DOMAIN`).
    pub domain: String,
    /// The wallet: base58 for Solana, EIP-55 for EVM.
    pub address: String,
    /// What the wallet agrees to.
    pub statement: Option<String>,
    /// The relying party's URI.
    pub uri: String,
    /// Always `1`.
    pub version: String,
    /// The chain id's reference (`localnet`, `31337`).
    pub chain_id: String,
    /// The single-use nonce.
    pub nonce: String,
    /// RFC 3339.
    pub issued_at: String,
    /// RFC 3339.
    pub expiration_time: Option<String>,
}

/// Why a text is not a sign-in message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a sign-in message: {0}")]
pub struct Malformed(pub &'static str);

impl SignIn {
    /// The exact text to sign.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{} wants you to sign in with your {} account:\n{}",
            self.domain,
            self.family.account_word(),
            self.address
        );
        if let Some(statement) = &self.statement {
            text.push_str("\n\n");
            text.push_str(statement);
        }
        let mut fields = vec![
            format!("URI: {}", self.uri),
            format!("Version: {}", self.version),
            format!("Chain ID: {}", self.chain_id),
            format!("Nonce: {}", self.nonce),
            format!("Issued At: {}", self.issued_at),
        ];
        if let Some(expiration) = &self.expiration_time {
            fields.push(format!("Expiration Time: {expiration}"));
        }
        text.push_str("\n\n");
        text.push_str(&fields.join("\n"));
        text
    }

    /// Reads a message back. Unknown field names, a missing required field, or a header that
    /// is neither family's are refused.
    pub fn parse(text: &str) -> Result<Self, Malformed> {
        let (header, rest) = text.split_once('\n').ok_or(Malformed("no header line"))?;
        let (domain, family) = [Family::Solana, Family::Evm]
            .into_iter()
            .find_map(|family| {
                let suffix = format!(
                    " wants you to sign in with your {} account:",
                    family.account_word()
                );
                header
                    .strip_suffix(suffix.as_str())
                    .map(|d| (d.to_owned(), family))
            })
            .ok_or(Malformed("the header is not a Solana or Ethereum sign-in"))?;
        if domain.is_empty() || domain.contains(char::is_whitespace) {
            return Err(Malformed("the domain is empty or has spaces"));
        }
        let (address, rest) = rest
            .split_once("\n\n")
            .ok_or(Malformed("no blank line after the address"))?;
        // What follows is `statement\n\nfields` or just `fields`.
        let (statement, fields) = match rest.rsplit_once("\n\n") {
            Some((statement, fields)) => (Some(statement.to_owned()), fields),
            None => (None, rest),
        };
        let mut out = SignIn {
            family,
            domain,
            address: address.to_owned(),
            statement,
            uri: String::new(),
            version: String::new(),
            chain_id: String::new(),
            nonce: String::new(),
            issued_at: String::new(),
            expiration_time: None,
        };
        for line in fields.split('\n') {
            let (name, value) = line
                .split_once(": ")
                .ok_or(Malformed("a field line is not `Name: value`"))?;
            let slot = match name {
                "URI" => &mut out.uri,
                "Version" => &mut out.version,
                "Chain ID" => &mut out.chain_id,
                "Nonce" => &mut out.nonce,
                "Issued At" => &mut out.issued_at,
                "Expiration Time" => {
                    out.expiration_time = Some(value.to_owned());
                    continue;
                }
                _ => return Err(Malformed("an unknown field")),
            };
            if !slot.is_empty() {
                return Err(Malformed("a field appears twice"));
            }
            value.clone_into(slot);
        }
        if out.uri.is_empty()
            || out.version.is_empty()
            || out.chain_id.is_empty()
            || out.nonce.is_empty()
            || out.issued_at.is_empty()
        {
            return Err(Malformed(
                "URI, Version, Chain ID, Nonce and Issued At are required",
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(family: Family) -> SignIn {
        SignIn {
            family,
            domain: "veil.example".into(),
            address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".into(),
            statement: Some("Sign in to Chitty Veil.".into()),
            uri: "https://veil.example".into(),
            version: "1".into(),
            chain_id: "1".into(),
            nonce: "4f1c2a9e0b7d4c3e8a6f5b2d1e0c9a8b".into(),
            issued_at: "2026-12-04T10:00:00Z".into(),
            expiration_time: Some("2026-12-04T10:05:00Z".into()),
        }
    }

    #[test]
    fn eip4361_text_has_the_spec_layout_and_parses_back() {
        let message = sample(Family::Evm);
        let text = message.to_text();
        assert_eq!(
            text,
            "veil.example wants you to sign in with your Ethereum account:\n\
             0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n\n\
             Sign in to Chitty Veil.\n\n\
             URI: https://veil.example\nVersion: 1\nChain ID: 1\n\
             Nonce: 4f1c2a9e0b7d4c3e8a6f5b2d1e0c9a8b\nIssued At: 2026-12-04T10:00:00Z\n\
             Expiration Time: 2026-12-04T10:05:00Z"
        );
        assert_eq!(SignIn::parse(&text).unwrap(), message);
        let solana = SignIn {
            family: Family::Solana,
            ..sample(Family::Solana)
        };
        assert!(solana
            .to_text()
            .starts_with("veil.example wants you to sign in with your Solana account:\n"));
        assert_eq!(SignIn::parse(&solana.to_text()).unwrap(), solana);
        let bare = SignIn {
            statement: None,
            expiration_time: None,
            ..sample(Family::Solana)
        };
        assert_eq!(SignIn::parse(&bare.to_text()).unwrap(), bare);
    }

    #[test]
    fn broken_texts_are_refused() {
        let text = sample(Family::Evm).to_text();
        for bad in [
            String::new(),
            text.replace("Ethereum", "Bitcoin"),
            text.replace("Nonce: ", "Nonce "),
            text.replace("URI", "Url"),
            text.replace("Chain ID: 1\n", ""),
            format!("{text}\nNonce: again"),
        ] {
            assert!(SignIn::parse(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            ChainId::parse("eip155:31337").unwrap().to_string(),
            "eip155:31337"
        );
        assert_eq!(
            ChainId::parse("solana:localnet").unwrap().family,
            Family::Solana
        );
        for bad in [
            "eip155:0",
            "eip155:01",
            "eip155:x",
            "cosmos:hub",
            "solana:",
            "solana",
        ] {
            assert!(ChainId::parse(bad).is_none(), "{bad}");
        }
    }
}
