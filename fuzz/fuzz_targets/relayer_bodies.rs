//! `cargo +nightly fuzz run relayer_bodies --features libfuzzer`: see [`veil_fuzz::relayer_bodies`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::relayer_bodies(data));
