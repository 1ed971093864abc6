//! The prover: proving key loaded once, constraint matrices computed once, no global state.
//!
//! Each proof synthesizes the circuit in witness-only mode (no linear combinations, no
//! matrices) and hands the assignment to Groth16 with the precomputed matrices. [`Prover::prove`]
//! parallelizes one proof over every core (latency); [`Prover::prove_batch`] runs one
//! single-threaded prover per core (throughput). Both block: call them from a blocking pool,
//! never from an async runtime thread.

use std::{num::NonZeroUsize, thread};

use ark_bn254::{Bn254, Fr};
use ark_groth16::{prepare_verifying_key, Groth16, PreparedVerifyingKey, ProvingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, Matrix, OptimizationGoal, SynthesisError,
    SynthesisMode, R1CS_PREDICATE_LABEL,
};
use ark_std::UniformRand;
use veil_zk::{ProofBytes, PublicInputs};

use crate::{
    convert,
    ownership::{OwnershipCircuit, OwnershipWitness, WitnessError},
};

/// Why a proof was not produced.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The witness does not fit the circuit.
    #[error(transparent)]
    Witness(#[from] WitnessError),
    /// Synthesis or proving failed.
    #[error("proving failed: {0}")]
    Synthesis(#[from] SynthesisError),
    /// The produced proof did not verify (a bug or corrupt key; never returned silently).
    #[error("the proof failed its self-check")]
    SelfCheckFailed,
}

/// A Groth16 prover for the ownership circuit of one depth.
pub struct Prover {
    pk: ProvingKey<Bn254>,
    pvk: PreparedVerifyingKey<Bn254>,
    depth: usize,
    matrices: Vec<Matrix<Fr>>,
    num_inputs: usize,
    num_constraints: usize,
}

impl Prover {
    /// A prover for `pk`, generated for a tree of `depth`.
    pub fn new(pk: ProvingKey<Bn254>, depth: usize) -> Result<Self, ProveError> {
        let cs = ConstraintSystem::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        OwnershipCircuit::new(OwnershipWitness::blank(depth)).generate_constraints(cs.clone())?;
        cs.finalize();
        let num_inputs = cs.num_instance_variables();
        let num_constraints = cs.num_constraints();
        let matrices = cs
            .to_matrices()?
            .remove(R1CS_PREDICATE_LABEL)
            .ok_or(SynthesisError::PredicateNotFound)?;
        let pvk = prepare_verifying_key(&pk.vk);
        Ok(Self {
            pk,
            pvk,
            depth,
            matrices,
            num_inputs,
            num_constraints,
        })
    }

    /// Tree depth this prover serves.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// R1CS constraints of the circuit.
    pub fn num_constraints(&self) -> usize {
        self.num_constraints
    }

    /// The proving key.
    pub fn proving_key(&self) -> &ProvingKey<Bn254> {
        &self.pk
    }

    /// Proves `witness`, using every core of the current rayon pool.
    pub fn prove(
        &self,
        witness: &OwnershipWitness,
    ) -> Result<(ProofBytes, PublicInputs), ProveError> {
        witness.check_depth(self.depth)?;
        let public = witness.public_inputs();
        let circuit = OwnershipCircuit::new(witness.clone());
        let public_fields = circuit.public;

        let cs = ConstraintSystem::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: false,
            generate_lc_assignments: false,
        });
        circuit.generate_constraints(cs.clone())?;
        let full_assignment = {
            let inner = cs.borrow().ok_or(SynthesisError::MissingCS)?;
            let mut all = inner.instance_assignment()?.to_vec();
            all.extend_from_slice(inner.witness_assignment()?);
            all
        };

        let mut rng = rand::thread_rng();
        let (r, s) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
        let proof = Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
            &self.pk,
            r,
            s,
            &self.matrices,
            self.num_inputs,
            self.num_constraints,
            &full_assignment,
        )?;
        // A cheap pairing check (a few ms against 100+ ms of proving) so that a corrupt key or a
        // synthesis bug can never hand out a proof the chain would reject.
        if !Groth16::<Bn254>::verify_proof(&self.pvk, &proof, &public_fields)? {
            return Err(ProveError::SelfCheckFailed);
        }
        Ok((convert::proof_bytes(&proof), public))
    }

    /// Proves every witness, one single-threaded prover per core; results keep input order.
    pub fn prove_batch(
        &self,
        witnesses: &[OwnershipWitness],
    ) -> Vec<Result<(ProofBytes, PublicInputs), ProveError>> {
        let workers = thread::available_parallelism()
            .map(NonZeroUsize::get)
            .unwrap_or(1)
            .min(witnesses.len().max(1));
        let chunk = witnesses.len().div_ceil(workers).max(1);
        thread::scope(|scope| {
            let handles: Vec<_> = witnesses
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build();
                        match pool {
                            Ok(pool) => {
                                pool.install(|| part.iter().map(|w| self.prove(w)).collect())
                            }
                            // Without a private pool, prove on the shared one.
                            Err(_) => part.iter().map(|w| self.prove(w)).collect::<Vec<_>>(),
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("prover threads do not panic"))
                .collect()
        })
    }
}
