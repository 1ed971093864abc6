// The shell: the wallet (development or wallet-standard), its session, its balances, and the
// pages.

import { useCallback, useEffect, useMemo, useState } from "react";
import { Connection } from "@solana/web3.js";
import type { Wallet } from "@wallet-standard/base";

import { loadConfig, type AppConfig } from "./config";
import { Analytics } from "./pages/Analytics";
import { Challenges } from "./pages/Challenges";
import { Ids } from "./pages/Ids";
import { Ownership } from "./pages/Ownership";
import { Short, StepStatus, useStep } from "./ui";
import {
  balances,
  call,
  describe,
  formatTokens,
  keepSession,
  makeClient,
  signIn,
  storedSession,
  type Veil,
} from "./veil";
import {
  connectStandard,
  DevelopmentWallet,
  onWalletsChanged,
  standardWallets,
  type VeilWallet,
} from "./wallet";

const PAGES = [
  ["ids", "ChittyIDs"],
  ["ownership", "Ownership"],
  ["challenges", "Challenges"],
  ["analytics", "Analytics"],
] as const;
type Page = (typeof PAGES)[number][0];

function pageFromHash(): Page {
  const hash = window.location.hash.replace(/^#\/?/, "");
  return (PAGES.find(([id]) => id === hash)?.[0] ?? "ids") as Page;
}

export function App() {
  const [config, setConfig] = useState<AppConfig | null>(null);
  const [configError, setConfigError] = useState<string | null>(null);
  useEffect(() => {
    loadConfig().then(setConfig, (e: unknown) => setConfigError(describe(e).message));
  }, []);
  if (configError) {
    return (
      <main className="fatal" role="alert">
        <h1>Chitty Veil</h1>
        <p>The app cannot find its services: {configError}</p>
      </main>
    );
  }
  if (!config) return <main className="loading">Loading…</main>;
  return <Shell config={config} />;
}

function Shell({ config }: { config: AppConfig }) {
  const client = useMemo(() => makeClient(config), [config]);
  const connection = useMemo(() => new Connection(config.rpcUrl, "confirmed"), [config]);
  const [wallet, setWallet] = useState<VeilWallet | null>(() => DevelopmentWallet.load());
  const [session, setSession] = useState(() => {
    const kept = wallet ? storedSession(wallet.address) : null;
    if (kept) client.resume(kept);
    return kept;
  });
  const [page, setPage] = useState<Page>(pageFromHash);
  const [available, setAvailable] = useState<readonly Wallet[]>(standardWallets);
  const [funds, setFunds] = useState<{ lamports: number; tokens: bigint | null } | null>(null);
  const signing = useStep<unknown>();
  const faucet = useStep<unknown>();

  // One object per change of what it holds: the pages' effects depend on it, and the shell
  // re-renders on every balance poll and every tick of a running step.
  const veil: Veil = useMemo(
    () => ({ config, client, connection, wallet, session }),
    [config, client, connection, wallet, session],
  );

  useEffect(() => onWalletsChanged(() => setAvailable(standardWallets())), []);
  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  const refreshFunds = useCallback(async () => {
    if (!veil.wallet) return setFunds(null);
    try {
      setFunds(await balances(veil, veil.wallet.address));
    } catch {
      setFunds(null);
    }
  }, [veil]);
  useEffect(() => {
    void refreshFunds();
    const timer = setInterval(() => void refreshFunds(), 4_000);
    return () => clearInterval(timer);
  }, [refreshFunds]);

  const use = (next: VeilWallet | null) => {
    keepSession(null);
    setSession(null);
    setWallet(next);
  };

  const doSignIn = () =>
    signing.run(async (progress) => {
      if (!wallet) throw new Error("connect a wallet first");
      progress("waiting for your wallet to sign in");
      setSession(await signIn(veil, wallet));
    });
  const doSignOut = () =>
    signing.run(async () => {
      try {
        await call(veil, "DELETE", "/api/v2/auth/session");
      } finally {
        keepSession(null);
        setSession(null);
      }
    });
  const doFaucet = () =>
    faucet.run(async (progress) => {
      if (!wallet) throw new Error("connect a wallet first");
      progress("asking the local faucet for SOL and demo tokens");
      const response = await fetch("/dev/faucet", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ address: wallet.address }),
      });
      const body = (await response.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
      if (!response.ok) {
        throw Object.assign(new Error(body?.error?.message ?? `the faucet answered ${response.status}`), {
          code: body?.error?.code,
        });
      }
      await refreshFunds();
    });

  return (
    <div className="app">
      <header>
        <h1>
          Chitty <span>Veil</span>
        </h1>
        <nav aria-label="Pages">
          {PAGES.map(([id, label]) => (
            <a key={id} href={`#/${id}`} aria-current={page === id ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
      </header>
      <section className="wallet" aria-label="Wallet" data-testid="wallet">
        {wallet ? (
          <>
            <div>
              <strong>{wallet.label}</strong>
              {wallet.development && <span className="badge">local use only</span>}
              <div>
                <Short value={wallet.address} chars={8} /> on {config.cluster}
              </div>
              <div className="funds" data-testid="funds" data-lamports={funds?.lamports ?? ""} data-tokens={funds?.tokens?.toString() ?? ""}>
                {funds ? `${(funds.lamports / 1e9).toFixed(3)} SOL · ${formatTokens(funds.tokens, config.decimals)} tokens` : "…"}
              </div>
            </div>
            <div className="buttons">
              {session ? (
                <>
                  <span className="ok" data-testid="signed-in">
                    Signed in
                  </span>
                  <button onClick={() => void doSignOut()}>Sign out</button>
                </>
              ) : (
                <button onClick={() => void doSignIn()} disabled={signing.busy !== null}>
                  Sign in with wallet
                </button>
              )}
              {wallet.development && config.faucet && (
                <button onClick={() => void doFaucet()} disabled={faucet.busy !== null}>
                  Fund from local faucet
                </button>
              )}
              <button
                onClick={() => {
                  void wallet.disconnect?.();
                  use(null);
                }}
              >
                Disconnect
              </button>
            </div>
            <StepStatus step={signing} name="sign-in" />
            <StepStatus step={faucet} name="faucet" />
          </>
        ) : (
          <div className="connect">
            <button onClick={() => use(DevelopmentWallet.load() ?? DevelopmentWallet.create())}>
              Use a development wallet
            </button>
            {available.map((w) => (
              <button
                key={w.name}
                onClick={() =>
                  void signing.run(async () => {
                    use(await connectStandard(w));
                  })
                }
              >
                <img src={w.icon} alt="" width={16} height={16} /> {w.name}
              </button>
            ))}
            {available.length === 0 && <span className="hint">No browser wallet found (wallet-standard).</span>}
            <StepStatus step={signing} name="connect" />
          </div>
        )}
      </section>
      <main>
        {page === "ids" && <Ids veil={veil} />}
        {page === "ownership" && <Ownership veil={veil} />}
        {page === "challenges" && <Challenges veil={veil} onBalances={() => void refreshFunds()} />}
        {page === "analytics" && <Analytics veil={veil} />}
      </main>
    </div>
  );
}
