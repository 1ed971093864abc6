// Wallets: a development wallet (a keypair held by this page, for local chains) and any
// wallet-standard wallet the browser offers (Phantom, Solflare, Backpack, …). Both sign
// messages and transactions; the app never sees a real wallet's key.

import { ed25519 } from "@noble/curves/ed25519";
import { Keypair, Transaction } from "@solana/web3.js";
import { getWallets } from "@wallet-standard/app";
import type { Wallet, WalletAccount } from "@wallet-standard/base";
import bs58 from "bs58";

export interface VeilWallet {
  /** Base58. */
  readonly address: string;
  readonly label: string;
  /** A keypair held by this page: local chains only. */
  readonly development: boolean;
  signMessage(message: Uint8Array): Promise<Uint8Array>;
  /** Signs a serialized legacy transaction as this wallet; the serialized, signed one. */
  signTransaction(transaction: Uint8Array): Promise<Uint8Array>;
  disconnect?(): Promise<void>;
}

const DEV_KEY = "veil.devWallet";

/** The development wallet of this browser profile: made once, kept in localStorage. */
export class DevelopmentWallet implements VeilWallet {
  readonly development = true;
  readonly label = "Development wallet (local chains only: its key lives in this page)";
  private constructor(private readonly keypair: Keypair) {}

  static load(): DevelopmentWallet | null {
    const stored = localStorage.getItem(DEV_KEY);
    if (!stored) return null;
    try {
      return new DevelopmentWallet(Keypair.fromSecretKey(bs58.decode(stored)));
    } catch {
      localStorage.removeItem(DEV_KEY);
      return null;
    }
  }

  static create(): DevelopmentWallet {
    const keypair = Keypair.generate();
    localStorage.setItem(DEV_KEY, bs58.encode(keypair.secretKey));
    return new DevelopmentWallet(keypair);
  }

  static forget(): void {
    localStorage.removeItem(DEV_KEY);
  }

  get address(): string {
    return this.keypair.publicKey.toBase58();
  }

  async signMessage(message: Uint8Array): Promise<Uint8Array> {
    return ed25519.sign(message, this.keypair.secretKey.slice(0, 32));
  }

  async signTransaction(transaction: Uint8Array): Promise<Uint8Array> {
    const tx = Transaction.from(transaction);
    tx.partialSign(this.keypair);
    return tx.serialize({ requireAllSignatures: false, verifySignatures: false });
  }
}

type Features = Record<string, Record<string, unknown>>;

/** A wallet-standard wallet's first account. */
export class StandardWallet implements VeilWallet {
  readonly development = false;
  constructor(
    private readonly wallet: Wallet,
    private readonly account: WalletAccount,
  ) {}

  get address(): string {
    return this.account.address;
  }

  get label(): string {
    return this.wallet.name;
  }

  private feature<T>(name: string): T {
    const feature = (this.wallet.features as Features)[name];
    if (!feature) throw new Error(`${this.wallet.name} does not offer ${name}`);
    return feature as T;
  }

  async signMessage(message: Uint8Array): Promise<Uint8Array> {
    const { signMessage } = this.feature<{
      signMessage(input: { account: WalletAccount; message: Uint8Array }): Promise<{ signature: Uint8Array }[]>;
    }>("solana:signMessage");
    const [signed] = await signMessage({ account: this.account, message });
    if (!signed) throw new Error(`${this.wallet.name} returned no signature`);
    return signed.signature;
  }

  async signTransaction(transaction: Uint8Array): Promise<Uint8Array> {
    const { signTransaction } = this.feature<{
      signTransaction(input: {
        account: WalletAccount;
        transaction: Uint8Array;
      }): Promise<{ signedTransaction: Uint8Array }[]>;
    }>("solana:signTransaction");
    const [signed] = await signTransaction({ account: this.account, transaction });
    if (!signed) throw new Error(`${this.wallet.name} returned no transaction`);
    return signed.signedTransaction;
  }

  async disconnect(): Promise<void> {
    const feature = (this.wallet.features as Features)["standard:disconnect"] as
      | { disconnect(): Promise<void> }
      | undefined;
    await feature?.disconnect();
  }
}

/** The wallet-standard wallets that can sign Solana messages and transactions. */
export function standardWallets(): readonly Wallet[] {
  return getWallets()
    .get()
    .filter((w) => "solana:signMessage" in w.features && "solana:signTransaction" in w.features);
}

/** Listens for wallets registering later (extensions load after the page). */
export function onWalletsChanged(listener: () => void): () => void {
  const wallets = getWallets();
  const off = [wallets.on("register", listener), wallets.on("unregister", listener)];
  return () => off.forEach((f) => f());
}

export async function connectStandard(wallet: Wallet): Promise<StandardWallet> {
  const connect = (wallet.features as Features)["standard:connect"] as
    | { connect(): Promise<{ accounts: readonly WalletAccount[] }> }
    | undefined;
  const accounts = connect ? (await connect.connect()).accounts : wallet.accounts;
  const account = accounts[0];
  if (!account) throw new Error(`${wallet.name} shared no account`);
  return new StandardWallet(wallet, account);
}
