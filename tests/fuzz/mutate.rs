//! A small seeded mutator for the bounded runs: libFuzzer's common byte-level mutations (bit
//! flips, byte sets, inserts, deletes, duplications, splices of two seeds) and a dictionary
//! of tokens that break parsers (JSON punctuation, huge and negative numbers, escapes, UTF-8
//! edge cases). The coverage-guided search is `cargo fuzz`'s; this gives CI the same targets
//! on every change without a nightly build.

use rand::{rngs::StdRng, Rng, SeedableRng};

/// Tokens spliced into inputs.
const DICTIONARY: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"null",
    b"true",
    b"-1",
    b"0",
    b"1e309",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"\\u0000",
    b"\\ud800",
    b"\\",
    b"\xff",
    b"\xc3",
    b"\xf0\x9f\x92",
    b"\n",
    b"\r\n",
    b"-",
    b"_",
    b"=",
    b"0x",
    b"NaN",
    b"\"\":\"\"",
    b"{\"\":",
    b"[[[[[[[[",
    b"\x00",
];

/// Mutations of a seed corpus, deterministic for a seed.
pub struct Mutator {
    rng: StdRng,
    seeds: Vec<Vec<u8>>,
}

impl Mutator {
    pub fn new(seed: u64, seeds: Vec<Vec<u8>>) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            seeds,
        }
    }

    /// The next input: a seed with one to eight mutations stacked.
    pub fn next_input(&mut self) -> Vec<u8> {
        let mut input = self.seeds[self.rng.gen_range(0..self.seeds.len())].clone();
        for _ in 0..self.rng.gen_range(1..=8) {
            self.mutate(&mut input);
        }
        input
    }

    fn position(&mut self, input: &[u8]) -> usize {
        self.rng.gen_range(0..=input.len())
    }

    fn mutate(&mut self, input: &mut Vec<u8>) {
        match self.rng.gen_range(0..8) {
            0 if !input.is_empty() => {
                let at = self.rng.gen_range(0..input.len());
                input[at] ^= 1 << self.rng.gen_range(0..8);
            }
            1 if !input.is_empty() => {
                let at = self.rng.gen_range(0..input.len());
                input[at] = self.rng.gen();
            }
            2 => {
                let at = self.position(input);
                let byte = self.rng.gen();
                input.insert(at, byte);
            }
            3 if !input.is_empty() => {
                let start = self.rng.gen_range(0..input.len());
                let end = (start + self.rng.gen_range(1..=16)).min(input.len());
                input.drain(start..end);
            }
            4 if !input.is_empty() => {
                let start = self.rng.gen_range(0..input.len());
                let end = (start + self.rng.gen_range(1..=32)).min(input.len());
                let copy = input[start..end].to_vec();
                let at = self.position(input);
                input.splice(at..at, copy);
            }
            5 => {
                let other = self.seeds[self.rng.gen_range(0..self.seeds.len())].clone();
                let cut = self.rng.gen_range(0..=other.len());
                let at = self.position(input);
                input.truncate(at);
                input.extend_from_slice(&other[cut..]);
            }
            6 => {
                let token = DICTIONARY[self.rng.gen_range(0..DICTIONARY.len())];
                let at = self.position(input);
                input.splice(at..at, token.iter().copied());
            }
            _ if !input.is_empty() => {
                // An ASCII digit run somewhere: numbers at their edges.
                let at = self.rng.gen_range(0..input.len());
                let digits = self.rng.gen_range(1..=24);
                let run: Vec<u8> = (0..digits)
                    .map(|_| self.rng.gen_range(b'0'..=b'9'))
                    .collect();
                input.splice(at..(at + 1).min(input.len()), run);
            }
            _ => input.push(self.rng.gen()),
        }
    }
}
