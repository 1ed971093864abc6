// The IDL client against real transactions of the programs (the integration test
// `clients::typescript` executes them and writes PROGRAMS_FIXTURE): events and the challenge
// account decode as the Rust decoders say, the PDA derives the same address, and `accept`
// builds byte for byte as veil-client builds it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Connection, PublicKey } from "@solana/web3.js";

import {
  acceptInstruction,
  challengeCoder,
  challengePda,
  challengeProgram,
  decodeAccount,
  decodeEventCpi,
  registryCoder,
} from "../dist/index.js";

const fixture = JSON.parse(readFileSync(process.env.PROGRAMS_FIXTURE, "utf8"));
const bytes = (hex) => Buffer.from(hex, "hex");

test("every emit_cpi! event decodes under its own name, with its fields", () => {
  const names = fixture.events.map((e) => decodeEventCpi(challengeCoder, bytes(e.data))?.name);
  assert.deepEqual(names, fixture.events.map((e) => e.name));
  const byName = Object.fromEntries(
    fixture.events.map((e) => [e.name, decodeEventCpi(challengeCoder, bytes(e.data)).data]),
  );
  assert.equal(byName.ChallengeCreated.creator.toBase58(), fixture.creator);
  assert.equal(byName.ChallengeCreated.challenge.toBase58(), fixture.challenge);
  assert.equal(byName.ChallengeCreated.bond_amount.toString(), fixture.bond_amount);
  assert.deepEqual(Object.keys(byName.ChallengeCreated.mode), ["Fire"]);
  assert.equal(byName.CounterpartySet.counterparty.toBase58(), fixture.counterparty);
  assert.equal(byName.CounterpartySet.accepted, true, "the last CounterpartySet is the accept's");
  // Another program's coder does not take them.
  assert.equal(decodeEventCpi(registryCoder, bytes(fixture.events[0].data)), null);
  // Data without the event tag is no event.
  assert.equal(decodeEventCpi(challengeCoder, bytes(fixture.events[0].data).subarray(8)), null);
});

test("the challenge account decodes as the program stores it", () => {
  const account = decodeAccount(challengeCoder, "Challenge", bytes(fixture.account));
  assert.equal(account.creator.toBase58(), fixture.creator);
  assert.equal(account.counterparty.toBase58(), fixture.counterparty);
  assert.deepEqual(Object.keys(account.status), ["Accepted"]);
  assert.equal(account.bond_amount.toString(), fixture.bond_amount);
  assert.throws(() => decodeAccount(challengeCoder, "Challenge", bytes(fixture.account).subarray(1)));
});

test("the PDA and the accept instruction are veil-client's, byte for byte", async () => {
  assert.equal(
    challengePda(new PublicKey(fixture.creator), BigInt(fixture.nonce)).toBase58(),
    fixture.challenge,
  );
  const program = challengeProgram(new Connection("http://127.0.0.1:1"));
  const ix = await acceptInstruction(
    program,
    new PublicKey(fixture.counterparty),
    new PublicKey(fixture.challenge),
  );
  assert.equal(ix.data.toString("hex"), fixture.accept.data);
  assert.deepEqual(
    ix.keys.map((k) => [k.pubkey.toBase58(), k.isSigner, k.isWritable]),
    fixture.accept.keys,
  );
});
