//! `cargo +nightly fuzz run -a -s none --features libfuzzer relayer_bodies` (docs/reliability.md): see [`veil_fuzz::relayer_bodies`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::relayer_bodies(data));
