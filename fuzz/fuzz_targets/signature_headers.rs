//! `cargo +nightly fuzz run -a -s none --features libfuzzer signature_headers` (docs/reliability.md): see [`veil_fuzz::signature_headers`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::signature_headers(data));
