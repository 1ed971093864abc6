//! `cargo +nightly fuzz run -a -s none --features libfuzzer provisional_record` (docs/reliability.md): see [`veil_fuzz::provisional_record`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::provisional_record(data));
