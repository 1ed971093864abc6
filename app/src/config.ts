// Where the app's services are: veil-stack serves /config.json beside the app. A deployment
// serves its own.

export interface AppConfig {
  /** The relayer's origin (sessions, mints, registry, challenges). */
  relayerUrl: string;
  /** The indexer's analytics API. */
  indexerUrl: string;
  /** The member's prover on this machine (`veil-member serve`), or null without one. */
  proverUrl: string | null;
  /** The chain's JSON-RPC, same-origin (the app server passes it through). */
  rpcUrl: string;
  /** CAIP-2 of the chain wallets sign in on, `solana:localnet`. */
  chainId: string;
  /** The demo token: the mint holdings, proofs and bonds are in. */
  mint: string | null;
  /** The token's decimals. */
  decimals: number;
  /** A faucet for development wallets (local chains only). */
  faucet: boolean;
  /** The chain's label, shown beside the wallet. */
  cluster: string;
}

export async function loadConfig(): Promise<AppConfig> {
  const response = await fetch("/config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`/config.json answered ${response.status}`);
  const raw = (await response.json()) as Partial<AppConfig>;
  if (!raw.relayerUrl || !raw.indexerUrl || !raw.chainId) {
    throw new Error("/config.json lacks relayerUrl, indexerUrl or chainId");
  }
  return {
    relayerUrl: raw.relayerUrl,
    indexerUrl: raw.indexerUrl,
    proverUrl: raw.proverUrl ?? null,
    rpcUrl: new URL(raw.rpcUrl ?? "/rpc", window.location.href).toString(),
    chainId: raw.chainId,
    mint: raw.mint ?? null,
    decimals: raw.decimals ?? 6,
    faucet: raw.faucet === true,
    cluster: raw.cluster ?? raw.chainId,
  };
}
