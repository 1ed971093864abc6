// Register a holding and prove ownership privately. The member's secret comes from the
// wallet's signature over the identity message and goes only to the prover on this machine
// (`veil-member serve`); the relayer receives the commitment, the leaves request and the
// proof, never the secret.

import { useEffect, useState } from "react";
import bs58 from "bs58";

import { Field, Short, StepStatus, useStep } from "../ui";
import { call, prover, requireWallet, type Veil } from "../veil";

/** `veil_circuits::identity::IDENTITY_MESSAGE`: changing it changes every identity. */
export const IDENTITY_MESSAGE =
  "Chitty Veil identity v1\n\nSign to derive your private membership secret. This signature never leaves your device.";

/** `veil_circuits::identity::registration_message`. */
export function registrationMessage(mint: string, commitmentHex: string): string {
  return `Chitty Veil registration v1\nmint: ${mint}\ncommitment: ${commitmentHex}`;
}

interface Leaves {
  root: string;
  leaves: string[];
  snapshot_slot: number;
  published_slot: number;
}

interface Registered {
  leaf_index: number;
  leaf: string;
  created: boolean;
  amount: number;
}

interface Verified {
  nullifier: string;
  signature: string;
  slot: number;
  track_id: string;
  /** Milliseconds from "prove" to verified on chain, measured here. */
  ms: number;
  proveMs: number;
}

