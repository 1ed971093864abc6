//! Deterministic development keys, and proving-key files.
//!
//! `generate(depth, seed)` runs Groth16 setup with a ChaCha20 RNG seeded by `seed`, so anyone
//! can regenerate the committed verifying key. **Such keys are not secure**: whoever knows the
//! seed knows the toxic waste and can forge proofs. Production keys come from a multi-party
//! ceremony (`docs/ceremony.md`).

use std::{fs, io, path::Path};

use ark_bn254::Bn254;
use ark_groth16::{Groth16, ProvingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, SerializationError};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

use crate::ownership::{OwnershipCircuit, OwnershipWitness};

/// The development seed behind the committed verifying key.
pub const DEV_SEED: [u8; 32] = *b"chitty-veil/dev-keys/INSECURE/v1";

/// Why keys could not be produced or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Groth16 setup failed.
    #[error("setup failed: {0}")]
    Setup(#[from] ark_relations::gr1cs::SynthesisError),
    /// The key file could not be read or written.
    #[error("key file: {0}")]
    Io(#[from] io::Error),
    /// The key file is not a proving key.
    #[error("key file is not a valid proving key: {0}")]
    Format(#[from] SerializationError),
}

/// Groth16 keys for the ownership circuit of `depth`, deterministic in `seed`.
pub fn generate(depth: usize, seed: [u8; 32]) -> Result<ProvingKey<Bn254>, KeyError> {
    let mut rng = ChaCha20Rng::from_seed(seed);
    let circuit = OwnershipCircuit::new(OwnershipWitness::blank(depth));
    Ok(Groth16::<Bn254>::generate_random_parameters_with_reduction(
        circuit, &mut rng,
    )?)
}

/// Writes `pk` uncompressed (fast to load), creating parent directories.
pub fn save_proving_key(path: &Path, pk: &ProvingKey<Bn254>) -> Result<(), KeyError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut bytes = Vec::with_capacity(pk.uncompressed_size());
    pk.serialize_uncompressed(&mut bytes)?;
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, &bytes)?;
    fs::rename(tmp, path)?;
    Ok(())
}

/// Reads a proving key written by [`save_proving_key`], checking every point.
pub fn load_proving_key(path: &Path) -> Result<ProvingKey<Bn254>, KeyError> {
    let bytes = fs::read(path)?;
    Ok(ProvingKey::deserialize_uncompressed(bytes.as_slice())?)
}
