// The two programs from their Anchor IDL (the repository's idl/, built by Anchor's own IDL
// builder), with the ecosystem's tool: @coral-xyz/anchor's coder and Program. PDAs from the
// programs' named seeds, instruction builders, and decoding of accounts and of the events
// the programs emit with `emit_cpi!` (inner instructions, not logs).

import { AnchorProvider, BorshCoder, Program, type Idl } from "@coral-xyz/anchor";
import { Connection, Keypair, PublicKey, TransactionInstruction } from "@solana/web3.js";

import registryJson from "./idl/registry.json" with { type: "json" };
import challengeJson from "./idl/challenge.json" with { type: "json" };

export const registryIdl = registryJson as Idl;
export const challengeIdl = challengeJson as Idl;

export const REGISTRY_PROGRAM_ID = new PublicKey(registryIdl.address);
export const CHALLENGE_PROGRAM_ID = new PublicKey(challengeIdl.address);

/** The programs' named seeds (`state/seeds.rs`). */
export const SEEDS = {
  config: Buffer.from("config"),
  challenge: Buffer.from("challenge"),
  vault: Buffer.from("vault"),
  eventAuthority: Buffer.from("__event_authority"),
} as const;

/** Anchor's tag in front of an `emit_cpi!` event's instruction data. */
export const EVENT_IX_TAG = Buffer.from([0xe4, 0x45, 0xa5, 0x2e, 0x51, 0xcb, 0x9a, 0x1d]);

export const registryCoder = new BorshCoder(registryIdl);
export const challengeCoder = new BorshCoder(challengeIdl);

export function challengeConfigPda(): PublicKey {
  return PublicKey.findProgramAddressSync([SEEDS.config], CHALLENGE_PROGRAM_ID)[0];
}

export function challengePda(creator: PublicKey, nonce: bigint): PublicKey {
  const le = Buffer.alloc(8);
  le.writeBigUInt64LE(nonce);
  return PublicKey.findProgramAddressSync([SEEDS.challenge, creator.toBuffer(), le], CHALLENGE_PROGRAM_ID)[0];
}

export function vaultPda(challenge: PublicKey): PublicKey {
  return PublicKey.findProgramAddressSync([SEEDS.vault, challenge.toBuffer()], CHALLENGE_PROGRAM_ID)[0];
}

export function eventAuthority(program: PublicKey): PublicKey {
  return PublicKey.findProgramAddressSync([SEEDS.eventAuthority], program)[0];
}

/** A decoded `emit_cpi!` event: its IDL name and fields. */
export interface DecodedEvent {
  name: string;
  data: Record<string, unknown>;
}

/** The event in an inner instruction's data (tag, discriminator, Borsh), or `null` when the
 * data is not one of `coder`'s events. */
export function decodeEventCpi(coder: BorshCoder, data: Uint8Array): DecodedEvent | null {
  const bytes = Buffer.from(data);
  if (bytes.length < 16 || !bytes.subarray(0, 8).equals(EVENT_IX_TAG)) return null;
  const event = coder.events.decode(bytes.subarray(8).toString("base64"));
  return event ? { name: event.name, data: event.data as Record<string, unknown> } : null;
}

/** An account of `coder`'s program by its IDL name (`Challenge`, `Config`, `Track`, …). */
export function decodeAccount<T = Record<string, unknown>>(coder: BorshCoder, name: string, data: Uint8Array): T {
  return coder.accounts.decode(name, Buffer.from(data)) as T;
}

/** A Program over `connection` for building instructions (`program.methods.accept()…`).
 * Signing happens in the wallet: the provider's wallet here is a placeholder that never signs. */
export function challengeProgram(connection: Connection): Program {
  const placeholder = Keypair.generate();
  const wallet = {
    publicKey: placeholder.publicKey,
    payer: placeholder,
    signTransaction: () => Promise.reject(new Error("sign in the wallet")),
    signAllTransactions: () => Promise.reject(new Error("sign in the wallet")),
  };
  return new Program(challengeIdl, new AnchorProvider(connection, wallet as never, {}));
}

