//! The fallback's own Ed25519 signing key. It is read from a file or the environment as 64 hex
//! characters, never logged (`Debug` shows only the public key), and zeroed when dropped.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::Zeroizing;

/// Why a key could not be loaded or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read.
    #[error("reading key file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The key file could not be written (it is never overwritten).
    #[error("writing key file {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Not 64 hex characters. The value is never echoed.
    #[error("a fallback secret key is 64 hex characters (32 bytes)")]
    Encoding,
}

/// The signing key. `Debug` is redacted; the secret is zeroed on drop.
pub struct FallbackKey {
    signing: SigningKey,
}

impl std::fmt::Debug for FallbackKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackKey")
            .field("public_key", &self.public_key_hex())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl FallbackKey {
    /// A fresh key from the operating system's RNG.
    pub fn generate() -> Self {
        Self {
            signing: SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    /// A key from its 32 secret bytes.
    pub fn from_bytes(secret: &[u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(secret),
        }
    }

    /// A key from 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(hex_secret: &str) -> Result<Self, KeyError> {
        let bytes = Zeroizing::new(hex::decode(hex_secret.trim()).map_err(|_| KeyError::Encoding)?);
        let secret: Zeroizing<[u8; 32]> = Zeroizing::new(
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| KeyError::Encoding)?,
        );
        Ok(Self::from_bytes(&secret))
    }

    /// A key from a file holding 64 hex characters.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let text = Zeroizing::new(fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?);
        Self::from_hex(&text)
    }

    /// Writes the secret as hex to a new file (mode 0600 on Unix); refuses to overwrite.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
        let err = |source| KeyError::Write {
            path: path.to_owned(),
            source,
        };
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(err)?;
        let text = Zeroizing::new(format!("{}\n", hex::encode(self.signing.to_bytes())));
        file.write_all(text.as_bytes()).map_err(err)?;
        file.sync_all().map_err(err)
    }

    /// The verifying key the relayer pins.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// Lowercase hex of the verifying key.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.verifying_key().as_bytes())
    }

    /// The signing key, for signing records.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let key = FallbackKey::from_bytes(&[0x5a; 32]);
        let shown = format!("{key:?}");
        assert!(!shown.contains(&"5a".repeat(32)));
        assert!(shown.contains("<redacted>"));
        assert!(shown.contains(&key.public_key_hex()));
    }

    #[test]
    fn hex_round_trips_and_bad_hex_is_refused_without_echo() {
        let key = FallbackKey::from_hex(&format!("  {}\n", "01".repeat(32))).expect("valid");
        assert_eq!(key.signing_key().to_bytes(), [1; 32]);
        for bad in ["", "01", &"zz".repeat(32), &"01".repeat(33)] {
            let err = FallbackKey::from_hex(bad).unwrap_err();
            assert!(matches!(err, KeyError::Encoding));
            assert!(bad.is_empty() || !err.to_string().contains(bad));
        }
    }

    #[test]
    fn write_new_then_read_back_and_never_overwrite() {
        let dir = std::env::temp_dir().join(format!(
            "veil-fallback-key-{}-{}",
            std::process::id(),
            FallbackKey::generate().public_key_hex()
        ));
        fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("fallback.key");
        let key = FallbackKey::generate();
        key.write_new(&path).expect("writes");
        let back = FallbackKey::from_file(&path).expect("reads");
        assert_eq!(back.verifying_key(), key.verifying_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            FallbackKey::generate().write_new(&path),
            Err(KeyError::Write { .. })
        ));
        fs::remove_dir_all(&dir).ok();
    }
}
