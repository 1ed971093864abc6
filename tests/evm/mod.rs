//! A real EVM node for the tests: Hardhat Network from the npm registry, one per test on its
//! own port, with OpenZeppelin's published ERC-20 deployed to it (`veil-evm-node`).

mod funds;

pub use veil_evm_node::{EvmNode, RICH_KEY};
