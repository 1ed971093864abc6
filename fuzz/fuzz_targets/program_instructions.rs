//! `cargo +nightly fuzz run -a -s none --features libfuzzer program_instructions` (docs/reliability.md): see [`veil_fuzz::program_instructions`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::program_instructions(data));
