//! Secrets (VRF key, HMAC master secret, API-key pepper, fee payer) come from a
//! [`SecretProvider`]: the environment, a directory of files, or a 1Password Connect server
//! ([`onepassword`]). A [`Secret`] never prints its
//! value: `Debug` and `Display` show `[redacted]`, and the bytes are zeroed on drop.

pub mod onepassword;

use std::{fmt, path::PathBuf};

use zeroize::Zeroizing;

/// A secret value. Its formatting is redacted; its memory is zeroed on drop.
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The bytes. Callers must not log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Decodes a hex secret of exactly `N` bytes.
    pub fn to_array<const N: usize>(&self, name: &'static str) -> Result<[u8; N], SecretError> {
        let text = std::str::from_utf8(&self.0).map_err(|_| SecretError::Encoding { name })?;
        let bytes = hex::decode(text.trim()).map_err(|_| SecretError::Encoding { name })?;
        bytes
            .try_into()
            .map_err(|_| SecretError::Length { name, expected: N })
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The named secrets the relayer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretName {
    /// 32-byte ECVRF secret key, hex.
    VrfKey,
    /// Master secret from which each API key's HMAC signing secret is derived, hex.
    HmacMaster,
    /// Pepper mixed into stored API-key hashes, hex.
    ApiKeyPepper,
    /// Bearer token of the fallback minter (optional).
    FallbackToken,
    /// 32-byte Ed25519 seed of the relayer's chain key, hex: it pays for and signs the
    /// relayer's transactions, as the registry's registrar (needed with `RELAYER_RPC_URL`).
    ChainKey,
    /// The API key of the email notifier (with `RELAYER_NOTIFY_EMAIL_URL`).
    NotifyEmailKey,
    /// The auth token of the SMS notifier (with `RELAYER_NOTIFY_SMS_URL`).
    NotifySmsToken,
}

impl SecretName {
    /// Every secret the relayer may read.
    pub const ALL: [SecretName; 7] = [
        Self::VrfKey,
        Self::HmacMaster,
        Self::ApiKeyPepper,
        Self::FallbackToken,
        Self::ChainKey,
        Self::NotifyEmailKey,
        Self::NotifySmsToken,
    ];

    /// The file name / environment suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VrfKey => "vrf_key",
            Self::HmacMaster => "hmac_master",
            Self::ApiKeyPepper => "api_key_pepper",
            Self::FallbackToken => "fallback_token",
            Self::ChainKey => "chain_key",
            Self::NotifyEmailKey => "notify_email_key",
            Self::NotifySmsToken => "notify_sms_token",
        }
    }
}

/// Why a secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Not set in the provider.
    #[error("secret `{name}` is not set ({hint})")]
    Missing {
        /// Secret name.
        name: &'static str,
        /// Where it was looked for.
        hint: String,
    },
    /// Not valid hex.
    #[error("secret `{name}` is not valid hex")]
    Encoding {
        /// Secret name.
        name: &'static str,
    },
    /// Wrong length.
    #[error("secret `{name}` must be {expected} bytes")]
    Length {
        /// Secret name.
        name: &'static str,
        /// Expected byte length.
        expected: usize,
    },
    /// The file exists but cannot be read.
    #[error("secret `{name}` cannot be read from {path}: {source}")]
    Io {
        /// Secret name.
        name: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Where secrets come from.
pub trait SecretProvider: Send + Sync {
    /// Reads one secret.
    fn get(&self, name: SecretName) -> Result<Secret, SecretError>;
}

impl<T: SecretProvider + ?Sized> SecretProvider for std::sync::Arc<T> {
    fn get(&self, name: SecretName) -> Result<Secret, SecretError> {
        (**self).get(name)
    }
}

/// Reads `RELAYER_SECRET_<NAME>` (upper case) from the environment.
#[derive(Debug, Default)]
pub struct EnvSecrets;

impl SecretProvider for EnvSecrets {
    fn get(&self, name: SecretName) -> Result<Secret, SecretError> {
        let var = format!("RELAYER_SECRET_{}", name.as_str().to_uppercase());
        std::env::var(&var)
            .map(|v| Secret::new(v.into_bytes()))
            .map_err(|_| SecretError::Missing {
                name: name.as_str(),
                hint: format!("environment variable {var}"),
            })
    }
}

/// Reads `<dir>/<name>` (e.g. a mounted Kubernetes secret or `keys/dev/`).
#[derive(Debug, Clone)]
pub struct FileSecrets {
    /// The directory.
    pub dir: PathBuf,
}

impl SecretProvider for FileSecrets {
    fn get(&self, name: SecretName) -> Result<Secret, SecretError> {
        let path = self.dir.join(name.as_str());
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Secret::new(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SecretError::Missing {
                name: name.as_str(),
                hint: format!("file {}", path.display()),
            }),
            Err(source) => Err(SecretError::Io {
                name: name.as_str(),
                path,
                source,
            }),
        }
    }
}

/// Fixed in-memory secrets (tests, and the demo's embedded defaults).
#[derive(Debug, Clone, Default)]
pub struct StaticSecrets {
    entries: Vec<(&'static str, Secret)>,
}

impl StaticSecrets {
    /// Adds a hex secret.
    pub fn with(mut self, name: SecretName, hex_value: &str) -> Self {
        self.entries
            .push((name.as_str(), Secret::new(hex_value.as_bytes().to_vec())));
        self
    }
}

impl SecretProvider for StaticSecrets {
    fn get(&self, name: SecretName) -> Result<Secret, SecretError> {
        self.entries
            .iter()
            .find(|(n, _)| *n == name.as_str())
            .map(|(_, s)| s.clone())
            .ok_or_else(|| SecretError::Missing {
                name: name.as_str(),
                hint: "static provider".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_provider_reads_and_names_what_is_missing() {
        let dir = std::env::temp_dir().join(format!("veil-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("vrf_key"), format!("{}\n", "ab".repeat(32))).unwrap();
        let provider = FileSecrets { dir: dir.clone() };
        let key = provider.get(SecretName::VrfKey).unwrap();
        assert_eq!(key.to_array::<32>("vrf_key").unwrap(), [0xab; 32]);
        match provider.get(SecretName::HmacMaster) {
            Err(SecretError::Missing { name, hint }) => {
                assert_eq!(name, "hmac_master");
                assert!(hint.contains("hmac_master"));
            }
            other => panic!("expected Missing, got {other:?}"),
        }
        std::fs::write(dir.join("hmac_master"), "abcd").unwrap();
        assert!(matches!(
            provider
                .get(SecretName::HmacMaster)
                .unwrap()
                .to_array::<32>("hmac_master"),
            Err(SecretError::Length { expected: 32, .. })
        ));
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn secrets_never_format_their_value() {
        let secret = Secret::new(b"hunter2".to_vec());
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{secret}"), "[redacted]");
        let provider = StaticSecrets::default().with(SecretName::VrfKey, "hunter2");
        assert!(!format!("{provider:?}").contains("hunter2"));
    }
}
