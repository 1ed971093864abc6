//! Circuit tests: the gadget equals the native hash, honest witnesses satisfy the circuit,
//! every kind of lie does not, keys are reproducible, and proofs verify with the on-chain
//! verifier code.

use std::sync::OnceLock;

use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef};
use light_poseidon::{Poseidon, PoseidonHasher};
use veil_merkle::Tree;
use veil_poseidon::{to_be_bytes, Fr};
use veil_zk::{PublicInputs, VerifyError};

use crate::{
    convert, gadget::Builder, identity, keys, OwnershipCircuit, OwnershipWitness, Prover,
    DEFAULT_DEPTH,
};

fn dev_prover() -> &'static Prover {
    static PROVER: OnceLock<Prover> = OnceLock::new();
    PROVER.get_or_init(|| {
        let pk = keys::generate(DEFAULT_DEPTH, keys::DEV_SEED).expect("keygen");
        Prover::new(pk, DEFAULT_DEPTH).expect("prover")
    })
}

/// A witness for member `index` of a small track of depth `depth`.
fn witness(depth: usize, index: u64) -> OwnershipWitness {
    let track_id = Fr::from(77u64);
    let members: Vec<(Fr, Fr)> = (0..5u64)
        .map(|i| {
            (
                identity::secret_from_signature(&[i as u8; 64]),
                Fr::from(1_000 + i),
            )
        })
        .collect();
    let leaves = members
        .iter()
        .map(|(s, t)| identity::leaf(&identity::commitment(s), t, &track_id))
        .collect();
    let tree = Tree::from_leaves(depth, leaves).unwrap();
    let (secret, token_id) = members[index as usize];
    OwnershipWitness {
        secret,
        token_id,
        track_id,
        scope: Fr::from(0u64),
        signal_hash: Fr::from(4_242u64),
        path: tree.proof(index).unwrap(),
    }
}

fn satisfied(circuit: OwnershipCircuit) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).unwrap();
    cs.finalize();
    cs.is_satisfied().unwrap()
}

fn in_circuit_hash(inputs: &[Fr]) -> (Fr, ConstraintSystemRef<Fr>) {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let b = Builder::new(cs.clone());
    let signals: Vec<_> = inputs.iter().map(|v| b.witness(*v).unwrap()).collect();
    let out = b.poseidon(&signals).unwrap();
    // Expose the output so the constraint system checks it.
    let public = b.input(out.value).unwrap();
    b.enforce_equal(&out, &public).unwrap();
    cs.finalize();
    (out.value, cs)
}

#[test]
fn poseidon_gadget_equals_light_poseidon_for_one_to_five_inputs() {
    for n in 1..=5usize {
        let inputs: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i * 31 + 5)).collect();
        let native = Poseidon::<Fr>::new_circom(n)
            .unwrap()
            .hash(&inputs)
            .unwrap();
        let (value, cs) = in_circuit_hash(&inputs);
        assert_eq!(value, native, "{n} inputs");
        assert!(cs.is_satisfied().unwrap(), "{n} inputs");
    }
}

#[test]
fn poseidon_gadget_equals_circomlib_vectors() {
    let (one, _) = in_circuit_hash(&[Fr::from(1u64)]);
    let (one_two, _) = in_circuit_hash(&[Fr::from(1u64), Fr::from(2u64)]);
    let want_one: Fr =
        "18586133768512220936620570745912940619677854269274689475585506675881198879027"
            .parse()
            .unwrap();
    let want_one_two: Fr =
        "7853200120776062878684798364095072458815029376092732009249414926327459813530"
            .parse()
            .unwrap();
    assert_eq!(one, want_one);
    assert_eq!(one_two, want_one_two);
}

#[test]
fn a_poseidon_gadget_with_a_wrong_output_is_unsatisfied() {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let b = Builder::new(cs.clone());
    let x = b.witness(Fr::from(3u64)).unwrap();
    let out = b.poseidon(&[x]).unwrap();
    let claimed = b.input(out.value + Fr::from(1u64)).unwrap();
    b.enforce_equal(&out, &claimed).unwrap();
    cs.finalize();
    assert!(!cs.is_satisfied().unwrap());
}

#[test]
fn honest_witness_satisfies_the_circuit_at_several_depths() {
    for depth in [4usize, 20] {
        for index in [0u64, 3, 4] {
            assert!(
                satisfied(OwnershipCircuit::new(witness(depth, index))),
                "depth {depth}, index {index}"
            );
        }
    }
}

#[test]
fn the_circuit_has_the_expected_size() {
    let cs = ConstraintSystem::<Fr>::new_ref();
    OwnershipCircuit::new(witness(DEFAULT_DEPTH, 0))
        .generate_constraints(cs.clone())
        .unwrap();
    cs.finalize();
    // 1 + 5 public inputs; Poseidon(1) + Poseidon(3) + 20 × (Poseidon(2) + bit + swap)
    // + Poseidon(3) + 2 equalities + the signal binding.
    assert_eq!(cs.num_instance_variables(), 6);
    assert_eq!(cs.num_constraints(), dev_prover().num_constraints());
    assert!(
        cs.num_constraints() < 6_000,
        "{} constraints",
        cs.num_constraints()
    );
}

