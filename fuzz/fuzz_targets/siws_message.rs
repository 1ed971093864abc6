//! `cargo +nightly fuzz run -a -s none --features libfuzzer siws_message` (docs/reliability.md): see [`veil_fuzz::siws_message`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::siws_message(data));
