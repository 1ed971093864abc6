// What every page uses: the relayer client (a wallet's session: no API key in the page), the
// chain, and the wallet-signed step: build on the relayer, sign in the wallet, forward.

import { VeilClient, VeilError, type Session } from "@chitty-veil/client";
import { Connection, PublicKey, Transaction, type TransactionInstruction } from "@solana/web3.js";
import { associatedTokenAddress } from "@chitty-veil/client";
import bs58 from "bs58";

import type { AppConfig } from "./config";
import type { VeilWallet } from "./wallet";

const SESSION_KEY = "veil.session";

export interface Veil {
  config: AppConfig;
  client: VeilClient;
  connection: Connection;
  wallet: VeilWallet | null;
  session: Session | null;
}

export function makeClient(config: AppConfig): VeilClient {
  return new VeilClient({ baseUrl: config.relayerUrl, retry: { retries: 2 } });
}

/** The session kept for this tab, when it belongs to `address` and has not lapsed past its
 * refresh. */
export function storedSession(address: string): Session | null {
  const raw = sessionStorage.getItem(SESSION_KEY);
  if (!raw) return null;
  try {
    const session = JSON.parse(raw) as Session;
    return session.address === address ? session : null;
  } catch {
    return null;
  }
}

export function keepSession(session: Session | null | undefined): void {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(SESSION_KEY);
}

/** Signs the wallet in: the relayer issues a Sign-In With Solana message, the wallet signs it. */
export async function signIn(veil: Veil, wallet: VeilWallet): Promise<Session> {
  const session = await veil.client.signIn(veil.config.chainId, wallet.address, async (message) =>
    bs58.encode(await wallet.signMessage(new TextEncoder().encode(message))),
  );
  keepSession(session);
  return session;
}

/** A call with the session; a refreshed session is kept. */
export async function call<T = Record<string, unknown>>(
  veil: Veil,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<T> {
  try {
    return await veil.client.call<T>(method, path, body, headers);
  } finally {
    keepSession(veil.client.session);
  }
}

function base64(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

function unbase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

export interface Landed {
  signature: string;
  slot: number;
  challenge?: string;
}

/** A wallet step: the relayer builds the transaction (`path`, `body`), the wallet signs it
 * here, the relayer forwards it and answers once it landed. */
export async function walletStep(
  veil: Veil,
  path: string,
  body: unknown,
  progress: (step: string) => void = () => {},
): Promise<Landed> {
  const wallet = requireWallet(veil);
  progress("building the transaction");
  const built = await call<{ transaction: string; challenge: string }>(veil, "POST", path, body);
  progress("waiting for your wallet's signature");
  const signed = await wallet.signTransaction(unbase64(built.transaction));
  progress("sending and waiting for confirmation");
  const landed = await call<Landed>(veil, "POST", "/api/v2/transactions", {
    transaction: base64(signed),
  });
  return { ...landed, challenge: built.challenge };
}

/** Instructions built in the page, signed by the wallet (its fee payer), forwarded. */
export async function sendInstructions(
  veil: Veil,
  instructions: TransactionInstruction[],
  progress: (step: string) => void = () => {},
): Promise<Landed> {
  const wallet = requireWallet(veil);
  const { blockhash } = await veil.connection.getLatestBlockhash("confirmed");
  const tx = new Transaction({ feePayer: new PublicKey(wallet.address), recentBlockhash: blockhash });
  tx.add(...instructions);
  progress("waiting for your wallet's signature");
  const signed = await wallet.signTransaction(
    tx.serialize({ requireAllSignatures: false, verifySignatures: false }),
  );
  progress("sending and waiting for confirmation");
  return call<Landed>(veil, "POST", "/api/v2/transactions", { transaction: base64(signed) });
}

export function requireWallet(veil: Veil): VeilWallet {
  if (!veil.wallet) throw new Error("connect a wallet first");
  return veil.wallet;
}

/** `owner`'s SOL and demo-token balances, read from the chain (base units). */
export async function balances(
  veil: Veil,
  owner: string,
): Promise<{ lamports: number; tokens: bigint | null }> {
  const key = new PublicKey(owner);
  const lamports = await veil.connection.getBalance(key, "confirmed");
  if (!veil.config.mint) return { lamports, tokens: null };
  const account = associatedTokenAddress(key, new PublicKey(veil.config.mint));
  try {
    const balance = await veil.connection.getTokenAccountBalance(account, "confirmed");
    return { lamports, tokens: BigInt(balance.value.amount) };
  } catch {
    return { lamports, tokens: 0n };
  }
}

export function formatTokens(amount: bigint | null, decimals: number): string {
  if (amount === null) return "–";
  const unit = 10n ** BigInt(decimals);
  const fraction = (amount % unit).toString().padStart(decimals, "0").replace(/0+$/, "");
  return `${amount / unit}${fraction ? `.${fraction}` : ""}`;
}

/** What to show for a failure: the relayer's typed code and message, never raw JSON. */
export function describe(error: unknown): { code: string | null; message: string } {
  if (error instanceof VeilError) {
    const message =
      error.kind === "unreachable"
        ? "The relayer did not answer. Is the stack running?"
        : error.message;
    return { code: error.code ?? (error.kind === "api" ? `HTTP ${error.status}` : error.kind), message };
  }
  if (error instanceof ProverError) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: null, message: error.message };
  return { code: null, message: String(error) };
}

/** A refusal of the member's prover (its own error envelope). */
export class ProverError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A call to the member's prover on this machine. */
export async function prover<T>(veil: Veil, path: string, body?: unknown): Promise<T> {
  const base = veil.config.proverUrl;
  if (!base) throw new ProverError("NO_LOCAL_PROVER", "no local prover is configured");
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ProverError(
      "PROVER_UNREACHABLE",
      `the local prover at ${base} did not answer: start it with \`veil-member serve\``,
    );
  }
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!response.ok) {
    const envelope = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ProverError(
      envelope?.code ?? `HTTP ${response.status}`,
      envelope?.message ?? `the local prover answered ${response.status}`,
    );
  }
  return parsed as T;
}
