//! `cargo +nightly fuzz run -a -s none --features libfuzzer chittyid` (docs/reliability.md): see [`veil_fuzz::chittyid`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::chittyid(data));
