//! Anchor-free rules shared by the on-chain programs and every off-chain component.
//!
//! Everything here is `no_std`, allocation-free and SBF-safe, so the programs depend on it
//! directly and the relayer, indexer and circuits use the very same definitions.

#![no_std]

pub mod field;
pub mod namespace;