/** `accept`, for the counterparty to sign. */
export async function acceptInstruction(
  program: Program,
  counterparty: PublicKey,
  challenge: PublicKey,
): Promise<TransactionInstruction> {
  const accept = program.methods.accept;
  if (!accept) throw new Error("the challenge IDL has no `accept` instruction");
  return accept()
    .accountsPartial({
      counterparty,
      config: challengeConfigPda(),
      challenge,
      eventAuthority: eventAuthority(CHALLENGE_PROGRAM_ID),
      program: CHALLENGE_PROGRAM_ID,
    })
    .instruction();
}

/** SPL Token and the associated token account program. */
export const TOKEN_PROGRAM_ID = new PublicKey("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
export const ASSOCIATED_TOKEN_PROGRAM_ID = new PublicKey("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
const SYSTEM_PROGRAM_ID = new PublicKey("11111111111111111111111111111111");

/** `owner`'s associated token account of `mint`. */
export function associatedTokenAddress(owner: PublicKey, mint: PublicKey): PublicKey {
  return PublicKey.findProgramAddressSync(
    [owner.toBuffer(), TOKEN_PROGRAM_ID.toBuffer(), mint.toBuffer()],
    ASSOCIATED_TOKEN_PROGRAM_ID,
  )[0];
}

/** Creates `owner`'s associated token account of `mint` unless it exists, paid by `payer`. */
export function createAssociatedTokenAccountIdempotent(
  payer: PublicKey,
  owner: PublicKey,
  mint: PublicKey,
): TransactionInstruction {
  return new TransactionInstruction({
    programId: ASSOCIATED_TOKEN_PROGRAM_ID,
    keys: [
      { pubkey: payer, isSigner: true, isWritable: true },
      { pubkey: associatedTokenAddress(owner, mint), isSigner: false, isWritable: true },
      { pubkey: owner, isSigner: false, isWritable: false },
      { pubkey: mint, isSigner: false, isWritable: false },
      { pubkey: SYSTEM_PROGRAM_ID, isSigner: false, isWritable: false },
      { pubkey: TOKEN_PROGRAM_ID, isSigner: false, isWritable: false },
    ],
    data: Buffer.from([1]),
  });
}

/** The fields of a decoded `Challenge` that settling needs (the IDL's names). */
export interface ChallengeEscrowFields {
  creator: PublicKey;
  counterparty: PublicKey | null;
  treasury: PublicKey;
  bond_mint: PublicKey;
  bond_amount: { toString(): string };
  vault: PublicKey;
  vault_closed: boolean;
}

/** The escrow accounts of `challenge`: each party's and the treasury's associated token
 * account of the bond mint; none when unbonded or the vault is closed. */
export function escrowAccounts(challenge: ChallengeEscrowFields): Record<string, PublicKey | null> {
  if (challenge.bond_amount.toString() === "0" || challenge.vault_closed) {
    return {
      mint: null,
      vault: null,
      creatorTokens: null,
      counterpartyTokens: null,
      treasuryTokens: null,
      creator: null,
      tokenProgram: null,
    };
  }
  const tokens = (owner: PublicKey | null) =>
    owner ? associatedTokenAddress(owner, challenge.bond_mint) : null;
  return {
    mint: challenge.bond_mint,
    vault: challenge.vault,
    creatorTokens: tokens(challenge.creator),
    counterpartyTokens: tokens(challenge.counterparty),
    treasuryTokens: tokens(challenge.treasury),
    creator: challenge.creator,
    tokenProgram: TOKEN_PROGRAM_ID,
  };
}

/** `settle` of a completed challenge, cranked by `cranker` (anyone; a party's wallet in the
 * app), after the treasury's token account is made to exist (a slash may pay into it). */
export async function settleInstructions(
  program: Program,
  cranker: PublicKey,
  address: PublicKey,
  challenge: ChallengeEscrowFields,
): Promise<TransactionInstruction[]> {
  const settle = program.methods.settle;
  if (!settle) throw new Error("the challenge IDL has no `settle` instruction");
  const instruction = await settle()
    .accountsPartial({
      cranker,
      challenge: address,
      escrow: escrowAccounts(challenge),
      eventAuthority: eventAuthority(CHALLENGE_PROGRAM_ID),
      program: CHALLENGE_PROGRAM_ID,
    } as never)
    .instruction();
  const bonded = challenge.bond_amount.toString() !== "0" && !challenge.vault_closed;
  return bonded
    ? [createAssociatedTokenAccountIdempotent(cranker, challenge.treasury, challenge.bond_mint), instruction]
    : [instruction];
}
