// Signs two EIP-4361 messages with ethers' Wallet.signMessage (EIP-191 personal_sign) and
// prints the vectors as JSON. The keys are Hardhat's well-known development accounts #0 and #1.
import { Wallet } from "ethers";

const keys = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
];
const vectors = [];
for (const [i, key] of keys.entries()) {
  const wallet = new Wallet(key);
  const message = [
    `localhost:8080 wants you to sign in with your Ethereum account:`,
    wallet.address,
    ``,
    `Sign in to Chitty Veil to prove you control this wallet. This costs nothing and moves no funds.`,
    ``,
    `URI: http://localhost:8080`,
    `Version: 1`,
    `Chain ID: ${i === 0 ? 31337 : 1}`,
    `Nonce: ${i === 0 ? "0123456789abcdef0123456789abcdef" : "fedcba9876543210fedcba9876543210"}`,
    `Issued At: 2026-12-04T21:30:00Z`,
    `Expiration Time: 2026-12-04T21:35:00Z`,
  ].join("\n");
  vectors.push({ address: wallet.address, message, signature: await wallet.signMessage(message) });
}
console.log(JSON.stringify({ made_by: "ethers 6.13.4 Wallet.signMessage", vectors }, null, 2));
