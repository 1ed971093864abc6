// The app in Debian's headless Chromium (playwright-core drives it; nothing downloads a
// browser), against a running stack: the integration test `app::browser` starts one and sets
// APP_URL, RPC_URL, MINT and OUTPUT_DIR. Two development wallets, each in its own browser
// profile, as two people would be: alice mints and verifies an ID, registers, proves on her
// machine's prover and verifies on chain; then alice and bob play a Fire challenge to its
// settlement; then the analytics page shows what they did. Each test saves a screenshot.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { REGISTRY_PROGRAM_ID } from "@chitty-veil/client";
import { Keypair, PublicKey } from "@solana/web3.js";
import { chromium } from "playwright-core";

const APP = process.env.APP_URL;
const RPC = process.env.RPC_URL;
const MINT = process.env.MINT;
const OUT = process.env.OUTPUT_DIR ?? "test-output";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!APP || !RPC || !MINT) throw new Error("set APP_URL, RPC_URL and MINT (the integration test `app::browser` does)");
mkdirSync(OUT, { recursive: true });

const TOKENS = 100_000_000n; // the faucet's 100 tokens (6 decimals)
const BOND = 10_000_000n;
const LONG = 90_000;

let browser;
const people = {};

async function rpc(method, params) {
  const response = await fetch(RPC, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

/** `owner`'s demo-token balance on chain, base units. */
async function chainTokens(owner) {
  const found = await rpc("getTokenAccountsByOwner", [owner, { mint: MINT }, { encoding: "jsonParsed", commitment: "confirmed" }]);
  return found.value.reduce((sum, a) => sum + BigInt(a.account.data.parsed.info.tokenAmount.amount), 0n);
}

async function shot(page, name) {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

/** A person: a browser profile with a development wallet, funded and signed in. */
async function person(name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(APP);
  await page.getByRole("button", { name: "Use a development wallet" }).click();
  await page.getByText("local use only").waitFor();
  const address = await page.locator("[data-testid=wallet] code[data-full]").first().getAttribute("data-full");
  await page.getByRole("button", { name: "Fund from local faucet" }).click();
  await page.locator(`[data-testid=funds][data-tokens="${TOKENS}"]`).waitFor({ timeout: LONG });
  await page.getByRole("button", { name: "Sign in with wallet" }).click();
  await page.getByTestId("signed-in").waitFor({ timeout: LONG });
  return { name, context, page, address, errors };
}

/** Runs `click`, then waits until the step named `step` has finished one more run, and
 * asserts it did not fail. */
async function act(page, click, step = "action") {
  const status = page.locator(`[data-step="${step}"]`).first();
  await status.waitFor({ state: "attached", timeout: LONG });
  const runs = Number(await status.getAttribute("data-runs"));
  await click();
  await page.waitForFunction(
    ([s, n]) => Number(document.querySelector(`[data-step="${s}"]`)?.getAttribute("data-runs")) > n,
    [step, runs],
    { timeout: LONG },
  );
  const failed = status.locator(".error");
  if (await failed.count()) assert.fail(`${step} failed: ${await failed.innerText()}`);
}

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  people.alice = await person("alice");
  people.bob = await person("bob");
});

after(async () => {
  for (const p of Object.values(people)) assert.deepEqual(p.errors, [], `${p.name}'s page threw`);
  await browser?.close();
});

test("the app mints an ID bound to a file and verifies it, with its batch and on-chain anchor", async () => {
  const { page } = people.alice;
  await page.goto(`${APP}/#/ids`);
  const content = Buffer.from("the terms alice and bob agreed on\n");
  const sha = createHash("sha256").update(content).digest("hex");
  await page.locator("input[name=file]").setInputFiles({ name: "terms.txt", mimeType: "text/plain", buffer: content });
  assert.equal(await page.locator("[data-testid=file-hash] code").getAttribute("data-full"), sha);
  await act(page, () => page.getByRole("button", { name: "Mint" }).click(), "mint");
  const minted = (await page.getByTestId("minted-id").locator("strong").innerText()).trim();
  // VV-R-NNN-SSSSSSSS-T-YYMM-C-X (crates/chittyid): the check character C is a digit or a
  // letter; X is the trust level.
  assert.match(minted, /^\d{2}-[A-Z]-CHI-[0-9A-Z]{8}-T-\d{4}-[0-9A-Z]-0$/);

  // Verified with its evidence; anchored on chain once its batch closes (every few seconds).
  const deadline = Date.now() + LONG;
  for (;;) {
    await act(page, () => page.getByRole("button", { name: "Verify" }).click(), "verify");
    const evidence = page.getByTestId("evidence");
    assert.equal(await evidence.locator("[data-field=id]").innerText(), minted);
    assert.equal(await evidence.locator("[data-field=content_hash] code").getAttribute("data-full"), sha);
    const anchor = await evidence.locator("[data-field=anchor]").innerText();
    if (anchor.startsWith("slot")) {
      const signature = await evidence.locator("[data-field=anchor] code").getAttribute("data-full");
      const [status] = (await rpc("getSignatureStatuses", [[signature], { searchTransactionHistory: true }])).value;
      assert.ok(status && status.err === null, `the anchor transaction landed: ${JSON.stringify(status)}`);
      break;
    }
    assert.ok(Date.now() < deadline, `not anchored: ${anchor}`);
    await page.waitForTimeout(1_000);
  }
  await shot(page, "ids");

  // A malformed ID: the relayer's typed error, not raw JSON.
  await page.locator("input[name=lookup]").fill("NOT-AN-ID");
  await page.getByRole("button", { name: "Verify" }).click();
  const alert = page.locator('[data-step=verify] [role=alert]');
  await alert.waitFor({ timeout: LONG });
  assert.equal(await alert.getAttribute("data-code"), "CHITTYID_MALFORMED");
  assert.doesNotMatch(await alert.innerText(), /[{}]/);
  await shot(page, "ids-error");
});

test("the app registers a holding, proves on the member's own prover and verifies ownership on chain", async () => {
  const { page, address } = people.alice;
  await page.goto(`${APP}/#/ownership`);
  await page.getByText("is running").waitFor({ timeout: LONG });
  await act(page, () => page.getByRole("button", { name: "Derive my identity" }).click(), "identity");
  assert.match(await page.getByTestId("commitment").locator("code").getAttribute("data-full"), /^[0-9a-f]{64}$/);
  await act(page, () => page.getByRole("button", { name: "Register" }).click(), "register");
  // The registry never reveals a balance (issue 18): only that the holding qualifies.
  const registered = await page.getByTestId("registered").innerText();
  assert.match(registered, /the holding qualifies/);
  assert.doesNotMatch(registered, new RegExp(String(TOKENS)));
  // The relayer's publisher covers the new leaf within a few seconds.
  await page.getByTestId("published").waitFor({ timeout: LONG });
  await act(page, () => page.getByRole("button", { name: "Prove on this machine" }).click(), "prove");
  const verified = page.getByTestId("verified");
  const signature = await verified.locator("code").first().getAttribute("data-full");
  const [status] = (await rpc("getSignatureStatuses", [[signature], { searchTransactionHistory: true }])).value;
  assert.ok(status && status.err === null, `verify_ownership landed: ${JSON.stringify(status)}`);
  const tx = await rpc("getTransaction", [signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 }]);
  assert.ok(tx.transaction.message.accountKeys.includes(REGISTRY_PROGRAM_ID.toBase58()));
  // Its nullifier is spent: the registry's nullifier account exists.
  const nullifier = await verified.locator("[data-field=nullifier] code").getAttribute("data-full");
  const trackId = await verified.getAttribute("data-track-id");
  const [spent] = PublicKey.findProgramAddressSync(
    [Buffer.from("nullifier"), Buffer.from(trackId, "hex"), Buffer.from(nullifier, "hex")],
    REGISTRY_PROGRAM_ID,
  );
  const account = await rpc("getAccountInfo", [spent.toBase58(), { encoding: "base64", commitment: "confirmed" }]);
  assert.equal(account.value?.owner, REGISTRY_PROGRAM_ID.toBase58(), "the nullifier account exists");
  // The member's wallet did not sign it: the relayer forwarded only the proof.
  assert.ok(!tx.transaction.message.accountKeys.includes(address));
  console.log(`prove-to-verified ms: ${await verified.getAttribute("data-ms")} (proving ${await verified.getAttribute("data-prove-ms")})`);
  await shot(page, "ownership");
});

