// Bonded challenges between wallets: create, accept, get attested, deposit, lock, confirm
// and settle. Every step that moves a wallet's tokens or speaks for it is signed here, in
// the wallet; settle is built in the page from the program's IDL.

import { useCallback, useEffect, useState } from "react";
import { PublicKey } from "@solana/web3.js";
import { challengeCoder, challengeProgram, decodeAccount, settleInstructions, type ChallengeEscrowFields } from "@chitty-veil/client";

import { ErrorNote, Field, Short, StepStatus, useStep } from "../ui";
import { balances, call, describe, formatTokens, requireWallet, sendInstructions, walletStep, type Veil } from "../veil";

interface PartyView {
  verified: boolean;
  bond_deposited: boolean;
  confirmed: string | null;
}

interface ChallengeView {
  address: string;
  creator: string;
  counterparty: string | null;
  arbiter: string | null;
  mode: string;
  status: string;
  outcome: string | null;
  bond_mint: string | null;
  bond_amount: number;
  deposited: number;
  paid_out: number;
  vault_closed: boolean;
  creator_state: PartyView;
  counterparty_state: PartyView;
  response_deadline: number;
  slot: number;
}

interface Summary {
  address: string;
  creator: string;
  counterparty: string | null;
  mode: string;
  status: string;
  bond_amount: string;
}

const OUTCOMES = ["creator_wins", "counterparty_wins", "draw", "no_contest"];

