//! Poseidon over the BN254 scalar field with exactly light-poseidon's circom-compatible
//! x^5 parameters (the ones circomlib and `solana-poseidon` use).
//!
//! [`hash`] is an allocation-free re-implementation of light-poseidon's permutation, used on
//! hot paths (building a 2^20-leaf tree, witness generation); tests pin it to light-poseidon
//! itself and to circomlib's published vectors. The in-circuit gadget in `veil-circuits` reads
//! the same [`params`].

use std::sync::OnceLock;

pub use ark_bn254::Fr;
use ark_ff::{BigInteger, Field, PrimeField, Zero};
use light_poseidon::{parameters::bn254_x5, PoseidonParameters};

/// Most inputs [`hash`] accepts (state width 6).
pub const MAX_INPUTS: usize = 5;

/// Round constants and MDS matrix for one state width, in flat fixed-size form.
pub struct Params {
    /// State width `t` (inputs + 1).
    pub width: usize,
    /// Full rounds (half before, half after the partial rounds).
    pub full_rounds: usize,
    /// Partial rounds.
    pub partial_rounds: usize,
    /// Round constants, `width` per round.
    pub ark: Vec<Fr>,
    /// MDS matrix, row-major `width × width`.
    pub mds: Vec<Vec<Fr>>,
}

impl Params {
    fn from_light(p: PoseidonParameters<Fr>) -> Self {
        assert_eq!(p.alpha, 5, "circom parameters use x^5");
        Self {
            width: p.width,
            full_rounds: p.full_rounds,
            partial_rounds: p.partial_rounds,
            ark: p.ark,
            mds: p.mds,
        }
    }

    /// Total rounds.
    pub fn rounds(&self) -> usize {
        self.full_rounds + self.partial_rounds
    }

    /// Whether `round` applies the S-box to every state element.
    pub fn is_full_round(&self, round: usize) -> bool {
        let half = self.full_rounds / 2;
        round < half || round >= half + self.partial_rounds
    }
}

/// The parameters for `inputs` inputs (state width `inputs + 1`), `1..=MAX_INPUTS`.
///
/// # Panics
/// If `inputs` is 0 or above [`MAX_INPUTS`]: a programming error, not an input error.
pub fn params(inputs: usize) -> &'static Params {
    static CACHE: [OnceLock<Params>; MAX_INPUTS] = [const { OnceLock::new() }; MAX_INPUTS];
    assert!(
        (1..=MAX_INPUTS).contains(&inputs),
        "Poseidon arity {inputs} is not supported"
    );
    CACHE[inputs - 1].get_or_init(|| {
        let width = u8::try_from(inputs + 1).expect("width fits u8");
        Params::from_light(
            bn254_x5::get_poseidon_parameters::<Fr>(width).expect("circom parameters exist"),
        )
    })
}

#[inline(always)]
fn sbox(x: &mut Fr) {
    let x2 = x.square();
    let x4 = x2.square();
    *x *= x4;
}

/// Poseidon hash of 1 to 5 field elements (circomlib `Poseidon(n)`).
///
/// # Panics
/// If `inputs` is empty or longer than [`MAX_INPUTS`].
pub fn hash(inputs: &[Fr]) -> Fr {
    let p = params(inputs.len());
    let width = p.width;
    let mut state = [Fr::zero(); MAX_INPUTS + 1];
    state[1..width].copy_from_slice(inputs);
    let mut next = [Fr::zero(); MAX_INPUTS + 1];
    for round in 0..p.rounds() {
        for (s, c) in state[..width].iter_mut().zip(&p.ark[round * width..]) {
            *s += c;
        }
        if p.is_full_round(round) {
            state[..width].iter_mut().for_each(sbox);
        } else {
            sbox(&mut state[0]);
        }
        for (i, out) in next[..width].iter_mut().enumerate() {
            let row = &p.mds[i];
            let mut acc = Fr::zero();
            for (s, m) in state[..width].iter().zip(row) {
                acc += *s * m;
            }
            *out = acc;
        }
        state[..width].copy_from_slice(&next[..width]);
    }
    state[0]
}

/// Poseidon of two elements, the Merkle node hash.
#[inline]
pub fn hash2(left: &Fr, right: &Fr) -> Fr {
    hash(&[*left, *right])
}

/// Big-endian encoding of a field element (the encoding of every public input).
pub fn to_be_bytes(value: &Fr) -> [u8; 32] {
    let bytes = value.into_bigint().to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    out
}

/// Decodes a canonical big-endian field element; `None` at or above the modulus.
pub fn from_be_bytes(bytes: &[u8; 32]) -> Option<Fr> {
    veil_core::field::is_canonical_scalar(bytes).then(|| Fr::from_be_bytes_mod_order(bytes))
}

#[cfg(test)]
mod tests {
    use light_poseidon::{Poseidon, PoseidonHasher};

    use super::*;

    fn light(inputs: &[Fr]) -> Fr {
        Poseidon::<Fr>::new_circom(inputs.len())
            .unwrap()
            .hash(inputs)
            .unwrap()
    }

    #[test]
    fn equals_circomlib_published_vectors() {
        // circomlib poseidon([1]) and poseidon([1, 2]).
        let one: Fr =
            "18586133768512220936620570745912940619677854269274689475585506675881198879027"
                .parse()
                .unwrap();
        let one_two: Fr =
            "7853200120776062878684798364095072458815029376092732009249414926327459813530"
                .parse()
                .unwrap();
        assert_eq!(hash(&[Fr::from(1u64)]), one);
        assert_eq!(hash(&[Fr::from(1u64), Fr::from(2u64)]), one_two);
    }

    #[test]
    fn equals_light_poseidon_for_every_arity() {
        for n in 1..=MAX_INPUTS {
            for seed in 0..20u64 {
                let inputs: Vec<Fr> = (0..n as u64)
                    .map(|i| Fr::from(seed * 1_000_003 + i).square() + Fr::from(seed))
                    .collect();
                assert_eq!(hash(&inputs), light(&inputs), "arity {n}, seed {seed}");
            }
        }
    }

    #[test]
    fn byte_encoding_round_trips_and_rejects_non_canonical() {
        let v = hash(&[Fr::from(9u64)]);
        assert_eq!(from_be_bytes(&to_be_bytes(&v)), Some(v));
        assert_eq!(from_be_bytes(&[0xff; 32]), None);
        assert_eq!(from_be_bytes(&veil_core::field::BN254_MODULUS_BE), None);
        let r_minus_one = -Fr::from(1u64);
        assert_eq!(from_be_bytes(&to_be_bytes(&r_minus_one)), Some(r_minus_one));
    }
}