test("two development wallets play a Fire challenge to its settlement; the page shows the chain's balances", async () => {
  const { alice, bob } = people;
  const arbiter = Keypair.generate().publicKey.toBase58();
  await alice.page.goto(`${APP}/#/challenges`);
  await alice.page.locator("input[name=counterparty]").fill(bob.address);
  await alice.page.locator("input[name=arbiter]").fill(arbiter);
  await act(alice.page, () => alice.page.getByRole("button", { name: "Create and sign" }).click(), "create");
  const address = await alice.page.getByTestId("created").locator("code").getAttribute("data-full");

  await bob.page.goto(`${APP}/#/challenges`);
  const row = bob.page.locator(`tr[data-address="${address}"]`);
  await row.waitFor({ timeout: LONG });
  await row.click();
  const step = async (who, button, status) => {
    const page = who.page;
    await page.locator(`[data-testid=challenge][data-address="${address}"]`).waitFor({ timeout: LONG });
    await page.getByRole("button", { name: button }).waitFor({ timeout: LONG });
    await act(page, () => page.getByRole("button", { name: button }).click());
    if (status) await page.locator(`[data-testid=challenge][data-status="${status}"]`).waitFor({ timeout: LONG });
  };
  await step(bob, "Accept", "accepted");
  await step(alice, "Get attested");
  await step(bob, "Get attested");
  await step(alice, "Deposit bond");
  await step(bob, "Deposit bond");
  assert.equal(await chainTokens(alice.address), TOKENS - BOND);
  assert.equal(await chainTokens(bob.address), TOKENS - BOND);
  await step(alice, "Lock intent", "intent_locked");
  await alice.page.locator("select[name=outcome]").selectOption("creator_wins");
  await step(alice, "Confirm outcome");
  await bob.page.locator(`[data-testid=challenge][data-status="intent_locked"]`).waitFor({ timeout: LONG });
  await bob.page.locator("select[name=outcome]").selectOption("creator_wins");
  await step(bob, "Confirm outcome", "completed");
  await step(alice, "Settle");
  await alice.page.getByText("· settled").waitFor({ timeout: LONG });

  // Alice gets her bond back, 70 % of bob's and the 10 % left over; the treasury took 20 %.
  const aliceTokens = await chainTokens(alice.address);
  const bobTokens = await chainTokens(bob.address);
  assert.equal(aliceTokens, TOKENS + (BOND * 8n) / 10n);
  assert.equal(bobTokens, TOKENS - BOND);
  for (const who of [alice, bob]) {
    const expected = who === alice ? aliceTokens : bobTokens;
    await who.page.locator(`[data-testid=funds][data-tokens="${expected}"]`).waitFor({ timeout: LONG });
  }
  const shown = async (role) =>
    alice.page.locator(`[data-testid=challenge] tr[data-role=${role}] [data-field=tokens]`).innerText();
  await alice.page.waitForFunction(
    () => document.querySelector("[data-testid=challenge] tr[data-role=creator] [data-field=tokens]")?.textContent === "108",
    null,
    { timeout: LONG },
  );
  assert.equal(await shown("creator"), "108");
  assert.equal(await shown("counterparty"), "90");
  assert.equal(await alice.page.locator("[data-testid=challenge] [data-field=outcome]").innerText(), "creator_wins");
  // Bob's page follows within its refresh (3 s).
  await bob.page.getByText("· settled").waitFor({ timeout: LONG });
  await shot(alice.page, "challenge-alice");
  await shot(bob.page, "challenge-bob");
});