export function Challenges({ veil, onBalances }: { veil: Veil; onBalances: () => void }) {
  const decimals = veil.config.decimals;
  const unit = 10 ** decimals;
  const [counterparty, setCounterparty] = useState("");
  const [arbiter, setArbiter] = useState("");
  const [terms, setTerms] = useState("First to finish wins");
  const [bond, setBond] = useState("10");
  const [winnerBps, setWinnerBps] = useState("7000");
  const [treasuryBps, setTreasuryBps] = useState("2000");
  const [list, setList] = useState<Summary[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [view, setView] = useState<ChallengeView | null>(null);
  const [outcome, setOutcome] = useState("creator_wins");
  const [partyBalances, setPartyBalances] = useState<Record<string, string>>({});
  const create = useStep<string>();
  const act = useStep<string>();
  const [refreshError, setRefreshError] = useState<{ code: string | null; message: string } | null>(null);

  const me = veil.wallet?.address ?? null;

  const refresh = useCallback(
    async () => {
      try {
        if (!veil.session) return;
        const page = await call<{ challenges: Summary[] }>(veil, "GET", "/api/v2/challenges?limit=50");
        setList(page.challenges);
        if (selected) {
          const current = await call<ChallengeView>(veil, "GET", `/api/v2/challenges/${selected}`);
          setView(current);
          const shown: Record<string, string> = {};
          for (const who of [current.creator, current.counterparty]) {
            if (who) shown[who] = formatTokens((await balances(veil, who)).tokens, decimals);
          }
          setPartyBalances(shown);
        }
        setRefreshError(null);
      } catch (error) {
        setRefreshError(describe(error));
      }
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [veil, selected],
  );
  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), 3_000);
    return () => clearInterval(timer);
  }, [refresh]);

  const doCreate = () =>
    create.run(async (progress) => {
      const wallet = requireWallet(veil);
      const amount = Math.round(Number(bond) * unit);
      if (!Number.isFinite(amount) || amount <= 0) throw new Error("the bond must be a positive amount");
      const landed = await walletStep(
        veil,
        "/api/v2/challenges",
        {
          creator: wallet.address,
          mode: "fire",
          counterparty: counterparty.trim() || null,
          arbiter: arbiter.trim() || null,
          terms,
          bond_mint: veil.config.mint,
          bond_amount: amount,
          winner_share_bps: Number(winnerBps),
          treasury_share_bps: Number(treasuryBps),
          response_deadline: Math.floor(Date.now() / 1000) + 86_400,
        },
        progress,
      );
      setSelected(landed.challenge ?? null);
      onBalances();
      return landed.challenge ?? "";
    });

  /** One of my steps on the selected challenge. */
  const step = (name: string, work: (progress: (what: string) => void) => Promise<unknown>) =>
    act.run(async (progress) => {
      await work(progress);
      await refresh();
      onBalances();
      return name;
    });

  const party = view && me ? (view.creator === me ? "creator" : view.counterparty === me ? "counterparty" : null) : null;
  const mine = view && party ? (party === "creator" ? view.creator_state : view.counterparty_state) : null;
  const at = (path: string) => `/api/v2/challenges/${view?.address}/${path}`;

  const settle = async (progress: (what: string) => void) => {
    const wallet = requireWallet(veil);
    if (!view) return;
    progress("reading the challenge account");
    const address = new PublicKey(view.address);
    const account = await veil.connection.getAccountInfo(address, "confirmed");
    if (!account) throw new Error("the challenge account is gone");
    const decoded = decodeAccount<ChallengeEscrowFields>(challengeCoder, "Challenge", account.data);
    const program = challengeProgram(veil.connection);
    const instructions = await settleInstructions(program, new PublicKey(wallet.address), address, decoded);
    await sendInstructions(veil, instructions, progress);
  };

  return (
    <section className="page" aria-labelledby="ch-title">
      <h2 id="ch-title">Challenges</h2>
      <div className="cards">
        <form
          className="card"
          onSubmit={(e) => {
            e.preventDefault();
            void doCreate();
          }}
        >
          <h3>Create a Fire challenge</h3>
          <Field label="Counterparty wallet">
            <input name="counterparty" value={counterparty} onChange={(e) => setCounterparty(e.target.value)} />
          </Field>
          <Field label="Arbiter wallet (decides a dispute)">
            <input name="arbiter" value={arbiter} onChange={(e) => setArbiter(e.target.value)} />
          </Field>
          <Field label="Terms">
            <input name="terms" value={terms} onChange={(e) => setTerms(e.target.value)} />
          </Field>
          <Field label="Bond each (tokens)">
            <input name="bond" value={bond} onChange={(e) => setBond(e.target.value)} inputMode="decimal" />
          </Field>
          <div className="row">
            <Field label="Winner's share of the loser's bond (bps)">
              <input name="winner_bps" value={winnerBps} onChange={(e) => setWinnerBps(e.target.value)} />
            </Field>
            <Field label="Treasury's share (bps)">
              <input name="treasury_bps" value={treasuryBps} onChange={(e) => setTreasuryBps(e.target.value)} />
            </Field>
          </div>
          <button type="submit" disabled={!veil.session || create.busy !== null}>
            Create and sign
          </button>
          <StepStatus step={create} name="create" />
          {create.result && (
            <p className="ok" data-testid="created">
              Created <Short value={create.result} />
            </p>
          )}
        </form>

        <div className="card wide">
          <h3>Your challenges</h3>
          {list.length === 0 ? (
            <p className="hint">None yet{veil.session ? "" : ": sign in to see yours"}.</p>
          ) : (
            <table className="list" data-testid="challenge-list">
              <thead>
                <tr>
                  <th>Challenge</th>
                  <th>Mode</th>
                  <th>Status</th>
                  <th>Your role</th>
                </tr>
              </thead>
              <tbody>
                {list.map((c) => (
                  <tr
                    key={c.address}
                    className={c.address === selected ? "selected" : ""}
                    data-address={c.address}
                    onClick={() => setSelected(c.address)}
                  >
                    <td>
                      <Short value={c.address} />
                    </td>
                    <td>{c.mode}</td>
                    <td data-field="status">{c.status}</td>
                    <td>{c.creator === me ? "creator" : c.counterparty === me ? "counterparty" : "–"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {view && (
            <div className="detail" data-testid="challenge" data-address={view.address} data-status={view.status}>
              <h4>
                <Short value={view.address} /> · {view.mode} · <span data-field="status">{view.status}</span>
                {view.vault_closed && view.status === "completed" ? " · settled" : ""}
              </h4>
              <table className="parties">
                <thead>
                  <tr>
                    <th />
                    <th>Wallet</th>
                    <th>Attested</th>
                    <th>Bond in</th>
                    <th>Confirmed</th>
                    <th>Tokens now</th>
                  </tr>
                </thead>
                <tbody>
                  {(["creator", "counterparty"] as const).map((role) => {
                    const who = role === "creator" ? view.creator : view.counterparty;
                    const state = role === "creator" ? view.creator_state : view.counterparty_state;
                    return (
                      <tr key={role} data-role={role}>
                        <th>{role}</th>
                        <td>
                          <Short value={who} />
                        </td>
                        <td>{state.verified ? "yes" : "no"}</td>
                        <td>{state.bond_deposited ? "yes" : "no"}</td>
                        <td>{state.confirmed ?? "–"}</td>
                        <td data-field="tokens">{who ? partyBalances[who] ?? "…" : "–"}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              <p>
                Bond {formatTokens(BigInt(view.bond_amount), decimals)} each · in the vault{" "}
                {formatTokens(BigInt(view.deposited - view.paid_out), decimals)} · outcome{" "}
                <span data-field="outcome">{view.outcome ?? "–"}</span>
              </p>
              {party ? (
                <div className="actions">
                  <span>You are the {party}.</span>
                  {party === "counterparty" && view.status === "awaiting_counterparty" && (
                    <button onClick={() => void step("accept", (p) => walletStep(veil, at("accept"), { counterparty: me }, p))}>
                      Accept
                    </button>
                  )}
                  {view.status === "accepted" && !mine?.verified && (
                    <button onClick={() => void step("attest", async (p) => { p("the gatekeeper checks your wallet and bond"); await call(veil, "POST", at("attest"), { party }); })}>
                      Get attested
                    </button>
                  )}
                  {view.status === "accepted" && mine?.verified && !mine.bond_deposited && (
                    <button onClick={() => void step("deposit", (p) => walletStep(veil, at("deposit"), { party }, p))}>
                      Deposit bond
                    </button>
                  )}
                  {party === "creator" && view.status === "accepted" && view.creator_state.bond_deposited && view.counterparty_state.bond_deposited && (
                    <button onClick={() => void step("lock", (p) => walletStep(veil, at("lock"), { party }, p))}>
                      Lock intent
                    </button>
                  )}
                  {view.status === "intent_locked" && !mine?.confirmed && (
                    <>
                      <select name="outcome" value={outcome} onChange={(e) => setOutcome(e.target.value)}>
                        {OUTCOMES.map((o) => (
                          <option key={o}>{o}</option>
                        ))}
                      </select>
                      <button onClick={() => void step("confirm", (p) => walletStep(veil, at("confirm"), { party, outcome }, p))}>
                        Confirm outcome
                      </button>
                    </>
                  )}
                  {view.status === "completed" && !view.vault_closed && (
                    <button onClick={() => void step("settle", settle)}>Settle</button>
                  )}
                </div>
              ) : (
                <p className="hint">You are not a party of this challenge.</p>
              )}
              <StepStatus step={act} name="action" />
            </div>
          )}
          <ErrorNote error={refreshError} />
        </div>
      </div>
    </section>
  );
}
