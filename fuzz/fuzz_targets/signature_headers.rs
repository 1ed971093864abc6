//! `cargo +nightly fuzz run signature_headers --features libfuzzer`: see [`veil_fuzz::signature_headers`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::signature_headers(data));
