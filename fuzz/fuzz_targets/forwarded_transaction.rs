//! `cargo +nightly fuzz run -a -s none --features libfuzzer forwarded_transaction` (docs/reliability.md): see [`veil_fuzz::forwarded_transaction`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::forwarded_transaction(data));
