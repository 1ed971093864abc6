//! `cargo +nightly fuzz run program_instructions --features libfuzzer`: see [`veil_fuzz::program_instructions`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::program_instructions(data));
