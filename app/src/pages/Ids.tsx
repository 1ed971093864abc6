// Mint a ChittyID (optionally bound to a file's SHA-256, computed here: the file never leaves
// the page) and verify any ID with its evidence, batch proof and on-chain anchor.

import { useState } from "react";

import { Field, Short, StepStatus, useStep } from "../ui";
import { call, type Veil } from "../veil";

interface Evidence {
  id: string;
  status: string;
  namespace: string;
  entity_type: string;
  trust_level: number;
  content_hash: string;
  created_at: string;
  drand: { round: number; chain_hash: string };
  vrf: { suite: string; key_id: string; proof: string };
  batch: null | {
    batch_id: number;
    index: number;
    size: number;
    root: string;
    status: string;
    proof: string[];
    anchor: null | { signature: string; slot: number };
  };
}

const ENTITY_TYPES: [string, string][] = [
  ["P", "Person"],
  ["L", "Location"],
  ["T", "Thing"],
  ["E", "Event"],
  ["A", "Authority"],
  ["I", "Intangible"],
];

async function sha256Hex(file: File): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function Ids({ veil }: { veil: Veil }) {
  const [namespace, setNamespace] = useState("CHI");
  const [entityType, setEntityType] = useState("T");
  const [file, setFile] = useState<File | null>(null);
  const [hash, setHash] = useState<string | null>(null);
  const [lookup, setLookup] = useState("");
  const mint = useStep<{ id: string; status: string }>();
  const verify = useStep<Evidence>();

  const onFile = async (chosen: File | null) => {
    setFile(chosen);
    setHash(chosen ? await sha256Hex(chosen) : null);
  };

  const doMint = () =>
    mint.run(async (progress) => {
      progress("minting");
      const body: Record<string, unknown> = { namespace, entity_type: entityType };
      if (hash) body.content_hash = hash;
      else body.content_hash = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) =>
        b.toString(16).padStart(2, "0"),
      ).join("");
      const minted = await call<{ id: string; status: string }>(veil, "POST", "/api/v2/chittyid/mint", body, {
        "idempotency-key": `app-${crypto.randomUUID()}`,
      });
      setLookup(minted.id);
      return minted;
    });

  const doVerify = (id: string) =>
    verify.run(async (progress) => {
      progress("verifying");
      const answer = await call<{ valid: boolean; evidence: Evidence }>(
        veil,
        "GET",
        `/api/v2/chittyid/verify/${encodeURIComponent(id.trim())}`,
      );
      return answer.evidence;
    });

  const evidence = verify.result;
  return (
    <section className="page" aria-labelledby="ids-title">
      <h2 id="ids-title">ChittyIDs</h2>
      <div className="cards">
        <form
          className="card"
          onSubmit={(e) => {
            e.preventDefault();
            void doMint();
          }}
        >
          <h3>Mint an ID</h3>
          <Field label="Namespace (3–4 capitals)">
            <input name="namespace" value={namespace} onChange={(e) => setNamespace(e.target.value.toUpperCase())} />
          </Field>
          <Field label="Entity type">
            <select name="entity_type" value={entityType} onChange={(e) => setEntityType(e.target.value)}>
              {ENTITY_TYPES.map(([code, name]) => (
                <option key={code} value={code}>
                  {code} · {name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Bind to a file (optional; hashed here, never uploaded)">
            <input name="file" type="file" onChange={(e) => void onFile(e.target.files?.[0] ?? null)} />
          </Field>
          {file && (
            <p className="hint" data-testid="file-hash">
              SHA-256 of {file.name}: <Short value={hash} chars={10} />
            </p>
          )}
          <button type="submit" disabled={!veil.session || mint.busy !== null}>
            Mint
          </button>
          {!veil.session && <p className="hint">Sign in with your wallet to mint.</p>}
          <StepStatus step={mint} name="mint" />
          {mint.result && (
            <p className="ok" data-testid="minted-id">
              Minted <strong>{mint.result.id}</strong> ({mint.result.status})
            </p>
          )}
        </form>

        <form
          className="card"
          onSubmit={(e) => {
            e.preventDefault();
            void doVerify(lookup);
          }}
        >
          <h3>Verify an ID</h3>
          <Field label="ChittyID">
            <input name="lookup" value={lookup} onChange={(e) => setLookup(e.target.value)} placeholder="CHI-…" />
          </Field>
          <button type="submit" disabled={!veil.session || !lookup.trim() || verify.busy !== null}>
            Verify
          </button>
          <StepStatus step={verify} name="verify" />
          {evidence && (
            <dl className="evidence" data-testid="evidence">
              <dt>ID</dt>
              <dd data-field="id">{evidence.id}</dd>
              <dt>Status</dt>
              <dd data-field="status">{evidence.status}</dd>
              <dt>Content hash</dt>
              <dd data-field="content_hash">
                <Short value={evidence.content_hash} chars={10} />
              </dd>
              <dt>drand round</dt>
              <dd data-field="drand_round">{evidence.drand.round}</dd>
              <dt>VRF</dt>
              <dd>
                {evidence.vrf.suite}, key <Short value={evidence.vrf.key_id} />
              </dd>
              <dt>Batch</dt>
              <dd data-field="batch">
                {evidence.batch
                  ? `#${evidence.batch.batch_id}, leaf ${evidence.batch.index} of ${evidence.batch.size} (${evidence.batch.status}); proof of ${evidence.batch.proof.length} hashes to root `
                  : "not batched yet: batches close every few seconds"}
                {evidence.batch && <Short value={evidence.batch.root} />}
              </dd>
              <dt>On-chain anchor</dt>
              <dd data-field="anchor">
                {evidence.batch?.anchor ? (
                  <>
                    slot {evidence.batch.anchor.slot}, transaction <Short value={evidence.batch.anchor.signature} />
                  </>
                ) : (
                  "not anchored yet: verify again in a few seconds"
                )}
              </dd>
            </dl>
          )}
        </form>
      </div>
    </section>
  );
}
