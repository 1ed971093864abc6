//! `cargo +nightly fuzz run provisional_record --features libfuzzer`: see [`veil_fuzz::provisional_record`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::provisional_record(data));