export function Ownership({ veil }: { veil: Veil }) {
  const mint = veil.config.mint ?? "";
  const [identitySignature, setIdentitySignature] = useState<string | null>(null);
  const [commitment, setCommitment] = useState<string | null>(null);
  const [proverUp, setProverUp] = useState<boolean | null>(null);
  const [action, setAction] = useState("claim-access");
  const [recipient, setRecipient] = useState("");
  const [consent, setConsent] = useState(false);
  const identity = useStep<string>();
  const register = useStep<Registered>();
  const publication = useStep<Leaves>();
  const prove = useStep<Verified>();

  useEffect(() => {
    let live = true;
    prover(veil, "/health")
      .then(() => live && setProverUp(true))
      .catch(() => live && setProverUp(false));
    return () => {
      live = false;
    };
  }, [veil]);
  useEffect(() => {
    // A new wallet is a new member.
    setIdentitySignature(null);
    setCommitment(null);
    register.reset();
    publication.reset();
    prove.reset();
    setRecipient(veil.wallet?.address ?? "");
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [veil.wallet?.address]);

  const deriveIdentity = () =>
    identity.run(async (progress) => {
      const wallet = requireWallet(veil);
      progress("waiting for your wallet to sign the identity message");
      const signature = bs58.encode(await wallet.signMessage(new TextEncoder().encode(IDENTITY_MESSAGE)));
      progress("deriving your commitment on this machine's prover");
      const answer = await prover<{ commitment: string }>(veil, "/identity", {
        wallet: wallet.address,
        identity_signature: signature,
      });
      setIdentitySignature(signature);
      setCommitment(answer.commitment);
      return answer.commitment;
    });

  const doRegister = () =>
    register.run(async (progress) => {
      const wallet = requireWallet(veil);
      if (!commitment) throw new Error("derive your identity first");
      progress("waiting for your wallet to sign the registration");
      const message = registrationMessage(mint, commitment);
      const signature = bs58.encode(await wallet.signMessage(new TextEncoder().encode(message)));
      progress("checking your holding on chain");
      const registered = await call<Registered>(veil, "POST", "/api/v2/registry/register", {
        wallet: wallet.address,
        mint,
        commitment,
        signature,
      });
      void waitForPublication(registered);
      return registered;
    });

  /** Polls the leaves until the published root covers this member's leaf. */
  const waitForPublication = (registered: Registered) =>
    publication.run(async (progress) => {
      for (let attempt = 0; ; attempt++) {
        progress("waiting for the relayer to publish the track's root with your leaf");
        try {
          const leaves = await call<Leaves>(veil, "GET", `/api/v2/registry/tracks/${mint}/leaves`);
          if (leaves.leaves[registered.leaf_index] === registered.leaf) return leaves;
        } catch (error) {
          if (attempt > 600) throw error;
        }
        if (attempt > 600) throw new Error("no root covering your leaf was published within 10 minutes");
        await new Promise((r) => setTimeout(r, 1_000));
      }
    });

  const doProve = () =>
    prove.run(async (progress) => {
      const wallet = requireWallet(veil);
      if (!identitySignature) throw new Error("derive your identity first");
      const started = performance.now();
      progress("fetching the published leaves");
      const leaves = await call<Leaves>(veil, "GET", `/api/v2/registry/tracks/${mint}/leaves`);
      progress("proving on this machine (Groth16, depth 20)");
      const proveStarted = performance.now();
      const proved = await prover<{ proof: Record<string, unknown> }>(veil, "/prove", {
        mint,
        action,
        recipient: recipient || wallet.address,
        scope: 0,
        wallet: wallet.address,
        identity_signature: identitySignature,
        leaves,
      });
      const proveMs = performance.now() - proveStarted;
      progress("verifying on chain");
      const verified = await call<Omit<Verified, "ms" | "proveMs">>(
        veil,
        "POST",
        "/api/v2/verify-ownership",
        proved.proof,
      );
      return { ...verified, ms: performance.now() - started, proveMs };
    });

  const signedIn = veil.session !== null;
  return (
    <section className="page" aria-labelledby="own-title">
      <h2 id="own-title">Token ownership, privately</h2>
      <p className="hint">
        Token <Short value={mint} />. Your secret is derived from your wallet's signature and stays on this
        machine: the prover at <code>{veil.config.proverUrl ?? "(none)"}</code>{" "}
        {proverUp === null ? "…" : proverUp ? <span className="ok">is running</span> : <span className="error">is not running</span>}.
      </p>
      <div className="cards">
        <div className="card">
          <h3>1. Your identity</h3>
          <button onClick={() => void deriveIdentity()} disabled={!veil.wallet || identity.busy !== null}>
            Derive my identity
          </button>
          <StepStatus step={identity} name="identity" />
          {commitment && (
            <p data-testid="commitment">
              Commitment <Short value={commitment} chars={10} />
            </p>
          )}
        </div>
        <div className="card">
          <h3>2. Register your holding</h3>
          <button onClick={() => void doRegister()} disabled={!signedIn || !commitment || register.busy !== null}>
            Register
          </button>
          <StepStatus step={register} name="register" />
          {register.result && (
            <p className="ok" data-testid="registered" data-leaf-index={register.result.leaf_index}>
              Leaf {register.result.leaf_index}, the holding qualifies
            </p>
          )}
          <StepStatus step={publication} name="publication" />
          {publication.result && (
            <p className="ok" data-testid="published">
              Published: root <Short value={publication.result.root} /> at slot {publication.result.published_slot}
            </p>
          )}
        </div>
        <div className="card">
          <h3>3. Prove and verify on chain</h3>
          <Field label="Action">
            <input name="action" value={action} onChange={(e) => setAction(e.target.value)} />
          </Field>
          <Field label="Recipient (base58)">
            <input name="recipient" value={recipient} onChange={(e) => setRecipient(e.target.value)} />
          </Field>
          <button onClick={() => void doProve()} disabled={!signedIn || !identitySignature || prove.busy !== null}>
            Prove on this machine
          </button>
          <StepStatus step={prove} name="prove" />
          {prove.result && (
            <dl className="evidence" data-testid="verified" data-track-id={prove.result.track_id} data-ms={Math.round(prove.result.ms)} data-prove-ms={Math.round(prove.result.proveMs)}>
              <dt>Verified on chain</dt>
              <dd>
                slot {prove.result.slot}, transaction <Short value={prove.result.signature} />
              </dd>
              <dt>Nullifier (spent)</dt>
              <dd data-field="nullifier">
                <Short value={prove.result.nullifier} chars={10} />
              </dd>
              <dt>Time</dt>
              <dd>
                {(prove.result.ms / 1000).toFixed(2)} s from "prove" to verified (proving {(prove.result.proveMs / 1000).toFixed(2)} s)
              </dd>
            </dl>
          )}
        </div>
        <details className="card custodial">
          <summary>Custodial proving (the relayer sees your secret)</summary>
          <label className="consent">
            <input type="checkbox" checked={consent} onChange={(e) => setConsent(e.target.checked)} /> I understand that
            custodial proving sends my secret to the relayer's operator, who can then link every proof of mine to my
            wallet.
          </label>
          {consent && (
            <p className="hint">
              The relayer's <code>POST /api/v2/prove</code> is custodial and answers only an operator's API key, never a
              browser session: a dApp's own server can prove for its users with it. This page proves on your machine.
            </p>
          )}
        </details>
      </div>
    </section>
  );
}
