//! `cargo +nightly fuzz run -a -s none --features libfuzzer indexer_events` (docs/reliability.md): see [`veil_fuzz::indexer_events`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veil_fuzz::indexer_events(data));
