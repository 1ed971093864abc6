//! Harness self-tests: CPIs really execute, events arrive, read-only accounts stay read-only.

mod bridge;
