//! `cargo +nightly fuzz run forwarded_transaction --features libfuzzer`: see [`veil_fuzz::forwarded_transaction`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::forwarded_transaction(data));
