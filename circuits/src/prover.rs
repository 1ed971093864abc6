//! The prover: proving key loaded once, constraint matrices computed once, no global state.
//!
//! Each proof synthesizes the circuit in witness-only mode (no linear combinations, no
//! matrices), computes the QAP witness from matrices computed once, and assembles the proof
//! exactly as ark-groth16 does, but with fixed-base MSMs over window tables precomputed from
//! the proving key ([`FixedBaseMsm`]). [`Prover::prove`]
//! parallelizes one proof over every core (latency); [`Prover::prove_batch`] runs one
//! single-threaded prover per core (throughput). Both block: call them from a blocking pool,
//! never from an async runtime thread.

use std::{num::NonZeroUsize, thread};

use ark_bn254::{Bn254, Fr, G1Projective, G2Projective};
use ark_ec::CurveGroup;
use ark_ff::PrimeField;
use ark_groth16::{
    prepare_verifying_key,
    r1cs_to_qap::{LibsnarkReduction, R1CSToQAP},
    Groth16, PreparedVerifyingKey, Proof, ProvingKey,
};
use ark_poly::GeneralEvaluationDomain;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, Matrix, OptimizationGoal, SynthesisError,
    SynthesisMode, R1CS_PREDICATE_LABEL,
};
use ark_std::UniformRand;
use veil_zk::{ProofBytes, PublicInputs};

use crate::{
    convert,
    msm::FixedBaseMsm,
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
    /// The proving key could not be read.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    /// The proving key does not belong to the verifying key compiled into the program: every
    /// proof it made would be rejected on-chain.
    #[error(
        "the proving key does not match the verifying key compiled into the program (veil_zk::vk)"
    )]
    KeyMismatch,
}

/// A Groth16 prover for the ownership circuit of one depth.
pub struct Prover {
    pk: ProvingKey<Bn254>,
    pvk: PreparedVerifyingKey<Bn254>,
    depth: usize,
    matrices: Vec<Matrix<Fr>>,
    num_inputs: usize,
    num_constraints: usize,
    /// Window tables of `a_query[1..]`, `b_g1_query[1..]`, `b_g2_query[1..]`, `l_query`, `h_query`.
    a: FixedBaseMsm<G1Projective>,
    b_g1: FixedBaseMsm<G1Projective>,
    b_g2: FixedBaseMsm<G2Projective>,
    l: FixedBaseMsm<G1Projective>,
    h: FixedBaseMsm<G1Projective>,
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
            a: FixedBaseMsm::new(&pk.a_query[1..]),
            b_g1: FixedBaseMsm::new(&pk.b_g1_query[1..]),
            b_g2: FixedBaseMsm::new(&pk.b_g2_query[1..]),
            l: FixedBaseMsm::new(&pk.l_query),
            h: FixedBaseMsm::new(&pk.h_query),
            pk,
            pvk,
            depth,
            matrices,
            num_inputs,
            num_constraints,
        })
    }

    /// Loads the proving key at `path` and checks it against the verifying key the registry
    /// program compiles in (`veil_zk::vk`), so a relayer cannot start with a key whose proofs
    /// the chain would reject.
    pub fn load(path: &std::path::Path) -> Result<Self, ProveError> {
        let pk = crate::keys::load_proving_key(path)?;
        if !matches_compiled_vk(&pk.vk) {
            return Err(ProveError::KeyMismatch);
        }
        Self::new(pk, usize::from(veil_zk::vk::TREE_DEPTH))
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
        let proof = self.assemble(r, s, &full_assignment)?;
        // A cheap pairing check (a few ms against 100+ ms of proving) so that a corrupt key or a
        // synthesis bug can never hand out a proof the chain would reject.
        if !Groth16::<Bn254>::verify_proof(&self.pvk, &proof, &public_fields)? {
            return Err(ProveError::SelfCheckFailed);
        }
        Ok((convert::proof_bytes(&proof), public))
    }

    /// Groth16 proof assembly, as ark-groth16's `create_proof_with_assignment`, with the
    /// multi-scalar multiplications over the precomputed tables.
    fn assemble(&self, r: Fr, s: Fr, full_assignment: &[Fr]) -> Result<Proof<Bn254>, ProveError> {
        let pk = &self.pk;
        let h = LibsnarkReduction::witness_map_from_matrices::<Fr, GeneralEvaluationDomain<Fr>>(
            &self.matrices,
            self.num_inputs,
            self.num_constraints,
            full_assignment,
        )?;
        let h: Vec<_> = h.iter().map(|v| v.into_bigint()).collect();
        // The assignment without the constant 1: public inputs, then witnesses.
        let assignment: Vec<_> = full_assignment[1..]
            .iter()
            .map(|v| v.into_bigint())
            .collect();
        let aux = &assignment[self.num_inputs - 1..];

        // A = α + a₀ + Σ aᵢ·Aᵢ + r·δ
        let g_a = pk.delta_g1 * r + pk.a_query[0] + self.a.msm(&assignment) + pk.vk.alpha_g1;
        // B = β + b₀ + Σ aᵢ·Bᵢ + s·δ, in G1 and in G2
        let g1_b = pk.delta_g1 * s + pk.b_g1_query[0] + self.b_g1.msm(&assignment) + pk.beta_g1;
        let g2_b =
            pk.vk.delta_g2 * s + pk.b_g2_query[0] + self.b_g2.msm(&assignment) + pk.vk.beta_g2;
        // C = s·A + r·B₁ − r·s·δ + Σ wᵢ·Lᵢ + Σ hᵢ·Hᵢ
        let g_c = g_a * s + g1_b * r - pk.delta_g1 * (r * s) + self.l.msm(aux) + self.h.msm(&h);
        Ok(Proof {
            a: g_a.into_affine(),
            b: g2_b.into_affine(),
            c: g_c.into_affine(),
        })
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

/// Whether `vk` is the verifying key compiled into the program, byte for byte.
pub fn matches_compiled_vk(vk: &ark_groth16::VerifyingKey<Bn254>) -> bool {
    let compiled = &veil_zk::vk::VERIFYING_KEY;
    convert::g1_bytes(&vk.alpha_g1) == compiled.vk_alpha_g1
        && convert::g2_bytes(&vk.beta_g2) == compiled.vk_beta_g2
        && convert::g2_bytes(&vk.gamma_g2) == compiled.vk_gamma_g2
        && convert::g2_bytes(&vk.delta_g2) == compiled.vk_delta_g2
        && vk.gamma_abc_g1.len() == compiled.vk_ic.len()
        && vk
            .gamma_abc_g1
            .iter()
            .zip(compiled.vk_ic)
            .all(|(p, bytes)| convert::g1_bytes(p) == *bytes)
}
