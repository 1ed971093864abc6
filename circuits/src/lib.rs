//! Chitty Veil circuits: the ownership circuit in arkworks 0.6 R1CS, deterministic development
//! keys, conversion to groth16-solana's format, and the prover library.
//!
//! The public-input order lives in [`veil_zk::PublicInputs`]; the in-circuit Poseidon uses
//! [`veil_poseidon::params`], i.e. light-poseidon's circom parameters.

pub mod convert;
pub mod gadget;
pub mod identity;
pub mod keys;
pub mod msm;
pub mod ownership;
pub mod prover;

pub use ownership::{OwnershipCircuit, OwnershipWitness, WitnessError, DEFAULT_DEPTH};
pub use prover::{ProveError, Prover};

#[cfg(test)]
mod tests;
