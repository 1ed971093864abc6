//! Shared fixtures for the integration tests.

use veil_harness::TestBuilder;

veil_svm_bridge::native_program!(ProbeProgram, veil_probe::entry);

/// A canonical track id (below the BN254 modulus).
pub const TRACK: [u8; 32] = {
    let mut id = [0u8; 32];
    id[31] = 7;
    id
};

/// A canonical field element whose low bytes are `n`.
pub fn scalar(n: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[24..].copy_from_slice(&n.to_be_bytes());
    out
}

/// A builder with the probe program deployed beside the registry.
pub fn with_probe() -> TestBuilder {
    TestBuilder::new().program(veil_probe::ID, ProbeProgram::registerer())
}
