//! Shared fixtures for the integration tests.

pub use veil_harness::scalar;
use veil_harness::TestBuilder;

veil_svm_bridge::native_program!(ProbeProgram, veil_probe::entry);

/// A canonical track id (below the BN254 modulus).
pub const TRACK: [u8; 32] = {
    let mut id = [0u8; 32];
    id[31] = 7;
    id
};

/// A builder with the probe program deployed beside the registry.
pub fn with_probe() -> TestBuilder {
    TestBuilder::new().program(veil_probe::ID, ProbeProgram::registerer())
}