test("the analytics page charts what the flows did", async () => {
  const { page } = people.alice;
  await page.goto(`${APP}/#/analytics`);
  const table = (chart) =>
    page.evaluate((id) => {
      const rows = [...document.querySelectorAll(`[data-chart="${id}"] canvas tbody tr`)];
      const labels = [...document.querySelectorAll(`[data-chart="${id}"] canvas thead th[scope=col]`)].map((t) => t.textContent);
      return { labels, series: Object.fromEntries(rows.map((r) => [r.dataset.series, [...r.querySelectorAll("td")].map((td) => Number(td.textContent))])) };
    }, chart);
  const sum = (values = []) => values.reduce((a, b) => a + b, 0);
  // The indexer follows the chain within a few slots; reload until it shows every flow.
  const deadline = Date.now() + LONG;
  let charts;
  for (;;) {
    await page.getByRole("button", { name: "Reload" }).click();
    await page.locator("[data-testid=totals], .page [role=alert]").first().waitFor({ timeout: LONG });
    const alert = page.locator(".page [role=alert]");
    if (await alert.count()) {
      await shot(page, "analytics-error");
      assert.fail(`the analytics page shows an error: ${await alert.innerText()}`);
    }
    await page.waitForTimeout(300);
    charts = {
      verifications: await table("verifications"),
      mints: await table("mints"),
      challenges: await table("challenges"),
      slashes: await table("slashes"),
    };
    const verifications = sum(Object.values(charts.verifications.series).flat());
    const anchored = sum(charts.mints.series["anchored on chain"]);
    const slashed = sum(charts.slashes.series["slashed"]);
    if (verifications === 1 && anchored === 1 && slashed === 10) break;
    assert.ok(Date.now() < deadline, `analytics never caught up: ${JSON.stringify(charts)}`);
    await page.waitForTimeout(1_000);
  }
  assert.equal(sum(charts.mints.series["minted"]), 1);
  assert.deepEqual(charts.challenges.labels, ["Fire"]);
  assert.deepEqual(charts.challenges.series, { active: [0], finished: [1] });
  assert.deepEqual(charts.slashes.series, { slashed: [10], "to the treasury": [2] });
  assert.equal(await page.locator("[data-total=verifications]").innerText(), "1");
  assert.equal(await page.locator("canvas").count(), 4);
  await shot(page, "analytics");
});
