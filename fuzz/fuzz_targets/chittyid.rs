//! `cargo +nightly fuzz run chittyid --features libfuzzer`: see [`veil_fuzz::chittyid`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::chittyid(data));
