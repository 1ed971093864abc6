// The package against live relayers, run by `scripts/ts-client.sh test` from the integration
// test `clients::typescript`, which serves them and passes their addresses in the environment.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, sign as edSign } from "node:crypto";

import { VeilClient, VeilError, canonicalRequest, signRequest } from "../dist/index.js";

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} is set by the integration test`);
  return value;
};

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
function base58(bytes) {
  let n = BigInt(`0x${Buffer.from(bytes).toString("hex") || "0"}`);
  let out = "";
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

/** An ed25519 wallet from a 32-byte seed: its base58 address and a signer of messages. */
function wallet(seedByte) {
  const seed = Buffer.alloc(32, seedByte);
  const key = createPrivateKey({
    key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]),
    format: "der",
    type: "pkcs8",
  });
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  const address = base58(spki.subarray(spki.length - 32));
  return { address, sign: (message) => base58(edSign(null, Buffer.from(message), key)) };
}

const hash = (byte) => Buffer.alloc(32, byte).toString("hex");
const keyed = (extra = {}) =>
  new VeilClient({
    baseUrl: env("RELAYER_URL"),
    apiKey: env("API_KEY"),
    signingSecret: env("SIGNING_SECRET"),
    retry: { initialMs: 10, maxMs: 50 },
    ...extra,
  });

test("the canonical request and signature are the documented ones (docs/api-auth.md)", async () => {
  const body = new TextEncoder().encode(
    '{"namespace":"CHI","entity_type":"I","trust_level":0,"content_hash":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}',
  );
  assert.equal(body.length, 135);
  const nonce = "4f1c2a9e8b7d6c5a4f1c2a9e8b7d6c5a";
  assert.equal(
    await canonicalRequest("post", "/api/v2/chittyid/mint", 1_750_000_000, nonce, body),
    "POST\n/api/v2/chittyid/mint\n1750000000\n4f1c2a9e8b7d6c5a4f1c2a9e8b7d6c5a\nfeb675b0a933fc2c90daa9387ee73c6c5a65001fa12aa4231c624c4e92297f53",
  );
  const signed = await signRequest(
    "80a0eab51db03e93c74a6be55dbe9e6cca44361de23b053d07592d9820ab71d7",
    "POST",
    "/api/v2/chittyid/mint",
    body,
    1_750_000_000,
    nonce,
  );
  assert.equal(signed["x-signature"], "7e7799d4dbadbd86a084e01b88462d1659e7a3e67c69056b8f46678a88efc424");
});

test("a signed mint passes the relayer's check; verify answers come from the cache", async () => {
  const client = keyed();
  const minted = await client.mint({ namespace: "CHI", entity_type: "I", content_hash: hash(0xa1) });
  assert.match(minted.id, /^01-A-CHI-/);
  assert.equal(minted.provisional, false);
  assert.equal(minted.viaFallback, false);
  const first = await client.verify(minted.id);
  const second = await client.verify(minted.id);
  assert.equal(first.valid, true);
  assert.equal(first.evidence.id, minted.id);
  assert.deepEqual(second, first);
  assert.equal(client.verifyCacheHits, 1);
  // The typed openapi-fetch client goes through the same signing: a query string is signed as
  // sent.
  const { data, error, response } = await client.api.GET("/api/v2/challenges", {
    params: { query: { mode: "fire", limit: 5 } },
  });
  assert.equal(response.status, 200, JSON.stringify(error));
  assert.deepEqual(data.challenges, []);
});

test("a wrong signing secret is refused by the relayer, typed, and the breaker stays closed", async () => {
  const forged = keyed({ signingSecret: "ab".repeat(32) });
  await assert.rejects(
    forged.mint({ namespace: "CHI", entity_type: "I", content_hash: hash(0xa2) }),
    (error) => error instanceof VeilError && error.status === 401 && error.code === "AUTH_INVALID_SIGNATURE",
  );
  assert.equal(forged.breakerOpen, false);
  assert.throws(
    () => new VeilClient({ baseUrl: env("RELAYER_URL"), apiKey: "cvk_x", signingSecret: "zz" }),
    (error) => error instanceof VeilError && error.kind === "config",
  );
});

test("a mint whose answer is lost is retried under its key and answers the one ID", async () => {
  const client = keyed({ baseUrl: env("LOSSY_URL") });
  const minted = await client.mint({ namespace: "CHI", entity_type: "P", content_hash: env("RETRIED_HASH") });
  assert.equal(minted.replayed, true, "the retry is the relayer's replay");
  console.log(`retried mint ${minted.id}`);
});

test("a wallet signs in, its session mints without a key, and signing out ends it", async () => {
  const alice = wallet(0x45);
  const client = new VeilClient({ baseUrl: env("RELAYER_URL") });
  await assert.rejects(
    client.mint({ namespace: "CHI", entity_type: "P", content_hash: hash(0xa3) }),
    (error) => error.code === "AUTH_MISSING_API_KEY",
  );
  const session = await client.signIn("solana:localnet", alice.address, alice.sign);
  assert.match(session.token, /^vs_/);
  assert.equal(session.address, alice.address);
  const minted = await client.mint({ namespace: "CHI", entity_type: "P", content_hash: hash(0xa3) });
  assert.match(minted.id, /^01-A-CHI-/);
  const refreshed = await client.refresh();
  assert.notEqual(refreshed.token, session.token);
  await client.verify(minted.id);
  await client.signOut();
  assert.equal(client.session, undefined);
  // Nothing in the client holds a secret of the relayer's: a session is all a page needs.
  assert.equal(JSON.stringify(client).includes(env("SIGNING_SECRET")), false);
});

test("with the relayer down the breaker opens and mints fail over to the fallback minter", async () => {
  const client = keyed({
    baseUrl: env("DEAD_URL"),
    retry: { retries: 1, initialMs: 5, maxMs: 10 },
    breaker: { failures: 2, openForMs: 60_000 },
    fallback: { baseUrl: env("FALLBACK_URL"), token: env("FALLBACK_TOKEN") },
  });
  const minted = await client.mint({ namespace: "CHI", entity_type: "I", content_hash: hash(0xa4) });
  assert.equal(minted.viaFallback, true);
  assert.equal(minted.provisional, true);
  assert.match(minted.id, /^01-F-/);
  assert.equal(minted.body.content_hash, hash(0xa4));
  assert.equal(client.breakerOpen, true);
  await assert.rejects(client.verify(minted.id), (error) => error.kind === "breaker_open");
  const again = await client.mint({ namespace: "CHI", entity_type: "I", content_hash: hash(0xa5) });
  assert.equal(again.viaFallback, true);
  // Without a fallback the outage is the error.
  const lone = keyed({ baseUrl: env("DEAD_URL"), retry: { retries: 0 } });
  await assert.rejects(
    lone.mint({ namespace: "CHI", entity_type: "I", content_hash: hash(0xa6) }),
    (error) => error.kind === "unreachable",
  );
});
