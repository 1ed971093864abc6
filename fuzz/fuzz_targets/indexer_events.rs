//! `cargo +nightly fuzz run indexer_events --features libfuzzer`: see [`veil_fuzz::indexer_events`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::indexer_events(data));
