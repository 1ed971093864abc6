//! Typed client for the Chitty Veil programs, shared by the tests, the relayer and the indexer.
//!
//! - [`registry`], [`challenge`]: PDA derivation and one instruction builder per instruction;
//! - [`decode`]: account and event decoders with typed errors.
//!
//! Seeds, program ids, instruction layouts and event types all come from the program crates
//! themselves (built with `no-entrypoint`), so nothing here restates them.

pub mod challenge;
pub mod decode;
pub mod errors;
pub mod registry;

mod anchor_ix;

pub use anchor_lang::solana_program::{instruction::Instruction, pubkey::Pubkey};
