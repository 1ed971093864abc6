// Hardhat Network as a plain local EVM node: chain id 31337, the well-known development
// accounts (never fund them elsewhere). Nothing is compiled: the ERC-20 comes from
// @openzeppelin/contracts' published build artifacts.
module.exports = {
  networks: { hardhat: { chainId: 31337 } },
};
