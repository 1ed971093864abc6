//! `cargo +nightly fuzz run siws_message --features libfuzzer`: see [`veil_fuzz::siws_message`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::siws_message(data));