/// Each lie: a modified witness or public input checked against the honest public inputs.
#[test]
fn every_kind_of_lie_leaves_the_circuit_unsatisfied() {
    let honest = witness(DEFAULT_DEPTH, 3);
    let public = honest.public_inputs();
    let against_honest = |w: OwnershipWitness| OwnershipCircuit::with_public(w, public).unwrap();
    let with_public = |p: PublicInputs| OwnershipCircuit::with_public(honest.clone(), p).unwrap();
    let other = to_be_bytes(&Fr::from(123_456u64));

    let mut w = honest.clone();
    w.secret += Fr::from(1u64);
    assert!(!satisfied(against_honest(w)), "wrong secret");

    let mut w = honest.clone();
    w.token_id += Fr::from(1u64);
    assert!(!satisfied(against_honest(w)), "wrong token");

    let mut w = honest.clone();
    w.path.index ^= 1;
    assert!(!satisfied(against_honest(w)), "wrong path bit");

    let mut w = honest.clone();
    w.path.siblings[7] += Fr::from(1u64);
    assert!(!satisfied(against_honest(w)), "wrong sibling");

    assert!(
        !satisfied(with_public(PublicInputs {
            root: other,
            ..public
        })),
        "wrong root"
    );
    assert!(
        !satisfied(with_public(PublicInputs {
            nullifier: other,
            ..public
        })),
        "wrong nullifier"
    );
    assert!(
        !satisfied(with_public(PublicInputs {
            track_id: other,
            ..public
        })),
        "wrong track"
    );
    assert!(
        !satisfied(with_public(PublicInputs {
            scope: other,
            ..public
        })),
        "wrong scope"
    );

    assert!(
        satisfied(with_public(public)),
        "the honest statement still holds"
    );
}

#[test]
fn keygen_is_deterministic_and_the_committed_vk_module_is_current() {
    let pk = keys::generate(DEFAULT_DEPTH, keys::DEV_SEED).unwrap();
    assert_eq!(pk.vk, dev_prover().proving_key().vk, "same seed, same key");
    let module = convert::vk_module(&pk.vk, DEFAULT_DEPTH, "development seed keys::DEV_SEED");
    let committed = include_str!("../../crates/zk/src/vk.rs");
    assert!(
        module == committed,
        "crates/zk/src/vk.rs is stale: run `cargo run -p veil-circuits --features dev-keys --bin keygen`"
    );
}

#[test]
fn proofs_verify_with_the_on_chain_verifier_and_tampering_is_rejected() {
    let prover = dev_prover();
    let w = witness(DEFAULT_DEPTH, 2);
    let (proof, public) = prover.prove(&w).unwrap();
    assert_eq!(public, w.public_inputs());
    veil_zk::verify(&proof, &public).expect("groth16-solana accepts the proof");

    for (i, name) in veil_zk::PUBLIC_INPUT_NAMES.iter().enumerate() {
        let mut inputs = public.to_array();
        inputs[i][31] ^= 1;
        assert_eq!(
            veil_zk::verify(&proof, &PublicInputs::from_array(inputs)),
            Err(VerifyError::ProofRejected),
            "tampered {name}"
        );
    }
    let mut bad = proof;
    bad.c[63] ^= 1;
    assert_eq!(
        veil_zk::verify(&bad, &public),
        Err(VerifyError::ProofRejected)
    );
}

#[test]
fn proving_key_file_round_trips() {
    let dir = std::env::temp_dir().join(format!("veil-pk-{}", std::process::id()));
    let path = dir.join("ownership.pk");
    keys::save_proving_key(&path, dev_prover().proving_key()).unwrap();
    let loaded = keys::load_proving_key(&path).unwrap();
    assert_eq!(loaded.vk, dev_prover().proving_key().vk);
    std::fs::write(&path, b"not a key").unwrap();
    assert!(matches!(
        keys::load_proving_key(&path),
        Err(keys::KeyError::Format(_))
    ));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn loading_a_key_checks_it_against_the_compiled_verifying_key() {
    let dir = std::env::temp_dir().join(format!("veil-load-{}", std::process::id()));
    let good = dir.join("good.pk");
    keys::save_proving_key(&good, dev_prover().proving_key()).unwrap();
    let prover = Prover::load(&good).expect("the development key matches vk.rs");
    assert_eq!(prover.depth(), DEFAULT_DEPTH);

    // A key from another setup (another seed) would make proofs the chain rejects.
    let other = keys::generate(DEFAULT_DEPTH, [7; 32]).unwrap();
    let bad = dir.join("other.pk");
    keys::save_proving_key(&bad, &other).unwrap();
    assert!(matches!(
        Prover::load(&bad),
        Err(crate::ProveError::KeyMismatch)
    ));
    assert!(matches!(
        Prover::load(&dir.join("missing.pk")),
        Err(crate::ProveError::Key(keys::KeyError::Io(_)))
    ));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn batch_proving_keeps_order_and_rejects_bad_shapes() {
    let prover = dev_prover();
    let mut witnesses: Vec<_> = (0..3).map(|i| witness(DEFAULT_DEPTH, i)).collect();
    witnesses.push(witness(8, 0));
    let results = prover.prove_batch(&witnesses);
    assert_eq!(results.len(), 4);
    for (w, r) in witnesses.iter().zip(&results).take(3) {
        let (proof, public) = r.as_ref().unwrap();
        assert_eq!(*public, w.public_inputs());
        veil_zk::verify(proof, public).unwrap();
    }
    assert!(matches!(
        results[3],
        Err(crate::ProveError::Witness(
            crate::WitnessError::WrongDepth { got: 8, want: 20 }
        ))
    ));
}
