//! Test-only package: see `main.rs`, the single integration-test binary.
