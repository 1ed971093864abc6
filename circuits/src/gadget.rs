//! A low-level constraint builder: values always, linear combinations only when the
//! constraint system builds matrices.
//!
//! The prover synthesizes the circuit in witness-only mode (no matrices; they were computed
//! once at setup), so here a linear combination costs nothing unless matrices are being
//! built, and linear operations never create constraints or variables. The Poseidon gadget
//! uses light-poseidon's parameters through [`veil_poseidon::params`], three constraints per
//! S-box (x², x⁴, x⁵), none for round constants or the MDS layer.

use ark_relations::gr1cs::{ConstraintSystemRef, LinearCombination, SynthesisError, Variable};
use veil_poseidon::Fr;

/// A circuit value: its assignment and, when matrices are built, its linear combination.
#[derive(Clone, Debug)]
pub struct Signal {
    /// The assigned value (ignored by the constraint system in setup mode).
    pub value: Fr,
    /// The linear combination; empty unless matrices are being built.
    lc: LinearCombination<Fr>,
    /// Whether the signal is a known constant (no variables).
    constant: bool,
}

impl Signal {
    /// Whether the signal is a constant.
    pub fn is_constant(&self) -> bool {
        self.constant
    }
}

/// Builds constraints over one constraint system.
pub struct Builder {
    cs: ConstraintSystemRef<Fr>,
    matrices: bool,
}

impl Builder {
    /// A builder over `cs`.
    pub fn new(cs: ConstraintSystemRef<Fr>) -> Self {
        let matrices = cs.should_construct_matrices();
        Self { cs, matrices }
    }

    fn signal_for(&self, value: Fr, variable: Variable) -> Signal {
        Signal {
            value,
            lc: if self.matrices {
                LinearCombination(vec![(Fr::from(1u64), variable)])
            } else {
                LinearCombination(Vec::new())
            },
            constant: false,
        }
    }

    /// A constant.
    pub fn constant(&self, value: Fr) -> Signal {
        Signal {
            value,
            lc: if self.matrices {
                LinearCombination(vec![(value, Variable::One)])
            } else {
                LinearCombination(Vec::new())
            },
            constant: true,
        }
    }

    /// A new public input.
    pub fn input(&self, value: Fr) -> Result<Signal, SynthesisError> {
        let variable = self.cs.new_input_variable(|| Ok(value))?;
        Ok(self.signal_for(value, variable))
    }

    /// A new private witness.
    pub fn witness(&self, value: Fr) -> Result<Signal, SynthesisError> {
        let variable = self.cs.new_witness_variable(|| Ok(value))?;
        Ok(self.signal_for(value, variable))
    }

    /// `Σ coefficient·signal + constant`, with no constraint.
    pub fn linear(&self, terms: &[(Fr, &Signal)], constant: Fr) -> Signal {
        let value = terms
            .iter()
            .fold(constant, |acc, (c, s)| acc + *c * s.value);
        let all_constant = terms.iter().all(|(_, s)| s.constant);
        if all_constant {
            return self.constant(value);
        }
        let mut lc = LinearCombination(Vec::new());
        if self.matrices {
            for (c, s) in terms {
                lc.0.extend(s.lc.0.iter().map(|(k, v)| (*k * c, *v)));
            }
            if constant != Fr::from(0u64) {
                lc.0.push((constant, Variable::One));
            }
            lc.compactify();
        }
        Signal {
            value,
            lc,
            constant: false,
        }
    }

    /// `a + b`.
    pub fn add(&self, a: &Signal, b: &Signal) -> Signal {
        let one = Fr::from(1u64);
        self.linear(&[(one, a), (one, b)], Fr::from(0u64))
    }

    /// `a - b`.
    pub fn sub(&self, a: &Signal, b: &Signal) -> Signal {
        self.linear(&[(Fr::from(1u64), a), (-Fr::from(1u64), b)], Fr::from(0u64))
    }

    /// `a · b`: one constraint, unless a side is constant.
    pub fn mul(&self, a: &Signal, b: &Signal) -> Result<Signal, SynthesisError> {
        if a.constant {
            return Ok(self.linear(&[(a.value, b)], Fr::from(0u64)));
        }
        if b.constant {
            return Ok(self.linear(&[(b.value, a)], Fr::from(0u64)));
        }
        let out = self.witness(a.value * b.value)?;
        self.cs
            .enforce_r1cs_constraint(|| a.lc.clone(), || b.lc.clone(), || out.lc.clone())?;
        Ok(out)
    }

    /// Enforces `a == b` (one constraint).
    pub fn enforce_equal(&self, a: &Signal, b: &Signal) -> Result<(), SynthesisError> {
        let diff = self.sub(a, b);
        self.cs.enforce_r1cs_constraint(
            || diff.lc.clone(),
            || LinearCombination(vec![(Fr::from(1u64), Variable::One)]),
            || LinearCombination(Vec::new()),
        )
    }

    /// A private bit, constrained to 0 or 1 (one constraint).
    pub fn bit(&self, bit: bool) -> Result<Signal, SynthesisError> {
        let b = self.witness(Fr::from(u64::from(bit)))?;
        // b · (1 − b) = 0
        let one_minus_b = self.linear(&[(-Fr::from(1u64), &b)], Fr::from(1u64));
        self.cs.enforce_r1cs_constraint(
            || b.lc.clone(),
            || one_minus_b.lc.clone(),
            || LinearCombination(Vec::new()),
        )?;
        Ok(b)
    }

    /// `(left, right)`: `(a, b)` when `bit` is 0, `(b, a)` when it is 1. One constraint.
    pub fn swap_if(
        &self,
        bit: &Signal,
        a: &Signal,
        b: &Signal,
    ) -> Result<(Signal, Signal), SynthesisError> {
        // t = bit · (b − a); left = a + t; right = b − t
        let delta = self.sub(b, a);
        let t = self.mul(bit, &delta)?;
        Ok((self.add(a, &t), self.sub(b, &t)))
    }

    fn pow5(&self, x: &Signal) -> Result<Signal, SynthesisError> {
        if x.constant {
            let x2 = x.value * x.value;
            return Ok(self.constant(x2 * x2 * x.value));
        }
        let x2 = self.mul(x, x)?;
        let x4 = self.mul(&x2, &x2)?;
        self.mul(&x4, x)
    }

    /// Poseidon of 1 to 5 signals with light-poseidon's circom parameters.
    pub fn poseidon(&self, inputs: &[Signal]) -> Result<Signal, SynthesisError> {
        let p = veil_poseidon::params(inputs.len());
        let width = p.width;
        let mut state: Vec<Signal> = Vec::with_capacity(width);
        state.push(self.constant(Fr::from(0u64)));
        state.extend(inputs.iter().cloned());
        for round in 0..p.rounds() {
            let constants = &p.ark[round * width..(round + 1) * width];
            for (s, c) in state.iter_mut().zip(constants) {
                *s = self.linear(&[(Fr::from(1u64), s)], *c);
            }
            if p.is_full_round(round) {
                for s in state.iter_mut() {
                    *s = self.pow5(s)?;
                }
            } else {
                state[0] = self.pow5(&state[0])?;
            }
            state = p
                .mds
                .iter()
                .map(|row| {
                    let terms: Vec<(Fr, &Signal)> = row.iter().copied().zip(state.iter()).collect();
                    self.linear(&terms, Fr::from(0u64))
                })
                .collect();
        }
        Ok(state.swap_remove(0))
    }
}
